//! What every handler receives: the caller's identity and request details, and the service's
//! shared resources (built once at start-up).

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use http::HeaderMap;

use crate::ActionError;
use crate::protocol::SessionVariables;
use crate::security::jwt::VerifiedClaims;

/// Who called: the session Hasura sent (for actions and for events caused by a Hasura request).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Identity {
    session: SessionVariables,
}

impl Identity {
    /// An identity from session variables.
    pub fn new(session: SessionVariables) -> Self {
        Self { session }
    }

    /// `x-hasura-role` (always present for actions; `None` for crons and for events caused
    /// outside Hasura).
    pub fn role(&self) -> Option<&str> {
        self.session.role()
    }

    /// `x-hasura-user-id`, if the session has one.
    pub fn user_id(&self) -> Option<&str> {
        self.session.user_id()
    }

    /// Any session variable, case-insensitively.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.session.get(name)
    }

    /// Every session variable.
    pub fn session_variables(&self) -> &SessionVariables {
        &self.session
    }
}

/// `x-request-id`: read from Hasura's request, sent back on every response.
pub(crate) static REQUEST_ID_HEADER: http::HeaderName =
    http::HeaderName::from_static("x-request-id");

/// A request id: Hasura's `x-request-id`, or 128 random bits in hex. Kept as the header value
/// it is sent back as, so it is allocated at most once per request.
#[derive(Debug, Clone)]
pub(crate) struct RequestId(http::HeaderValue);

impl RequestId {
    /// The incoming `x-request-id` when it is short visible ASCII, else a new random id.
    pub(crate) fn from_headers(headers: &HeaderMap) -> Self {
        match headers.get(&REQUEST_ID_HEADER) {
            Some(id)
                if !id.is_empty()
                    && id.len() <= 128
                    && id.as_bytes().iter().all(u8::is_ascii_graphic) =>
            {
                Self(id.clone())
            }
            // The thread-local generator (no syscall), hex-encoded without `fmt`.
            _ => {
                const HEX: &[u8; 16] = b"0123456789abcdef";
                let n = rand::random::<u128>();
                let mut id = [0u8; 32];
                for (i, digit) in id.iter_mut().enumerate() {
                    *digit = HEX[((n >> (124 - 4 * i)) & 0xf) as usize];
                }
                Self(
                    http::HeaderValue::from_bytes(&id)
                        .unwrap_or_else(|_| http::HeaderValue::from_static("invalid")),
                )
            }
        }
    }

    #[cfg(any(test, feature = "testing"))]
    pub(crate) fn from_text(text: String) -> Self {
        let value = http::HeaderValue::from_maybe_shared(bytes::Bytes::from(text))
            .unwrap_or_else(|_| http::HeaderValue::from_static("invalid"));
        Self(value)
    }

    pub(crate) fn as_str(&self) -> &str {
        // Only visible ASCII gets here (checked above, or hex).
        self.0.to_str().unwrap_or_default()
    }

    pub(crate) fn header_value(&self) -> http::HeaderValue {
        self.0.clone()
    }
}

/// User state given to [`crate::Service::with_state`], by type.
#[derive(Clone, Default)]
pub(crate) struct StateMap(HashMap<TypeId, Arc<dyn Any + Send + Sync>>);

impl StateMap {
    pub(crate) fn insert<T: Send + Sync + 'static>(&mut self, value: T) {
        self.0.insert(TypeId::of::<T>(), Arc::new(value));
    }

    fn get<T: Send + Sync + 'static>(&self) -> Option<&T> {
        self.0.get(&TypeId::of::<T>())?.downcast_ref()
    }
}

/// The service's resources, built once at start-up and shared by every request. A resource
/// that is not configured is `None`; using it is a clear [`Unavailable`] error.
#[derive(Default)]
pub(crate) struct Shared {
    pub(crate) http: reqwest::Client,
    pub(crate) graphql: Option<crate::graphql::GraphqlClient>,
    pub(crate) db: Option<sqlx::PgPool>,
    pub(crate) storage: Option<crate::storage::Storage>,
    pub(crate) state: StateMap,
    pub(crate) auth: Arc<crate::auth::AuthState>,
    pub(crate) principal_variables: crate::policy::PrincipalVariables,
    pub(crate) rate: Arc<crate::rate::RateLimiter>,
    pub(crate) audit: crate::audit::Audit,
    /// Set once the delivery tables (`rasura.processed_delivery`, …) are known to exist (the
    /// first delivery that needs them).
    pub(crate) deliveries_ready: tokio::sync::OnceCell<()>,
    /// Rasura's own connections beside `db` (`once` deliveries, the auth webhook's lookups):
    /// created on first use, through [`Shared::connections`].
    pub(crate) connections: std::sync::OnceLock<crate::db::connections::Connections>,
    /// When processed deliveries were last pruned (seconds since the Unix epoch).
    pub(crate) deliveries_pruned_at: std::sync::atomic::AtomicU64,
    /// `RASURA_DELIVERY_RETENTION_DAYS`.
    pub(crate) delivery_retention: std::time::Duration,
    /// Hasura's Metadata API, for `ctx.scheduler()` (`HASURA_GRAPHQL_ENDPOINT`).
    pub(crate) metadata: Option<crate::metadata::sync::MetadataClient>,
    /// `RASURA_BASE_URL_ENV`, for the webhooks of scheduled events.
    pub(crate) base_url_env: String,
    /// This service's Prometheus metrics.
    pub(crate) metrics: Arc<crate::metrics::Metrics>,
}

impl Shared {
    /// Rasura's own connections beside `ctx.db()`'s pool (`db::connections`), opened on first
    /// use.
    pub(crate) fn connections(&self) -> Result<&crate::db::connections::Connections, Unavailable> {
        let pool = self.db.as_ref().ok_or_else(no_database)?;
        Ok(self
            .connections
            .get_or_init(|| crate::db::connections::Connections::beside(pool)))
    }
}

fn no_database() -> Unavailable {
    Unavailable {
        resource: "ctx.db()",
        hint: "set DATABASE_URL (or HASURA_GRAPHQL_DATABASE_URL)".into(),
    }
}

impl fmt::Debug for Shared {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Shared")
            .field("graphql", &self.graphql)
            .field("db", &self.db.as_ref().map(crate::db::PoolDebug))
            .field("storage", &self.storage)
            .field("state_types", &self.state.0.len())
            .finish()
    }
}

/// A resource the handler asked for is not configured (or a state type was never given).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{resource} is not available: {hint}")]
pub struct Unavailable {
    /// `ctx.graphql()`, `ctx.db()`, `ctx.storage()` or `ctx.state::<T>()`.
    pub resource: &'static str,
    /// What configures it.
    pub hint: std::borrow::Cow<'static, str>,
}

/// How this module's errors answer an event or cron delivery: an unconfigured resource is
/// `not-configured`, never transient (retrying does not configure it).
pub(crate) fn classify(any: &dyn Any) -> Option<crate::error::DeliveryFailure> {
    any.is::<Unavailable>()
        .then_some(crate::error::DeliveryFailure {
            code: "not-configured",
            transient: false,
        })
}

impl From<Unavailable> for crate::ActionError {
    fn from(e: Unavailable) -> Self {
        tracing::error!(error = %e, "handler used an unconfigured resource");
        crate::ActionError::bad_request("not-configured", e.to_string())
    }
}

/// The handler context: identity, request details and shared resources.
///
/// Cheap to clone; built by Rasura for every call. `Debug` shows header names, but not the
/// values of credential headers.
#[derive(Clone)]
pub struct Ctx {
    pub(crate) shared: Arc<Shared>,
    pub(crate) identity: Identity,
    pub(crate) request_id: RequestId,
    pub(crate) headers: Arc<HeaderMap>,
    pub(crate) claims: Option<Arc<VerifiedClaims>>,
    pub(crate) handler: &'static str,
    /// The transaction of a `once` handler's delivery.
    pub(crate) delivery: Option<Arc<crate::delivery::DeliveryScope>>,
    /// The trace an event recorded, when the request's headers carry none.
    pub(crate) payload_trace: Option<Arc<crate::trace::TraceContext>>,
}

/// Headers whose values are credentials.
const CREDENTIAL_HEADERS: &[&str] = &[
    "authorization",
    "cookie",
    "proxy-authorization",
    "x-hasura-admin-secret",
    "x-hasura-access-key",
    crate::security::WEBHOOK_SECRET_HEADER,
];

struct RedactedHeaders<'a>(&'a HeaderMap);

impl fmt::Debug for RedactedHeaders<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut map = f.debug_map();
        for (name, value) in self.0 {
            if CREDENTIAL_HEADERS.contains(&name.as_str()) {
                map.entry(&name.as_str(), &"[redacted]");
            } else {
                map.entry(&name.as_str(), value);
            }
        }
        map.finish()
    }
}

impl fmt::Debug for Ctx {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ctx")
            .field("handler", &self.handler)
            .field("identity", &self.identity)
            .field("request_id", &self.request_id.as_str())
            .field("headers", &RedactedHeaders(&self.headers))
            .field("jwt_verified", &self.claims.is_some())
            .field("resources", &self.shared)
            .finish()
    }
}

impl Ctx {
    pub(crate) fn new(
        shared: Arc<Shared>,
        identity: Identity,
        request_id: &RequestId,
        headers: HeaderMap,
        claims: Option<Arc<VerifiedClaims>>,
        handler: &'static str,
    ) -> Self {
        Self {
            shared,
            identity,
            request_id: request_id.clone(),
            headers: Arc::new(headers),
            claims,
            handler,
            delivery: None,
            payload_trace: None,
        }
    }

    /// The request's trace: W3C `traceparent`, else B3 headers, else the event's
    /// `trace_context`.
    pub fn trace_context(&self) -> Option<crate::trace::TraceContext> {
        crate::trace::TraceContext::from_headers(&self.headers)
            .or_else(|| self.payload_trace.as_deref().cloned())
    }

    /// Trace headers for an outgoing call: a child of the request's trace (empty when the
    /// request carried none).
    pub fn trace_headers(&self) -> HeaderMap {
        let incoming = self.trace_context();
        // With OTLP export, outgoing calls are children of the exported handler span.
        #[cfg(feature = "otel")]
        if let Some((trace_id, span_id)) = crate::telemetry::otel::current() {
            return crate::trace::TraceContext::exported(trace_id, span_id, incoming.as_ref())
                .headers();
        }
        incoming
            .map(|trace| trace.child_headers())
            .unwrap_or_default()
    }

    /// The caller's identity.
    pub fn identity(&self) -> &Identity {
        &self.identity
    }

    /// This request's id (`x-request-id`, generated when Hasura did not send one).
    pub fn request_id(&self) -> &str {
        self.request_id.as_str()
    }

    /// The request headers Hasura sent (for `jwt` actions these include the client's forwarded
    /// headers, such as `Authorization`).
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// The verified JWT claims, for `jwt` actions.
    pub fn jwt_claims(&self) -> Option<&VerifiedClaims> {
        self.claims.as_deref()
    }

    /// The name of the handler being run.
    pub fn handler_name(&self) -> &'static str {
        self.handler
    }

    /// The shared HTTP client (pooled, with timeouts) for third-party APIs; each request it
    /// starts carries the request's trace context ([`HttpClient`]).
    pub fn http(&self) -> HttpClient<'_> {
        HttpClient {
            client: &self.shared.http,
            ctx: self,
        }
    }

    /// Hasura's GraphQL API, called as admin, as the caller's role, or as the caller
    /// (`HASURA_GRAPHQL_ENDPOINT`).
    ///
    /// ```no_run
    /// # async fn f(ctx: rasura::Ctx) -> Result<(), rasura::ActionError> {
    /// let data = ctx
    ///     .graphql()?
    ///     .as_role()?
    ///     .execute_raw("query { user { user_id } }", None, None)
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn graphql(&self) -> Result<Graphql<'_>, Unavailable> {
        let client = self.shared.graphql.as_ref().ok_or_else(|| Unavailable {
            resource: "ctx.graphql()",
            // Static text: an absent resource costs no allocation (handlers may probe for it).
            hint: "set HASURA_GRAPHQL_ENDPOINT".into(),
        })?;
        Ok(Graphql { client, ctx: self })
    }

    /// The shared Postgres pool (`DATABASE_URL`).
    pub fn db(&self) -> Result<&sqlx::PgPool, Unavailable> {
        self.shared.db.as_ref().ok_or_else(no_database)
    }

    /// Begins a database transaction with `hasura.user` set to the caller's session variables,
    /// so event triggers fired by its writes carry the caller's identity, as for writes made
    /// through Hasura.
    pub async fn transaction(
        &self,
    ) -> Result<sqlx::Transaction<'static, sqlx::Postgres>, crate::db::TransactionError> {
        let pool = self.db()?;
        Ok(crate::db::begin_as(pool, self.identity.session_variables()).await?)
    }

    /// Object storage (`RASURA_STORAGE_URL`; the local filesystem by default).
    pub fn storage(&self) -> Result<&crate::storage::Storage, Unavailable> {
        self.shared.storage.as_ref().ok_or_else(|| Unavailable {
            resource: "ctx.storage()",
            hint: "set RASURA_STORAGE_URL".into(),
        })
    }

    /// Token issuing, refresh and logout (`RASURA_TOKEN_KEYS`; refresh and logout also need
    /// `DATABASE_URL`).
    pub fn tokens(&self) -> Result<crate::auth::Tokens<'_>, Unavailable> {
        if self.shared.auth.config.signing_keys.is_none() {
            return Err(Unavailable {
                resource: "ctx.tokens()",
                hint: "set RASURA_TOKEN_KEYS (a JWK set; `<service> keys generate` makes one)"
                    .into(),
            });
        }
        Ok(crate::auth::Tokens {
            auth: &self.shared.auth,
            db: self.shared.db.as_ref(),
            ctx: self,
        })
    }

    /// The caller as policies see it: its session, verified claims, and principals (with the
    /// configured session-variable principals, `RASURA_PRINCIPAL_VARIABLES`).
    pub fn caller(&self) -> crate::policy::Caller<'_> {
        crate::policy::Caller::new(&self.identity)
            .with_variables(&self.shared.principal_variables)
            .with_claims(self.claims.as_deref())
    }

    /// Checks that the caller has `permission` on `resource` (its [`crate::policy::Acl`]); a
    /// denial is audited (`access_denied`) and converts into 403 `access-denied` with `?`.
    pub fn authorize<R: crate::policy::Resource + ?Sized>(
        &self,
        resource: &R,
        permission: R::Permission,
    ) -> Result<(), crate::policy::AccessDenied> {
        self.authorize_as(&self.caller(), resource, permission)
    }

    /// [`Ctx::authorize`] for a caller the handler extended (extra principals).
    pub fn authorize_as<R: crate::policy::Resource + ?Sized>(
        &self,
        caller: &crate::policy::Caller<'_>,
        resource: &R,
        permission: R::Permission,
    ) -> Result<(), crate::policy::AccessDenied> {
        use crate::policy::Permission;
        if caller.is_allowed(resource, permission) {
            return Ok(());
        }
        self.audit(
            crate::audit::AuditEvent::new(crate::audit::AuditKind::AccessDenied)
                .permission(permission.name()),
        );
        Err(crate::policy::AccessDenied::new(permission.name()))
    }

    /// Counts this request against `limit`, keyed by the caller's user id, else `key` (for
    /// example a login's username), else the trusted client address, else one bucket for the
    /// handler. Over the limit: 429 `rate-limited` with `Retry-After` (audited).
    pub async fn rate_limit(
        &self,
        limit: &crate::rate::RateLimit,
        key: Option<&str>,
    ) -> Result<(), ActionError> {
        let rate = &self.shared.rate;
        let bucket = rate.bucket(self.handler, limit, &self.identity, &self.headers, key);
        rate.check_bucket(
            self.handler,
            limit,
            &bucket,
            &self.identity,
            self.request_id(),
        )
        .await
    }

    /// Records an audit event (see [`crate::audit`]), filling in the handler, request id, and
    /// the caller's role and user id where the event has none.
    pub fn audit(&self, mut event: crate::audit::AuditEvent) {
        if event.handler.is_none() {
            event.handler = Some(self.handler.to_owned());
        }
        if event.role.is_none() {
            event.role = self.identity.role().map(str::to_owned);
        }
        if event.user_id.is_none() {
            event.user_id = self.identity.user_id().map(str::to_owned);
        }
        if event.request_id.is_none() {
            event.request_id = Some(self.request_id().to_owned());
        }
        self.shared.audit.record(event);
    }

    /// The state of type `T` given to [`crate::Service::with_state`].
    pub fn state<T: Send + Sync + 'static>(&self) -> Result<&T, Unavailable> {
        self.shared.state.get::<T>().ok_or_else(|| Unavailable {
            resource: "ctx.state::<T>()",
            hint: format!(
                "no state of type `{}`; add it with Service::with_state",
                std::any::type_name::<T>()
            )
            .into(),
        })
    }

    #[cfg(feature = "testing")]
    /// A context for unit-testing a handler function directly.
    pub fn for_tests(identity: Identity) -> Self {
        let request_id = RequestId::from_text("test".into());
        Self::new(
            Arc::default(),
            identity,
            &request_id,
            HeaderMap::new(),
            None,
            "test",
        )
    }
}

/// The shared `reqwest` client, as a handler sees it: requests start with the trace headers
/// of the handler's request (a child span), so a trace crosses into third-party APIs.
#[derive(Debug, Clone, Copy)]
pub struct HttpClient<'a> {
    client: &'a reqwest::Client,
    ctx: &'a Ctx,
}

impl HttpClient<'_> {
    /// A request with `method` to `url`.
    pub fn request(
        &self,
        method: reqwest::Method,
        url: impl reqwest::IntoUrl,
    ) -> reqwest::RequestBuilder {
        self.client
            .request(method, url)
            .headers(self.ctx.trace_headers())
    }

    /// A `GET`.
    pub fn get(&self, url: impl reqwest::IntoUrl) -> reqwest::RequestBuilder {
        self.request(reqwest::Method::GET, url)
    }

    /// A `POST`.
    pub fn post(&self, url: impl reqwest::IntoUrl) -> reqwest::RequestBuilder {
        self.request(reqwest::Method::POST, url)
    }

    /// A `PUT`.
    pub fn put(&self, url: impl reqwest::IntoUrl) -> reqwest::RequestBuilder {
        self.request(reqwest::Method::PUT, url)
    }

    /// A `PATCH`.
    pub fn patch(&self, url: impl reqwest::IntoUrl) -> reqwest::RequestBuilder {
        self.request(reqwest::Method::PATCH, url)
    }

    /// A `DELETE`.
    pub fn delete(&self, url: impl reqwest::IntoUrl) -> reqwest::RequestBuilder {
        self.request(reqwest::Method::DELETE, url)
    }

    /// The client itself (requests it starts carry no trace headers).
    pub fn client(&self) -> &reqwest::Client {
        self.client
    }
}

/// Hasura's GraphQL API for one handler call: pick how to authenticate.
#[derive(Debug, Clone, Copy)]
pub struct Graphql<'a> {
    client: &'a crate::graphql::GraphqlClient,
    ctx: &'a Ctx,
}

impl<'a> Graphql<'a> {
    /// As admin (the admin secret; no permission applies).
    pub fn as_admin(self) -> crate::graphql::GraphqlCall<'a> {
        self.client
            .as_admin()
            .request_id(self.ctx.request_id())
            .with_headers(self.ctx.trace_headers())
    }

    /// As the caller's role: the admin secret plus the caller's `x-hasura-role` and session
    /// variables, so Hasura applies the caller's permissions without needing their token.
    pub fn as_role(self) -> Result<crate::graphql::GraphqlCall<'a>, crate::graphql::GraphqlError> {
        Ok(self
            .client
            .as_role(self.ctx.identity.session_variables())?
            .request_id(self.ctx.request_id())
            .with_headers(self.ctx.trace_headers()))
    }

    /// As the caller: forwards the `Authorization` header a `jwt` action verified (and the
    /// caller's role), so Hasura checks the token itself.
    pub fn as_caller(
        self,
    ) -> Result<crate::graphql::GraphqlCall<'a>, crate::graphql::GraphqlError> {
        if self.ctx.claims.is_none() {
            return Err(crate::graphql::GraphqlError::NoCallerToken);
        }
        let authorization = self
            .ctx
            .headers
            .get(http::header::AUTHORIZATION)
            .ok_or(crate::graphql::GraphqlError::NoCallerToken)?;
        Ok(self
            .client
            .with_authorization(authorization, self.ctx.identity.role())
            .request_id(self.ctx.request_id())
            .with_headers(self.ctx.trace_headers()))
    }

    /// The underlying client.
    pub fn client(self) -> &'a crate::graphql::GraphqlClient {
        self.client
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_hides_credential_headers() {
        let mut headers = HeaderMap::new();
        headers.insert("authorization", "Bearer secret-token".parse().unwrap());
        headers.insert(
            crate::security::WEBHOOK_SECRET_HEADER,
            "webhook-secret-value".parse().unwrap(),
        );
        headers.insert("x-request-id", "abc".parse().unwrap());
        let ctx = Ctx::new(
            Arc::default(),
            Identity::default(),
            &RequestId::from_text("abc".into()),
            headers,
            None,
            "pong",
        );
        let text = format!("{ctx:?}");
        assert!(!text.contains("secret-token"), "{text}");
        assert!(!text.contains("webhook-secret-value"), "{text}");
        assert!(
            text.contains("authorization") && text.contains("x-request-id"),
            "{text}"
        );
    }
}
