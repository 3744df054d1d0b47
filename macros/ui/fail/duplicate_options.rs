use rasura::{action, ActionError, Ctx};

#[action(query, roles = ["user"], query, roles = ["admin"])]
async fn ping(_ctx: Ctx) -> Result<String, ActionError> {
    Ok(String::new())
}

fn main() {}
