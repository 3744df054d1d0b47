// No such action in actions.graphql: the closest name is suggested.
mod hasura {
    include!("../generated.rs");
}
use rasura::{ActionError, Ctx, action};

#[action(mutation)]
async fn ponk(_ctx: Ctx) -> Result<hasura::types::PongOutput, ActionError> {
    Ok(hasura::types::PongOutput { message: String::new(), number: 0 })
}

fn main() {}
