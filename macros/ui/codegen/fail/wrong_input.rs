// The handler's input is not the action's argument struct.
mod hasura {
    include!("../generated.rs");
}
use rasura::{ActionError, Ctx, action};

#[derive(serde::Deserialize)]
struct Foo {
    message: String,
}

#[action(mutation)]
async fn pong(_ctx: Ctx, input: Foo) -> Result<hasura::types::PongOutput, ActionError> {
    Ok(hasura::types::PongOutput { message: input.message, number: 1 })
}

fn main() {}
