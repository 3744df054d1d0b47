//! The `action_envelope` target: see `rasura_fuzz::action_envelope`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| rasura_fuzz::action_envelope(data));
