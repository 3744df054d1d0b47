//! Step 9 for events and crons: a delivery is acknowledged (200) only when the handler
//! succeeded; a timeout is transient (503 with `Retry-After`); the handler's own error keeps
//! its status and `Retry-After` (if any).

use axum::response::{IntoResponse, Response};
use http::StatusCode;

use super::Outcome;
use crate::error::{EventError, Rejection, json_response};
use crate::registry::Handler;

pub(crate) fn respond(
    handler: &'static Handler,
    retry_secs: u64,
    outcome: Outcome<Result<(), EventError>>,
) -> Response {
    match outcome {
        Outcome::Done(Ok(())) => json_response(
            StatusCode::OK,
            &serde_json::json!({ "message": "success" }),
            None,
        ),
        Outcome::Done(Err(error)) => {
            tracing::warn!(
                status = error.status().as_u16(),
                code = error.code(),
                message = error.message(),
                "delivery failed"
            );
            error.into_response()
        }
        Outcome::Panicked => Rejection::internal().into_response(),
        Outcome::TimedOut(after) => {
            tracing::warn!(
                timeout_secs = after.as_secs_f32(),
                "delivery timed out; answered 503 with Retry-After"
            );
            Rejection::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "timeout",
                format!(
                    "`{}` timed out after {}s; retry later",
                    handler.name,
                    after.as_secs_f32()
                ),
            )
            .with_retry_after(retry_secs)
            .into_response()
        }
    }
}
