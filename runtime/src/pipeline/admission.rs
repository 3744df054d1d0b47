//! Steps 1 and 2: the webhook secret, and the body within its size and time limits.

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use http_body_util::{BodyExt, Limited};

use crate::audit::{Audit, AuditEvent, AuditKind};
use crate::config::Config;
use crate::context::RequestId;
use crate::error::Rejection;
use crate::security::WEBHOOK_SECRET_HEADER;

// Pre-parsed: a `&str` lookup parses and validates the name on every call.
static SECRET_HEADER: HeaderName = HeaderName::from_static(WEBHOOK_SECRET_HEADER);

/// Step 1: the request carries one of the accepted webhook secrets (compared in constant time).
/// A refusal is audited (`webhook_secret_rejected`, reason `missing` or `invalid`).
pub(crate) fn check_secret(
    config: &Config,
    audit: &Audit,
    headers: &HeaderMap,
    request_id: &RequestId,
) -> Result<(), Rejection> {
    let presented = headers.get(&SECRET_HEADER).map(HeaderValue::as_bytes);
    if config.webhook_secrets.verify(presented) {
        return Ok(());
    }
    Err(secret_refused(audit, presented.is_some(), request_id))
}

/// The refusal (logged and audited), out of the accepted path's way.
#[cold]
#[inline(never)]
fn secret_refused(audit: &Audit, presented: bool, request_id: &RequestId) -> Rejection {
    let why = if presented { "invalid" } else { "missing" };
    tracing::warn!(
        request_id = request_id.as_str(),
        "webhook secret {why}; check the X-Rasura-Webhook-Secret header Hasura sends"
    );
    audit.record(
        AuditEvent::new(AuditKind::WebhookSecretRejected)
            .reason(why)
            .request_id(request_id.as_str()),
    );
    Rejection::access_denied(
        StatusCode::UNAUTHORIZED,
        format!("{why} webhook secret (header X-Rasura-Webhook-Secret)"),
    )
}

/// Step 2: the whole body, at most `body_limit` bytes (413), sent within `body_read_timeout`
/// (408: a client that stalls mid-body does not hold a worker).
pub(crate) async fn read_body(
    body: axum::body::Body,
    headers: &HeaderMap,
    config: &Config,
) -> Result<Bytes, Rejection> {
    let limit = config.body_limit;
    let too_large = || {
        Rejection::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload-too-large",
            format!("request body is larger than the limit of {limit} bytes"),
        )
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(too_large());
    }
    // Served by Rasura's server, a body that stalls past `RASURA_BODY_READ_TIMEOUT` fails
    // with `BodyReadTimeout` (the connection's watchdog keeps the time: no timer per request).
    match Limited::new(body, limit).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => Err(too_large()),
        Err(e) if crate::server::is_body_read_timeout(&*e) => Err(Rejection::new(
            StatusCode::REQUEST_TIMEOUT,
            "request-timeout",
            format!(
                "the request body was not received within {}s",
                config.body_read_timeout.as_secs_f32()
            ),
        )),
        Err(_) => Err(Rejection::parse_failed("could not read the request body")),
    }
}
