//! Generates the example's types from its Hasura project: the action definitions and the rows
//! of the tables its event triggers watch.

fn main() -> Result<(), rasura_codegen::Error> {
    rasura_codegen::Config::new()
        .schema("hasura/schema.graphql")
        .metadata("hasura/metadata")
        .generate()?;
    Ok(())
}
