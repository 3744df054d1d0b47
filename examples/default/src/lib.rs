//! Rasura's default microservice: the Rust counterpart of Pysura's default service, on Pysura's
//! data model (`user` with a `role` enum, `app` with a message).
//!
//! - `ping` (query; roles user and admin): who is calling.
//! - `pong(message, number)` (mutation; roles user and admin; verifies the caller's JWT): echoes
//!   its input and, when Hasura is configured, stores the message on the caller's user row,
//!   calling Hasura as the caller's role.
//! - `upload_file(file_name, file_type, file_data)` (mutation; roles user and admin): stores a
//!   base64-encoded file in object storage and answers with a signed URL (Pysura's default
//!   action).
//! - `user_role_changed` (event on `public.user` role updates; records the change in Postgres)
//!   and `user_deleted` (event on `public.user` deletes).
//! - `welcome_user` (event on `public.user` inserts; `once`, exponential backoff, dead
//!   letters): posts the new user to `WELCOME_WEBHOOK_URL` with an `Idempotency-Key`.
//! - `update_app_message` (cron, every 5 minutes): refreshes the app message.
//! - `remind_me(at, message)` (mutation; role user) schedules `send_reminder`, a one-off
//!   scheduled event, through Hasura's Metadata API.
//! - `delay(milliseconds)` (mutation, admin only): a slow action, to see timeouts and graceful
//!   shutdown.
//! - Identity ([`identity`]): `signup`, `login`, `refresh` and `exchange_token` (role
//!   `anonymous`) answer `TokenOutput`; `logout` (role `user`, verifies the JWT).
//! - Access policies ([`access`]): `update_video`, `delete_video` and `update_school`, each
//!   checking a policy against the row it loads.
//! - Rate limits: `ping` 20 per second with bursts of 40 per user, `login` 5 per minute per
//!   username, `signup` 20 per minute (per client address when a trusted header is set);
//!   `user_deleted` runs at most 2 deliveries at once.
//!
//! The database tables come from the Hasura CLI migrations in `hasura/migrations/default`.
//!
//! The handlers are a library so tests can link them; `main.rs` only runs the service.

use std::time::Duration;

use base64::Engine as _;
use rasura::db::sqlx;
use rasura::{
    ActionError, Cron, Ctx, Event, EventError, Operation, Scheduled, action, cron, event, scheduled,
};
use serde::{Deserialize, Serialize};

rasura::include_generated!();

pub mod access;
pub mod identity;

pub use hasura::actions::{DelayArgs, PongArgs, RemindMeArgs, UploadFileArgs};
pub use hasura::events::UserRow;
pub use hasura::operations::{SetLastMessage, set_last_message};
pub use hasura::types::{
    DelayOutput, EnumRoleEnum, PingOutput, PongOutput, ReminderOutput, UploadFileOutput,
};

/// How long an `upload_file` URL stays valid.
pub const UPLOAD_URL_LIFETIME: Duration = Duration::from_secs(3600);

/// Tells the caller who they are.
#[action(query, roles = ["user", "admin"], rate = "20/s, burst 40")]
pub async fn ping(ctx: Ctx) -> Result<PingOutput, ActionError> {
    let identity = ctx.identity();
    Ok(PingOutput {
        message: "pong".into(),
        role: identity.role().unwrap_or("admin").into(),
        user_id: identity.user_id().map(str::to_owned),
    })
}

/// Echoes the caller's message and number, after verifying the caller's JWT. When Hasura is
/// configured, also stores the message on the caller's user row (as the caller's role, so the
/// `user` update permission decides).
#[action(mutation, roles = ["user", "admin"], jwt)]
pub async fn pong(ctx: Ctx, input: PongArgs) -> Result<PongOutput, ActionError> {
    if let (Ok(graphql), Some(user_id)) = (ctx.graphql(), ctx.identity().user_id()) {
        // Boxed: the HTTP call's large future is allocated only when it runs, so `pong`
        // without Hasura configured pays nothing for it.
        Box::pin(store_last_message(graphql, user_id, &input.message)).await?;
    }
    Ok(PongOutput {
        message: input.message,
        number: input.number,
    })
}

/// Stores `message` on `user_id`'s row through Hasura, as the caller's role.
async fn store_last_message(
    graphql: rasura::context::Graphql<'_>,
    user_id: &str,
    message: &str,
) -> Result<(), ActionError> {
    let variables = set_last_message::Variables {
        user_id: user_id.to_owned(),
        message: message.to_owned(),
    };
    graphql
        .as_role()?
        .execute::<SetLastMessage>(&variables)
        .await?;
    Ok(())
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

/// Stores a base64-encoded file and answers with a signed URL to download it.
#[action(mutation, roles = ["user", "admin"])]
pub async fn upload_file(ctx: Ctx, input: UploadFileArgs) -> Result<UploadFileOutput, ActionError> {
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(input.file_data.trim())
        .map_err(|e| {
            ActionError::bad_request("invalid-file-data", format!("file_data is not base64: {e}"))
        })?;
    if !is_content_type(&input.file_type) {
        return Err(ActionError::bad_request(
            "invalid-file-type",
            "file_type must be a media type such as image/png",
        ));
    }
    let storage = ctx.storage()?;
    let file_id = rasura::types::Uuid::new_v4().to_string();
    let owner = safe_segment(ctx.identity().user_id().unwrap_or("admin"));
    let file_name = safe_segment(&input.file_name);
    let key = format!("uploads/{owner}/{file_id}/{file_name}");
    let stored = storage.upload(&key, bytes, &input.file_type).await?;
    let url = storage.url(&key, UPLOAD_URL_LIFETIME).await?;
    Ok(UploadFileOutput {
        file_id,
        file_name,
        file_type: stored.content_type,
        file_url: url.to_string(),
        size: i32::try_from(stored.size).unwrap_or(i32::MAX),
    })
}

/// `type/subtype`, with an optional `; parameter`, in visible ASCII.
fn is_content_type(text: &str) -> bool {
    let essence = text.split(';').next().unwrap_or_default().trim();
    let token = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$&-^_.+".contains(&b))
    };
    text.len() <= 255
        && text.bytes().all(|b| (0x20..0x7f).contains(&b))
        && essence
            .split_once('/')
            .is_some_and(|(t, s)| token(t) && token(s))
}

/// A file name or id made safe as one object key segment.
fn safe_segment(name: &str) -> String {
    let cleaned: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '_'
            }
        })
        .take(100)
        .collect();
    match cleaned.trim_matches('.') {
        "" => "file".to_owned(),
        name => name.to_owned(),
    }
}

/// The role's Postgres value (`admin`, `persona`, `user`).
fn role_value(role: &EnumRoleEnum) -> &'static str {
    match role {
        EnumRoleEnum::Admin => "admin",
        EnumRoleEnum::Persona => "persona",
        EnumRoleEnum::User => "user",
    }
}

/// Records a user's role change in `user_role_change`, once per event: with `once`, the
/// insert commits in one transaction with the delivery's record, so a redelivery by Hasura is
/// acknowledged without running the handler again.
#[event(
    table = "public.user",
    update(columns = ["role"]),
    once,
    retry(num_retries = 3, interval_sec = 10)
)]
pub async fn user_role_changed(ctx: Ctx, event: Event<UserRow>) -> Result<(), EventError> {
    let Operation::Update { old, new } = &event.operation else {
        return Err(EventError::rejected("expected an UPDATE"));
    };
    if old.role == new.role {
        return Ok(());
    }
    let mut tx = ctx.delivery_transaction().await?;
    // `ON CONFLICT`: the record outlives the delivery retention (30 days by default).
    sqlx::query(
        "INSERT INTO public.user_role_change \
             (event_id, user_id, old_role, new_role, changed_by_role, changed_at) \
         VALUES ($1::uuid, $2, $3, $4, $5, $6) ON CONFLICT (event_id) DO NOTHING",
    )
    .bind(&event.id)
    .bind(&new.user_id)
    .bind(role_value(&old.role))
    .bind(role_value(&new.role))
    .bind(ctx.identity().role())
    .bind(event.created_at)
    .execute(&mut *tx)
    .await?;
    tracing::info!(
        user_id = %new.user_id,
        old_role = role_value(&old.role),
        new_role = role_value(&new.role),
        "user role changed"
    );
    Ok(())
}

/// `WELCOME_WEBHOOK_URL`: the third-party API `welcome_user` posts to (unset: nothing is sent).
pub const WELCOME_WEBHOOK_URL: &str = "WELCOME_WEBHOOK_URL";

/// Where `welcome_user` posts (service state, read from `WELCOME_WEBHOOK_URL` by [`configure`]).
#[derive(Debug, Clone, Default)]
pub struct WelcomeApi {
    /// The URL; `None`: no welcome is sent.
    pub url: Option<String>,
}

impl WelcomeApi {
    /// From `WELCOME_WEBHOOK_URL`.
    pub fn from_env() -> Self {
        Self {
            url: std::env::var(WELCOME_WEBHOOK_URL)
                .ok()
                .map(|url| url.trim().to_owned())
                .filter(|url| !url.is_empty()),
        }
    }
}

/// The example's service configuration: its principal variables ([`access::configure`]) and
/// the welcome API.
pub fn configure(service: rasura::Service) -> rasura::Service {
    access::configure(service).with_state(WelcomeApi::from_env())
}

/// Tells a third-party API about each new user: `POST {"user_id": …}` to
/// `WELCOME_WEBHOOK_URL`, with the event id as `Idempotency-Key`.
///
/// A call to another service is at-least-once even with `once` (the call can succeed and the
/// commit fail), so the key lets the API drop a duplicate. A non-2xx answer or a connection
/// error is transient: Hasura retries with exponential backoff (10 s, 20 s, … at most 600 s),
/// and the last failure is dead-lettered (`example-default dead-letters list`).
#[event(
    table = "public.user",
    insert,
    once,
    dead_letter,
    retry(num_retries = 5, backoff = "exponential", base_sec = 10, max_sec = 600)
)]
pub async fn welcome_user(ctx: Ctx, event: Event<UserRow>) -> Result<(), EventError> {
    let Some(user) = event.operation.new_row() else {
        return Err(EventError::rejected("expected an INSERT"));
    };
    let Some(url) = ctx
        .state::<WelcomeApi>()
        .ok()
        .and_then(|api| api.url.clone())
    else {
        tracing::info!(user_id = %user.user_id, "WELCOME_WEBHOOK_URL is not set; no welcome sent");
        return Ok(());
    };
    let transient = |message: String| {
        EventError::new(message)
            .with_status(rasura::http::StatusCode::SERVICE_UNAVAILABLE)
            .with_code("welcome-api-failed")
    };
    let response = ctx
        .http()
        .post(url)
        .header("Idempotency-Key", &event.id)
        .json(&serde_json::json!({ "user_id": user.user_id }))
        .send()
        .await
        .map_err(|e| {
            transient(format!(
                "the welcome API is unreachable: {}",
                e.without_url()
            ))
        })?;
    if !response.status().is_success() {
        return Err(transient(format!(
            "the welcome API answered HTTP {}",
            response.status().as_u16()
        )));
    }
    tracing::info!(user_id = %user.user_id, "welcome sent");
    Ok(())
}

/// Reacts to a user being deleted.
#[event(table = "public.user", delete, retry(num_retries = 3), concurrency = 2)]
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

/// The payload of a `send_reminder` event.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Reminder {
    /// What to remind of.
    pub message: String,
}

/// Delivers a reminder created by `remind_me` (a one-off scheduled event).
#[scheduled(name = "send_reminder", retry(num_retries = 2))]
pub async fn send_reminder(_ctx: Ctx, event: Scheduled<Reminder>) -> Result<(), EventError> {
    tracing::info!(
        event_id = %event.id,
        scheduled_time = %event.scheduled_time,
        message = %event.payload.message,
        "reminder"
    );
    Ok(())
}

/// Schedules a reminder for the caller at `at` (a one-off scheduled event through Hasura's
/// Metadata API) and answers its id.
#[action(mutation, roles = ["user"])]
pub async fn remind_me(ctx: Ctx, input: RemindMeArgs) -> Result<ReminderOutput, ActionError> {
    if input.at < chrono::Utc::now() - chrono::Duration::minutes(1) {
        return Err(ActionError::bad_request(
            "validation-failed",
            "`at` is in the past",
        ));
    }
    let event_id = ctx
        .scheduler()?
        .schedule::<SendReminder>(
            input.at,
            &Reminder {
                message: input.message,
            },
        )
        .comment(format!(
            "reminder for user {}",
            ctx.identity().user_id().unwrap_or("?")
        ))
        .send()
        .await?;
    Ok(ReminderOutput {
        event_id: event_id.to_string(),
    })
}
