//! Rate limits: GCRA, keyed per caller, in memory (the default, `governor`) or in Redis
//! (shared by every replica).
//!
//! A limit is declared on an action (`#[action(rate = "10/s, burst 20")]`) or built in code
//! ([`RateLimit::per_second`]) and checked with [`crate::Ctx::rate_limit`]. The key of a request
//! is, in order: its `x-hasura-user-id`; else the key the handler supplies (`rate_key`, e.g. a
//! login's username); else the client address from the trusted header
//! `RASURA_CLIENT_ADDRESS_HEADER` (never the socket peer, which is Hasura); else one bucket
//! shared by every such caller of the handler.
//!
//! Over the limit a caller gets 429 `rate-limited` with `Retry-After` and
//! `extensions.retry_after`. When the Redis store is unreachable or slower than
//! `RASURA_RATE_LIMIT_REDIS_TIMEOUT_MS`, the limiter fails open (lets the request through, the
//! default) or closed (429 `rate-limit-unavailable`, `Retry-After: 1`), as
//! `RASURA_RATE_LIMIT_FAIL` says, and logs an error; it never hangs a request.

mod memory;
#[cfg(feature = "redis")]
mod redis;

use std::fmt;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use http::HeaderMap;

pub use memory::MemoryStore;
#[cfg(feature = "redis")]
pub use redis::RedisStore;

use crate::config::Problem;
use crate::error::ActionError;

/// `RASURA_RATE_LIMIT_REDIS_URL`: a `redis://` URL; counters then live in Redis, shared by
/// every replica (needs the `redis` feature).
pub const REDIS_URL: &str = "RASURA_RATE_LIMIT_REDIS_URL";
/// `RASURA_RATE_LIMIT_FAIL`: `open` (default) or `closed`, when the Redis store fails.
pub const FAIL: &str = "RASURA_RATE_LIMIT_FAIL";
/// `RASURA_RATE_LIMIT_REDIS_TIMEOUT_MS`: the longest wait for Redis (default 250).
pub const REDIS_TIMEOUT_MS: &str = "RASURA_RATE_LIMIT_REDIS_TIMEOUT_MS";
/// `RASURA_CLIENT_ADDRESS_HEADER`: the trusted header carrying the client address (e.g.
/// `x-forwarded-for` added by the load balancer in front of Hasura; its last entry is used).
pub const CLIENT_ADDRESS_HEADER: &str = "RASURA_CLIENT_ADDRESS_HEADER";

/// A GCRA limit: `count` requests per `period`, with bursts of up to `burst`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RateLimit {
    count: u32,
    period: Duration,
    burst: u32,
}

impl RateLimit {
    /// `count` requests per `period` (at least 1 of each), burst `count`.
    pub const fn new(count: u32, period: Duration) -> Self {
        let count = if count == 0 { 1 } else { count };
        let period = if period.is_zero() {
            Duration::from_secs(1)
        } else {
            period
        };
        Self {
            count,
            period,
            burst: count,
        }
    }

    /// `count` per second.
    pub const fn per_second(count: u32) -> Self {
        Self::new(count, Duration::from_secs(1))
    }

    /// `count` per minute.
    pub const fn per_minute(count: u32) -> Self {
        Self::new(count, Duration::from_secs(60))
    }

    /// `count` per hour.
    pub const fn per_hour(count: u32) -> Self {
        Self::new(count, Duration::from_secs(3600))
    }

    /// Allows bursts of `burst` requests (at least 1).
    pub const fn with_burst(mut self, burst: u32) -> Self {
        self.burst = if burst == 0 { 1 } else { burst };
        self
    }

    /// Requests per period.
    pub const fn count(&self) -> u32 {
        self.count
    }

    /// The period.
    pub const fn period(&self) -> Duration {
        self.period
    }

    /// The largest burst.
    pub const fn burst(&self) -> u32 {
        self.burst
    }

    /// Time between two requests at the sustained rate (GCRA's emission interval).
    pub fn interval(&self) -> Duration {
        (self.period / self.count).max(Duration::from_nanos(1))
    }
}

impl fmt::Display for RateLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} per {:?}, burst {}",
            self.count, self.period, self.burst
        )
    }
}

/// A store's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Within the limit (and counted).
    Allowed,
    /// Over the limit: the next request would be allowed after this delay.
    Limited {
        /// Time until a request would be allowed.
        retry_after: Duration,
    },
}

/// A store failure (Redis unreachable, …). Its text never holds the URL's password.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("rate-limit store failed: {0}")]
pub struct StoreError(pub String);

/// A store's future.
pub type StoreFuture<'a> = Pin<Box<dyn Future<Output = Result<Decision, StoreError>> + Send + 'a>>;

/// Where GCRA state lives: [`MemoryStore`] (one replica) or `RedisStore` (shared).
pub trait RateLimitStore: Send + Sync + 'static {
    /// Counts one request against `limit` in `bucket`, or says how long until one would fit.
    fn check<'a>(&'a self, bucket: &'a str, limit: &'a RateLimit) -> StoreFuture<'a>;

    /// Called after a check timed out: drop connections that may be dead (default: nothing).
    fn reset(&self) {}
}

/// What to do when the store fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FailMode {
    /// Let the request through (and log an error).
    #[default]
    Open,
    /// Refuse it: 429 `rate-limit-unavailable` with `Retry-After: 1`.
    Closed,
}

/// Rate-limit settings (`RASURA_RATE_LIMIT_*`, `RASURA_CLIENT_ADDRESS_HEADER`).
#[derive(Clone, Default)]
pub struct RateLimitConfig {
    /// Redis URL (a secret: it may hold a password); `None`: in memory.
    pub redis_url: Option<crate::config::Secret>,
    /// Behaviour when the store fails.
    pub fail: FailMode,
    /// Longest wait for the store (default 250 ms).
    pub timeout: Option<Duration>,
    /// The trusted client-address header.
    pub client_address_header: Option<http::HeaderName>,
}

impl fmt::Debug for RateLimitConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RateLimitConfig")
            .field("redis", &self.redis_url.is_some())
            .field("fail", &self.fail)
            .field("timeout", &self.timeout)
            .field("client_address_header", &self.client_address_header)
            .finish()
    }
}

/// The default wait for Redis.
pub const DEFAULT_REDIS_TIMEOUT: Duration = Duration::from_millis(250);

impl RateLimitConfig {
    pub(crate) fn from_lookup(
        get: &impl Fn(&str) -> Option<String>,
        problems: &mut Vec<Problem>,
    ) -> Self {
        let mut config = Self::default();
        if let Some(url) = get(REDIS_URL) {
            let url = url.trim();
            if !url.starts_with("redis://") {
                problems.push(Problem::new(
                    REDIS_URL,
                    "expected a redis:// URL (TLS to Redis, rediss://, is not built in)",
                ));
            } else if cfg!(not(feature = "redis")) {
                problems.push(Problem::new(
                    REDIS_URL,
                    "this service was built without Rasura's `redis` feature; enable it \
                     (rasura-framework = { features = [\"redis\"] }) or unset the variable",
                ));
            } else if !redis_url_is_valid(url) {
                problems.push(Problem::new(REDIS_URL, "not a valid Redis URL"));
            } else {
                config.redis_url = Some(crate::config::Secret::new(url));
            }
        }
        match get(FAIL).as_deref().map(str::trim) {
            None | Some("open") => {}
            Some("closed") => config.fail = FailMode::Closed,
            Some(_) => problems.push(Problem::new(FAIL, "expected `open` or `closed`")),
        }
        if let Some(ms) = get(REDIS_TIMEOUT_MS) {
            match ms.trim().parse::<u64>() {
                Ok(ms) if (1..=60_000).contains(&ms) => {
                    config.timeout = Some(Duration::from_millis(ms));
                }
                _ => problems.push(Problem::new(
                    REDIS_TIMEOUT_MS,
                    "expected milliseconds between 1 and 60000",
                )),
            }
        }
        if let Some(name) = get(CLIENT_ADDRESS_HEADER) {
            match http::HeaderName::try_from(name.trim().to_ascii_lowercase()) {
                Ok(name) => config.client_address_header = Some(name),
                Err(_) => problems.push(Problem::new(
                    CLIENT_ADDRESS_HEADER,
                    "expected a header name such as x-forwarded-for",
                )),
            }
        }
        config
    }
}

/// Whether the Redis client accepts `url` (without the `redis` feature: the prefix suffices,
/// the feature's absence is reported instead).
fn redis_url_is_valid(url: &str) -> bool {
    #[cfg(feature = "redis")]
    {
        ::redis::Client::open(url).is_ok()
    }
    #[cfg(not(feature = "redis"))]
    {
        let _ = url;
        true
    }
}

/// A store that always fails (a Redis URL the client refused): the fail mode decides.
#[cfg(feature = "redis")]
struct Unreachable;

#[cfg(feature = "redis")]
impl RateLimitStore for Unreachable {
    fn check<'a>(&'a self, _: &'a str, _: &'a RateLimit) -> StoreFuture<'a> {
        Box::pin(async { Err(StoreError("the Redis URL was refused".into())) })
    }
}

/// Longest key kept as is; longer (attacker-chosen) keys are hashed, so a bucket's memory is
/// bounded.
const MAX_KEY_LEN: usize = 128;

/// Where a limiter keeps its counts: in this process (checked synchronously, no timeout
/// needed), or in a store that may fail or be slow.
#[derive(Clone)]
pub(crate) enum Store {
    Memory(Arc<MemoryStore>),
    Remote(Arc<dyn RateLimitStore>),
}

/// The service's limiter: a store, its failure mode and the key rules. Shared by requests.
pub struct RateLimiter {
    store: Store,
    fail: FailMode,
    timeout: Duration,
    client_address_header: Option<http::HeaderName>,
    audit: crate::audit::Audit,
}

impl fmt::Debug for RateLimiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RateLimiter")
            .field("fail", &self.fail)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl Default for RateLimiter {
    /// In memory, failing open, no trusted client-address header.
    fn default() -> Self {
        Self::new(
            Store::Memory(Arc::new(MemoryStore::new())),
            &RateLimitConfig::default(),
            crate::audit::Audit::default(),
        )
    }
}

impl RateLimiter {
    /// A limiter over `store`.
    pub(crate) fn new(store: Store, config: &RateLimitConfig, audit: crate::audit::Audit) -> Self {
        Self {
            store,
            fail: config.fail,
            timeout: config.timeout.unwrap_or(DEFAULT_REDIS_TIMEOUT),
            client_address_header: config.client_address_header.clone(),
            audit,
        }
    }

    /// The store for `config`: Redis when a URL is set, else memory.
    pub(crate) fn store_for(config: &RateLimitConfig) -> Store {
        #[cfg(feature = "redis")]
        if let Some(url) = &config.redis_url {
            return match RedisStore::new(url.expose()) {
                Ok(store) => Store::Remote(Arc::new(store)),
                // The configuration checked the URL; should the client still refuse it, every
                // check fails and the fail mode applies (never a silent per-replica memory).
                Err(e) => {
                    tracing::error!(error = %e, "invalid Redis URL for rate limits");
                    Store::Remote(Arc::new(Unreachable))
                }
            };
        }
        let _ = config;
        Store::Memory(Arc::new(MemoryStore::new()))
    }

    /// The key a request is counted under (see the module documentation).
    #[cfg(test)]
    pub(crate) fn key(
        &self,
        identity: &crate::context::Identity,
        headers: &HeaderMap,
        handler_key: Option<&str>,
    ) -> String {
        let mut key = String::new();
        self.write_key(&mut key, identity, headers, handler_key);
        key
    }

    fn write_key(
        &self,
        out: &mut String,
        identity: &crate::context::Identity,
        headers: &HeaderMap,
        handler_key: Option<&str>,
    ) {
        if let Some(user) = identity.user_id() {
            return bounded(out, "user", user);
        }
        if let Some(key) = handler_key {
            // Trimmed, as handlers compare names: " bob" must not be a fresh bucket for "bob".
            return bounded(out, "key", key.trim());
        }
        if let Some(address) = self
            .client_address_header
            .as_ref()
            .and_then(|name| client_address(headers, name))
        {
            return bounded(out, "client", &address);
        }
        out.push_str("all");
    }

    /// The bucket of a request: handler, limit and key, built in one allocation (this is the
    /// request path).
    pub(crate) fn bucket(
        &self,
        handler: &str,
        limit: &RateLimit,
        identity: &crate::context::Identity,
        headers: &HeaderMap,
        handler_key: Option<&str>,
    ) -> String {
        let mut bucket = bucket_prefix(handler, limit);
        self.write_key(&mut bucket, identity, headers, handler_key);
        bucket
    }

    /// Counts the request of `handler` under `key` against `limit`: `Ok` within it, else 429.
    #[cfg(test)]
    pub(crate) async fn check(
        &self,
        handler: &str,
        limit: &RateLimit,
        key: &str,
        identity: &crate::context::Identity,
        request_id: &str,
    ) -> Result<(), ActionError> {
        let mut bucket = bucket_prefix(handler, limit);
        bucket.push_str(key);
        self.check_bucket(handler, limit, &bucket, identity, request_id)
            .await
    }

    /// Counts one request in `bucket` (see [`RateLimiter::bucket`]; a `&String` because the
    /// memory store looks it up as one).
    #[allow(clippy::ptr_arg)]
    pub(crate) async fn check_bucket(
        &self,
        handler: &str,
        limit: &RateLimit,
        bucket: &String,
        identity: &crate::context::Identity,
        request_id: &str,
    ) -> Result<(), ActionError> {
        let decision = match &self.store {
            // In memory: no I/O, so no timeout and no boxed future on the hot path.
            Store::Memory(store) => Ok(Ok(store.check_bucket(bucket, limit))),
            Store::Remote(store) => {
                let decision = tokio::time::timeout(self.timeout, store.check(bucket, limit)).await;
                if decision.is_err() {
                    // A silent network drop would otherwise cost every request the timeout.
                    store.reset();
                }
                decision
            }
        };
        match decision {
            Ok(Ok(Decision::Allowed)) => Ok(()),
            Ok(Ok(Decision::Limited { retry_after })) => {
                let error = ActionError::rate_limited(retry_after);
                self.audit.record(
                    crate::audit::AuditEvent::new(crate::audit::AuditKind::RateLimited)
                        .handler(handler)
                        .identity(identity)
                        .request_id(request_id),
                );
                Err(error)
            }
            Ok(Err(e)) => self.failed(handler, &e.to_string()),
            Err(_) => self.failed(handler, "timed out"),
        }
    }

    fn failed(&self, handler: &str, why: &str) -> Result<(), ActionError> {
        match self.fail {
            FailMode::Open => {
                tracing::error!(
                    handler,
                    why,
                    "rate-limit store failed; request let through (RASURA_RATE_LIMIT_FAIL=open)"
                );
                Ok(())
            }
            FailMode::Closed => {
                tracing::error!(
                    handler,
                    why,
                    "rate-limit store failed; request refused (RASURA_RATE_LIMIT_FAIL=closed)"
                );
                Err(ActionError::new(
                    http::StatusCode::TOO_MANY_REQUESTS,
                    "rate-limit-unavailable",
                    "rate limiting is unavailable; retry later",
                )
                .with_retry_after(Duration::from_secs(1)))
            }
        }
    }
}

/// `handler|count|period_ms|`: the start of every bucket of `handler` under `limit` (the key
/// follows), in one allocation.
fn bucket_prefix(handler: &str, limit: &RateLimit) -> String {
    use std::fmt::Write;
    let mut bucket = String::with_capacity(handler.len() + 48);
    bucket.push_str(handler);
    let period_ms = u64::try_from(limit.period.as_millis()).unwrap_or(u64::MAX);
    let _ = write!(bucket, "|{}|{period_ms}|", limit.count);
    bucket
}

/// The client address from the trusted header: the last entry of a list (the one the load
/// balancer appended; earlier ones are client-supplied).
fn client_address<'h>(
    headers: &'h HeaderMap,
    name: &http::HeaderName,
) -> Option<std::borrow::Cow<'h, str>> {
    // Bytes, not `to_str`: a non-ASCII byte must not move the caller out of its bucket.
    let value = headers.get_all(name).iter().next_back()?.as_bytes();
    let last = value.rsplit(|b| *b == b',').next()?.trim_ascii();
    (!last.is_empty()).then(|| String::from_utf8_lossy(last))
}

fn bounded(out: &mut String, kind: &str, value: &str) {
    out.push_str(kind);
    if value.len() <= MAX_KEY_LEN {
        out.push(':');
        out.push_str(value);
    } else {
        use sha2::Digest;
        use std::fmt::Write;
        out.push('#');
        for byte in sha2::Sha256::digest(value.as_bytes()) {
            let _ = write!(out, "{byte:02x}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn identity(json: &str) -> crate::context::Identity {
        crate::context::Identity::new(serde_json::from_str(json).unwrap())
    }

    fn limiter(header: Option<&str>) -> RateLimiter {
        let config = RateLimitConfig {
            client_address_header: header.map(|h| http::HeaderName::try_from(h).unwrap()),
            ..RateLimitConfig::default()
        };
        RateLimiter::new(
            Store::Memory(Arc::new(MemoryStore::new())),
            &config,
            crate::audit::Audit::default(),
        )
    }

    #[test]
    fn keys_prefer_user_then_handler_key_then_trusted_address() {
        let mut headers = HeaderMap::new();
        headers.insert("x-forwarded-for", "6.6.6.6, 10.0.0.1".parse().unwrap());
        let user = identity(r#"{"x-hasura-role":"user","x-hasura-user-id":"42"}"#);
        let anonymous = identity(r#"{"x-hasura-role":"anonymous"}"#);
        let with_header = limiter(Some("x-forwarded-for"));
        assert_eq!(with_header.key(&user, &headers, Some("bob")), "user:42");
        assert_eq!(
            with_header.key(&anonymous, &headers, Some("bob")),
            "key:bob"
        );
        assert_eq!(
            with_header.key(&anonymous, &headers, None),
            "client:10.0.0.1"
        );
        // Without a configured header, the forwarded address is never trusted.
        assert_eq!(limiter(None).key(&anonymous, &headers, None), "all");
        // Handler keys are trimmed, as handlers compare them.
        assert_eq!(
            with_header.key(&anonymous, &headers, Some(" bob\t")),
            "key:bob"
        );
        // A header value that is not UTF-8 still keys on its last entry.
        let mut odd = HeaderMap::new();
        odd.insert(
            "x-forwarded-for",
            http::HeaderValue::from_bytes(b"6.6.6.6, 10.0.0.\xff").unwrap(),
        );
        assert_eq!(
            with_header.key(&anonymous, &odd, None),
            "client:10.0.0.\u{fffd}"
        );
        let long = "x".repeat(10_000);
        let key = with_header.key(&anonymous, &headers, Some(&long));
        assert!(key.len() < 80, "{key}");
    }

    #[tokio::test]
    async fn over_the_limit_is_429_with_retry_after() {
        let limiter = limiter(None);
        let who = identity(r#"{"x-hasura-role":"user","x-hasura-user-id":"1"}"#);
        let limit = RateLimit::per_minute(2).with_burst(2);
        assert!(
            limiter
                .check("ping", &limit, "user:1", &who, "r")
                .await
                .is_ok()
        );
        assert!(
            limiter
                .check("ping", &limit, "user:1", &who, "r")
                .await
                .is_ok()
        );
        let refused = limiter
            .check("ping", &limit, "user:1", &who, "r")
            .await
            .unwrap_err();
        assert_eq!(refused.status().as_u16(), 429);
        assert_eq!(refused.code(), "rate-limited");
        let secs = refused.retry_after_secs().unwrap();
        assert!((1..=30).contains(&secs), "{secs}");
        assert_eq!(refused.extensions()["retry_after"], secs);
        // Another key and another handler have their own buckets.
        assert!(
            limiter
                .check("ping", &limit, "user:2", &who, "r")
                .await
                .is_ok()
        );
        assert!(
            limiter
                .check("pong", &limit, "user:1", &who, "r")
                .await
                .is_ok()
        );
    }

    struct Failing;
    impl RateLimitStore for Failing {
        fn check<'a>(&'a self, _: &'a str, _: &'a RateLimit) -> StoreFuture<'a> {
            Box::pin(async { Err(StoreError("down".into())) })
        }
    }

    struct Hanging;
    impl RateLimitStore for Hanging {
        fn check<'a>(&'a self, _: &'a str, _: &'a RateLimit) -> StoreFuture<'a> {
            Box::pin(std::future::pending())
        }
    }

    #[tokio::test]
    async fn a_failing_or_hanging_store_fails_open_or_closed_as_configured() {
        let who = identity(r#"{"x-hasura-role":"user"}"#);
        let limit = RateLimit::per_second(1);
        for store in [
            Arc::new(Failing) as Arc<dyn RateLimitStore>,
            Arc::new(Hanging),
        ] {
            let open = RateLimitConfig {
                timeout: Some(Duration::from_millis(20)),
                ..RateLimitConfig::default()
            };
            let limiter = RateLimiter::new(
                Store::Remote(store.clone()),
                &open,
                crate::audit::Audit::default(),
            );
            assert!(limiter.check("h", &limit, "all", &who, "r").await.is_ok());
            let closed = RateLimitConfig {
                fail: FailMode::Closed,
                ..open
            };
            let limiter = RateLimiter::new(
                Store::Remote(store),
                &closed,
                crate::audit::Audit::default(),
            );
            let refused = limiter
                .check("h", &limit, "all", &who, "r")
                .await
                .unwrap_err();
            assert_eq!(refused.code(), "rate-limit-unavailable");
            assert_eq!(refused.retry_after_secs(), Some(1));
        }
    }

    #[test]
    fn config_from_the_environment() {
        let vars = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| (*v).to_owned())
            }
        };
        let mut problems = Vec::new();
        let config = RateLimitConfig::from_lookup(
            &vars(&[
                (FAIL, "closed"),
                (REDIS_TIMEOUT_MS, "100"),
                (CLIENT_ADDRESS_HEADER, "X-Forwarded-For"),
            ]),
            &mut problems,
        );
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(config.fail, FailMode::Closed);
        assert_eq!(config.timeout, Some(Duration::from_millis(100)));
        assert_eq!(
            config.client_address_header.unwrap().as_str(),
            "x-forwarded-for"
        );
        let mut problems = Vec::new();
        RateLimitConfig::from_lookup(
            &vars(&[
                (FAIL, "sometimes"),
                (REDIS_TIMEOUT_MS, "0"),
                (REDIS_URL, "rediss://x"),
                (CLIENT_ADDRESS_HEADER, "bad header"),
            ]),
            &mut problems,
        );
        let names: Vec<_> = problems.iter().map(|p| p.variable).collect();
        assert_eq!(
            names,
            [REDIS_URL, FAIL, REDIS_TIMEOUT_MS, CLIENT_ADDRESS_HEADER]
        );
    }
}
