//! Compile errors of `#[action]` against generated action definitions: each case `include!`s
//! the committed `ui/codegen/generated.rs` (generated from `ui/codegen/hasura/`: actions, a
//! schema and a metadata directory tracking two tables) while
//! `RASURA_ACTIONS_MANIFEST` points at the committed manifest, as `build.rs` would arrange.

use std::path::Path;

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/ui/codegen");

/// One test (so nothing else runs in this process while the environment is set): the
/// committed files are current, then trybuild checks every case against them.
#[test]
fn ui_codegen() {
    let dir = Path::new(DIR);
    let generated = rasura_codegen::Config::new()
        .actions(dir.join("hasura/actions.graphql"))
        .schema(dir.join("hasura/schema.graphql"))
        .metadata(dir.join("hasura/metadata"))
        .generate_to_string()
        .expect("generate the ui fixture");
    if std::env::var_os("RASURA_UPDATE_UI").is_some() {
        std::fs::write(dir.join("generated.rs"), &generated.code).unwrap();
        std::fs::write(dir.join("manifest"), &generated.manifest).unwrap();
    }
    let code = std::fs::read_to_string(dir.join("generated.rs")).unwrap();
    let manifest = std::fs::read_to_string(dir.join("manifest")).unwrap();
    assert!(
        code == generated.code && manifest == generated.manifest,
        "ui/codegen/generated.rs or manifest is stale: run \
         `RASURA_UPDATE_UI=1 cargo test -p rasura-tests --test ui_codegen`"
    );

    // trybuild compiles the cases in a child cargo, which inherits our environment.
    // SAFETY: this is the only test in this binary, so no other thread reads the environment.
    #[allow(unsafe_code)]
    unsafe {
        std::env::set_var("RASURA_ACTIONS_MANIFEST", dir.join("manifest"));
    }
    let t = trybuild::TestCases::new();
    t.compile_fail("ui/codegen/fail/*.rs");
    t.pass("ui/codegen/pass/*.rs");
}
