use rasura::{cron, event, scheduled, Cron, Ctx, Event, EventError, Scheduled};

#[event(table = "public.user", insert, retry(backoff = "exponental"))]
async fn typo_backoff(_ctx: Ctx, _event: Event<serde_json::Value>) -> Result<(), EventError> {
    Ok(())
}

#[event(table = "public.user", insert, retry(base_sec = 5))]
async fn base_without_backoff(_ctx: Ctx, _event: Event<serde_json::Value>) -> Result<(), EventError> {
    Ok(())
}

#[event(table = "public.user", insert, retry(backoff = "exponential", base_sec = 60, max_sec = 10))]
async fn max_below_base(_ctx: Ctx, _event: Event<serde_json::Value>) -> Result<(), EventError> {
    Ok(())
}

#[event(table = "public.user", insert, once = true, dead_leter)]
async fn flag_mistakes(_ctx: Ctx, _event: Event<serde_json::Value>) -> Result<(), EventError> {
    Ok(())
}

#[cron(
    schedule = "0 * * * *",
    dead_letter,
    retry(num_retries = 20, backoff = "exponential", base_sec = 60, max_sec = 3600)
)]
async fn beyond_tolerance(_ctx: Ctx, _tick: Cron<()>) -> Result<(), EventError> {
    Ok(())
}

#[cron(schedule = "0 * * * *", retry(num_retries = 2, backoff = "exponential"))]
async fn uncounted(_ctx: Ctx, _tick: Cron<()>) -> Result<(), EventError> {
    Ok(())
}

#[scheduled(rate = "1/s")]
async fn limited(_ctx: Ctx, _event: Scheduled<()>) -> Result<(), EventError> {
    Ok(())
}

#[scheduled]
async fn missing_payload(_ctx: Ctx) -> Result<(), EventError> {
    Ok(())
}

#[scheduled]
async fn wrong_payload(_ctx: Ctx, _event: Cron<()>) -> Result<(), EventError> {
    Ok(())
}

fn main() {}
