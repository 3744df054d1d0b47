//! A service for tests over real TCP: the example's handlers plus handlers that panic and stall,
//! which the example (rightly) does not have.

use std::time::Duration;

use rasura::{ActionError, Ctx, Event, EventError, action, event};

// Linking the example registers its handlers too.
use example_default as _;

/// Panics on every call.
#[action]
async fn explode(_ctx: Ctx) -> Result<serde_json::Value, ActionError> {
    panic!("explode was called")
}

/// Takes longer than its timeout.
#[event(table = "public.user", insert, timeout = 1, retry(interval_sec = 15))]
async fn stall(_ctx: Ctx, _event: Event<serde_json::Value>) -> Result<(), EventError> {
    tokio::time::sleep(Duration::from_secs(10)).await;
    Ok(())
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    rasura::Service::new().run().await
}
