use rasura::{action, cron, event, handler, ActionError, Cron, Ctx, Event, EventError, Service};
use serde::{Deserialize, Serialize};

#[derive(Deserialize)]
struct In {
    name: String,
}

#[derive(Serialize)]
struct Out {
    greeting: String,
}

/// Greets.
#[action(name = "greet", query, roles = ["user"], timeout = 5)]
async fn greet(_ctx: Ctx, input: In) -> Result<Out, ActionError> {
    Ok(Out { greeting: format!("hello {}", input.name) })
}

#[action(asynchronous, jwt)]
async fn place_order(_ctx: Ctx) -> Result<Option<String>, ActionError> {
    Ok(None)
}

#[event(trigger = "user-changed", table = "auth.user", source = "users_db", insert,
        update(columns = ["email"], payload = "*"), delete, manual,
        retry(num_retries = 2, interval_sec = 5, timeout_sec = 30), timeout = 10)]
async fn user_changed(_ctx: Ctx, _e: Event<serde_json::Value>) -> Result<(), EventError> {
    Ok(())
}

#[cron(schedule = "*/15 9-17 * * 1-5", payload = r#"{"a": 1}"#, comment = "office hours",
       retry(num_retries = 1, retry_interval_seconds = 60, timeout_seconds = 30, tolerance_seconds = 600))]
async fn office_hours(_ctx: Ctx, _tick: Cron<serde_json::Value>) -> Result<(), EventError> {
    Ok(())
}

fn main() {
    let _service = Service::with_handlers([
        handler!(greet),
        handler!(place_order),
        handler!(user_changed),
        handler!(office_hours),
    ]);
}
