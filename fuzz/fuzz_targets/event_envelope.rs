//! The `event_envelope` target: see `rasura_fuzz::event_envelope`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| rasura_fuzz::event_envelope(data));
