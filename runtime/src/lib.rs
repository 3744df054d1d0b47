//! # Rasura
//!
//! Typed, secured Hasura v2 webhooks on axum. Annotate async functions with [`action`],
//! [`event`], [`cron`] or [`scheduled`]; [`Service`] collects them (through `inventory`, no route list to keep)
//! and answers exactly as Hasura expects.
//!
//! ```no_run
//! use rasura::{action, ActionError, Ctx, CustomType};
//! use serde::{Deserialize, Serialize};
//!
//! // The action's GraphQL types come from these (or from actions.graphql through codegen).
//! #[derive(Deserialize, CustomType)]
//! struct EchoInput { message: String }
//! #[derive(Serialize, CustomType)]
//! struct EchoOutput { message: String }
//!
//! /// Echoes its input.
//! #[action(query, roles = ["user"])]
//! async fn echo(_ctx: Ctx, input: EchoInput) -> Result<EchoOutput, ActionError> {
//!     Ok(EchoOutput { message: input.message })
//! }
//!
//! #[tokio::main]
//! async fn main() -> std::process::ExitCode {
//!     rasura::Service::new().run().await
//! }
//! ```
//!
//! Routes: `POST /actions` (dispatch on `action.name`), `POST /actions/{name}`,
//! `POST /events/{trigger}`, `POST /crons/{name}`, `POST /scheduled/{name}`, each requiring the webhook secret in
//! `X-Rasura-Webhook-Secret`; `GET /healthz`, `GET /readyz` and the signed `GET /files/{key}` of
//! the local storage.
//!
//! Every handler's [`Ctx`] carries the caller's identity and the resources built once at
//! start-up: [`Ctx::graphql`] (Hasura's GraphQL API), [`Ctx::db`] and [`Ctx::transaction`]
//! (Postgres through `sqlx`), [`Ctx::storage`] (object storage through `object_store`),
//! [`Ctx::http`] and [`Ctx::state`]; deliveries get [`Ctx::once`] and
//! [`Ctx::delivery_transaction`] (exactly-once effects), and [`Ctx::scheduler`] creates one-off
//! scheduled events.

// `#[derive(CustomType)]` inside this crate emits `::rasura::` paths, as it does for users.
extern crate self as rasura;

pub mod audit;
pub mod auth;
mod cli;
pub mod config;
pub mod context;
pub mod custom_types;
pub mod db;
pub mod dead_letters;
pub mod delivery;
mod devdefaults;
pub mod doctor;
pub mod error;
pub mod generated;
pub mod graphql;
pub mod metadata;
pub mod metrics;
pub mod migrations;
pub mod pipeline;
pub mod policy;
pub mod prelude;
pub mod protocol;
pub mod rate;
pub mod registry;
mod response_fields;
pub mod scheduler;
pub mod security;
mod server;
pub mod service;
pub mod storage;
mod telemetry;
#[cfg(feature = "testing")]
pub mod testing;
pub mod trace;
pub mod types;
mod worker_nudge;

#[doc(hidden)]
#[path = "private.rs"]
pub mod __private;

// The crate root holds what a handler author needs (also in [`prelude`]); everything else is
// reached through its module (`rasura::config::Config`, `rasura::protocol::SessionVariables`, …).
pub use context::Ctx;
pub use custom_types::CustomType;
pub use error::{ActionError, EventError};
pub use protocol::{Cron, Event, Operation, Scheduled};
pub use rasura_macros::{CustomType, action, cron, event, handler, scheduled};
pub use service::Service;

/// The `http` crate, for the status codes of [`ActionError::new`].
pub use http;

/// Seconds since the Unix epoch (0 for a clock set before it): JWT times, signed URLs.
pub(crate) fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}
