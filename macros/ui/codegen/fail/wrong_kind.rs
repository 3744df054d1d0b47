// `ping` is a query, `pong` a mutation, `later` an asynchronous mutation.
mod hasura {
    include!("../generated.rs");
}
use rasura::{ActionError, Ctx, action};

#[action(mutation)]
async fn ping(_ctx: Ctx) -> Result<hasura::types::PingOutput, ActionError> {
    Ok(hasura::types::PingOutput { message: "pong".into() })
}

#[action(query)]
async fn pong(_ctx: Ctx, input: hasura::actions::PongArgs) -> Result<hasura::types::PongOutput, ActionError> {
    Ok(hasura::types::PongOutput { message: input.message, number: input.number })
}

#[action(mutation)]
async fn later(_ctx: Ctx) -> Result<hasura::types::LaterOutput, ActionError> {
    Ok(hasura::types::LaterOutput { accepted: true })
}

fn main() {}
