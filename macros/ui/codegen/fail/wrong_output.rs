// The handler returns something else than the action's output type.
mod hasura {
    include!("../generated.rs");
}
use rasura::{ActionError, Ctx, action};

#[action(mutation)]
async fn pong(_ctx: Ctx, input: hasura::actions::PongArgs) -> Result<String, ActionError> {
    Ok(input.message)
}

fn main() {}
