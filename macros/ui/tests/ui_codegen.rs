//! Compile errors of `#[action]` against generated action definitions: each case `include!`s
//! the committed `codegen/generated.rs` (generated from `codegen/hasura/`: actions, a schema and
//! a metadata directory tracking two tables) while `RASURA_ACTIONS_MANIFEST` points at the
//! committed manifest, as `build.rs` would arrange.

use std::path::Path;

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/codegen");

/// One test (so nothing else runs in this process while the environment is set): the
/// committed files are what this crate's `build.rs` generates, then trybuild checks every case
/// against them.
#[test]
fn ui_codegen() {
    let dir = Path::new(DIR);
    let code = include_str!(concat!(env!("OUT_DIR"), "/rasura_generated.rs"));
    let manifest = include_str!(env!("RASURA_ACTIONS_MANIFEST"));
    if std::env::var_os("RASURA_UPDATE_UI").is_some() {
        std::fs::write(dir.join("generated.rs"), code).unwrap();
        std::fs::write(dir.join("manifest"), manifest).unwrap();
    }
    let committed_code = std::fs::read_to_string(dir.join("generated.rs")).unwrap();
    let committed_manifest = std::fs::read_to_string(dir.join("manifest")).unwrap();
    assert!(
        committed_code == code && committed_manifest == manifest,
        "codegen/generated.rs or manifest is stale: run \
         `RASURA_UPDATE_UI=1 cargo test -p rasura-macros-ui --test ui_codegen`"
    );

    // trybuild compiles the cases in a child cargo, which inherits our environment.
    // SAFETY: this is the only test in this binary, so no other thread reads the environment.
    #[allow(unsafe_code)]
    unsafe {
        std::env::set_var("RASURA_ACTIONS_MANIFEST", dir.join("manifest"));
        std::env::set_var("CARGO_ENCODED_RUSTFLAGS", TRYBUILD_RUSTFLAGS);
    }
    trybuild::TestCases::new().compile_fail("codegen/fail/*.rs");
}

/// The flags trybuild passes when it checks the cases (see `ui.rs`): the dependencies are then
/// checked once, not twice.
const TRYBUILD_RUSTFLAGS: &str =
    "--cfg\x1ftrybuild\x1f--verbose\x1f-A\x1fdead_code\x1f--diagnostic-width=140";
