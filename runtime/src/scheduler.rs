//! One-off scheduled events from code (`ctx.scheduler()`), through Hasura's Metadata API:
//! `create_scheduled_event`, `delete_scheduled_event` and `get_scheduled_events`.
//!
//! Each `#[scheduled]` handler gets a marker type named after it (`send_reminder` →
//! `SendReminder`) implementing [`ScheduledHandler`], so the payload is checked against the
//! handler's at compile time:
//!
//! ```no_run
//! # use rasura::{Ctx, ActionError};
//! # #[derive(serde::Serialize, serde::Deserialize)] struct Reminder { message: String }
//! # struct SendReminder;
//! # impl rasura::scheduler::ScheduledHandler for SendReminder {
//! #     const NAME: &'static str = "send_reminder";
//! #     type Payload = Reminder;
//! #     const RETRY: rasura::registry::CronRetry = rasura::registry::CronRetry {
//! #         num_retries: 0, retry_interval_seconds: 10, timeout_seconds: 60, tolerance_seconds: 21600 };
//! # }
//! # async fn f(ctx: Ctx, at: chrono::DateTime<chrono::Utc>) -> Result<(), ActionError> {
//! let id = ctx
//!     .scheduler()?
//!     .schedule::<SendReminder>(at, &Reminder { message: "stand up".into() })
//!     .comment("daily reminder")
//!     .send()
//!     .await?;
//! ctx.scheduler()?.cancel(&id).await?;
//! # Ok(()) }
//! ```
//!
//! The Metadata API writes to Hasura's own database, so an event cannot be created in the same
//! transaction as the handler's writes, and the call is at-least-once. When both must happen or
//! neither, write an outbox row in the transaction, create the event from the outbox's event
//! trigger, and deduplicate on the outbox id in the scheduled handler (see the README,
//! "Scheduled events").

use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::context::{Ctx, Unavailable};
use crate::metadata::sync::{MetadataClient, SyncError};
use crate::registry::CronRetry;

/// A `#[scheduled]` handler, as the scheduler sees it (implemented by the marker type the
/// macro generates).
pub trait ScheduledHandler: 'static {
    /// The handler's name (its route is `/scheduled/{NAME}`).
    const NAME: &'static str;
    /// The payload the handler takes.
    type Payload: Serialize + serde::de::DeserializeOwned + Send + Sync + 'static;
    /// The retry configuration sent with each event unless [`ScheduleRequest::retry`] sets one.
    const RETRY: CronRetry;
}

/// The id Hasura gave a scheduled event (what the handler later receives as `id`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ScheduledEventId(pub String);

impl ScheduledEventId {
    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ScheduledEventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for ScheduledEventId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// Why a Metadata API call of the scheduler failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SchedulerError {
    /// Hasura refused the request, with its status, `code` and `error`.
    #[error("Hasura refused the request (HTTP {status}, {code}): {message}")]
    Hasura {
        /// The HTTP status.
        status: u16,
        /// Hasura's `code` (`not-exists`, `validation-failed`, …).
        code: String,
        /// Hasura's `error`.
        message: String,
    },
    /// Hasura could not be reached.
    #[error("cannot reach Hasura's metadata API: {0}")]
    Unreachable(String),
    /// The answer is not what the Metadata API returns.
    #[error("unexpected answer from the metadata API: {0}")]
    Decode(String),
    /// The payload could not be serialised.
    #[error("the scheduled event's payload cannot be serialised: {0}")]
    Payload(String),
    /// The event's retry configuration disagrees with its handler's.
    #[error("{0}")]
    Retry(String),
}

impl SchedulerError {
    /// Whether trying again later may succeed (Hasura unreachable, or 5xx).
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Unreachable(_) => true,
            Self::Hasura { status, .. } => *status >= 500 || *status == 429,
            _ => false,
        }
    }
}

impl From<SyncError> for SchedulerError {
    fn from(e: SyncError) -> Self {
        match e {
            SyncError::Transport(m) => Self::Unreachable(m),
            SyncError::Refused {
                status,
                code,
                message,
            } => Self::Hasura {
                status,
                code,
                message,
            },
            SyncError::Conflict(_) => Self::Hasura {
                status: 409,
                code: "conflict".into(),
                message: e.to_string(),
            },
            SyncError::Decode(m) => Self::Decode(m),
        }
    }
}

impl From<SchedulerError> for crate::ActionError {
    /// Hasura's refusal reaches the action's caller with its message and code, as GraphQL
    /// errors do; other failures become `unexpected`, with the details in the log only.
    fn from(error: SchedulerError) -> Self {
        match error {
            SchedulerError::Hasura { code, message, .. } => {
                crate::ActionError::bad_request(code, message)
            }
            other => {
                tracing::error!(error = %other, "a scheduler call to Hasura failed");
                crate::ActionError::bad_request("unexpected", "a call to Hasura failed")
            }
        }
    }
}

/// How this module's errors answer an event or cron delivery: `scheduler-error`, transient when
/// Hasura is unreachable or answers 5xx.
pub(crate) fn classify(any: &dyn std::any::Any) -> Option<crate::error::DeliveryFailure> {
    any.downcast_ref::<SchedulerError>()
        .map(|e| crate::error::DeliveryFailure {
            code: "scheduler-error",
            transient: e.is_transient(),
        })
}

/// Creates, cancels and lists one-off scheduled events ([`Ctx::scheduler`]).
#[derive(Debug, Clone, Copy)]
pub struct Scheduler<'a> {
    client: &'a MetadataClient,
    base_url_env: &'a str,
    /// The handler whose request's trace the calls carry.
    ctx: Option<&'a Ctx>,
}

impl Ctx {
    /// One-off scheduled events, through Hasura's Metadata API (`HASURA_GRAPHQL_ENDPOINT` and
    /// `HASURA_GRAPHQL_ADMIN_SECRET`).
    pub fn scheduler(&self) -> Result<Scheduler<'_>, Unavailable> {
        let client = self.shared.metadata.as_ref().ok_or_else(|| Unavailable {
            resource: "ctx.scheduler()",
            hint: "set HASURA_GRAPHQL_ENDPOINT (and HASURA_GRAPHQL_ADMIN_SECRET)".into(),
        })?;
        Ok(Scheduler {
            client,
            base_url_env: &self.shared.base_url_env,
            ctx: Some(self),
        })
    }
}

impl<'a> Scheduler<'a> {
    /// A scheduler over `client` (outside a handler, e.g. in a job runner), with webhooks
    /// under `{{RASURA_BASE_URL}}`.
    pub fn new(client: &'a MetadataClient) -> Self {
        Self {
            client,
            base_url_env: crate::config::DEFAULT_BASE_URL_ENV,
            ctx: None,
        }
    }

    fn trace_headers(&self) -> http::HeaderMap {
        self.ctx.map(Ctx::trace_headers).unwrap_or_default()
    }

    /// Webhooks under `{{<name>}}` instead (the `RASURA_BASE_URL_ENV` of the service, so two
    /// services on one Hasura do not collide).
    pub fn base_url_env(mut self, name: &'a str) -> Self {
        self.base_url_env = name;
        self
    }

    /// Prepares a one-off event for handler `H` at `at`, with `payload` (typed as the
    /// handler's); send it with [`ScheduleRequest::send`].
    pub fn schedule<H: ScheduledHandler>(
        &self,
        at: DateTime<Utc>,
        payload: &H::Payload,
    ) -> ScheduleRequest<'a> {
        ScheduleRequest {
            client: self.client,
            trace: self.trace_headers(),
            base_url_env: self.base_url_env,
            handler: H::NAME,
            at,
            payload: serde_json::to_value(payload).map_err(|e| e.to_string()),
            comment: None,
            handler_retry: H::RETRY,
            retry: H::RETRY,
        }
    }

    /// Cancels (deletes) a one-off event that has not been delivered yet.
    pub async fn cancel(&self, id: &ScheduledEventId) -> Result<(), SchedulerError> {
        self.client
            .call_with(
                &json!({
                    "type": "delete_scheduled_event",
                    "args": {"type": "one_off", "event_id": id.as_str()},
                }),
                self.trace_headers(),
            )
            .await?;
        Ok(())
    }

    /// One page of one-off events, newest Hasura order, with the total count.
    pub async fn list(&self, query: &ListScheduled) -> Result<ScheduledEventPage, SchedulerError> {
        let mut args = json!({
            "type": "one_off",
            "limit": query.limit,
            "offset": query.offset,
            "get_rows_count": true,
        });
        if !query.status.is_empty() {
            args["status"] = json!(query.status);
        }
        let answer = self
            .client
            .call_with(
                &json!({"type": "get_scheduled_events", "args": args}),
                self.trace_headers(),
            )
            .await?;
        ScheduledEventPage::from_answer(answer)
    }
}

/// A one-off event to create ([`Scheduler::schedule`]).
#[derive(Debug)]
#[must_use = "nothing is scheduled until `send` is awaited"]
pub struct ScheduleRequest<'a> {
    client: &'a MetadataClient,
    trace: http::HeaderMap,
    base_url_env: &'a str,
    handler: &'static str,
    at: DateTime<Utc>,
    payload: Result<Value, String>,
    comment: Option<String>,
    handler_retry: CronRetry,
    retry: CronRetry,
}

impl ScheduleRequest<'_> {
    /// Sets the event's comment (shown in Hasura's console and sent to the handler).
    pub fn comment(mut self, comment: impl Into<String>) -> Self {
        self.comment = Some(comment.into());
        self
    }

    /// Sets the retry configuration (Hasura's `RetryConfST`; default: the handler's
    /// `retry(…)`). The handler's deliveries are answered by its own configuration, so `send`
    /// refuses one that disagrees with it: `num_retries` must be the handler's, and
    /// `timeout_seconds` and `tolerance_seconds` at least the handler's; only
    /// `retry_interval_seconds` is free.
    pub fn retry(mut self, retry: CronRetry) -> Self {
        self.retry = retry;
        self
    }

    /// The `create_scheduled_event` request this sends.
    pub fn body(&self) -> Result<Value, SchedulerError> {
        let payload = self.payload.clone().map_err(SchedulerError::Payload)?;
        let (own, event) = (self.handler_retry, self.retry);
        if event.num_retries != own.num_retries
            || event.timeout_seconds < own.timeout_seconds
            || event.tolerance_seconds < own.tolerance_seconds
        {
            return Err(SchedulerError::Retry(format!(
                "`{}` answers with num_retries = {}, timeout_seconds = {} and tolerance_seconds = {}: \
                 an event's retry configuration needs the same num_retries and at least those \
                 timeout_seconds and tolerance_seconds (change the handler's `retry(…)` instead)",
                self.handler, own.num_retries, own.timeout_seconds, own.tolerance_seconds
            )));
        }
        let mut args = json!({
            "webhook": format!("{{{{{}}}}}/scheduled/{}", self.base_url_env, self.handler),
            "schedule_at": self.at.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
            "payload": payload,
            "headers": [{
                "name": crate::security::WEBHOOK_SECRET_HEADER,
                "value_from_env": crate::config::WEBHOOK_SECRET,
            }],
            "retry_conf": {
                "num_retries": self.retry.num_retries,
                "retry_interval_seconds": self.retry.retry_interval_seconds,
                "timeout_seconds": self.retry.timeout_seconds,
                "tolerance_seconds": self.retry.tolerance_seconds,
            },
        });
        if let Some(comment) = &self.comment {
            args["comment"] = json!(comment);
        }
        Ok(json!({"type": "create_scheduled_event", "args": args}))
    }

    /// Creates the event; returns its id.
    pub async fn send(self) -> Result<ScheduledEventId, SchedulerError> {
        let body = self.body()?;
        let answer = self.client.call_with(&body, self.trace).await?;
        answer["event_id"]
            .as_str()
            .map(|id| ScheduledEventId(id.to_owned()))
            .ok_or_else(|| SchedulerError::Decode("no `event_id` in the answer".into()))
    }
}

/// Which one-off events [`Scheduler::list`] returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListScheduled {
    /// At most this many (default 100).
    pub limit: u32,
    /// Skipping this many.
    pub offset: u32,
    /// Only these statuses (`scheduled`, `locked`, `delivered`, `error`, `dead`); empty: all.
    pub status: Vec<String>,
}

impl Default for ListScheduled {
    fn default() -> Self {
        Self {
            limit: 100,
            offset: 0,
            status: Vec::new(),
        }
    }
}

/// One one-off event, as `get_scheduled_events` describes it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct ScheduledEventInfo {
    /// Its id.
    pub id: ScheduledEventId,
    /// The webhook (as configured, `{{RASURA_BASE_URL}}/scheduled/…`).
    #[serde(default, alias = "webhook")]
    pub webhook_conf: Value,
    /// When it is (or was) due.
    pub scheduled_time: String,
    /// Its payload.
    #[serde(default)]
    pub payload: Value,
    /// `scheduled`, `locked`, `delivered`, `error` or `dead`.
    #[serde(default)]
    pub status: String,
    /// Attempts so far.
    #[serde(default)]
    pub tries: u32,
    /// Its comment.
    #[serde(default)]
    pub comment: Option<String>,
}

/// One page of [`Scheduler::list`].
#[derive(Debug, Clone, PartialEq)]
pub struct ScheduledEventPage {
    /// The events.
    pub events: Vec<ScheduledEventInfo>,
    /// How many match in all (when Hasura counted them).
    pub count: Option<u64>,
}

impl ScheduledEventPage {
    fn from_answer(answer: Value) -> Result<Self, SchedulerError> {
        let events = answer
            .get("events")
            .cloned()
            .ok_or_else(|| SchedulerError::Decode("no `events` in the answer".into()))?;
        let events: Vec<ScheduledEventInfo> = serde_json::from_value(events)
            .map_err(|e| SchedulerError::Decode(format!("`events`: {e}")))?;
        Ok(Self {
            events,
            count: answer.get("count").and_then(Value::as_u64),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_read_hasuras_answer() {
        let page = ScheduledEventPage::from_answer(json!({
            "events": [{"id": "e1", "webhook_conf": "{{RASURA_BASE_URL}}/scheduled/r",
                        "scheduled_time": "2026-12-01T10:00:00Z", "payload": {"m": 1},
                        "status": "scheduled", "tries": 0, "created_at": "x",
                        "next_retry_at": null, "retry_conf": {}, "header_conf": []}],
            "count": 1
        }))
        .unwrap();
        assert_eq!(page.events[0].id.as_str(), "e1");
        assert_eq!(page.count, Some(1));
        assert!(matches!(
            ScheduledEventPage::from_answer(json!({"message": "success"})),
            Err(SchedulerError::Decode(_))
        ));
    }

    #[test]
    fn refusals_reach_the_caller_with_hasuras_code() {
        let e = crate::ActionError::from(SchedulerError::Hasura {
            status: 400,
            code: "not-exists".into(),
            message: "event not found".into(),
        });
        assert_eq!(e.code(), "not-exists");
        assert_eq!(e.message(), "event not found");
        assert!(SchedulerError::Unreachable("x".into()).is_transient());
    }
}
