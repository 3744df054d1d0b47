//! The `metadata_yaml` target: see `rasura_fuzz::metadata_yaml`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| rasura_fuzz::metadata_yaml(data));
