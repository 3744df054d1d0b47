//! The `schema_sdl` target: see `rasura_fuzz::schema_sdl`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| rasura_fuzz::schema_sdl(data));
