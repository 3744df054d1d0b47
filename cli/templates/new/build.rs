//! Generates the Rust types of the Hasura project at build time: the actions of
//! `hasura/metadata/actions.graphql`, and the rows of the tables the event triggers watch
//! (from the schema snapshot `hasura/schema.graphql`). A handler that does not match them does
//! not compile. Works offline: only committed files are read.

fn main() -> Result<(), rasura_codegen::Error> {
    rasura_codegen::Config::new()
        .schema("hasura/schema.graphql")
        .metadata("hasura/metadata")
        .generate()?;
    Ok(())
}
