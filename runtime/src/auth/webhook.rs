//! Hasura's auth webhook (`HASURA_GRAPHQL_AUTH_HOOK`, docs/protocol.md §4.3): `GET` and `POST
//! /auth/webhook`. It verifies the identity provider's token (Hasura's JWT configuration format),
//! maps the subject to a Hasura role (the `rasura_auth.role_mapping` table, the token's own
//! Hasura claims, or a user-written [`AuthMapping`]) and answers Hasura's session object.
//!
//! Status rules: 200 with string values; 401 for every failure to authenticate (Hasura turns
//! anything but 200 and 401 into a 500 for its client); a 5xx only when a dependency is broken.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures_util::future::BoxFuture;
use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};
use serde_json::{Map, Value};
use sha2::Digest as _;

use super::cache::ExpiringCache;
use crate::context::{Ctx, Identity, RequestId, Shared};
use crate::db::batch::{Batcher, Read};
use crate::error::{ErrorCore, json_response};
use crate::security::jwt::{JwtConfig, JwtConfigError, JwtError, VerifiedClaims};

/// `RASURA_AUTH_WEBHOOK`: which tokens are accepted and how subjects map to roles.
#[derive(Debug)]
pub struct AuthWebhookConfig {
    /// The identity provider's tokens (Hasura's JWT configuration format).
    pub jwt: JwtConfig,
    /// The claim naming the subject (default `sub`; e.g. `oid`, `email`).
    pub subject_claim: String,
    /// Whether roles come from `rasura_auth.role_mapping` (default `true`).
    pub role_mapping: bool,
    /// The role answered when no token is presented (none: such a request is 401).
    pub unauthorized_role: Option<String>,
    /// The role of a verified subject with no mapping and no Hasura claims.
    pub default_role: Option<String>,
    /// Cap of the answered `max-age` in seconds.
    pub cache_max_age: Option<u64>,
}

const EXTRAS: &[&str] = &[
    "subject_claim",
    "role_mapping",
    "unauthorized_role",
    "default_role",
    "cache_max_age",
];

impl AuthWebhookConfig {
    /// Parses `RASURA_AUTH_WEBHOOK`: Hasura's JWT configuration plus `subject_claim`,
    /// `role_mapping`, `unauthorized_role`, `default_role` and `cache_max_age`.
    pub fn from_json(text: &str) -> Result<Self, JwtConfigError> {
        let (jwt, extras) = super::jwt_config_with_extras(text, EXTRAS)?;
        let string = |name: &str| -> Result<Option<String>, JwtConfigError> {
            match extras.get(name) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) if !s.trim().is_empty() => Ok(Some(s.trim().to_owned())),
                Some(_) => Err(JwtConfigError::new(format!(
                    "`{name}` must be a non-empty string"
                ))),
            }
        };
        let role_mapping = match extras.get("role_mapping") {
            None | Some(Value::Null) => true,
            Some(Value::Bool(b)) => *b,
            Some(_) => return Err(JwtConfigError::new("`role_mapping` must be true or false")),
        };
        let cache_max_age = match extras.get("cache_max_age") {
            None | Some(Value::Null) => None,
            Some(v) => Some(v.as_u64().ok_or_else(|| {
                JwtConfigError::new("`cache_max_age` must be a number of seconds")
            })?),
        };
        Ok(Self {
            jwt,
            subject_claim: string("subject_claim")?.unwrap_or_else(|| "sub".to_owned()),
            role_mapping,
            unauthorized_role: string("unauthorized_role")?,
            default_role: string("default_role")?,
            cache_max_age,
        })
    }
}

/// The session the webhook answers: a role, the subject as user id, and more session
/// variables (`x-hasura-*` names).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthSession {
    /// `X-Hasura-Role`.
    pub role: String,
    /// `X-Hasura-User-Id` (absent for the unauthorized role).
    pub user_id: Option<String>,
    /// Further `X-Hasura-*` session variables.
    pub variables: Vec<(String, String)>,
}

impl AuthSession {
    /// A session of `role` for `user_id`.
    pub fn new(role: impl Into<String>, user_id: impl Into<String>) -> Self {
        Self {
            role: role.into(),
            user_id: Some(user_id.into()),
            variables: Vec::new(),
        }
    }

    /// Adds a session variable (`name` must start with `x-hasura-`, any case; others are
    /// dropped from the answer, as are `x-hasura-role` and `x-hasura-user-id`).
    pub fn variable(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.variables.push((name.into(), value.into()));
        self
    }
}

/// What a user-written mapping receives: the verified token and the requested role.
#[derive(Debug, Clone)]
pub struct WebhookClaims {
    /// The subject (the configured `subject_claim`).
    pub subject: String,
    /// The verified token's whole payload.
    pub payload: Value,
    /// The role the client asked for (`X-Hasura-Role`), if any.
    pub requested_role: Option<String>,
}

/// A user-written mapping from a verified token to a session ([`crate::Service::auth_webhook`]).
/// An `Err` answers 401 with its message.
pub type AuthMapping = Arc<
    dyn Fn(Ctx, WebhookClaims) -> BoxFuture<'static, Result<AuthSession, crate::ActionError>>
        + Send
        + Sync,
>;

/// One row of `rasura_auth.role_mapping`.
#[derive(Debug, Clone)]
pub(crate) struct RoleRow {
    pub(crate) role: String,
    pub(crate) is_default: bool,
    pub(crate) variables: Vec<(String, String)>,
}

/// The subject's rows of `rasura_auth.role_mapping`, roles in order; `session_variables` values
/// as strings (a non-string JSON value as its JSON text).
pub(crate) async fn fetch_role_rows(
    connections: &crate::db::connections::Connections,
    subject: &str,
) -> Result<Vec<RoleRow>, sqlx::Error> {
    let mut found = fetch_role_rows_of(connections, vec![subject.to_owned()]).await?;
    Ok(found.remove(subject).unwrap_or_default())
}

/// The rows of each of `subjects` that has any, in one statement (see [`fetch_role_rows`]).
async fn fetch_role_rows_of(
    connections: &crate::db::connections::Connections,
    subjects: Vec<String>,
) -> Result<std::collections::HashMap<String, Vec<RoleRow>>, sqlx::Error> {
    let found: Vec<(String, String, bool, Value)> = crate::db::run_statement(connections, |conn| {
        Box::pin(
            sqlx::query_as(
                "SELECT subject, role, is_default, session_variables \
                     FROM rasura_auth.role_mapping WHERE subject = ANY($1) ORDER BY role",
            )
            // Owned: the statement's future may borrow only the connection.
            .bind(subjects.clone())
            .fetch_all(conn),
        )
    })
    .await?;
    let mut rows = std::collections::HashMap::<String, Vec<RoleRow>>::new();
    for (subject, role, is_default, variables) in found {
        let variables = match variables {
            Value::Object(map) => map
                .into_iter()
                .map(|(k, v)| {
                    let text = match v {
                        Value::String(s) => s,
                        other => other.to_string(),
                    };
                    (k, text)
                })
                .collect(),
            _ => Vec::new(),
        };
        rows.entry(subject).or_default().push(RoleRow {
            role,
            is_default,
            variables,
        });
    }
    Ok(rows)
}

/// The [`Batcher`] statement of the webhook's role lookups.
fn read_role_rows(
    connections: &crate::db::connections::Connections,
    subjects: Vec<String>,
) -> Read<String, Arc<Vec<RoleRow>>> {
    let connections = connections.clone();
    Box::pin(async move {
        let rows = fetch_role_rows_of(&connections, subjects).await?;
        Ok(rows.into_iter().map(|(k, v)| (k, Arc::new(v))).collect())
    })
}

/// The webhook's runtime state: its configuration and caches.
pub(crate) struct WebhookState {
    pub(crate) config: Arc<AuthWebhookConfig>,
    pub(crate) mapping: Option<AuthMapping>,
    /// Answers by (token digest, requested role), until min(`exp`, cache lifetime).
    answers: ExpiringCache<([u8; 32], Option<String>), Answer>,
    /// Role rows by subject.
    roles: ExpiringCache<String, Arc<Vec<RoleRow>>>,
    /// Role lookups that miss `roles`, batched.
    role_reads: Arc<Batcher<String, Arc<Vec<RoleRow>>>>,
    cache: Duration,
}

#[derive(Clone)]
struct Answer {
    session: AuthSession,
    expires_at: Option<u64>,
    /// The token's `jti`: a cached answer still consults the deny list (itself cached), so a
    /// logout on this replica is refused at once.
    token_id: Option<String>,
}

/// At most this many answers and subjects are cached.
const CACHE_ENTRIES: usize = 10_000;

/// Role lookups run at most this many statements at once (more wait and share the next one;
/// the rest of the service's connections stay free for handlers) ...
const ROLE_READS_IN_FLIGHT: usize = 2;
/// ... each for at most this many subjects. A lookup waits at most `db::ACQUIRE_TIMEOUT` in all
/// (then 503), and so long may a statement run.
const ROLE_READ_KEYS: usize = 256;

impl WebhookState {
    pub(crate) fn new(
        config: Arc<AuthWebhookConfig>,
        mapping: Option<AuthMapping>,
        cache: Duration,
    ) -> Self {
        Self {
            config,
            mapping,
            answers: ExpiringCache::new(CACHE_ENTRIES),
            roles: ExpiringCache::new(CACHE_ENTRIES),
            role_reads: Arc::new(Batcher::new(
                ROLE_READS_IN_FLIGHT,
                ROLE_READ_KEYS,
                crate::db::ACQUIRE_TIMEOUT,
            )),
            cache,
        }
    }
}

fn denied(message: impl Into<std::borrow::Cow<'static, str>>) -> ErrorCore {
    ErrorCore::new(StatusCode::UNAUTHORIZED, "access-denied", message)
}

fn from_jwt(e: JwtError) -> ErrorCore {
    // Every token problem is 401 here: Hasura makes anything but 200 and 401 a 500.
    ErrorCore::new(
        StatusCode::UNAUTHORIZED,
        e.code().to_owned(),
        e.message().to_owned(),
    )
}

fn unavailable() -> ErrorCore {
    ErrorCore::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "unavailable",
        "the identity store (role mapping, deny list) cannot be read right now",
    )
}

/// Serves one webhook request. A POST body is read within the service's body limit and
/// body-read timeout, as every route's.
pub(crate) async fn serve(
    app: Arc<crate::pipeline::App>,
    request: axum::extract::Request,
) -> Response {
    let (parts, body) = request.into_parts();
    let (method, headers) = (parts.method, parts.headers);
    let request_id = RequestId::from_headers(&headers);
    let result = match crate::pipeline::admission::read_body(body, &headers, &app.config).await {
        Ok(body) => answer(&app.shared, &method, &headers, body, &request_id).await,
        Err(rejection) => Err(rejection.core),
    };
    app.shared.metrics.auth_webhook(match &result {
        Ok(_) => "allowed",
        Err(e) if e.status() == StatusCode::UNAUTHORIZED => "denied",
        Err(e) if e.status().is_server_error() => "error",
        Err(_) => "bad_request",
    });
    let answer = match result {
        Ok(body) => json_response(StatusCode::OK, &body, None),
        Err(e) => {
            if e.status().is_server_error() {
                tracing::error!(code = e.code(), "auth webhook failed");
            } else {
                tracing::debug!(code = e.code(), "auth webhook refused a request");
            }
            if e.status() == StatusCode::UNAUTHORIZED {
                app.shared.audit.record(
                    crate::audit::AuditEvent::new(crate::audit::AuditKind::JwtRejected)
                        .handler("auth_webhook")
                        .reason(crate::security::jwt::reason_class(&e))
                        .request_id(request_id.as_str()),
                );
            }
            e.response(None, None)
        }
    };
    let mut answer = answer.into_response();
    answer
        .headers_mut()
        .insert("x-request-id", request_id.header_value());
    answer
}

async fn answer(
    shared: &Arc<Shared>,
    method: &Method,
    headers: &HeaderMap,
    body: Bytes,
    request_id: &RequestId,
) -> Result<Value, ErrorCore> {
    let Some(state) = shared.auth.webhook.as_ref() else {
        return Err(ErrorCore::new(
            StatusCode::NOT_FOUND,
            "not-exists",
            "the auth webhook is not configured (RASURA_AUTH_WEBHOOK)",
        ));
    };
    let forwarded;
    let client_headers = if method == Method::POST {
        forwarded = posted_headers(&body)?;
        &forwarded
    } else {
        headers
    };
    let config = &state.config;
    let requested_role = client_headers
        .get("x-hasura-role")
        .map(|v| {
            v.to_str()
                .map(|s| s.trim().to_owned())
                .map_err(|_| denied("X-Hasura-Role is not text"))
        })
        .transpose()?;
    let Some(token) = config.jwt.find_token(client_headers).map_err(from_jwt)? else {
        return match &config.unauthorized_role {
            Some(role) if requested_role.as_ref().is_none_or(|r| r == role) => Ok(render(
                &AuthSession {
                    role: role.clone(),
                    user_id: None,
                    variables: Vec::new(),
                },
                None,
                None,
            )),
            Some(_) => Err(denied("the requested role needs a token")),
            None => Err(denied(
                "Authentication hook unauthorized this request: no token",
            )),
        };
    };
    let key = (
        <[u8; 32]>::from(sha2::Sha256::digest(token.as_bytes())),
        requested_role.clone(),
    );
    let revoked = async |jti: Option<&str>| -> Result<(), ErrorCore> {
        let Some(jti) = jti else { return Ok(()) };
        match shared.auth.is_revoked(shared.connections().ok(), jti).await {
            Ok(false) => Ok(()),
            Ok(true) => Err(denied("Could not verify JWT: the token was revoked")),
            Err(e) => {
                tracing::error!(error = %e, "reading the token deny list failed");
                Err(unavailable())
            }
        }
    };
    // `RASURA_AUTH_CACHE_SECONDS=0`: nothing is ever stored, so nothing is looked up.
    let cached = if state.cache.is_zero() {
        None
    } else {
        state.answers.get(&key)
    };
    shared.metrics.auth_cache(cached.is_some());
    if let Some(cached) = cached {
        revoked(cached.token_id.as_deref()).await?;
        return Ok(render(
            &cached.session,
            cached.expires_at,
            config.cache_max_age,
        ));
    }
    let verified = config.jwt.verify_token(token).await.map_err(from_jwt)?;
    revoked(verified.token_id.as_deref()).await?;
    let subject = match verified.payload.get(&config.subject_claim) {
        Some(Value::String(s)) if !s.is_empty() => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => {
            return Err(denied(format!(
                "the token has no `{}` claim to name its subject",
                config.subject_claim
            )));
        }
    };
    let session = if let Some(mapping) = &state.mapping {
        let ctx = Ctx::new(
            shared.clone(),
            Identity::default(),
            request_id,
            client_headers.clone(),
            None,
            "auth_webhook",
        );
        let claims = WebhookClaims {
            subject: subject.clone(),
            payload: verified.payload.clone(),
            requested_role: requested_role.clone(),
        };
        match mapping(ctx, claims).await {
            Ok(session) => session,
            // Hasura knows only 200 and 401; an action error is always 4xx, so 401.
            Err(e) => return Err(denied(e.message().to_owned())),
        }
    } else {
        let rows = if config.role_mapping {
            role_rows(state, shared, &subject).await?
        } else {
            Arc::new(Vec::new())
        };
        map_roles(
            config,
            &rows,
            &subject,
            requested_role.as_deref(),
            &verified.payload,
        )?
    };
    let answer = Answer {
        session,
        expires_at: verified.expires_at,
        token_id: verified.token_id,
    };
    if !state.cache.is_zero() {
        let mut until = Instant::now() + state.cache;
        if let Some(exp) = verified.expires_at {
            let left = Duration::from_secs(exp.saturating_sub(crate::unix_now()));
            until = until.min(Instant::now() + left);
        }
        state.answers.insert(key, answer.clone(), until);
    }
    Ok(render(
        &answer.session,
        answer.expires_at,
        config.cache_max_age,
    ))
}

/// Chooses the session of a verified subject: its role rows, else its token's Hasura claims,
/// else the configured default role.
fn map_roles(
    config: &AuthWebhookConfig,
    rows: &[RoleRow],
    subject: &str,
    requested: Option<&str>,
    payload: &Value,
) -> Result<AuthSession, ErrorCore> {
    let not_allowed = || denied("Your requested role is not in allowed roles");
    if !rows.is_empty() {
        let row = match requested {
            Some(role) => rows
                .iter()
                .find(|r| r.role == role)
                .ok_or_else(not_allowed)?,
            None => rows
                .iter()
                .find(|r| r.is_default)
                .or_else(|| (rows.len() == 1).then(|| &rows[0]))
                .ok_or_else(|| denied("no default role is mapped for this subject"))?,
        };
        return Ok(AuthSession {
            role: row.role.clone(),
            user_id: Some(subject.to_owned()),
            variables: row.variables.clone(),
        });
    }
    match config.jwt.claims_of(payload.clone()) {
        Ok(claims) => session_from_claims(&claims, subject, requested).ok_or_else(not_allowed),
        Err(_) => match (&config.default_role, requested) {
            (Some(role), None) => Ok(AuthSession::new(role.clone(), subject)),
            (Some(role), Some(r)) if r == role => Ok(AuthSession::new(role.clone(), subject)),
            (Some(_), Some(_)) => Err(not_allowed()),
            (None, _) => Err(denied("no role is mapped for this subject")),
        },
    }
}

fn session_from_claims(
    claims: &VerifiedClaims,
    subject: &str,
    requested: Option<&str>,
) -> Option<AuthSession> {
    let role = requested.unwrap_or(&claims.default_role);
    if !claims.allowed_roles.iter().any(|r| r == role) {
        return None;
    }
    let variables = claims
        .session
        .iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    Some(AuthSession {
        role: role.to_owned(),
        user_id: Some(subject.to_owned()),
        variables,
    })
}

/// The subject's role rows, cached for the cache lifetime.
async fn role_rows(
    state: &WebhookState,
    shared: &Arc<Shared>,
    subject: &str,
) -> Result<Arc<Vec<RoleRow>>, ErrorCore> {
    let cached = !state.cache.is_zero();
    if cached {
        if let Some(rows) = state.roles.get(&subject.to_owned()) {
            return Ok(rows);
        }
    }
    // Postgres text cannot hold NUL, so no row names such a subject; sent, it would fail the
    // whole batch's statement.
    if subject.contains('\0') {
        return Ok(Arc::new(Vec::new()));
    }
    let Ok(connections) = shared.connections() else {
        return Err(unavailable());
    };
    let rows = state
        .role_reads
        .load(subject.to_owned(), connections.clone(), read_role_rows)
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "reading rasura_auth.role_mapping failed");
            unavailable()
        })?
        .unwrap_or_default();
    if cached {
        state.roles.insert(
            subject.to_owned(),
            Arc::clone(&rows),
            Instant::now() + state.cache,
        );
    }
    Ok(rows)
}

/// The 200 body: string values only.
fn render(session: &AuthSession, expires_at: Option<u64>, cap: Option<u64>) -> Value {
    let mut body = Map::new();
    body.insert("X-Hasura-Role".into(), Value::from(session.role.as_str()));
    if let Some(user) = &session.user_id {
        body.insert("X-Hasura-User-Id".into(), Value::from(user.as_str()));
    }
    for (name, value) in &session.variables {
        let lower = name.to_ascii_lowercase();
        if lower.starts_with("x-hasura-") && lower != "x-hasura-role" && lower != "x-hasura-user-id"
        {
            body.insert(name.clone(), Value::from(value.as_str()));
        }
    }
    let now = crate::unix_now();
    let max_age = match (expires_at, cap) {
        (Some(exp), cap) => Some(exp.saturating_sub(now).min(cap.unwrap_or(u64::MAX))),
        (None, Some(cap)) => Some(cap),
        (None, None) => None,
    };
    if let Some(age) = max_age {
        body.insert(
            "Cache-Control".into(),
            Value::from(format!("max-age={age}")),
        );
        let expires = SystemTime::now() + Duration::from_secs(age);
        body.insert(
            "Expires".into(),
            Value::from(httpdate::fmt_http_date(expires)),
        );
    }
    Value::Object(body)
}

/// The client headers of a POST webhook body (`{"headers": {...}, "request": ...}`), names
/// case-insensitive. A name given twice with different values is refused: which one Hasura
/// meant cannot be known.
fn posted_headers(body: &[u8]) -> Result<HeaderMap, ErrorCore> {
    let bad = |m: &'static str| ErrorCore::new(StatusCode::BAD_REQUEST, "parse-failed", m);
    let value: Value = serde_json::from_slice(body).map_err(|_| bad("the body is not JSON"))?;
    let Value::Object(mut object) = value else {
        return Err(bad("the body is not a JSON object"));
    };
    let headers = match object.remove("headers") {
        Some(Value::Object(h)) => h,
        Some(Value::Null) | None => Map::new(),
        Some(_) => return Err(bad("`headers` must be an object of strings")),
    };
    let mut map = HeaderMap::with_capacity(headers.len());
    for (name, value) in headers {
        let Value::String(value) = value else {
            return Err(bad("`headers` must be an object of strings"));
        };
        let name = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| bad("`headers` has an invalid header name"))?;
        let value = HeaderValue::from_str(&value)
            .map_err(|_| bad("`headers` has an invalid header value"))?;
        if let Some(previous) = map.get(&name) {
            if *previous != value {
                return Err(bad(
                    "`headers` names one header twice with different values",
                ));
            }
        }
        map.insert(name, value);
    }
    Ok(map)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_takes_rasura_keys_and_parses_the_rest_as_hasura_jwt_config() {
        let c = AuthWebhookConfig::from_json(
            r#"{"type":"HS256","key":"0123456789abcdef0123456789abcdef","subject_claim":"oid",
                "unauthorized_role":"anonymous","cache_max_age":60,"role_mapping":false}"#,
        )
        .unwrap();
        assert_eq!(c.subject_claim, "oid");
        assert_eq!(c.unauthorized_role.as_deref(), Some("anonymous"));
        assert_eq!(c.cache_max_age, Some(60));
        assert!(!c.role_mapping);
        for bad in [
            r#"{"type":"HS256","key":"0123456789abcdef0123456789abcdef","role_mapping":"yes"}"#,
            r#"{"type":"HS256","key":"0123456789abcdef0123456789abcdef","cache_max_age":-1}"#,
            r#"{"type":"HS256","key":"0123456789abcdef0123456789abcdef","subject_claim":""}"#,
            r#"{"subject_claim":"sub"}"#,
            r#"[]"#,
        ] {
            assert!(AuthWebhookConfig::from_json(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn posted_headers_are_case_insensitive_and_duplicates_must_agree() {
        let h = posted_headers(
            br#"{"headers":{"Authorization":"Bearer x","X-Hasura-Role":"a"},"request":null}"#,
        )
        .unwrap();
        assert_eq!(h["authorization"], "Bearer x");
        assert!(posted_headers(br#"{"headers":{"A":"1","a":"2"}}"#).is_err());
        assert!(posted_headers(br#"{"headers":{"A":"1","a":"1"}}"#).is_ok());
        assert!(posted_headers(br#"{"headers":{"A":1}}"#).is_err());
        assert!(posted_headers(br#"{"headers":{"bad name":"1"}}"#).is_err());
        assert!(posted_headers(br#"{"headers":{"a":"line\nbreak"}}"#).is_err());
        assert!(posted_headers(b"[").is_err());
        assert!(
            posted_headers(br#"{"request":[{"query":"{a}"}]}"#)
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn render_answers_strings_and_never_lets_variables_override_role_or_user() {
        let session = AuthSession::new("user", "u1")
            .variable("X-Hasura-Region", "eu")
            .variable("x-hasura-user-id", "someone-else")
            .variable("not-hasura", "x");
        let now = crate::unix_now();
        let body = render(&session, Some(now + 100), Some(30));
        assert_eq!(body["X-Hasura-Role"], "user");
        assert_eq!(body["X-Hasura-User-Id"], "u1");
        assert_eq!(body["X-Hasura-Region"], "eu");
        assert!(body.get("x-hasura-user-id").is_none() && body.get("not-hasura").is_none());
        assert_eq!(body["Cache-Control"], "max-age=30");
        assert!(body["Expires"].as_str().unwrap().ends_with("GMT"));
        assert!(body.as_object().unwrap().values().all(Value::is_string));
        let expired = render(&session, Some(now.saturating_sub(10)), None);
        assert_eq!(expired["Cache-Control"], "max-age=0");
        assert!(render(&session, None, None).get("Cache-Control").is_none());
    }
}
