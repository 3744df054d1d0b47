//! The `jwt_decode` target: see `rasura_fuzz::jwt_decode`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| rasura_fuzz::jwt_decode(data));
