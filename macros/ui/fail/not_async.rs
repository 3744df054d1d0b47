use rasura::{action, ActionError, Ctx};

#[action]
fn ping(_ctx: Ctx) -> Result<String, ActionError> {
    Ok("pong".into())
}

fn main() {}
