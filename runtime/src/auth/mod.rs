//! Identity: Hasura's auth webhook with role mapping ([`webhook`]), token issuing with a
//! published JWK set, refresh and revocation ([`tokens`], [`keys`]), and password hashing
//! ([`password`]).
//!
//! Everything is configured from the environment (see [`IdentityConfig`]) and uses the
//! framework's `rasura_auth` tables ([`crate::migrations::AUTH`]), applied at start-up when a
//! database is configured and an identity feature is on.

mod cache;
pub mod keys;
pub mod password;
pub mod tokens;
pub mod webhook;

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Map, Value};

use crate::config::Problem;
use crate::db::batch::{Batcher, Read};
use crate::security::jwt::{JwtConfig, JwtConfigError};

pub use keys::{SigningAlgorithm, SigningKey, SigningKeys};
pub use tokens::{Grant, TokenError, TokenPair, Tokens};
pub use webhook::{AuthMapping, AuthSession, AuthWebhookConfig};

/// `RASURA_AUTH_WEBHOOK`: serve Hasura's auth webhook; the identity-provider tokens it accepts.
pub const AUTH_WEBHOOK: &str = "RASURA_AUTH_WEBHOOK";
/// `RASURA_AUTH_CACHE_SECONDS`: how long a verified token's answer and role rows are cached
/// (`0`: not at all; every request is verified and looked up).
pub const AUTH_CACHE_SECONDS: &str = "RASURA_AUTH_CACHE_SECONDS";
/// `RASURA_TOKEN_KEYS`: the JWK set of private keys the service signs tokens with.
pub const TOKEN_KEYS: &str = "RASURA_TOKEN_KEYS";
/// `RASURA_TOKEN_SIGNING_KID`: the key that signs (required with several keys).
pub const TOKEN_SIGNING_KID: &str = "RASURA_TOKEN_SIGNING_KID";
/// `RASURA_TOKEN_LIFETIME`: access-token lifetime in seconds (default 900).
pub const TOKEN_LIFETIME: &str = "RASURA_TOKEN_LIFETIME";
/// `RASURA_REFRESH_TOKEN_LIFETIME`: refresh-token lifetime in seconds (default 30 days).
pub const REFRESH_TOKEN_LIFETIME: &str = "RASURA_REFRESH_TOKEN_LIFETIME";
/// `RASURA_TOKEN_AUDIENCE`: `aud` of issued tokens.
pub const TOKEN_AUDIENCE: &str = "RASURA_TOKEN_AUDIENCE";
/// `RASURA_TOKEN_ISSUER`: `iss` of issued tokens.
pub const TOKEN_ISSUER: &str = "RASURA_TOKEN_ISSUER";
/// `RASURA_EXCHANGE_PROVIDER`: the external provider whose tokens `exchange` accepts (Hasura's
/// JWT configuration format).
pub const EXCHANGE_PROVIDER: &str = "RASURA_EXCHANGE_PROVIDER";

/// Default access-token lifetime: short, because Hasura in JWT mode cannot see logouts.
pub const DEFAULT_TOKEN_LIFETIME: Duration = Duration::from_secs(15 * 60);
/// Default refresh-token lifetime.
pub const DEFAULT_REFRESH_TOKEN_LIFETIME: Duration = Duration::from_secs(30 * 24 * 3600);
/// Default cache lifetime of the auth webhook's answers, role rows and deny-list lookups.
pub const DEFAULT_AUTH_CACHE: Duration = Duration::from_secs(30);
/// `max-age` of `/.well-known/jwks.json`. A new key must be published this long before it
/// signs (Hasura refetches a `jwk_url` by its max-age, never on an unknown `kid`).
pub const JWKS_MAX_AGE: Duration = Duration::from_secs(300);

/// The identity settings. `Debug` never shows key material.
#[derive(Debug, Clone)]
pub struct IdentityConfig {
    /// The auth webhook, when served.
    pub webhook: Option<Arc<AuthWebhookConfig>>,
    /// The external provider accepted by token exchange.
    pub exchange_provider: Option<JwtConfig>,
    /// The signing keys, when tokens are issued.
    pub signing_keys: Option<Arc<SigningKeys>>,
    /// Access-token lifetime.
    pub token_lifetime: Duration,
    /// Refresh-token lifetime.
    pub refresh_token_lifetime: Duration,
    /// `aud` of issued tokens.
    pub audience: Option<String>,
    /// `iss` of issued tokens.
    pub issuer: Option<String>,
    /// Cache lifetime of webhook answers, role rows and deny-list lookups.
    pub cache: Duration,
}

impl Default for IdentityConfig {
    fn default() -> Self {
        Self {
            webhook: None,
            exchange_provider: None,
            signing_keys: None,
            token_lifetime: DEFAULT_TOKEN_LIFETIME,
            refresh_token_lifetime: DEFAULT_REFRESH_TOKEN_LIFETIME,
            audience: None,
            issuer: None,
            cache: DEFAULT_AUTH_CACHE,
        }
    }
}

impl IdentityConfig {
    /// Whether any identity feature is on (then the `rasura_auth` tables are needed).
    pub fn enabled(&self) -> bool {
        self.webhook.is_some() || self.signing_keys.is_some() || self.exchange_provider.is_some()
    }

    /// Reads the identity variables through `get` (blank values count as unset), adding every
    /// problem to `problems`.
    pub(crate) fn from_lookup(
        get: &dyn Fn(&str) -> Option<String>,
        problems: &mut Vec<Problem>,
    ) -> Self {
        let mut config = Self::default();
        if let Some(text) = get(AUTH_WEBHOOK) {
            match AuthWebhookConfig::from_json(&text) {
                Ok(webhook) => config.webhook = Some(Arc::new(webhook)),
                Err(e) => problems.push(Problem::new(AUTH_WEBHOOK, e.to_string())),
            }
        }
        if let Some(text) = get(EXCHANGE_PROVIDER) {
            match JwtConfig::from_json(&text) {
                Ok(provider) => config.exchange_provider = Some(provider),
                Err(e) => problems.push(Problem::new(EXCHANGE_PROVIDER, e.to_string())),
            }
        }
        let kid = get(TOKEN_SIGNING_KID);
        if let Some(text) = get(TOKEN_KEYS) {
            match SigningKeys::from_json(&text, kid.as_deref().map(str::trim)) {
                Ok(keys) => config.signing_keys = Some(Arc::new(keys)),
                Err(e) => problems.push(Problem::new(TOKEN_KEYS, e.to_string())),
            }
        } else if kid.is_some() {
            problems.push(Problem::new(
                TOKEN_SIGNING_KID,
                format!("set without {TOKEN_KEYS}"),
            ));
        }
        let mut seconds = |name: &'static str| -> Option<Duration> {
            let text = get(name)?;
            match text.trim().parse::<u64>() {
                Ok(n) if n > 0 => Some(Duration::from_secs(n)),
                _ => {
                    problems.push(Problem::new(name, "expected a positive number of seconds"));
                    None
                }
            }
        };
        if let Some(d) = seconds(TOKEN_LIFETIME) {
            config.token_lifetime = d;
        }
        if let Some(d) = seconds(REFRESH_TOKEN_LIFETIME) {
            config.refresh_token_lifetime = d;
        }
        // Zero is allowed here: no caching (every answer is fresh, at its full cost).
        if let Some(text) = get(AUTH_CACHE_SECONDS) {
            match text.trim().parse::<u64>() {
                Ok(n) => config.cache = Duration::from_secs(n),
                Err(_) => problems.push(Problem::new(
                    AUTH_CACHE_SECONDS,
                    "expected a number of seconds (0: no caching)",
                )),
            }
        }
        config.audience = get(TOKEN_AUDIENCE).map(|s| s.trim().to_owned());
        config.issuer = get(TOKEN_ISSUER).map(|s| s.trim().to_owned());
        config
    }
}

/// Splits Rasura's own keys out of a Hasura JWT configuration object and parses the rest with
/// the same parser as `HASURA_GRAPHQL_JWT_SECRET`.
pub(crate) fn jwt_config_with_extras(
    text: &str,
    extras: &[&str],
) -> Result<(JwtConfig, Map<String, Value>), JwtConfigError> {
    let value: Value = serde_json::from_str(text)
        .map_err(|e| JwtConfigError::new(format!("not a JSON object: {e}")))?;
    let Value::Object(mut object) = value else {
        return Err(JwtConfigError::new("not a JSON object"));
    };
    let mut taken = Map::new();
    for name in extras {
        if let Some(v) = object.remove(*name) {
            taken.insert((*name).to_owned(), v);
        }
    }
    Ok((JwtConfig::from_object(&object)?, taken))
}

/// Identity's runtime state, shared by every request: the webhook's caches and the deny-list
/// cache.
pub(crate) struct AuthState {
    pub(crate) config: IdentityConfig,
    pub(crate) webhook: Option<webhook::WebhookState>,
    /// `jti` → revoked, for the cache lifetime (a logout on another replica is seen within it).
    revoked: cache::ExpiringCache<String, bool>,
    /// Deny-list reads that miss `revoked`, batched like the webhook's role lookups.
    revoked_reads: Arc<Batcher<String, bool>>,
}

/// Deny-list reads run at most this many statements at once, each for at most this many
/// `jti`s; a read waits at most `db::ACQUIRE_TIMEOUT` in all (then 503).
const REVOKED_READS_IN_FLIGHT: usize = 2;
const REVOKED_READ_KEYS: usize = 256;

/// The [`Batcher`] statement of the deny list: which of the given `jti`s were revoked.
fn read_revoked(
    connections: &crate::db::connections::Connections,
    jtis: Vec<String>,
) -> Read<String, bool> {
    let connections = connections.clone();
    Box::pin(async move {
        let found: Vec<String> = crate::db::run_statement(&connections, |conn| {
            Box::pin(
                // The requested keys themselves come back, so an answer cannot miss its key
                // over a difference in spelling.
                sqlx::query_scalar(
                    "SELECT k FROM unnest($1::text[]) AS k \
                     WHERE EXISTS (SELECT 1 FROM rasura_auth.revoked_token WHERE jti = k)",
                )
                // Owned: the statement's future may borrow only the connection.
                .bind(jtis.clone())
                .fetch_all(conn),
            )
        })
        .await?;
        Ok(found.into_iter().map(|jti| (jti, true)).collect())
    })
}

impl Default for AuthState {
    fn default() -> Self {
        Self::new(IdentityConfig::default(), None)
    }
}

impl AuthState {
    pub(crate) fn new(config: IdentityConfig, mapping: Option<AuthMapping>) -> Self {
        let webhook = config
            .webhook
            .clone()
            .map(|w| webhook::WebhookState::new(w, mapping, config.cache));
        Self {
            config,
            webhook,
            revoked: cache::ExpiringCache::new(100_000),
            revoked_reads: Arc::new(Batcher::new(
                REVOKED_READS_IN_FLIGHT,
                REVOKED_READ_KEYS,
                crate::db::ACQUIRE_TIMEOUT,
            )),
        }
    }

    /// Whether the token `jti` was revoked by a logout. Without a database there is no deny
    /// list, so nothing is revoked.
    pub(crate) async fn is_revoked(
        &self,
        connections: Option<&crate::db::connections::Connections>,
        jti: &str,
    ) -> Result<bool, sqlx::Error> {
        let Some(connections) = connections.filter(|_| self.config.enabled()) else {
            return Ok(false);
        };
        let cached = !self.config.cache.is_zero();
        if cached {
            if let Some(revoked) = self.revoked.get(&jti.to_owned()) {
                return Ok(revoked);
            }
        }
        // Postgres text cannot hold NUL, so no logout recorded such a `jti`; sent, it would
        // fail the whole batch's statement.
        if jti.contains('\0') {
            return Ok(false);
        }
        let revoked = self
            .revoked_reads
            .load(jti.to_owned(), connections.clone(), read_revoked)
            .await?
            .unwrap_or(false);
        if cached {
            // A logout on this replica while the read ran (`mark_revoked`) is not undone by
            // the read's older answer.
            let kept = self.revoked.insert_unless(
                jti.to_owned(),
                revoked,
                std::time::Instant::now() + self.config.cache,
                |&cached| cached,
            );
            return Ok(revoked || kept.unwrap_or(false));
        }
        Ok(revoked)
    }

    /// Records a local revocation at once (other replicas see it within the cache lifetime).
    pub(crate) fn mark_revoked(&self, jti: &str) {
        self.revoked.insert(
            jti.to_owned(),
            true,
            std::time::Instant::now() + self.config.cache,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cache_of(value: &str) -> (Duration, Vec<Problem>) {
        let mut problems = Vec::new();
        let get = |name: &str| (name == AUTH_CACHE_SECONDS).then(|| value.to_owned());
        let config = IdentityConfig::from_lookup(&get, &mut problems);
        (config.cache, problems)
    }

    #[test]
    fn auth_cache_seconds_accepts_zero_for_no_caching() {
        assert_eq!(cache_of("0").0, Duration::ZERO);
        assert!(cache_of("0").1.is_empty());
        assert_eq!(cache_of(" 45 ").0, Duration::from_secs(45));
        for bad in ["-1", "soon", "1.5"] {
            let (cache, problems) = cache_of(bad);
            assert_eq!(cache, DEFAULT_AUTH_CACHE, "{bad}");
            assert_eq!(problems.len(), 1, "{bad}");
            assert_eq!(problems[0].variable, AUTH_CACHE_SECONDS);
            assert!(
                !problems[0].message.contains(bad),
                "the value is not echoed"
            );
        }
    }
}
