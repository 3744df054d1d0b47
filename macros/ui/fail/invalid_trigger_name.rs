use rasura::{event, Ctx, Event, EventError};

#[event(trigger = "2fast", table = "public.user", insert)]
async fn starts_with_a_digit(_ctx: Ctx, _e: Event<serde_json::Value>) -> Result<(), EventError> {
    Ok(())
}

#[event(trigger = "a_trigger_name_that_is_far_too_long_for_hasura", table = "public.user", insert)]
async fn too_long(_ctx: Ctx, _e: Event<serde_json::Value>) -> Result<(), EventError> {
    Ok(())
}

fn main() {}
