use rasura::{action, event, ActionError, EventError};

struct NotDeserialize;

#[action]
async fn wrong_ctx(_ctx: String) -> Result<String, ActionError> {
    Ok(String::new())
}

#[action]
async fn wrong_input(_ctx: rasura::Ctx, _input: NotDeserialize) -> Result<String, ActionError> {
    Ok(String::new())
}

#[event(table = "public.user", insert)]
async fn wrong_event(_ctx: rasura::Ctx, _row: String) -> Result<(), EventError> {
    Ok(())
}

fn main() {}
