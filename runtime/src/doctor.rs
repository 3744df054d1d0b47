//! `<service> doctor`: checks a deployment's configuration without serving. One [`Check`] per
//! concern (configuration, webhook secret, JWT, database and migrations, Redis, Hasura, metadata
//! drift, base URL), each `ok`, `warning` or `error` with the fix. No check prints a secret:
//! messages name variables, never their values (the base URL, which is not a secret, excepted).

use std::fmt;
use std::time::Duration;

use crate::config::{self, Config, Secret};
use crate::metadata::sync::{self, MetadataClient, SyncError};
use crate::metadata::{Declared, ExportOptions, default_service_name};
use crate::registry::{Handler, HandlerKind};

/// How long one network check may take.
const CHECK_TIMEOUT: Duration = Duration::from_secs(3);

/// A check's outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// Nothing to do.
    Ok,
    /// Works, but probably not as intended (or could not be confirmed).
    Warning,
    /// Will fail: fix it before deploying.
    Error,
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(match self {
            Level::Ok => "ok",
            Level::Warning => "warning",
            Level::Error => "error",
        })
    }
}

/// One line of the report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    /// The outcome.
    pub level: Level,
    /// What was checked (`database`, `hasura`, …).
    pub name: &'static str,
    /// What was found (never a secret's value).
    pub message: String,
    /// How to fix it, for warnings and errors.
    pub fix: Option<String>,
}

impl Check {
    fn ok(name: &'static str, message: impl Into<String>) -> Self {
        Self {
            level: Level::Ok,
            name,
            message: message.into(),
            fix: None,
        }
    }

    fn warning(name: &'static str, message: impl Into<String>, fix: impl Into<String>) -> Self {
        Self {
            level: Level::Warning,
            name,
            message: message.into(),
            fix: Some(fix.into()),
        }
    }

    fn error(name: &'static str, message: impl Into<String>, fix: impl Into<String>) -> Self {
        Self {
            level: Level::Error,
            name,
            message: message.into(),
            fix: Some(fix.into()),
        }
    }
}

impl fmt::Display for Check {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:<8}{}: {}", self.level, self.name, self.message)?;
        if let Some(fix) = &self.fix {
            write!(f, " (fix: {fix})")?;
        }
        Ok(())
    }
}

/// Reads one setting.
type Lookup<'a> = Box<dyn Fn(&str) -> Option<String> + Send + Sync + 'a>;

/// What the checks read: the handlers, the environment, and whether the service runs on
/// development defaults.
pub struct Doctor<'a> {
    handlers: &'a [&'static Handler],
    lookup: Lookup<'a>,
    development_defaults: bool,
}

impl<'a> Doctor<'a> {
    /// Checks `handlers` against the settings `lookup` returns (blank values count as unset).
    pub fn new(
        handlers: &'a [&'static Handler],
        lookup: impl Fn(&str) -> Option<String> + Send + Sync + 'a,
        development_defaults: bool,
    ) -> Self {
        Self {
            handlers,
            lookup: Box::new(lookup),
            development_defaults,
        }
    }

    fn get(&self, name: &str) -> Option<String> {
        (self.lookup)(name)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    }

    /// Runs every check, in report order.
    pub async fn run(&self) -> Vec<Check> {
        let mut checks = Vec::new();
        if let Some(duplicate) = crate::metadata::duplicate_handler(self.handlers) {
            checks.push(Check::error(
                "handlers",
                duplicate.to_string(),
                "rename one of them",
            ));
        }
        let config = self.configuration(&mut checks);
        if let Some(config) = &config {
            checks.push(self.webhook_secret(config));
            checks.push(self.jwt(config).await);
        }
        checks.push(self.database(config.as_ref()).await);
        if let Some(config) = &config {
            if let Some(check) = redis(config).await {
                checks.push(check);
            }
        }
        let client = self.hasura(&mut checks).await;
        checks.push(self.drift(client.as_ref()).await);
        checks.push(self.base_url());
        checks
    }

    /// Parses the configuration as `serve` would; each problem is an error. Under development
    /// defaults an unset webhook secret is generated at start-up: a warning, and the other checks
    /// go on.
    fn configuration(&self, checks: &mut Vec<Check>) -> Option<Config> {
        let dev_secret = self.development_defaults && self.get(config::WEBHOOK_SECRET).is_none();
        let parsed = Config::parse(
            |name| {
                self.get(name).or_else(|| {
                    (dev_secret && name == config::WEBHOOK_SECRET)
                        .then(|| "0".repeat(config::MIN_WEBHOOK_SECRET_BYTES))
                })
            },
            false,
        );
        match parsed {
            Ok(config) => {
                checks.push(Check::ok("configuration", "every setting parses"));
                if dev_secret {
                    checks.push(Check::warning(
                        "webhook secret",
                        format!(
                            "{} is not set: development defaults generate one at each start, which Hasura cannot know",
                            config::WEBHOOK_SECRET
                        ),
                        format!(
                            "set {} (openssl rand -hex 32) here and in Hasura's environment",
                            config::WEBHOOK_SECRET
                        ),
                    ));
                }
                Some(config)
            }
            Err(e) => {
                for problem in e.problems {
                    checks.push(Check::error(
                        "configuration",
                        format!("{}: {}", problem.variable, problem.message),
                        format!("correct {} (see .env.example)", problem.variable),
                    ));
                }
                None
            }
        }
    }

    fn webhook_secret(&self, config: &Config) -> Check {
        if self.development_defaults && self.get(config::WEBHOOK_SECRET).is_none() {
            // Reported by `configuration`.
            return Check::ok(
                "webhook secret",
                "generated at start-up (development defaults)",
            );
        }
        let count = config.webhook_secrets.len();
        Check::ok(
            "webhook secret",
            format!(
                "{count} secret{} set, each at least {} bytes",
                if count == 1 { "" } else { "s" },
                config::MIN_WEBHOOK_SECRET_BYTES
            ),
        )
    }

    async fn jwt(&self, config: &Config) -> Check {
        let verifying = self
            .handlers
            .iter()
            .filter(|h| matches!(&h.kind, HandlerKind::Action(spec) if spec.jwt))
            .count();
        let Some(jwt) = &config.jwt else {
            return if verifying > 0 {
                Check::error(
                    "jwt",
                    format!(
                        "{} is not set, and {verifying} action(s) verify the caller's token: they refuse every call",
                        config::JWT_SECRET
                    ),
                    format!(
                        "set {} to Hasura's own HASURA_GRAPHQL_JWT_SECRET",
                        config::JWT_SECRET
                    ),
                )
            } else {
                Check::ok("jwt", "not configured (no action verifies tokens)")
            };
        };
        let Some(url) = jwt.jwk_url().and_then(|u| url::Url::parse(u).ok()) else {
            return Check::ok("jwt", "configuration parses (static key)");
        };
        // The service's own set is not served while doctor runs.
        let own = url.path().ends_with("/.well-known/jwks.json")
            && config.identity.signing_keys.is_some();
        let shown = url_without_secrets(&url);
        match fetch_jwk_set(&url).await {
            Ok(0) => Check::error(
                "jwt",
                format!("jwk_url {shown} answers with no key"),
                "publish the signing keys at that URL",
            ),
            Ok(n) => Check::ok("jwt", format!("jwk_url {shown} answers with {n} key(s)")),
            Err(why) if own => Check::warning(
                "jwt",
                format!(
                    "jwk_url {shown} is this service's own JWK set and did not answer ({why}): it is served once the service runs"
                ),
                "start the service, then run doctor again to confirm Hasura can fetch it",
            ),
            Err(why) => Check::error(
                "jwt",
                format!("jwk_url {shown} did not answer: {why}"),
                "correct jwk_url in HASURA_GRAPHQL_JWT_SECRET, or start the identity provider",
            ),
        }
    }

    async fn database(&self, config: Option<&Config>) -> Check {
        let url = match config {
            Some(config) => config.database_url.clone(),
            None => self
                .get(config::DATABASE_URL)
                .or_else(|| self.get(config::HASURA_DATABASE_URL))
                .map(Secret::new),
        };
        let Some(url) = url else {
            return Check::warning(
                "database",
                format!(
                    "{} is not set: ctx.db(), `once`, dead letters, identity and the audit table are unavailable",
                    config::DATABASE_URL
                ),
                format!("set {} when a handler needs Postgres", config::DATABASE_URL),
            );
        };
        let connected = async {
            crate::db::probe(&url).await?;
            crate::db::connect(&url, 1).await
        };
        let pool = match tokio::time::timeout(CHECK_TIMEOUT, connected).await {
            Ok(Ok(pool)) => pool,
            Ok(Err(e)) => {
                return Check::error(
                    "database",
                    e.to_string(),
                    format!("start Postgres or correct {}", config::DATABASE_URL),
                );
            }
            Err(_) => {
                return Check::error(
                    "database",
                    format!("no connection within {}s", CHECK_TIMEOUT.as_secs()),
                    format!(
                        "check that Postgres is reachable from here, or correct {}",
                        config::DATABASE_URL
                    ),
                );
            }
        };
        let mut needed = Vec::new();
        if config.is_some_and(|c| c.identity.enabled()) {
            needed.push(crate::migrations::AUTH);
        }
        if config.is_some_and(|c| c.audit_database) {
            needed.push(crate::migrations::AUDIT);
        }
        if self
            .handlers
            .iter()
            .any(|h| h.delivery_policy().is_some_and(|p| p.once || p.dead_letter))
        {
            needed.push(crate::migrations::DELIVERIES);
        }
        let applied = match crate::migrations::applied(&pool).await {
            Ok(applied) => applied,
            Err(e) => {
                return Check::error(
                    "database",
                    format!("reachable, but rasura.schema_migrations cannot be read: {e}"),
                    "grant the service's role access to the rasura schema",
                );
            }
        };
        pool.close().await;
        let missing: Vec<String> = needed
            .iter()
            .filter(|m| !applied.contains(&m.version))
            .map(|m| format!("{} ({})", m.version, m.name))
            .collect();
        if missing.is_empty() {
            Check::ok(
                "database",
                format!(
                    "reachable; {} framework migration(s) this service needs are applied",
                    needed.len()
                ),
            )
        } else {
            Check::warning(
                "database",
                format!(
                    "reachable; framework migration(s) not applied yet: {}",
                    missing.join(", ")
                ),
                "the service applies them at start-up (or first delivery); to manage them with the Hasura CLI: `migrations export --dir hasura/migrations/default` then `hasura migrate apply`",
            )
        }
    }

    /// Hasura's `/healthz`, then `export_metadata` with the admin secret. Returns the client
    /// when the metadata API answered.
    async fn hasura(&self, checks: &mut Vec<Check>) -> Option<MetadataClient> {
        let Some(endpoint) = self.get(config::HASURA_ENDPOINT) else {
            checks.push(Check::warning(
                "hasura",
                format!(
                    "{} is not set: Hasura and metadata drift are not checked",
                    config::HASURA_ENDPOINT
                ),
                format!(
                    "set {} (and {}) to Hasura's URL",
                    config::HASURA_ENDPOINT,
                    config::ADMIN_SECRET
                ),
            ));
            return None;
        };
        let Ok(endpoint) = url::Url::parse(&endpoint) else {
            checks.push(Check::error(
                "hasura",
                format!("{}: not a URL", config::HASURA_ENDPOINT),
                "give Hasura's base URL, such as http://localhost:8080",
            ));
            return None;
        };
        let http = reqwest::Client::builder()
            .timeout(CHECK_TIMEOUT)
            .build()
            .unwrap_or_default();
        // Shown without user information or query.
        let shown = url_without_secrets(&endpoint);
        {
            let health = crate::graphql::endpoint_url(&endpoint, "healthz");
            match http.get(health).send().await {
                Ok(r) if r.status().is_success() => {}
                Ok(r) => {
                    checks.push(Check::error(
                        "hasura",
                        format!("{shown} answers /healthz with HTTP {}", r.status().as_u16()),
                        "check Hasura's logs (its database may be unreachable)",
                    ));
                    return None;
                }
                Err(e) => {
                    checks.push(Check::error(
                        "hasura",
                        format!("{shown} is unreachable: {}", e.without_url()),
                        format!("start Hasura or correct {}", config::HASURA_ENDPOINT),
                    ));
                    return None;
                }
            }
        }
        let secret = self.get(config::ADMIN_SECRET).map(Secret::new);
        let has_secret = secret.is_some();
        let client = MetadataClient::new(http, &endpoint, secret);
        match client.export().await {
            Ok(_) => {
                checks.push(Check::ok(
                    "hasura",
                    format!("{shown} is healthy and its metadata API accepts the admin secret"),
                ));
                Some(client)
            }
            Err(SyncError::Refused { status, .. })
                if matches!(status, 400 | 401 | 403) || !has_secret =>
            {
                let (message, fix) = if has_secret {
                    (
                        format!("{shown} refuses the admin secret (HTTP {status})"),
                        format!(
                            "set {} to Hasura's HASURA_GRAPHQL_ADMIN_SECRET",
                            config::ADMIN_SECRET
                        ),
                    )
                } else {
                    (
                        format!(
                            "{shown} refuses the metadata API without an admin secret (HTTP {status})"
                        ),
                        format!("set {}", config::ADMIN_SECRET),
                    )
                };
                checks.push(Check::error("hasura", message, fix));
                None
            }
            Err(e) => {
                checks.push(Check::error(
                    "hasura",
                    e.to_string(),
                    format!(
                        "check that {} is Hasura's base URL",
                        config::HASURA_ENDPOINT
                    ),
                ));
                None
            }
        }
    }

    async fn drift(&self, client: Option<&MetadataClient>) -> Check {
        let options = ExportOptions::new(
            self.get("RASURA_SERVICE_NAME")
                .unwrap_or_else(|| default_service_name(self.handlers)),
        )
        .base_url_env(self.base_url_env());
        let declared = match Declared::from_handlers(self.handlers, &options) {
            Ok(declared) => declared,
            Err(e) => return Check::error("metadata", e.to_string(), "rename one of them"),
        };
        if let Some(skipped) = declared.skipped.first() {
            return Check::error(
                "metadata",
                format!(
                    "{} object(s) cannot be exported; the first: {skipped}",
                    declared.skipped.len()
                ),
                "run `metadata export` for every reason, and fix the types it names",
            );
        }
        let Some(client) = client else {
            return Check::warning(
                "metadata",
                "drift not checked: Hasura's metadata API is not available (above)",
                "fix the hasura check",
            );
        };
        let live = match client.export().await {
            Ok(live) => live,
            Err(e) => return Check::error("metadata", e.to_string(), "run doctor again"),
        };
        let plan = sync::plan(&declared, &live.metadata, &options, false);
        if plan.changes.is_empty() {
            Check::ok("metadata", "Hasura matches the handlers")
        } else {
            let first: Vec<String> = plan.changes.iter().take(3).map(|c| c.to_string()).collect();
            Check::warning(
                "metadata",
                format!(
                    "Hasura differs from the handlers in {} object(s): {}{}",
                    plan.changes.len(),
                    first.join("; "),
                    if plan.changes.len() > 3 { "; …" } else { "" }
                ),
                "review with `metadata diff`, then `metadata apply`",
            )
        }
    }

    fn base_url_env(&self) -> String {
        self.get(config::BASE_URL_ENV)
            .unwrap_or_else(|| config::DEFAULT_BASE_URL_ENV.to_owned())
    }

    /// The exported webhooks are `{{RASURA_BASE_URL}}/…`, resolved in Hasura's environment,
    /// which cannot be read from here: check the local value and say so.
    fn base_url(&self) -> Check {
        let name = self.base_url_env();
        let hasura_side =
            "Hasura's own environment cannot be read from here: it must define the same variable";
        match self.get(&name) {
            None => Check::warning(
                "base url",
                format!(
                    "{name} is not set here; the exported metadata calls {{{{{name}}}}}/…, resolved in Hasura's environment ({hasura_side})"
                ),
                format!(
                    "set {name} to the URL Hasura reaches this service at (http://service:3300 in compose), here and in Hasura's environment"
                ),
            ),
            Some(value) => match url::Url::parse(&value) {
                Ok(url) if matches!(url.scheme(), "http" | "https") => {
                    Check::ok("base url", format!("{name}={value} here; {hasura_side}"))
                }
                _ => Check::error(
                    "base url",
                    format!("{name} is not an http(s) URL"),
                    format!("set {name} to a URL such as http://service:3300"),
                ),
            },
        }
    }
}

/// Redis, when rate limits use it.
async fn redis(config: &Config) -> Option<Check> {
    let url = config.rate_limit.redis_url.as_ref()?;
    #[cfg(feature = "redis")]
    {
        let store = match crate::rate::RedisStore::new(url.expose()) {
            Ok(store) => store,
            Err(e) => {
                return Some(Check::error(
                    "redis",
                    e.to_string(),
                    "correct RASURA_RATE_LIMIT_REDIS_URL",
                ));
            }
        };
        Some(
            match tokio::time::timeout(CHECK_TIMEOUT, store.ping()).await {
                Ok(Ok(())) => Check::ok("redis", "reachable (rate limits are shared)"),
                Ok(Err(e)) => Check::error(
                    "redis",
                    e.to_string(),
                    "start Redis or correct RASURA_RATE_LIMIT_REDIS_URL",
                ),
                Err(_) => Check::error(
                    "redis",
                    format!("no answer within {}s", CHECK_TIMEOUT.as_secs()),
                    "check that Redis is reachable from here",
                ),
            },
        )
    }
    #[cfg(not(feature = "redis"))]
    {
        let _ = url;
        Some(Check::error(
            "redis",
            "RASURA_RATE_LIMIT_REDIS_URL is set but this binary was built without the `redis` feature",
            "enable rasura's `redis` feature",
        ))
    }
}

/// Fetches a JWK set; the number of keys it holds.
async fn fetch_jwk_set(url: &url::Url) -> Result<usize, String> {
    let client = reqwest::Client::builder()
        .timeout(CHECK_TIMEOUT)
        .build()
        .map_err(|e| e.without_url().to_string())?;
    let response = client
        .get(url.clone())
        .send()
        .await
        .map_err(|e| e.without_url().to_string())?;
    if !response.status().is_success() {
        return Err(format!("HTTP {}", response.status().as_u16()));
    }
    let body: serde_json::Value = response
        .json()
        .await
        .map_err(|_| "the answer is not a JSON JWK set".to_owned())?;
    body["keys"]
        .as_array()
        .map(Vec::len)
        .ok_or_else(|| "the answer has no `keys` array".to_owned())
}

/// `url` without user information or query (where a key might be).
pub(crate) fn url_without_secrets(url: &url::Url) -> String {
    let mut shown = url.clone();
    let _ = shown.set_username("");
    let _ = shown.set_password(None);
    shown.set_query(None);
    shown.to_string()
}

/// Prints the report (one line per check, then a summary on stderr); exit status 1 on any error.
pub fn print(checks: &[Check]) -> std::process::ExitCode {
    for check in checks {
        println!("{check}");
    }
    let count = |level| checks.iter().filter(|c| c.level == level).count();
    let (errors, warnings) = (count(Level::Error), count(Level::Warning));
    eprintln!("{errors} error(s), {warnings} warning(s)");
    if errors > 0 {
        std::process::ExitCode::from(1)
    } else {
        std::process::ExitCode::SUCCESS
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_name_the_level_the_check_and_the_fix() {
        let line = Check::error("database", "cannot connect", "start Postgres").to_string();
        assert_eq!(
            line,
            "error   database: cannot connect (fix: start Postgres)"
        );
        assert_eq!(
            Check::ok("hasura", "healthy").to_string(),
            "ok      hasura: healthy"
        );
    }

    #[test]
    fn shown_urls_lose_credentials_and_queries() {
        let url = url::Url::parse("https://user:pw@idp.example/jwks.json?key=abc").unwrap();
        assert_eq!(url_without_secrets(&url), "https://idp.example/jwks.json");
    }
}
