//! Generates the example's types from its Hasura project: the action definitions, the rows
//! of the tables its event triggers watch, and the GraphQL operations it sends to Hasura.

fn main() -> Result<(), rasura_codegen::Error> {
    rasura_codegen::Config::new()
        .schema("hasura/schema.graphql")
        .metadata("hasura/metadata")
        .operations("graphql")
        .generate()?;
    Ok(())
}
