//! `rasura.dead_letter`: deliveries whose last attempt failed in a handler with the
//! `dead_letter` option, kept with Hasura's request body so they can be replayed.
//!
//! The service binary's `dead-letters list|show|replay|drop` commands use these functions;
//! a replay sends the stored body through the service's own pipeline, and on success deletes
//! the letter (for a `once` handler, in the transaction that records the delivery as processed).

use axum::Router;
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;
use tower::ServiceExt;

use crate::pipeline::deliveries::Replay;
use crate::registry::Handler;

/// One dead-lettered delivery.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DeadLetter {
    /// The delivery id (Hasura's event or scheduled event id).
    pub id: String,
    /// The handler's name.
    pub handler: String,
    /// Hasura's request body.
    pub payload: Value,
    /// The last failure.
    pub error: String,
    /// Attempts so far (Hasura's, then replays).
    pub attempts: i32,
    /// When the last attempt failed.
    pub failed_at: DateTime<Utc>,
}

type Row = (String, String, Value, String, i32, DateTime<Utc>);

fn letter((id, handler, payload, error, attempts, failed_at): Row) -> DeadLetter {
    DeadLetter {
        id,
        handler,
        payload,
        error,
        attempts,
        failed_at,
    }
}

/// Makes sure the table exists (the delivery migration).
pub async fn prepare(pool: &sqlx::PgPool) -> Result<(), sqlx::Error> {
    crate::migrations::apply(pool, &[crate::migrations::DELIVERIES])
        .await
        .map(|_| ())
}

/// Every dead letter, oldest first, optionally of one handler only.
pub async fn list(
    pool: &sqlx::PgPool,
    handler: Option<&str>,
) -> Result<Vec<DeadLetter>, sqlx::Error> {
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT id, handler, payload, error, attempts, failed_at FROM rasura.dead_letter \
         WHERE $1::text IS NULL OR handler = $1 ORDER BY failed_at, id",
    )
    .bind(handler)
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().map(letter).collect())
}

/// One dead letter.
pub async fn get(pool: &sqlx::PgPool, id: &str) -> Result<Option<DeadLetter>, sqlx::Error> {
    let row: Option<Row> = sqlx::query_as(
        "SELECT id, handler, payload, error, attempts, failed_at FROM rasura.dead_letter \
         WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(pool)
    .await?;
    Ok(row.map(letter))
}

/// Deletes a dead letter without replaying it; whether there was one.
pub async fn remove(pool: &sqlx::PgPool, id: &str) -> Result<bool, sqlx::Error> {
    let deleted = sqlx::query("DELETE FROM rasura.dead_letter WHERE id = $1")
        .bind(id)
        .execute(pool)
        .await?;
    Ok(deleted.rows_affected() == 1)
}

/// Runs `letter` through `router` (a service built from the same handlers) as its handler's
/// delivery. On success the letter is gone (and, for a `once` handler, the delivery recorded
/// as processed; one processed since is not run again); on failure the letter stays with the
/// attempt counted, and the error is returned.
pub async fn replay(
    router: &Router,
    handlers: &[&'static Handler],
    letter: &DeadLetter,
) -> Result<(), String> {
    let handler = handlers
        .iter()
        .find(|h| h.name == letter.handler && h.delivery_policy().is_some())
        .ok_or_else(|| {
            format!(
                "no event, cron or scheduled handler named `{}` in this binary",
                letter.handler
            )
        })?;
    let body = serde_json::to_vec(&letter.payload).map_err(|e| e.to_string())?;
    let mut request = http::Request::post(handler.route())
        .header(http::header::CONTENT_TYPE, "application/json")
        .body(axum::body::Body::from(body))
        .map_err(|e| e.to_string())?;
    request.extensions_mut().insert(Replay);
    let response = router
        .clone()
        .oneshot(request)
        .await
        .map_err(|e| e.to_string())?;
    let status = response.status();
    if status.is_success() {
        return Ok(());
    }
    let bytes = axum::body::to_bytes(response.into_body(), 64 * 1024)
        .await
        .unwrap_or_default();
    let message = serde_json::from_slice::<Value>(&bytes)
        .ok()
        .and_then(|v| v["message"].as_str().map(str::to_owned))
        .unwrap_or_else(|| String::from_utf8_lossy(&bytes).into_owned());
    Err(format!("HTTP {}: {message}", status.as_u16()))
}

/// One line of `dead-letters list`: the id first.
pub fn summary(letter: &DeadLetter) -> String {
    let mut error: String = letter.error.chars().take(100).collect();
    if error.len() < letter.error.len() {
        error.push('…');
    }
    format!(
        "{}  {}  attempts={}  failed_at={}  {}",
        letter.id,
        letter.handler,
        letter.attempts,
        letter
            .failed_at
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        error.replace('\n', " ")
    )
}
