//! The `jwt_config` target: see `rasura_fuzz::jwt_config`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| rasura_fuzz::jwt_config(data));
