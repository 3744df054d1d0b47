//! Generates from `codegen/hasura/` as a user's `build.rs` would: `OUT_DIR/rasura_generated.rs`,
//! and the action manifest `#[action]` checks this crate's handlers against (the
//! `codegen_*.rs` tests). `tests/ui_codegen.rs` checks that the committed copies the trybuild
//! cases include are the same.

fn main() -> Result<(), rasura_codegen::Error> {
    rasura_codegen::Config::new()
        .actions("codegen/hasura/actions.graphql")
        .schema("codegen/hasura/schema.graphql")
        .metadata("codegen/hasura/metadata")
        .generate()?;
    Ok(())
}
