//! The `cron_envelope` target: see `rasura_fuzz::cron_envelope`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| rasura_fuzz::cron_envelope(data));
