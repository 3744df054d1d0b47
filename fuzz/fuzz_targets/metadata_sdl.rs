//! The `metadata_sdl` target: see `rasura_fuzz::metadata_sdl`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| rasura_fuzz::metadata_sdl(data));
