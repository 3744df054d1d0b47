use rasura::{action, event, ActionError, Ctx, Event, EventError};

#[action(rolse = ["user"])]
async fn ping(_ctx: Ctx) -> Result<String, ActionError> {
    Ok(String::new())
}

#[event(table = "public.user", inserts)]
async fn on_user(_ctx: Ctx, _e: Event<serde_json::Value>) -> Result<(), EventError> {
    Ok(())
}

#[action(frobnicate)]
async fn pong(_ctx: Ctx) -> Result<String, ActionError> {
    Ok(String::new())
}

fn main() {}
