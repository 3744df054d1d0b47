//! The audit trail: who was let in and who was not.
//!
//! Every audit event is a `tracing` event under the target `rasura::audit` with a field `event`
//! naming it (`login_succeeded`, `access_denied`, …), so any subscriber (JSON logs, a log
//! shipper) collects it; [`AuditSink`]s get the same events, and `RASURA_AUDIT_DATABASE=true`
//! adds one that writes them to `rasura_audit.event` in Postgres, batched and off the request
//! path ([`postgres`]). An audit event never holds a token, password, secret or input value:
//! only its kind, the handler, the caller's role and user id, the permission refused and a
//! reason class.

pub mod postgres;

use std::fmt;
use std::sync::{Arc, Mutex};

use crate::context::Identity;

/// `RASURA_AUDIT_DATABASE`: `true` writes audit events to `rasura_audit.event` (needs
/// `DATABASE_URL`).
pub const AUDIT_DATABASE: &str = "RASURA_AUDIT_DATABASE";

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AuditKind {
    /// A login's credentials were accepted.
    LoginSucceeded,
    /// A login's credentials were refused.
    LoginFailed,
    /// A session was ended (refresh family revoked, access token denied).
    Logout,
    /// An access token (and refresh token) was issued.
    TokenIssued,
    /// A refresh token was rotated.
    TokenRefreshed,
    /// A used refresh token was presented again: its family was revoked.
    RefreshReuseDetected,
    /// A role, requirement or policy refused the caller.
    AccessDenied,
    /// A rate limit refused the caller.
    RateLimited,
    /// A request without a valid webhook secret.
    WebhookSecretRejected,
    /// A JWT was refused (the reason class only).
    JwtRejected,
}

impl AuditKind {
    /// The `event` field's value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::LoginSucceeded => "login_succeeded",
            Self::LoginFailed => "login_failed",
            Self::Logout => "logout",
            Self::TokenIssued => "token_issued",
            Self::TokenRefreshed => "token_refreshed",
            Self::RefreshReuseDetected => "refresh_reuse_detected",
            Self::AccessDenied => "access_denied",
            Self::RateLimited => "rate_limited",
            Self::WebhookSecretRejected => "webhook_secret_rejected",
            Self::JwtRejected => "jwt_rejected",
        }
    }
}

impl fmt::Display for AuditKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One audit event. Fields are identifiers and classes, never credentials or input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEvent {
    /// What happened.
    pub kind: AuditKind,
    /// When it happened.
    pub at: chrono::DateTime<chrono::Utc>,
    /// The handler (or `auth_webhook`), when there is one.
    pub handler: Option<String>,
    /// The caller's `x-hasura-role`.
    pub role: Option<String>,
    /// The caller's `x-hasura-user-id` (or the subject a token was issued to).
    pub user_id: Option<String>,
    /// The permission or requirement refused.
    pub permission: Option<String>,
    /// A reason class (`expired`, `bad-signature`, `unknown-user`, …), never a message
    /// echoing input.
    pub reason: Option<&'static str>,
    /// The request id.
    pub request_id: Option<String>,
}

impl AuditEvent {
    /// An event of `kind`, now.
    pub fn new(kind: AuditKind) -> Self {
        Self {
            kind,
            at: chrono::Utc::now(),
            handler: None,
            role: None,
            user_id: None,
            permission: None,
            reason: None,
            request_id: None,
        }
    }

    /// Sets the handler.
    pub fn handler(mut self, handler: &str) -> Self {
        self.handler = Some(handler.to_owned());
        self
    }

    /// Sets the role and user id from the caller's session.
    pub fn identity(mut self, identity: &Identity) -> Self {
        self.role = identity.role().map(str::to_owned);
        self.user_id = identity.user_id().map(str::to_owned);
        self
    }

    /// Sets the user id (a subject tokens were issued to).
    pub fn user_id(mut self, user_id: &str) -> Self {
        self.user_id = Some(user_id.to_owned());
        self
    }

    /// Sets the permission refused.
    pub fn permission(mut self, permission: &str) -> Self {
        self.permission = Some(permission.to_owned());
        self
    }

    /// Sets the reason class.
    pub fn reason(mut self, reason: &'static str) -> Self {
        self.reason = Some(reason);
        self
    }

    /// Sets the request id.
    pub fn request_id(mut self, request_id: &str) -> Self {
        self.request_id = Some(request_id.to_owned());
        self
    }
}

/// Receives every audit event (after the `tracing` event). Called on the request's task: keep
/// it quick and never block (hand slow work to a queue, as [`postgres::PostgresAuditSink`]
/// does).
pub trait AuditSink: Send + Sync + 'static {
    /// One event.
    fn record(&self, event: &AuditEvent);

    /// Finishes writing what was recorded (called once the service stops serving; default:
    /// nothing to do).
    fn flush(&self) -> std::pin::Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        Box::pin(std::future::ready(()))
    }
}

/// Keeps audit events in memory (tests, or an admin view of recent events).
#[derive(Debug, Default, Clone)]
pub struct MemoryAuditLog {
    events: Arc<Mutex<Vec<AuditEvent>>>,
}

impl MemoryAuditLog {
    /// An empty log.
    pub fn new() -> Self {
        Self::default()
    }

    /// The events so far.
    pub fn events(&self) -> Vec<AuditEvent> {
        self.events
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The events of one kind.
    pub fn of_kind(&self, kind: AuditKind) -> Vec<AuditEvent> {
        self.events()
            .into_iter()
            .filter(|e| e.kind == kind)
            .collect()
    }
}

impl AuditSink for MemoryAuditLog {
    fn record(&self, event: &AuditEvent) {
        self.events
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(event.clone());
    }
}

/// The service's audit trail: the `tracing` event, then every sink. Cheap to clone.
#[derive(Clone, Default)]
pub struct Audit {
    sinks: Arc<[Arc<dyn AuditSink>]>,
}

impl fmt::Debug for Audit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Audit")
            .field("sinks", &self.sinks.len())
            .finish()
    }
}

impl Audit {
    /// An audit trail writing to `tracing` and to `sinks`.
    pub fn new(sinks: Vec<Arc<dyn AuditSink>>) -> Self {
        Self {
            sinks: sinks.into(),
        }
    }

    /// Lets every sink finish writing, for at most `timeout` (on shutdown).
    pub async fn flush(&self, timeout: std::time::Duration) {
        let all = futures_util::future::join_all(self.sinks.iter().map(|s| s.flush()));
        if tokio::time::timeout(timeout, all).await.is_err() {
            tracing::warn!(
                timeout_secs = timeout.as_secs_f32(),
                "audit sinks did not finish writing before the shutdown deadline"
            );
        }
    }

    /// Records one event.
    pub fn record(&self, event: AuditEvent) {
        tracing::info!(
            target: "rasura::audit",
            event = event.kind.as_str(),
            handler = event.handler.as_deref(),
            role = event.role.as_deref(),
            user_id = event.user_id.as_deref(),
            permission = event.permission.as_deref(),
            reason = event.reason,
            request_id = event.request_id.as_deref(),
            "audit"
        );
        for sink in self.sinks.iter() {
            // A sink's panic must not cost the request.
            let recorded = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                sink.record(&event);
            }));
            if recorded.is_err() {
                tracing::error!("an audit sink panicked; the event was still logged");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_its_documented_name() {
        let names: Vec<&str> = [
            AuditKind::LoginSucceeded,
            AuditKind::LoginFailed,
            AuditKind::Logout,
            AuditKind::TokenIssued,
            AuditKind::TokenRefreshed,
            AuditKind::RefreshReuseDetected,
            AuditKind::AccessDenied,
            AuditKind::RateLimited,
            AuditKind::WebhookSecretRejected,
            AuditKind::JwtRejected,
        ]
        .into_iter()
        .map(AuditKind::as_str)
        .collect();
        assert_eq!(
            names,
            [
                "login_succeeded",
                "login_failed",
                "logout",
                "token_issued",
                "token_refreshed",
                "refresh_reuse_detected",
                "access_denied",
                "rate_limited",
                "webhook_secret_rejected",
                "jwt_rejected"
            ]
        );
    }

    #[test]
    fn sinks_receive_events_and_a_panicking_sink_is_contained() {
        struct Panics;
        impl AuditSink for Panics {
            fn record(&self, _: &AuditEvent) {
                panic!("sink bug");
            }
        }
        let log = MemoryAuditLog::new();
        let audit = Audit::new(vec![Arc::new(Panics), Arc::new(log.clone())]);
        audit.record(
            AuditEvent::new(AuditKind::AccessDenied)
                .handler("update_video")
                .permission("Update"),
        );
        let events = log.of_kind(AuditKind::AccessDenied);
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].handler.as_deref(), Some("update_video"));
    }
}
