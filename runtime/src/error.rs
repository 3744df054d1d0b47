//! Errors handlers return, and the error responses Rasura sends in Hasura's format
//! (`{"message": …, "extensions": {"code": …}}`), all built on one [`ErrorCore`].

use std::borrow::Cow;
use std::fmt;
use std::time::Duration;

use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};
use serde_json::{Map, Value};

/// What every Rasura error carries: an HTTP status, Hasura's `extensions.code` and a message.
/// [`ActionError`], [`EventError`], [`crate::security::jwt::JwtError`] and the pipeline's own
/// refusals are this core plus what only they need (extensions, `Retry-After`), and all render
/// as Hasura's error body `{"message": …, "extensions": {"code": …}}`.
#[derive(Clone, PartialEq, Eq)]
pub struct ErrorCore {
    status: StatusCode,
    code: Cow<'static, str>,
    message: Cow<'static, str>,
}

impl ErrorCore {
    /// A status, code and message.
    pub fn new(
        status: StatusCode,
        code: impl Into<Cow<'static, str>>,
        message: impl Into<Cow<'static, str>>,
    ) -> Self {
        Self {
            status,
            code: code.into(),
            message: message.into(),
        }
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// `extensions.code`.
    pub fn code(&self) -> &str {
        &self.code
    }

    /// The message.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// Hasura's error body, with `extra` keys after `code` in `extensions`.
    fn body(&self, extra: Option<&Map<String, Value>>) -> Value {
        let mut extensions = Map::new();
        extensions.insert("code".into(), Value::String(self.code.clone().into_owned()));
        if let Some(extra) = extra {
            for (k, v) in extra {
                extensions.insert(k.clone(), v.clone());
            }
        }
        serde_json::json!({ "message": self.message, "extensions": extensions })
    }

    /// The response: the body in Hasura's format, with `Retry-After` when given.
    pub(crate) fn response(
        &self,
        extra: Option<&Map<String, Value>>,
        retry_after: Option<u64>,
    ) -> Response {
        json_response(self.status, &self.body(extra), retry_after)
    }
}

impl fmt::Debug for ErrorCore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ErrorCore")
            .field("status", &self.status.as_u16())
            .field("code", &self.code)
            .field("message", &self.message)
            .finish()
    }
}

impl fmt::Display for ErrorCore {
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

/// An action handler's error: a 4xx status, a message and an `extensions` object with a `code`.
///
/// Hasura shows `message` and `extensions` to the GraphQL client verbatim when the webhook
/// answers 4xx; a 5xx reaches the client only as a generic error, so the status is always 4xx.
///
/// ```
/// use rasura::ActionError;
/// let e = ActionError::bad_request("invalid-email", "email is not valid")
///     .with_extension("field", "email");
/// assert_eq!(e.status().as_u16(), 400);
/// assert_eq!(e.code(), "invalid-email");
/// ```
#[derive(Clone, PartialEq, thiserror::Error)]
#[error("{core}")]
pub struct ActionError {
    core: ErrorCore,
    /// `extensions` beyond `code` (boxed: most errors have none, and the `Result` stays small).
    extensions: Option<Box<Map<String, Value>>>,
    /// `Retry-After` in whole seconds (HTTP clients read it; Hasura passes only the body on).
    retry_after: Option<u64>,
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
        Self {
            core: ErrorCore::new(status, code.into(), message.into()),
            extensions: None,
            retry_after: None,
        }
    }

    /// 429 `rate-limited`, with `Retry-After` and `extensions.retry_after` (whole seconds, at
    /// least 1): Hasura answers a GraphQL client with HTTP 200 and passes `extensions` on, not
    /// the status or headers.
    pub fn rate_limited(retry_after: Duration) -> Self {
        let secs = whole_seconds(retry_after);
        Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate-limited",
            format!("too many requests; retry in {secs} s"),
        )
        .with_retry_after(Duration::from_secs(secs))
    }

    /// Sets `Retry-After` and `extensions.retry_after` (whole seconds, rounded up, at least 1).
    pub fn with_retry_after(mut self, delay: Duration) -> Self {
        let secs = whole_seconds(delay);
        self.retry_after = Some(secs);
        self.with_extension("retry_after", secs)
    }

    /// The `Retry-After` delay in whole seconds, if any.
    pub fn retry_after_secs(&self) -> Option<u64> {
        self.retry_after
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

    /// Adds a key to `extensions` (Hasura passes the whole object to the client); a string
    /// `code` replaces the error's code.
    pub fn with_extension(mut self, key: impl Into<String>, value: impl Into<Value>) -> Self {
        let (key, value) = (key.into(), value.into());
        match (key.as_str(), value) {
            ("code", Value::String(code)) => self.core.code = code.into(),
            (_, value) => {
                self.extensions
                    .get_or_insert_with(Box::default)
                    .insert(key, value);
            }
        }
        self
    }

    /// The HTTP status (always 4xx).
    pub fn status(&self) -> StatusCode {
        self.core.status
    }

    /// `extensions.code`.
    pub fn code(&self) -> &str {
        self.core.code()
    }

    /// The message.
    pub fn message(&self) -> &str {
        self.core.message()
    }

    /// The whole `extensions` object, `code` first.
    pub fn extensions(&self) -> Map<String, Value> {
        match self.core.body(self.extensions.as_deref()) {
            Value::Object(mut body) => match body.remove("extensions") {
                Some(Value::Object(extensions)) => extensions,
                _ => Map::new(),
            },
            _ => Map::new(),
        }
    }

    /// The status, code and message.
    pub fn core(&self) -> &ErrorCore {
        &self.core
    }
}

impl From<ErrorCore> for ActionError {
    /// Keeps the code and message; a status outside 400–499 becomes 400.
    fn from(core: ErrorCore) -> Self {
        Self::new(core.status, core.code, core.message)
    }
}

impl fmt::Debug for ActionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ActionError")
            .field("status", &self.core.status.as_u16())
            .field("code", &self.core.code)
            .field("message", &self.core.message)
            .field("extensions", &self.extensions)
            .finish()
    }
}

impl IntoResponse for ActionError {
    fn into_response(self) -> Response {
        self.core
            .response(self.extensions.as_deref(), self.retry_after)
    }
}

/// A delay as Hasura's `Retry-After`: whole seconds, rounded up, at least 1.
pub(crate) fn whole_seconds(delay: Duration) -> u64 {
    (delay.as_secs() + u64::from(delay.subsec_nanos() > 0)).max(1)
}

/// An event or cron handler's failure. Hasura treats every non-2xx answer as a failed delivery
/// and retries it within the trigger's `num_retries`; [`EventError::retry_after`] asks for a
/// retry after a delay (sent only while retries remain, see docs/protocol.md §2.2).
///
/// Any `std::error::Error` converts into an `EventError` (status 500), so `?` works in handlers.
pub struct EventError {
    core: ErrorCore,
    retry_after: Option<Duration>,
}

impl EventError {
    /// A failed delivery (500): Hasura retries it within `num_retries`.
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            core: ErrorCore::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "handler-error",
                message.into(),
            ),
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
    /// seconds, at least 1) while the trigger's retries remain. Past the last retry Rasura
    /// drops it, since Hasura would otherwise retry forever; with a `retry(backoff =
    /// "exponential", …)` handler option the backoff sets the delay instead.
    pub fn retry_after(mut self, delay: Duration) -> Self {
        self.retry_after = Some(delay);
        self
    }

    /// The same failure without `Retry-After`.
    pub fn without_retry_after(mut self) -> Self {
        self.retry_after = None;
        self
    }

    /// Sets the status (any non-2xx; a 2xx would acknowledge the event, so it becomes 500).
    pub fn with_status(mut self, status: StatusCode) -> Self {
        self.core.status = if status.is_success() {
            StatusCode::INTERNAL_SERVER_ERROR
        } else {
            status
        };
        self
    }

    /// Sets `extensions.code` of the response body.
    pub fn with_code(mut self, code: impl Into<Cow<'static, str>>) -> Self {
        self.core.code = code.into();
        self
    }

    /// The status sent to Hasura.
    pub fn status(&self) -> StatusCode {
        self.core.status
    }

    /// The message.
    pub fn message(&self) -> &str {
        self.core.message()
    }

    /// `extensions.code`.
    pub fn code(&self) -> &str {
        self.core.code()
    }

    /// The status, code and message.
    pub fn core(&self) -> &ErrorCore {
        &self.core
    }

    /// The `Retry-After` delay in whole seconds (at least 1), if one was asked for.
    pub fn retry_after_secs(&self) -> Option<u64> {
        // Rounded up: Hasura wants an integer number of seconds > 0.
        self.retry_after.map(whole_seconds)
    }
}

/// The delay asked for when a resource fails transiently (database or Hasura unreachable).
pub const TRANSIENT_RETRY_AFTER: Duration = Duration::from_secs(10);

/// How a resource's error answers an event or cron delivery: its `extensions.code`, and whether
/// the failure is transient (503 with `Retry-After`) or not (500, retried within
/// `num_retries`). Each resource module (db, graphql, storage, context) classifies its own
/// errors; see [`CLASSIFIERS`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct DeliveryFailure {
    pub code: &'static str,
    pub transient: bool,
}

/// A resource module's classification of an error it owns (`None`: not one of its errors).
pub(crate) type Classifier = fn(&(dyn std::any::Any + 'static)) -> Option<DeliveryFailure>;

/// Every resource module's classifier, asked in turn.
const CLASSIFIERS: &[Classifier] = &[
    crate::db::classify,
    crate::graphql::classify,
    crate::storage::classify,
    crate::context::classify,
    crate::scheduler::classify,
];

impl<E: std::error::Error + Send + Sync + 'static> From<E> for EventError {
    /// Errors from Rasura's resources are classified by the module that owns them: a
    /// transient one (database, Hasura or storage unreachable) is a 503 with `Retry-After`;
    /// anything else is a 500 that Hasura retries within `num_retries`.
    fn from(error: E) -> Self {
        let any: &dyn std::any::Any = &error;
        let event_error = Self::new(error.to_string());
        match CLASSIFIERS.iter().find_map(|classify| classify(any)) {
            Some(DeliveryFailure {
                code,
                transient: true,
            }) => event_error
                .with_status(StatusCode::SERVICE_UNAVAILABLE)
                .with_code(code)
                .retry_after(TRANSIENT_RETRY_AFTER),
            Some(DeliveryFailure { code, .. }) => event_error.with_code(code),
            None => event_error,
        }
    }
}

impl fmt::Debug for EventError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EventError")
            .field("status", &self.core.status.as_u16())
            .field("code", &self.core.code)
            .field("message", &self.core.message)
            .field("retry_after", &self.retry_after)
            .finish()
    }
}

impl fmt::Display for EventError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.core.fmt(f)
    }
}

impl IntoResponse for EventError {
    fn into_response(self) -> Response {
        self.core.response(None, self.retry_after_secs())
    }
}

/// A refusal by Rasura itself (authentication, parsing, routing, timeouts): the core, and
/// `Retry-After` for the transient ones.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Rejection {
    pub core: ErrorCore,
    pub retry_after: Option<u64>,
    /// `extensions` beyond `code` (a guard's [`ActionError`] may carry some).
    pub extensions: Option<Box<Map<String, Value>>>,
}

impl Rejection {
    pub(crate) fn new(
        status: StatusCode,
        code: &'static str,
        message: impl Into<Cow<'static, str>>,
    ) -> Self {
        Self {
            core: ErrorCore::new(status, code, message),
            retry_after: None,
            extensions: None,
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

    pub(crate) fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "unexpected",
            "internal error",
        )
    }

    pub(crate) fn with_retry_after(mut self, secs: u64) -> Self {
        self.retry_after = Some(secs.max(1));
        self
    }
}

impl From<ErrorCore> for Rejection {
    fn from(core: ErrorCore) -> Self {
        Self {
            core,
            retry_after: None,
            extensions: None,
        }
    }
}

impl From<ActionError> for Rejection {
    fn from(error: ActionError) -> Self {
        Self {
            core: error.core,
            retry_after: error.retry_after,
            extensions: error.extensions,
        }
    }
}

impl IntoResponse for Rejection {
    fn into_response(self) -> Response {
        self.core
            .response(self.extensions.as_deref(), self.retry_after)
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
