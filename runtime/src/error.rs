//! Errors handlers return, and the error responses Rasura sends in Hasura's format
//! (`{"message": …, "extensions": {"code": …}}`, PROTOCOL.md §1.4).

use std::borrow::Cow;
use std::fmt;
use std::time::Duration;

use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};
use serde_json::{Map, Value};

/// An action handler's error: a 4xx status, a message and an `extensions` object with a `code`.
///
/// Hasura shows `message` and `extensions` to the GraphQL client verbatim (PROTOCOL.md §1.4);
/// a 5xx would be hidden from it, so the status is always 4xx.
///
/// ```
/// use rasura::ActionError;
/// let e = ActionError::bad_request("invalid-email", "email is not valid")
///     .with_extension("field", "email");
/// assert_eq!(e.status().as_u16(), 400);
/// assert_eq!(e.code(), "invalid-email");
/// ```
#[derive(Clone, PartialEq)]
pub struct ActionError {
    status: StatusCode,
    message: String,
    extensions: Map<String, Value>,
}

impl ActionError {
    /// An error with the given status, code and message. A status outside 400–499 becomes 400,
    /// since Hasura hides the body of anything else from the client.
    pub fn new(status: StatusCode, code: impl Into<String>, message: impl Into<String>) -> Self {
        let status = if status.is_client_error() {
            status
        } else {
            StatusCode::BAD_REQUEST
        };
        let mut extensions = Map::new();
        extensions.insert("code".into(), Value::String(code.into()));
        Self {
            status,
            message: message.into(),
            extensions,
        }
    }

    /// 400 with the given code.
    pub fn bad_request(code: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    /// 401 `access-denied`.
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "access-denied", message)
    }

    /// 403 `access-denied`.
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "access-denied", message)
    }

    /// 404 `not-exists`.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not-exists", message)
    }

    /// 409 `conflict`.
    pub fn conflict(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "conflict", message)
    }

    /// 400 `validation-failed`.
    pub fn validation(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "validation-failed", message)
    }

    /// Adds a key to `extensions` (Hasura passes the whole object to the client).
    pub fn with_extension(mut self, key: impl Into<String>, value: impl Into<Value>) -> Self {
        self.extensions.insert(key.into(), value.into());
        self
    }

    /// The HTTP status (always 4xx).
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// `extensions.code`.
    pub fn code(&self) -> &str {
        self.extensions
            .get("code")
            .and_then(Value::as_str)
            .unwrap_or("unexpected")
    }

    /// The message.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The whole `extensions` object.
    pub fn extensions(&self) -> &Map<String, Value> {
        &self.extensions
    }
}

impl fmt::Debug for ActionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ActionError")
            .field("status", &self.status.as_u16())
            .field("message", &self.message)
            .field("extensions", &self.extensions)
            .finish()
    }
}

impl fmt::Display for ActionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} ({}): {}",
            self.status.as_u16(),
            self.code(),
            self.message
        )
    }
}

impl std::error::Error for ActionError {}

impl IntoResponse for ActionError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({ "message": self.message, "extensions": self.extensions });
        json_response(self.status, &body, None)
    }
}

/// An event or cron handler's failure. Hasura treats every non-2xx answer as a failed delivery
/// and retries it within the trigger's `num_retries`; [`EventError::retry_after`] asks for a
/// retry after a delay, even when the retries are exhausted (PROTOCOL.md §2.2).
///
/// Any `std::error::Error` converts into an `EventError` (status 500), so `?` works in handlers.
pub struct EventError {
    status: StatusCode,
    code: Cow<'static, str>,
    message: String,
    retry_after: Option<Duration>,
}

impl EventError {
    /// A failed delivery (500): Hasura retries it within `num_retries`.
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            code: Cow::Borrowed("handler-error"),
            message: message.into(),
            retry_after: None,
        }
    }

    /// A permanent rejection of the event (400): Hasura still retries it within `num_retries`,
    /// but never past them.
    pub fn rejected(message: impl Into<String>) -> Self {
        Self::new(message)
            .with_status(StatusCode::BAD_REQUEST)
            .with_code("rejected")
    }

    /// Asks Hasura to deliver the event again after `delay` (sent as `Retry-After` in whole
    /// seconds, at least 1), even if the trigger's retries are exhausted.
    pub fn retry_after(mut self, delay: Duration) -> Self {
        self.retry_after = Some(delay);
        self
    }

    /// Sets the status (any non-2xx; a 2xx would acknowledge the event, so it becomes 500).
    pub fn with_status(mut self, status: StatusCode) -> Self {
        self.status = if status.is_success() {
            StatusCode::INTERNAL_SERVER_ERROR
        } else {
            status
        };
        self
    }

    /// Sets `extensions.code` of the response body.
    pub fn with_code(mut self, code: impl Into<Cow<'static, str>>) -> Self {
        self.code = code.into();
        self
    }

    /// The status sent to Hasura.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The message.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// `extensions.code`.
    pub fn code(&self) -> &str {
        &self.code
    }

    /// The `Retry-After` delay in whole seconds (at least 1), if one was asked for.
    pub fn retry_after_secs(&self) -> Option<u64> {
        // Rounded up: Hasura wants an integer number of seconds > 0.
        self.retry_after
            .map(|d| (d.as_secs() + u64::from(d.subsec_nanos() > 0)).max(1))
    }
}

/// The delay asked for when a resource fails transiently (database or Hasura unreachable).
pub const TRANSIENT_RETRY_AFTER: Duration = Duration::from_secs(10);

impl<E: std::error::Error + Send + Sync + 'static> From<E> for EventError {
    /// Errors from Rasura's resources are classified: a transient one (database, Hasura or
    /// storage unreachable) is a 503 with `Retry-After`; anything else is a 500 that Hasura
    /// retries within `num_retries`.
    fn from(error: E) -> Self {
        let any: &dyn std::any::Any = &error;
        let classified = if let Some(e) = any.downcast_ref::<sqlx::Error>() {
            Some(("postgres-error", crate::db::is_transient(e)))
        } else if let Some(e) = any.downcast_ref::<crate::db::TransactionError>() {
            Some(match e {
                crate::db::TransactionError::Database(e) => {
                    ("postgres-error", crate::db::is_transient(e))
                }
                crate::db::TransactionError::Unavailable(_) => ("not-configured", false),
            })
        } else if let Some(e) = any.downcast_ref::<crate::graphql::GraphqlError>() {
            Some(("graphql-error", e.is_transient()))
        } else if let Some(e) = any.downcast_ref::<crate::storage::StorageError>() {
            Some((
                "storage-error",
                matches!(e, crate::storage::StorageError::Backend(_)),
            ))
        } else if any.is::<crate::context::Unavailable>() {
            Some(("not-configured", false))
        } else {
            None
        };
        let event_error = Self::new(error.to_string());
        match classified {
            Some((code, true)) => event_error
                .with_status(StatusCode::SERVICE_UNAVAILABLE)
                .with_code(code)
                .retry_after(TRANSIENT_RETRY_AFTER),
            Some((code, false)) => event_error.with_code(code),
            None => event_error,
        }
    }
}

impl fmt::Debug for EventError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventError")
            .field("status", &self.status.as_u16())
            .field("code", &self.code)
            .field("message", &self.message)
            .field("retry_after", &self.retry_after)
            .finish()
    }
}

impl fmt::Display for EventError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} ({}): {}",
            self.status.as_u16(),
            self.code,
            self.message
        )
    }
}

impl IntoResponse for EventError {
    fn into_response(self) -> Response {
        let retry_after = self.retry_after_secs();
        let body =
            serde_json::json!({ "message": self.message, "extensions": { "code": self.code } });
        json_response(self.status, &body, retry_after)
    }
}

/// An error Rasura itself answers with (authentication, parsing, routing, timeouts).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Rejection {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: Cow<'static, str>,
    pub retry_after: Option<u64>,
}

impl Rejection {
    pub(crate) fn new(
        status: StatusCode,
        code: &'static str,
        message: impl Into<Cow<'static, str>>,
    ) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            retry_after: None,
        }
    }

    pub(crate) fn parse_failed(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "parse-failed", message)
    }

    pub(crate) fn validation_failed(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "validation-failed", message)
    }

    pub(crate) fn access_denied(status: StatusCode, message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(status, "access-denied", message)
    }

    pub(crate) fn not_exists(message: impl Into<Cow<'static, str>>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not-exists", message)
    }

    pub(crate) fn with_retry_after(mut self, secs: u64) -> Self {
        self.retry_after = Some(secs.max(1));
        self
    }
}

impl IntoResponse for Rejection {
    fn into_response(self) -> Response {
        let body =
            serde_json::json!({ "message": self.message, "extensions": { "code": self.code } });
        json_response(self.status, &body, self.retry_after)
    }
}

pub(crate) fn json_response(
    status: StatusCode,
    body: &Value,
    retry_after: Option<u64>,
) -> Response {
    let bytes = serde_json::to_vec(body).unwrap_or_else(|_| b"{}".to_vec());
    let mut response = (status, bytes).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    if let Some(secs) = retry_after {
        headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn action_error_status_is_always_4xx() {
        assert_eq!(
            ActionError::new(StatusCode::INTERNAL_SERVER_ERROR, "x", "m").status(),
            400
        );
        assert_eq!(
            ActionError::new(StatusCode::CONFLICT, "x", "m").status(),
            409
        );
    }

    #[test]
    fn retry_after_is_whole_seconds_at_least_one() {
        let secs = |d| EventError::new("x").retry_after(d).retry_after_secs();
        assert_eq!(secs(Duration::from_millis(10)), Some(1));
        assert_eq!(secs(Duration::from_secs(30)), Some(30));
        assert_eq!(secs(Duration::from_millis(1500)), Some(2));
        assert_eq!(EventError::new("x").retry_after_secs(), None);
    }

    #[test]
    fn event_error_never_acknowledges() {
        assert_eq!(
            EventError::new("x").with_status(StatusCode::OK).status(),
            500
        );
    }
}
