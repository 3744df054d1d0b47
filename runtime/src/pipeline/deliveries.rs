//! Steps 8 and 9 for events, crons and scheduled events: the handler runs (inside the
//! delivery's transaction when it has `once`), and the outcome becomes Hasura's answer.
//!
//! - Success is the only acknowledgement (200), and comes after the effects committed.
//! - A failure is answered so Hasura retries it with the handler's backoff (`Retry-After`),
//!   but only while retries remain: Hasura stops only when its tries reach `num_retries`
//!   *and* the answer has no `Retry-After` (docs/protocol.md §2.2).
//! - With `dead_letter`, the last failure (or a permanent one, 4xx) is stored in
//!   `rasura.dead_letter` and acknowledged; if that write fails, nothing is acknowledged.
//! - Crons and scheduled events carry no retry counter: with `once` or `dead_letter` the
//!   attempts are counted in `rasura.delivery_attempt`; without them (only Hasura's fixed
//!   interval is allowed then) a failure's own `Retry-After` is kept, and Hasura's
//!   `tolerance_seconds` ends the retries.

use std::sync::Arc;
use std::time::Duration;

use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use http::StatusCode;
use serde_json::json;

use super::{App, Outcome, input_rejection, invoke};
use crate::context::Ctx;
use crate::delivery::{self, Backoff};
use crate::error::{EventError, Rejection, json_response};
use crate::protocol::DeliveryInfo;
use crate::registry::{BoxFuture, DeliveryPolicy, Handler, InputError};

/// Marks a request made by `dead-letters replay` (a request extension, so it cannot come from
/// the network): it needs no webhook secret and, on success, deletes the dead letter.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Replay;

/// How many attempts came before this one.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Counter {
    /// Events: Hasura's own `delivery_info`.
    Known(DeliveryInfo),
    /// Crons and scheduled events: the configured `num_retries`; the count is kept in
    /// Postgres when the policy needs it.
    Unknown { max_retries: u32 },
}

/// One delivery, as the pipeline knows it before the handler runs.
pub(crate) struct Delivery<'a> {
    pub handler: &'static Handler,
    pub policy: &'static DeliveryPolicy,
    pub id: String,
    pub counter: Counter,
    /// The whole attempt's time limit (waiting for a duplicate or a concurrency slot, then the
    /// handler), kept below Hasura's own.
    pub timeout: Duration,
    /// Hasura's request body: what a dead letter keeps, to replay it.
    pub body: &'a Bytes,
    pub replay: bool,
    /// On the last try of a handler at its concurrency limit: the slot to wait for (a `busy`
    /// with `Retry-After` would keep the delivery alive forever).
    pub wait_for_slot: Option<Arc<tokio::sync::Semaphore>>,
}

type Start = Result<BoxFuture<Result<(), EventError>>, InputError>;

fn timed_out(delivery: &Delivery<'_>, after: Duration) -> EventError {
    EventError::new(format!(
        "`{}` timed out after {}s",
        delivery.handler.name,
        after.as_secs_f32()
    ))
    .with_status(StatusCode::SERVICE_UNAVAILABLE)
    .with_code("timeout")
    // Hasura's own interval (or the backoff's, which replaces it in `failed`).
    .retry_after(Duration::from_secs(delivery.policy.backoff.delay_secs(0)))
}

/// Runs the handler `start` makes and answers Hasura.
pub(crate) async fn deliver(
    app: &App,
    delivery: Delivery<'_>,
    ctx: Ctx,
    start: impl FnOnce(Ctx) -> Start,
) -> Result<Response, Rejection> {
    // One deadline for the whole attempt, so Rasura answers before Hasura gives up.
    let deadline = invoke::deadline_after(tokio::time::Instant::now(), delivery.timeout);
    let mut ctx = ctx;
    let uncounted = matches!(delivery.counter, Counter::Unknown { .. });
    let _slot = match &delivery.wait_for_slot {
        Some(slot) => match tokio::time::timeout_at(deadline, slot.clone().acquire_owned()).await {
            Ok(Ok(permit)) => Some(permit),
            _ => {
                let busy = EventError::new(format!(
                    "`{}` is at its concurrency limit",
                    delivery.handler.name
                ))
                .with_status(StatusCode::SERVICE_UNAVAILABLE)
                .with_code("busy");
                return Ok(failed(app, &delivery, &ctx, busy).await);
            }
        },
        None => None,
    };
    let scope =
        if delivery.policy.once {
            // A concurrent duplicate waits here for the first delivery's outcome.
            let begun =
                match tokio::time::timeout_at(deadline, delivery::begin_scope(&ctx, &delivery.id))
                    .await
                {
                    Ok(begun) => begun,
                    Err(_) => {
                        let error = timed_out(&delivery, delivery.timeout);
                        return Ok(failed(app, &delivery, &ctx, error).await);
                    }
                };
            match begun {
                Ok(Some(scope)) => Some(Arc::new(scope)),
                Ok(None) => {
                    tracing::info!(
                        delivery_id = delivery.id.as_str(),
                        "delivery already processed; acknowledged without running the handler"
                    );
                    if delivery.replay || delivery.policy.dead_letter {
                        // Processed since it was dead-lettered (a redelivery from Hasura's console).
                        if let Err(e) = delivery::delete_dead_letter(&ctx, &delivery.id).await {
                            return Ok(failed(app, &delivery, &ctx, EventError::from(e)).await);
                        }
                    }
                    if uncounted && delivery.policy.counts_attempts() {
                        delivery::forget_attempts(&ctx, &delivery.id).await;
                    }
                    ctx.shared.metrics.duplicate_skipped(delivery.handler.name);
                    return Ok(acknowledged("already processed"));
                }
                Err(e) => return Ok(failed(app, &delivery, &ctx, EventError::from(e)).await),
            }
        } else {
            None
        };
    ctx.delivery = scope.clone();
    let handler_future = match start(ctx.clone()) {
        Ok(future) => future,
        Err(e) => {
            if let Some(scope) = &scope {
                scope.roll_back(true).await;
            }
            let rejection = input_rejection(e);
            if !delivery.policy.dead_letter || delivery.replay {
                return Err(rejection);
            }
            // A payload that can never match the handler's types is a permanent failure.
            let error = EventError::rejected(rejection.core.message().to_owned())
                .with_code(rejection.core.code().to_owned());
            return Ok(failed(app, &delivery, &ctx, error).await);
        }
    };
    let outcome = invoke::guarded(deadline, delivery.timeout, handler_future).await;
    // A handler that returned left its connection between statements; one that panicked or
    // timed out may have left a statement running.
    let settled = matches!(outcome, Outcome::Done(_));
    let error = match outcome {
        Outcome::Done(Ok(())) => {
            if let Some(scope) = scope {
                if let Err(e) = delivery::commit_scope(&scope, &delivery).await {
                    scope.roll_back(false).await;
                    return Ok(failed(app, &delivery, &ctx, e).await);
                }
            } else if delivery.replay || delivery.policy.dead_letter {
                // The delivery succeeded: a letter of the same id (a replay's own, or one left
                // from an earlier failure) must not be replayed again.
                if let Err(e) = delivery::delete_dead_letter(&ctx, &delivery.id).await {
                    if delivery.replay {
                        return Ok(failed(app, &delivery, &ctx, EventError::from(e)).await);
                    }
                    tracing::warn!(error = %e, "deleting a stale dead letter failed");
                }
            }
            if uncounted && delivery.policy.counts_attempts() {
                delivery::forget_attempts(&ctx, &delivery.id).await;
            }
            return Ok(acknowledged("success"));
        }
        Outcome::Done(Err(error)) => error,
        Outcome::Panicked => {
            tracing::error!(
                handler = delivery.handler.name,
                "handler panicked; the delivery failed and the service kept serving"
            );
            EventError::new("internal error").with_code("unexpected")
        }
        Outcome::TimedOut(_) => timed_out(&delivery, delivery.timeout),
    };
    // Nothing of this attempt commits: the transaction (if any) rolls back now, releasing the
    // record for the retry.
    if let Some(scope) = scope {
        scope.roll_back(settled).await;
    }
    ctx.delivery = None;
    Ok(failed(app, &delivery, &ctx, error).await)
}

fn acknowledged(message: &'static str) -> Response {
    json_response(StatusCode::OK, &json!({ "message": message }), None)
}

/// The answer to a failed attempt.
async fn failed(_app: &App, delivery: &Delivery<'_>, ctx: &Ctx, error: EventError) -> Response {
    let policy = delivery.policy;
    tracing::warn!(
        status = error.status().as_u16(),
        code = error.code(),
        message = error.message(),
        "delivery failed"
    );
    if delivery.replay {
        // The CLI reports it; the dead letter stays, with this attempt counted.
        delivery::record_replay_failure(ctx, &delivery.id, error.message()).await;
        return error.into_response();
    }
    let permanent = error.status().is_client_error();
    let attempt = match delivery.counter {
        Counter::Known(info) => Some(info),
        Counter::Unknown { max_retries } if policy.counts_attempts() => {
            match delivery::count_attempt(ctx, &delivery.id).await {
                Ok(attempts) => Some(DeliveryInfo {
                    current_retry: attempts.saturating_sub(1),
                    max_retries,
                }),
                // The database is down: nothing can be counted or stored; Hasura keeps the
                // delivery and tries again after the base interval (its tolerance bounds a
                // cron's or scheduled event's retries).
                Err(e) => {
                    tracing::error!(error = %e, "counting the attempt failed; not acknowledged");
                    return database_down(policy, true);
                }
            }
        }
        Counter::Unknown { .. } => None,
    };
    let retries_left = attempt.is_none_or(|info| delivery::retries_left(&info));
    if policy.dead_letter && (permanent || !retries_left) {
        let attempts = attempt.map_or(1, |info| info.current_retry.saturating_add(1));
        return match delivery::store_dead_letter(ctx, delivery, &error, attempts).await {
            Ok(()) => {
                tracing::warn!(
                    delivery_id = delivery.id.as_str(),
                    attempts,
                    "delivery dead-lettered (rasura.dead_letter) and acknowledged"
                );
                ctx.shared.metrics.dead_lettered(delivery.handler.name);
                acknowledged("dead-lettered")
            }
            Err(e) => {
                tracing::error!(error = %e, "storing the dead letter failed; not acknowledged");
                database_down(policy, retries_left && !permanent)
            }
        };
    }
    if permanent {
        // A 4xx is permanent: never with `Retry-After`.
        return error.without_retry_after().into_response();
    }
    if !retries_left {
        // Past the last retry a `Retry-After` would keep the delivery alive forever.
        let status = if error.status() == StatusCode::SERVICE_UNAVAILABLE {
            StatusCode::INTERNAL_SERVER_ERROR
        } else {
            error.status()
        };
        return error
            .without_retry_after()
            .with_status(status)
            .into_response();
    }
    let current_retry = attempt.map_or(0, |info| info.current_retry);
    let retry_after = match policy.backoff {
        Backoff::Exponential { .. } => Some(policy.backoff.retry_after_secs(current_retry)),
        // Hasura's interval, unless the failure asked for its own delay.
        Backoff::Fixed { .. } => error.retry_after_secs(),
    };
    let mut error = error.without_retry_after();
    if let Some(secs) = retry_after {
        error = error.retry_after(Duration::from_secs(secs));
    }
    error.into_response()
}

/// The database is down at the moment a delivery must be counted or stored: not acknowledged;
/// `Retry-After` only while retries remain.
fn database_down(policy: &DeliveryPolicy, retries_left: bool) -> Response {
    let rejection = Rejection::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "postgres-error",
        "the delivery cannot be recorded right now (the database is unavailable); retry later",
    );
    let rejection = if retries_left {
        rejection.with_retry_after(policy.backoff.delay_secs(0))
    } else {
        rejection
    };
    rejection.into_response()
}
