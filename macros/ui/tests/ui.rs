//! Compile errors of the macros: each points at the offending token, says what is expected and
//! keeps the user's item (trybuild compares the whole compiler output). Also: `rasura::testing`
//! cannot be named without the `testing` feature (`fail/testing_needs_its_feature.rs`).

#[test]
fn ui() {
    // This crate's `build.rs` sets the action manifest for its own tests (cargo passes it on to
    // this process and so to trybuild's cargo); these cases are checked without one.
    // SAFETY: this is the only test in this binary, so no other thread reads the environment.
    #[allow(unsafe_code)]
    unsafe {
        std::env::remove_var("RASURA_ACTIONS_MANIFEST");
        std::env::set_var("CARGO_ENCODED_RUSTFLAGS", TRYBUILD_RUSTFLAGS);
    }
    trybuild::TestCases::new().compile_fail("fail/*.rs");
}

/// The flags trybuild passes when it checks the cases. It builds the dependencies first without
/// `--diagnostic-width` and so twice (every crate's fingerprint includes the flags); given
/// here, they take precedence over its `--config` in both steps, and the dependencies are
/// checked once (a minute less on two cores).
const TRYBUILD_RUSTFLAGS: &str =
    "--cfg\x1ftrybuild\x1f--verbose\x1f-A\x1fdead_code\x1f--diagnostic-width=140";
