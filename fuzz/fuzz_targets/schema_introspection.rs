//! The `schema_introspection` target: see `rasura_fuzz::schema_introspection`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| rasura_fuzz::schema_introspection(data));
