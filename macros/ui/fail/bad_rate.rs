use rasura::{action, event, ActionError, Ctx, Event, EventError};

#[action(rate = "10/mins")]
async fn typo_unit(_ctx: Ctx) -> Result<String, ActionError> {
    Ok(String::new())
}

#[action(rate = "ten/s, burst 20")]
async fn not_a_number(_ctx: Ctx) -> Result<String, ActionError> {
    Ok(String::new())
}

#[action(rate = "10/s, brust 20")]
async fn typo_burst(_ctx: Ctx) -> Result<String, ActionError> {
    Ok(String::new())
}

#[action(rate_key = "username")]
async fn key_without_rate(_ctx: Ctx) -> Result<String, ActionError> {
    Ok(String::new())
}

#[event(table = "public.user", insert, rate = "1/s")]
async fn limited_event(_ctx: Ctx, _event: Event<serde_json::Value>) -> Result<(), EventError> {
    Ok(())
}

fn main() {}
