//! Service configuration from the environment: Hasura's variable names where one exists,
//! `RASURA_*` otherwise. Every problem is reported at once, and no value is ever echoed.

use std::fmt;
use std::net::SocketAddr;
use std::time::Duration;

use crate::security::WebhookSecrets;
use crate::security::jwt::JwtConfig;

/// `RASURA_LISTEN`: address to listen on.
pub const LISTEN: &str = "RASURA_LISTEN";
/// `RASURA_WEBHOOK_SECRET`: one or more comma-separated accepted webhook secrets.
pub const WEBHOOK_SECRET: &str = "RASURA_WEBHOOK_SECRET";
/// The shortest webhook secret accepted from the environment (outside development defaults).
pub const MIN_WEBHOOK_SECRET_BYTES: usize = 32;
/// `HASURA_GRAPHQL_JWT_SECRET`: Hasura's JWT configuration (JSON).
pub const JWT_SECRET: &str = "HASURA_GRAPHQL_JWT_SECRET";
/// `RASURA_BODY_LIMIT`: largest accepted request body, in bytes.
pub const BODY_LIMIT: &str = "RASURA_BODY_LIMIT";
/// `RASURA_HANDLER_TIMEOUT`: default handler timeout, in seconds.
pub const HANDLER_TIMEOUT: &str = "RASURA_HANDLER_TIMEOUT";
/// `RASURA_SHUTDOWN_TIMEOUT`: how long in-flight requests may finish after SIGTERM, in seconds.
pub const SHUTDOWN_TIMEOUT: &str = "RASURA_SHUTDOWN_TIMEOUT";
/// `RASURA_HEADER_READ_TIMEOUT`: how long a client has to send a request's headers, in seconds.
pub const HEADER_READ_TIMEOUT: &str = "RASURA_HEADER_READ_TIMEOUT";
/// `RASURA_BODY_READ_TIMEOUT`: how long a client has to send a request's body, in seconds.
pub const BODY_READ_TIMEOUT: &str = "RASURA_BODY_READ_TIMEOUT";
/// `RASURA_IDLE_TIMEOUT`: how long an idle keep-alive connection stays open, in seconds.
pub const IDLE_TIMEOUT: &str = "RASURA_IDLE_TIMEOUT";
/// `RASURA_PRINCIPAL_VARIABLES`: session variables that become policy principals
/// (`x-hasura-school-id` → `school:<value>`; `variable=kind` to name the kind).
pub const PRINCIPAL_VARIABLES: &str = "RASURA_PRINCIPAL_VARIABLES";
/// `RASURA_MAX_CONNECTIONS`: most connections served at once (more wait to be accepted).
pub const MAX_CONNECTIONS: &str = "RASURA_MAX_CONNECTIONS";
/// `RASURA_LOG`: `tracing` filter (e.g. `info`, `rasura=debug`).
pub const LOG: &str = "RASURA_LOG";
/// `RASURA_LOG_FORMAT`: `text` or `json`.
pub const LOG_FORMAT: &str = "RASURA_LOG_FORMAT";

/// `HASURA_GRAPHQL_ENDPOINT`: Hasura's base URL (`/v1/graphql` and `/v1/metadata` are appended).
pub const HASURA_ENDPOINT: &str = "HASURA_GRAPHQL_ENDPOINT";
/// `HASURA_GRAPHQL_ADMIN_SECRET`: Hasura's admin secret, for admin and act-as-role calls.
pub const ADMIN_SECRET: &str = "HASURA_GRAPHQL_ADMIN_SECRET";
/// `DATABASE_URL`: the Postgres database handlers use (wins over `HASURA_GRAPHQL_DATABASE_URL`).
pub const DATABASE_URL: &str = "DATABASE_URL";
/// `HASURA_GRAPHQL_DATABASE_URL`: Hasura's own database URL, used when `DATABASE_URL` is unset.
pub const HASURA_DATABASE_URL: &str = "HASURA_GRAPHQL_DATABASE_URL";
/// `RASURA_DATABASE_MAX_CONNECTIONS`: size of the Postgres pool.
pub const DATABASE_MAX_CONNECTIONS: &str = "RASURA_DATABASE_MAX_CONNECTIONS";
/// `RASURA_STORAGE_URL`: where objects are stored (`file://`, `memory://`, `s3://`, `gs://`,
/// `az://`).
pub const STORAGE_URL: &str = "RASURA_STORAGE_URL";
/// `RASURA_STORAGE_SIGNING_KEY`: key for the local backend's signed `/files` URLs (derived from
/// the webhook secret when unset).
pub const STORAGE_SIGNING_KEY: &str = "RASURA_STORAGE_SIGNING_KEY";
/// `RASURA_UPLOAD_LIMIT`: largest object `ctx.storage().upload` accepts, in bytes.
pub const UPLOAD_LIMIT: &str = "RASURA_UPLOAD_LIMIT";
/// `RASURA_PUBLIC_URL`: the service's URL as clients reach it (for `/files` links).
pub const PUBLIC_URL: &str = "RASURA_PUBLIC_URL";
/// `RASURA_GRAPHQL_TIMEOUT`: timeout of one call to Hasura from a handler (GraphQL, and the
/// scheduler's Metadata API calls), in seconds.
pub const GRAPHQL_TIMEOUT: &str = "RASURA_GRAPHQL_TIMEOUT";

/// Default listen address.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:3300";
/// Default body limit: 4 MiB.
pub const DEFAULT_BODY_LIMIT: usize = 4 * 1024 * 1024;
/// Default handler timeout: 25 s, below Hasura's 30 s action timeout so Rasura answers first.
pub const DEFAULT_HANDLER_TIMEOUT: Duration = Duration::from_secs(25);

/// Default header-read timeout: 10 s (Hasura sends a whole request at once).
pub const DEFAULT_HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// Default body-read timeout: 30 s.
pub const DEFAULT_BODY_READ_TIMEOUT: Duration = Duration::from_secs(30);
/// Default idle keep-alive timeout: 60 s (Hasura's HTTP client keeps connections for reuse).
pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// Default connection cap.
pub const DEFAULT_MAX_CONNECTIONS: usize = 1024;
/// The largest connection cap accepted (a process cannot hold more descriptors than this).
pub const MAX_MAX_CONNECTIONS: usize = 1 << 20;

/// Default storage: a directory beside the working directory.
pub const DEFAULT_STORAGE_URL: &str = "file://./data/storage";
/// Default upload limit: 10 MiB.
pub const DEFAULT_UPLOAD_LIMIT: usize = 10 * 1024 * 1024;
/// Default GraphQL call timeout: 20 s, below the default handler timeout.
pub const DEFAULT_GRAPHQL_TIMEOUT: Duration = Duration::from_secs(20);
/// Default Postgres pool size.
pub const DEFAULT_DATABASE_MAX_CONNECTIONS: u32 = 10;

/// A secret setting: `Debug` and `Display` never show it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself (to put in a header or a connection).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// The service's configuration. `Debug` shows no secret.
#[derive(Debug, Clone)]
pub struct Config {
    /// Listen address.
    pub listen: SocketAddr,
    /// Accepted webhook secrets.
    pub webhook_secrets: WebhookSecrets,
    /// JWT verification for `jwt` actions.
    pub jwt: Option<JwtConfig>,
    /// Largest accepted body.
    pub body_limit: usize,
    /// Default handler timeout.
    pub handler_timeout: Duration,
    /// Grace period for in-flight requests on shutdown.
    pub shutdown_timeout: Duration,
    /// Time a client has to send a request's headers (from the connection's start, or from the
    /// first byte of a later request on a kept-alive connection).
    pub header_read_timeout: Duration,
    /// Time a client has to send a request's body.
    pub body_read_timeout: Duration,
    /// Time an idle keep-alive connection stays open.
    pub idle_timeout: Duration,
    /// Most connections served at once; further clients wait in the listen backlog.
    pub max_connections: usize,
    /// `tracing` filter directive.
    pub log_filter: String,
    /// Log format.
    pub log_format: LogFormat,
    /// Hasura's base URL, when configured.
    pub hasura_endpoint: Option<url::Url>,
    /// Hasura's admin secret, when configured.
    pub admin_secret: Option<Secret>,
    /// The Postgres URL, when configured (a secret: it may hold a password).
    pub database_url: Option<Secret>,
    /// Postgres pool size.
    pub database_max_connections: u32,
    /// Where objects are stored.
    pub storage: crate::storage::StorageLocation,
    /// Key of the local backend's signed URLs (derived from the webhook secret when `None`).
    pub storage_signing_key: Option<Secret>,
    /// Largest object accepted by uploads.
    pub upload_limit: usize,
    /// The service's public URL, for `/files` links (`http://<listen>` when `None`).
    pub public_url: Option<url::Url>,
    /// Timeout of one GraphQL call.
    pub graphql_timeout: Duration,
    /// Identity: the auth webhook, token issuing, token exchange.
    pub identity: crate::auth::IdentityConfig,
    /// Session variables that become policy principals (`RASURA_PRINCIPAL_VARIABLES`).
    pub principal_variables: crate::policy::PrincipalVariables,
    /// Rate limits: store, failure mode, trusted client-address header.
    pub rate_limit: crate::rate::RateLimitConfig,
    /// Write audit events to `rasura_audit.event` (`RASURA_AUDIT_DATABASE`).
    pub audit_database: bool,
    /// How long `rasura.processed_delivery` remembers a delivery (`RASURA_DELIVERY_RETENTION_DAYS`,
    /// 30 days): a redelivery older than this runs again.
    pub delivery_retention: Duration,
    /// The variable holding this service's base URL in Hasura's environment
    /// (`RASURA_BASE_URL_ENV`, default `RASURA_BASE_URL`): the webhooks of scheduled events the
    /// service creates are `{{<it>}}/scheduled/<name>`, as `metadata export` writes them.
    pub base_url_env: String,
    /// Serve `GET /metrics` on this address instead of the main listener
    /// (`RASURA_METRICS_LISTEN`).
    pub metrics_listen: Option<SocketAddr>,
}

/// `RASURA_BASE_URL_ENV`: the name of the variable holding the service's base URL in Hasura's
/// environment.
pub const BASE_URL_ENV: &str = "RASURA_BASE_URL_ENV";
/// Its default: `RASURA_BASE_URL`.
pub const DEFAULT_BASE_URL_ENV: &str = "RASURA_BASE_URL";

/// `RASURA_DELIVERY_RETENTION_DAYS`: how long processed deliveries are remembered.
pub const DELIVERY_RETENTION_DAYS: &str = "RASURA_DELIVERY_RETENTION_DAYS";
/// The default delivery retention: 30 days.
pub const DEFAULT_DELIVERY_RETENTION: Duration = Duration::from_secs(30 * 24 * 3600);

impl Config {
    /// A configuration accepting `webhook_secrets` (comma-separated), with every other setting at
    /// its default.
    pub fn new(webhook_secrets: &str) -> Self {
        Self {
            listen: DEFAULT_LISTEN.parse().expect("valid default address"),
            webhook_secrets: WebhookSecrets::from_list(webhook_secrets),
            jwt: None,
            body_limit: DEFAULT_BODY_LIMIT,
            handler_timeout: DEFAULT_HANDLER_TIMEOUT,
            shutdown_timeout: Duration::from_secs(30),
            header_read_timeout: DEFAULT_HEADER_READ_TIMEOUT,
            body_read_timeout: DEFAULT_BODY_READ_TIMEOUT,
            idle_timeout: DEFAULT_IDLE_TIMEOUT,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            log_filter: "info".into(),
            log_format: LogFormat::Text,
            hasura_endpoint: None,
            admin_secret: None,
            database_url: None,
            database_max_connections: DEFAULT_DATABASE_MAX_CONNECTIONS,
            storage: crate::storage::StorageLocation::default(),
            storage_signing_key: None,
            upload_limit: DEFAULT_UPLOAD_LIMIT,
            public_url: None,
            graphql_timeout: DEFAULT_GRAPHQL_TIMEOUT,
            identity: crate::auth::IdentityConfig::default(),
            principal_variables: crate::policy::PrincipalVariables::default(),
            rate_limit: crate::rate::RateLimitConfig::default(),
            audit_database: false,
            delivery_retention: DEFAULT_DELIVERY_RETENTION,
            base_url_env: DEFAULT_BASE_URL_ENV.into(),
            metrics_listen: None,
        }
    }

    /// Sets how long processed deliveries are remembered (at least one hour).
    pub fn with_delivery_retention(mut self, retention: Duration) -> Self {
        self.delivery_retention = retention.max(Duration::from_secs(3600));
        self
    }

    /// Sets the session variables that become policy principals.
    pub fn with_principal_variables(
        mut self,
        variables: crate::policy::PrincipalVariables,
    ) -> Self {
        self.principal_variables = variables;
        self
    }

    /// Sets the rate-limit settings.
    pub fn with_rate_limit(mut self, rate_limit: crate::rate::RateLimitConfig) -> Self {
        self.rate_limit = rate_limit;
        self
    }

    /// Writes audit events to `rasura_audit.event` (needs a database).
    pub fn with_audit_database(mut self, enabled: bool) -> Self {
        self.audit_database = enabled;
        self
    }

    /// Sets the identity settings (auth webhook, signing keys, token lifetimes).
    pub fn with_identity(mut self, identity: crate::auth::IdentityConfig) -> Self {
        self.identity = identity;
        self
    }

    /// Sets Hasura's base URL and admin secret (for `ctx.graphql()` and `/readyz`).
    pub fn with_hasura(mut self, endpoint: url::Url, admin_secret: Option<&str>) -> Self {
        self.hasura_endpoint = Some(endpoint);
        self.admin_secret = admin_secret.map(Secret::new);
        self
    }

    /// Sets the Postgres URL (for `ctx.db()`).
    pub fn with_database_url(mut self, url: &str) -> Self {
        self.database_url = Some(Secret::new(url));
        self
    }

    /// Sets the object storage location (for `ctx.storage()`).
    pub fn with_storage(mut self, location: crate::storage::StorageLocation) -> Self {
        self.storage = location;
        self
    }

    /// Sets the upload limit.
    pub fn with_upload_limit(mut self, bytes: usize) -> Self {
        self.upload_limit = bytes;
        self
    }

    /// Sets the public URL used in `/files` links.
    pub fn with_public_url(mut self, url: url::Url) -> Self {
        self.public_url = Some(url);
        self
    }

    /// Sets the JWT configuration.
    pub fn with_jwt(mut self, jwt: JwtConfig) -> Self {
        self.jwt = Some(jwt);
        self
    }

    /// Sets the body limit.
    pub fn with_body_limit(mut self, bytes: usize) -> Self {
        self.body_limit = bytes;
        self
    }

    /// Sets the default handler timeout.
    pub fn with_handler_timeout(mut self, timeout: Duration) -> Self {
        self.handler_timeout = timeout;
        self
    }

    /// Sets the connection limits: header-read, body-read and idle timeouts, and the cap on
    /// connections served at once.
    pub fn with_connection_limits(
        mut self,
        header_read: Duration,
        body_read: Duration,
        idle: Duration,
        max_connections: usize,
    ) -> Self {
        self.header_read_timeout = header_read;
        self.body_read_timeout = body_read;
        self.idle_timeout = idle;
        self.max_connections = max_connections.clamp(1, MAX_MAX_CONNECTIONS);
        self
    }

    /// Serves `GET /metrics` on `listen` instead of the main listener.
    pub fn with_metrics_listen(mut self, listen: SocketAddr) -> Self {
        self.metrics_listen = Some(listen);
        self
    }

    /// Sets the address to listen on.
    pub fn with_listen(mut self, listen: SocketAddr) -> Self {
        self.listen = listen;
        self
    }

    /// Reads the process environment (after an optional `.env`, loaded by [`crate::Service`]).
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads settings through `lookup` (for tests and custom sources).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        Self::parse(lookup, false)
    }

    /// As [`Config::from_lookup`]; `allow_short_secrets` is for development defaults only.
    pub(crate) fn parse(
        lookup: impl Fn(&str) -> Option<String>,
        allow_short_secrets: bool,
    ) -> Result<Self, ConfigError> {
        let mut problems = Vec::new();
        let mut config = Self::new("");
        let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());

        if let Some(listen) = get(LISTEN) {
            match listen.trim().parse() {
                Ok(addr) => config.listen = addr,
                Err(_) => problems.push(Problem::new(
                    LISTEN,
                    "not a socket address such as 0.0.0.0:3300",
                )),
            }
        }
        match get(WEBHOOK_SECRET) {
            Some(list) => {
                config.webhook_secrets = WebhookSecrets::from_list(&list);
                if config.webhook_secrets.is_empty() {
                    problems.push(Problem::new(WEBHOOK_SECRET, "lists no secret"));
                }
                let short = list
                    .split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty() && s.len() < MIN_WEBHOOK_SECRET_BYTES)
                    .count();
                if short > 0 && !allow_short_secrets {
                    problems.push(Problem::new(
                        WEBHOOK_SECRET,
                        format!(
                            "{short} secret(s) shorter than {MIN_WEBHOOK_SECRET_BYTES} bytes: Hasura sends it on every call, so it must not be guessable; generate one with `openssl rand -hex 32`"
                        ),
                    ));
                }
            }
            None => problems.push(Problem::new(
                WEBHOOK_SECRET,
                "missing: every route requires the webhook secret Hasura sends in \
                 X-Rasura-Webhook-Secret (one or more, comma-separated)",
            )),
        }
        if let Some(jwt) = get(JWT_SECRET) {
            match JwtConfig::from_json(&jwt) {
                Ok(jwt) => config.jwt = Some(jwt),
                Err(e) => problems.push(Problem::new(JWT_SECRET, e.to_string())),
            }
        }
        let mut number = |name: &'static str, what: &str| -> Option<u64> {
            let text = get(name)?;
            match text.trim().parse::<u64>() {
                Ok(n) if n > 0 => Some(n),
                _ => {
                    problems.push(Problem::new(
                        name,
                        format!("expected a positive number of {what}"),
                    ));
                    None
                }
            }
        };
        if let Some(n) = number(BODY_LIMIT, "bytes") {
            config.body_limit = usize::try_from(n).unwrap_or(usize::MAX);
        }
        if let Some(n) = number(HANDLER_TIMEOUT, "seconds") {
            config.handler_timeout = Duration::from_secs(n);
        }
        if let Some(n) = number(SHUTDOWN_TIMEOUT, "seconds") {
            config.shutdown_timeout = Duration::from_secs(n);
        }
        if let Some(n) = number(HEADER_READ_TIMEOUT, "seconds") {
            config.header_read_timeout = Duration::from_secs(n);
        }
        if let Some(n) = number(BODY_READ_TIMEOUT, "seconds") {
            config.body_read_timeout = Duration::from_secs(n);
        }
        if let Some(n) = number(IDLE_TIMEOUT, "seconds") {
            config.idle_timeout = Duration::from_secs(n);
        }
        let max_connections = number(MAX_CONNECTIONS, "connections");
        if let Some(filter) = get(LOG) {
            config.log_filter = filter;
        }
        if let Some(n) = number(UPLOAD_LIMIT, "bytes") {
            config.upload_limit = usize::try_from(n).unwrap_or(usize::MAX);
        }
        if let Some(n) = number(GRAPHQL_TIMEOUT, "seconds") {
            config.graphql_timeout = Duration::from_secs(n);
        }
        if let Some(n) = number(DATABASE_MAX_CONNECTIONS, "connections") {
            config.database_max_connections = u32::try_from(n).unwrap_or(u32::MAX);
        }
        match max_connections {
            Some(n) if n > MAX_MAX_CONNECTIONS as u64 => problems.push(Problem::new(
                MAX_CONNECTIONS,
                format!("at most {MAX_MAX_CONNECTIONS}"),
            )),
            Some(n) => config.max_connections = n as usize,
            None => {}
        }
        let mut http_url = |name: &'static str| -> Option<url::Url> {
            let text = get(name)?;
            match url::Url::parse(text.trim()) {
                Ok(url) if matches!(url.scheme(), "http" | "https") && url.has_host() => Some(url),
                _ => {
                    problems.push(Problem::new(
                        name,
                        "expected an http(s) URL such as http://localhost:8080",
                    ));
                    None
                }
            }
        };
        config.hasura_endpoint = http_url(HASURA_ENDPOINT);
        config.public_url = http_url(PUBLIC_URL);
        config.admin_secret = get(ADMIN_SECRET).map(|s| Secret::new(s.trim()));
        if let Some((name, url)) = get(DATABASE_URL)
            .map(|u| (DATABASE_URL, u))
            .or_else(|| get(HASURA_DATABASE_URL).map(|u| (HASURA_DATABASE_URL, u)))
        {
            let url = url.trim();
            if url.starts_with("postgres://") || url.starts_with("postgresql://") {
                config.database_url = Some(Secret::new(url));
            } else {
                problems.push(Problem::new(
                    name,
                    "expected a postgres:// or postgresql:// URL",
                ));
            }
        }
        if let Some(storage) = get(STORAGE_URL) {
            match crate::storage::StorageLocation::parse(storage.trim()) {
                Ok(location) => config.storage = location,
                Err(e) => problems.push(Problem::new(STORAGE_URL, e.to_string())),
            }
        }
        config.storage_signing_key = get(STORAGE_SIGNING_KEY).map(Secret::new);
        if config
            .storage_signing_key
            .as_ref()
            .is_some_and(|k| k.expose().len() < 32)
        {
            problems.push(Problem::new(
                STORAGE_SIGNING_KEY,
                "too short: use at least 32 characters",
            ));
        }
        config.identity = crate::auth::IdentityConfig::from_lookup(&get, &mut problems);
        if let Some(text) = get(PRINCIPAL_VARIABLES) {
            match crate::policy::PrincipalVariables::parse(&text) {
                Ok(variables) => config.principal_variables = variables,
                Err(e) => problems.push(Problem::new(PRINCIPAL_VARIABLES, e)),
            }
        }
        config.rate_limit = crate::rate::RateLimitConfig::from_lookup(&get, &mut problems);
        match get(crate::audit::AUDIT_DATABASE).as_deref().map(str::trim) {
            None | Some("false" | "0" | "") => {}
            Some("true" | "1") if config.database_url.is_some() => config.audit_database = true,
            Some("true" | "1") => problems.push(Problem::new(
                crate::audit::AUDIT_DATABASE,
                "needs DATABASE_URL (the events go to rasura_audit.event)",
            )),
            Some(_) => problems.push(Problem::new(
                crate::audit::AUDIT_DATABASE,
                "expected `true` or `false`",
            )),
        }
        if let Some(text) = get(crate::metrics::METRICS_LISTEN) {
            match text.trim().parse::<SocketAddr>() {
                Ok(address) => config.metrics_listen = Some(address),
                Err(_) => problems.push(Problem::new(
                    crate::metrics::METRICS_LISTEN,
                    "expected an address such as 127.0.0.1:9090",
                )),
            }
        }
        if let Some(name) = get(BASE_URL_ENV) {
            let name = name.trim();
            let valid = !name.is_empty()
                && !name.starts_with(|c: char| c.is_ascii_digit())
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            if valid {
                config.base_url_env = name.to_owned();
            } else {
                problems.push(Problem::new(
                    BASE_URL_ENV,
                    "expected an environment variable name (letters, digits and `_`)",
                ));
            }
        }
        if let Some(text) = get(DELIVERY_RETENTION_DAYS) {
            match text.trim().parse::<u32>() {
                Ok(days @ 1..=3650) => {
                    config.delivery_retention = Duration::from_secs(u64::from(days) * 24 * 3600);
                }
                _ => problems.push(Problem::new(
                    DELIVERY_RETENTION_DAYS,
                    "expected a whole number of days from 1 to 3650",
                )),
            }
        }
        match get(LOG_FORMAT).as_deref().map(str::trim) {
            None | Some("text") => {}
            Some("json") => config.log_format = LogFormat::Json,
            Some(_) => problems.push(Problem::new(LOG_FORMAT, "expected `text` or `json`")),
        }
        if problems.is_empty() {
            Ok(config)
        } else {
            Err(ConfigError { problems })
        }
    }
}

/// One invalid or missing setting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The variable.
    pub variable: &'static str,
    /// What is wrong (never the value itself).
    pub message: String,
}

impl Problem {
    pub(crate) fn new(variable: &'static str, message: impl Into<String>) -> Self {
        Self {
            variable,
            message: message.into(),
        }
    }
}

/// Every configuration problem found, reported together.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid configuration ({} problem{}):{}",
    problems.len(),
    if problems.len() == 1 { "" } else { "s" },
    ProblemList(problems)
)]
pub struct ConfigError {
    /// The problems.
    pub problems: Vec<Problem>,
}

/// One problem a line: `  - VARIABLE: what is wrong`.
struct ProblemList<'a>(&'a [Problem]);

impl fmt::Display for ProblemList<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for p in self.0 {
            write!(f, "\n  - {}: {}", p.variable, p.message)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    const LONG: &str = "0123456789abcdef0123456789abcdef";

    #[test]
    fn short_webhook_secrets_are_refused_outside_development_defaults() {
        let short = lookup(&[(
            WEBHOOK_SECRET,
            "hunter2-but-longer, 0123456789abcdef0123456789abcdef",
        )]);
        let err = Config::from_lookup(&short).unwrap_err().to_string();
        assert!(err.contains("1 secret(s) shorter than 32 bytes"), "{err}");
        assert!(err.contains("openssl rand -hex 32"), "{err}");
        assert!(!err.contains("hunter2"), "{err}");
        assert!(Config::parse(&short, true).is_ok());
        assert!(Config::from_lookup(lookup(&[(WEBHOOK_SECRET, LONG)])).is_ok());
    }

    fn lookup(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn every_problem_is_reported_at_once_without_values() {
        let err = Config::from_lookup(lookup(&[
            (LISTEN, "nowhere"),
            (
                JWT_SECRET,
                r#"{"type":"HS256","key":"too-short-secret-value"}"#,
            ),
            (BODY_LIMIT, "-1"),
            (LOG_FORMAT, "xml"),
        ]))
        .unwrap_err();
        let text = err.to_string();
        assert_eq!(err.problems.len(), 5, "{text}");
        for var in [LISTEN, WEBHOOK_SECRET, JWT_SECRET, BODY_LIMIT, LOG_FORMAT] {
            assert!(text.contains(var), "{text}");
        }
        assert!(!text.contains("too-short-secret-value"));
    }

    #[test]
    fn defaults_and_overrides() {
        let c = Config::from_lookup(lookup(&[
            (
                WEBHOOK_SECRET,
                "0123456789abcdef0123456789abcdef,abcdef0123456789abcdef0123456789",
            ),
            (HANDLER_TIMEOUT, "5"),
        ]))
        .unwrap();
        assert_eq!(c.listen.to_string(), DEFAULT_LISTEN);
        assert_eq!(c.webhook_secrets.len(), 2);
        assert_eq!(c.handler_timeout, Duration::from_secs(5));
        assert_eq!(c.body_limit, DEFAULT_BODY_LIMIT);
        assert!(c.jwt.is_none());
    }

    #[test]
    fn delivery_retention_is_whole_days() {
        let c = Config::from_lookup(lookup(&[(WEBHOOK_SECRET, LONG)])).unwrap();
        assert_eq!(c.delivery_retention, DEFAULT_DELIVERY_RETENTION);
        let c = Config::from_lookup(lookup(&[
            (WEBHOOK_SECRET, LONG),
            (DELIVERY_RETENTION_DAYS, " 7 "),
        ]))
        .unwrap();
        assert_eq!(c.delivery_retention, Duration::from_secs(7 * 24 * 3600));
        for bad in ["0", "-1", "3651", "1.5", "week"] {
            let err = Config::from_lookup(lookup(&[
                (WEBHOOK_SECRET, LONG),
                (DELIVERY_RETENTION_DAYS, bad),
            ]))
            .unwrap_err();
            assert!(err.to_string().contains(DELIVERY_RETENTION_DAYS), "{bad}");
        }
    }

    #[test]
    fn resources_are_read_with_hasuras_names() {
        let c = Config::from_lookup(lookup(&[
            (WEBHOOK_SECRET, LONG),
            (HASURA_ENDPOINT, "http://hasura:8080"),
            (ADMIN_SECRET, "admin-secret-value"),
            (HASURA_DATABASE_URL, "postgres://hasura@db/hasura"),
            (DATABASE_URL, "postgres://app:app-password@db/app"),
            (STORAGE_URL, "s3://bucket/prefix"),
            (UPLOAD_LIMIT, "1000"),
        ]))
        .unwrap();
        assert_eq!(
            c.hasura_endpoint.as_ref().unwrap().as_str(),
            "http://hasura:8080/"
        );
        assert_eq!(
            c.admin_secret.as_ref().unwrap().expose(),
            "admin-secret-value"
        );
        // DATABASE_URL wins over Hasura's own.
        assert_eq!(
            c.database_url.as_ref().unwrap().expose(),
            "postgres://app:app-password@db/app"
        );
        assert_eq!(
            c.storage,
            crate::storage::StorageLocation::S3 {
                bucket: "bucket".into(),
                prefix: "prefix".into()
            }
        );
        assert_eq!(c.upload_limit, 1000);
        let debug = format!("{c:?}");
        assert!(!debug.contains("admin-secret-value"), "{debug}");
        assert!(!debug.contains("app-password"), "{debug}");

        let hasura_only = Config::from_lookup(lookup(&[
            (WEBHOOK_SECRET, LONG),
            (HASURA_DATABASE_URL, "postgres://hasura@db/hasura"),
        ]))
        .unwrap();
        assert_eq!(
            hasura_only.database_url.unwrap().expose(),
            "postgres://hasura@db/hasura"
        );
        // Unconfigured resources are absent; storage defaults to the local directory.
        let bare = Config::from_lookup(lookup(&[(WEBHOOK_SECRET, LONG)])).unwrap();
        assert!(bare.hasura_endpoint.is_none() && bare.database_url.is_none());
        assert_eq!(
            bare.storage,
            crate::storage::StorageLocation::parse(DEFAULT_STORAGE_URL).unwrap()
        );
    }

    #[test]
    fn bad_resource_settings_are_reported_without_their_values() {
        let err = Config::from_lookup(lookup(&[
            (WEBHOOK_SECRET, LONG),
            (HASURA_ENDPOINT, "hasura:8080"),
            (DATABASE_URL, "mysql://u:leaked-password@db/app"),
            (STORAGE_URL, "ftp://files"),
            (STORAGE_SIGNING_KEY, "short-key"),
        ]))
        .unwrap_err();
        let text = err.to_string();
        assert_eq!(err.problems.len(), 4, "{text}");
        for var in [
            HASURA_ENDPOINT,
            DATABASE_URL,
            STORAGE_URL,
            STORAGE_SIGNING_KEY,
        ] {
            assert!(text.contains(var), "{text}");
        }
        assert!(!text.contains("leaked-password"), "{text}");
        assert!(!text.contains("short-key"), "{text}");
    }
}
