use rasura::{action, event, ActionError, Ctx, EventError};

#[action]
async fn too_many(_ctx: Ctx, _input: String, _extra: u8) -> Result<String, ActionError> {
    Ok(String::new())
}

#[event(table = "public.user", insert)]
async fn missing_event(_ctx: Ctx) -> Result<(), EventError> {
    Ok(())
}

fn main() {}
