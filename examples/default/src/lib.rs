//! Rasura's default microservice: the Rust counterpart of Pysura's default service, on Pysura's
//! data model (`user` with a `role` enum, `app` with a message).
//!
//! - `ping` (query; roles user and admin): who is calling.
//! - `pong(message, number)` (mutation; roles user and admin; verifies the caller's JWT): echoes
//!   its input.
//! - `user_role_changed` (event on `public.user` role updates) and `user_deleted` (event on
//!   `public.user` deletes).
//! - `update_app_message` (cron, every 5 minutes): refreshes the app message.
//! - `delay(milliseconds)` (mutation, admin only): a slow action, to see timeouts and graceful
//!   shutdown.
//!
//! The handlers are a library so tests can link them; `main.rs` only runs the service.

use rasura::{ActionError, Cron, Ctx, Event, EventError, Operation, action, cron, event};
use serde::{Deserialize, Serialize};

rasura::include_generated!();

pub use hasura::actions::{DelayArgs, PongArgs};
pub use hasura::events::UserRow;
pub use hasura::types::{DelayOutput, PingOutput, PongOutput};

/// Tells the caller who they are.
#[action(query, roles = ["user", "admin"])]
pub async fn ping(ctx: Ctx) -> Result<PingOutput, ActionError> {
    let identity = ctx.identity();
    Ok(PingOutput {
        message: "pong".into(),
        role: identity.role().unwrap_or("admin").into(),
        user_id: identity.user_id().map(str::to_owned),
    })
}

/// Echoes the caller's message and number, after verifying the caller's JWT.
#[action(mutation, roles = ["user", "admin"], jwt)]
pub async fn pong(_ctx: Ctx, input: PongArgs) -> Result<PongOutput, ActionError> {
    Ok(PongOutput {
        message: input.message,
        number: input.number,
    })
}

/// Waits, then answers: a slow action to see handler timeouts and graceful shutdown at work
/// (admin only). A delay outside 0–60000 ms is refused with `invalid-delay`.
#[action(mutation)]
pub async fn delay(_ctx: Ctx, input: DelayArgs) -> Result<DelayOutput, ActionError> {
    let ms = u64::try_from(input.milliseconds)
        .ok()
        .filter(|ms| *ms <= 60_000)
        .ok_or_else(|| {
            ActionError::bad_request("invalid-delay", "milliseconds must be between 0 and 60000")
        })?;
    tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
    Ok(DelayOutput {
        slept_ms: input.milliseconds,
    })
}

/// Reacts to a user's role changing.
#[event(table = "public.user", update(columns = ["role"]), retry(num_retries = 3, interval_sec = 10))]
pub async fn user_role_changed(_ctx: Ctx, event: Event<UserRow>) -> Result<(), EventError> {
    if let Operation::Update { old, new } = &event.operation {
        tracing::info!(user_id = %new.user_id, old_role = ?old.role, new_role = ?new.role, "user role changed");
    }
    Ok(())
}

/// Reacts to a user being deleted.
#[event(table = "public.user", delete, retry(num_retries = 3))]
pub async fn user_deleted(_ctx: Ctx, event: Event<UserRow>) -> Result<(), EventError> {
    if let Some(old) = event.operation.old_row() {
        tracing::info!(user_id = %old.user_id, "user deleted");
    }
    Ok(())
}

/// The cron trigger's payload.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct AppMessagePayload {
    /// What triggered the update (Pysura's payload: `{"trigger": "cron"}`).
    pub trigger: String,
}

/// Updates the app message every five minutes.
#[cron(
    schedule = "*/5 * * * *",
    payload = r#"{"trigger": "cron"}"#,
    retry(num_retries = 3, retry_interval_seconds = 600, timeout_seconds = 600)
)]
pub async fn update_app_message(
    _ctx: Ctx,
    tick: Cron<AppMessagePayload>,
) -> Result<(), EventError> {
    tracing::info!(trigger = %tick.payload.trigger, scheduled_time = %tick.scheduled_time, "app message refresh");
    Ok(())
}
