//! The `operations` target: see `rasura_fuzz::operations`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| rasura_fuzz::operations(data));
