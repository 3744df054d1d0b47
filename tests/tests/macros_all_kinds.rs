//! Every handler kind with every attribute the macros take compiles and registers.

use rasura::{
    ActionError, Cron, Ctx, Event, EventError, Scheduled, Service, action, cron, event, handler,
    scheduled,
};
use serde::{Deserialize, Serialize};

#[derive(Deserialize, rasura::CustomType)]
struct In {
    name: String,
}

#[derive(Serialize, rasura::CustomType)]
struct Out {
    greeting: String,
}

/// Greets.
#[action(name = "greet", query, roles = ["user"], timeout = 5)]
async fn greet(_ctx: Ctx, input: In) -> Result<Out, ActionError> {
    Ok(Out {
        greeting: format!("hello {}", input.name),
    })
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

#[cron(
    schedule = "*/15 9-17 * * 1-5",
    payload = r#"{"a": 1}"#,
    comment = "office hours",
    retry(
        num_retries = 1,
        retry_interval_seconds = 60,
        timeout_seconds = 30,
        tolerance_seconds = 600
    )
)]
async fn office_hours(_ctx: Ctx, _tick: Cron<serde_json::Value>) -> Result<(), EventError> {
    Ok(())
}

#[event(
    table = "public.order",
    insert,
    once,
    dead_letter,
    concurrency = 4,
    retry(num_retries = 5, backoff = "exponential", base_sec = 10, max_sec = 600)
)]
async fn order_placed(ctx: Ctx, _e: Event<serde_json::Value>) -> Result<(), EventError> {
    let _tx = ctx.delivery_transaction().await?;
    Ok(())
}

/// A scheduled event's payload (public, as a scheduled handler's payload may be).
#[derive(Serialize, Deserialize)]
pub struct Reminder {
    /// What to remind of.
    pub message: String,
}

/// Public, as a handler called from elsewhere in the crate may be.
#[scheduled(
    name = "remind",
    once,
    dead_letter,
    timeout = 5,
    retry(num_retries = 3, backoff = "exponential", base_sec = 30, max_sec = 300)
)]
pub async fn send_reminder(_ctx: Ctx, _event: Scheduled<Reminder>) -> Result<(), EventError> {
    Ok(())
}

/// The marker type names the handler and types its payload.
async fn schedule(ctx: Ctx) -> Result<(), ActionError> {
    let at = chrono::Utc::now();
    let _id = ctx
        .scheduler()?
        .schedule::<SendReminder>(
            at,
            &Reminder {
                message: "m".into(),
            },
        )
        .send()
        .await?;
    Ok(())
}

#[test]
fn every_kind_and_attribute_compiles() {
    let _ = schedule;
    let _ = <SendReminder as rasura::scheduler::ScheduledHandler>::NAME;
    let _service = Service::with_handlers([
        handler!(order_placed),
        handler!(send_reminder),
        handler!(greet),
        handler!(place_order),
        handler!(user_changed),
        handler!(office_hours),
    ]);
}
