//! A JWKS (`jwk_url`) key cache: keys are reused until the response's `Cache-Control`
//! `max-age`/`s-maxage` or `Expires`, refetched after that and on an unknown `kid` (at most once
//! per minimum interval), and the last good keys survive a failed refresh.
//!
//! An expired key set whose keys still match is refreshed in the background while requests go
//! on with it (stale while revalidating): a slow or hanging JWKS endpoint then costs no request
//! anything. A key removed from the set is therefore accepted until that refresh lands (at most
//! the fetch timeout). A response that forbids reuse (`no-cache`, `no-store`, `max-age=0`) is
//! never served stale. A request with no matching key (the first, or an unknown `kid`) waits for
//! a fetch, or for one under way, each bounded by the fetch timeout; the rate limit counts from
//! the end of an attempt, so waiters queued behind a hanging fetch do not fetch again.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::{AlgorithmParameters, Jwk, KeyAlgorithm};
use jsonwebtoken::{Algorithm, AlgorithmFamily, DecodingKey};
use serde_json::Value;

use super::jwt::JwtError;
use super::signature::VerifyingKey;

/// Used when the JWKS response says nothing about caching.
const DEFAULT_MAX_AGE: Duration = Duration::from_secs(300);
/// Keys are refetched at least this often, whatever the response says.
const MAX_AGE_CAP: Duration = Duration::from_secs(24 * 3600);
const FETCH_TIMEOUT: Duration = Duration::from_secs(10);

struct CachedKey {
    kid: Option<String>,
    algorithm: Option<Algorithm>,
    family: AlgorithmFamily,
    key: Arc<VerifyingKey>,
}

#[derive(Default)]
struct State {
    keys: Vec<CachedKey>,
    expires_at: Option<Instant>,
    last_attempt: Option<Instant>,
    /// Whether the keys may be used past `expires_at` while a refresh runs (the response
    /// allowed reuse at all).
    stale_ok: bool,
}

pub(crate) struct JwksCache {
    url: reqwest::Url,
    client: reqwest::Client,
    state: Mutex<State>,
    min_refresh_interval: Mutex<Duration>,
    // Serialises refreshes so concurrent requests with a new `kid` trigger one fetch.
    refresh: tokio::sync::Mutex<()>,
    // Whether a background refresh is under way.
    refreshing: AtomicBool,
}

impl JwksCache {
    pub(crate) fn new(url: reqwest::Url) -> Self {
        let client = reqwest::Client::builder()
            .timeout(FETCH_TIMEOUT)
            .build()
            .unwrap_or_else(|_| reqwest::Client::new());
        Self {
            url,
            client,
            state: Mutex::new(State::default()),
            min_refresh_interval: Mutex::new(Duration::from_secs(10)),
            refresh: tokio::sync::Mutex::new(()),
            refreshing: AtomicBool::new(false),
        }
    }

    pub(crate) fn url(&self) -> &reqwest::Url {
        &self.url
    }

    pub(crate) fn set_min_refresh_interval(&self, interval: Duration) {
        *lock(&self.min_refresh_interval) = interval;
    }

    /// The key for a token with this `kid` and `alg`, fetching the key set when needed.
    pub(crate) async fn key_for(
        self: &Arc<Self>,
        kid: Option<&str>,
        alg: Algorithm,
    ) -> Result<Arc<VerifyingKey>, JwtError> {
        if let Some(key) = self.fresh_lookup(kid, alg) {
            return Ok(key);
        }
        // Expired but still matching: answer with it and refresh behind the request.
        if let Some(key) = self.stale_lookup(kid, alg) {
            if self.refresh_in_background() {
                return Ok(key);
            }
        }
        let _guard = self.refresh.lock().await;
        // Another request may have refreshed while this one waited.
        if let Some(key) = self.fresh_lookup(kid, alg) {
            return Ok(key);
        }
        if self.may_refresh() {
            self.refresh().await;
        }
        self.lookup(kid, alg).ok_or_else(|| {
            JwtError::invalid("Could not verify JWT: JWSError (no matching key in the JWKS)")
        })
    }

    /// Starts a refresh on the current runtime unless one runs or the rate limit forbids it;
    /// `false` outside a runtime (the caller then refreshes in the foreground).
    fn refresh_in_background(self: &Arc<Self>) -> bool {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return false;
        };
        if !self.may_refresh() || self.refreshing.swap(true, Ordering::AcqRel) {
            return true;
        }
        /// Clears `refreshing` however the task ends (done, panicked, or dropped with its
        /// runtime), so a later expiry can refresh again.
        struct Refreshing(Arc<JwksCache>);
        impl Drop for Refreshing {
            fn drop(&mut self) {
                self.0.refreshing.store(false, Ordering::Release);
            }
        }
        let flag = Refreshing(Arc::clone(self));
        runtime.spawn(async move {
            let cache = &flag.0;
            let _guard = cache.refresh.lock().await;
            if cache.may_refresh() {
                cache.refresh().await;
            }
        });
        true
    }

    /// A matching key of an expired set that may still be used while it is refreshed.
    fn stale_lookup(&self, kid: Option<&str>, alg: Algorithm) -> Option<Arc<VerifyingKey>> {
        let state = lock(&self.state);
        if state.stale_ok {
            find(&state.keys, kid, alg)
        } else {
            None
        }
    }

    fn fresh_lookup(&self, kid: Option<&str>, alg: Algorithm) -> Option<Arc<VerifyingKey>> {
        let state = lock(&self.state);
        let fresh = state.expires_at.is_some_and(|t| Instant::now() < t);
        if fresh {
            find(&state.keys, kid, alg)
        } else {
            None
        }
    }

    fn lookup(&self, kid: Option<&str>, alg: Algorithm) -> Option<Arc<VerifyingKey>> {
        find(&lock(&self.state).keys, kid, alg)
    }

    /// Every fetch, on expiry or on an unknown `kid`, is rate-limited: at most one per interval.
    fn may_refresh(&self) -> bool {
        let interval = *lock(&self.min_refresh_interval);
        lock(&self.state)
            .last_attempt
            .is_none_or(|t| t.elapsed() >= interval)
    }

    async fn refresh(&self) {
        let attempt = Instant::now();
        lock(&self.state).last_attempt = Some(attempt);
        let fetched = self.fetch().await;
        let mut state = lock(&self.state);
        // The rate limit counts from the end of the attempt: requests that queued behind a
        // slow fetch do not start another one at once.
        state.last_attempt = Some(Instant::now());
        match fetched {
            Ok((keys, max_age)) => {
                let max_age = max_age.min(MAX_AGE_CAP);
                state.keys = keys;
                state.expires_at = Some(attempt.checked_add(max_age).unwrap_or(attempt));
                state.stale_ok = !max_age.is_zero();
            }
            Err(why) => {
                drop(state);
                // Keep the last good keys: an issuer outage must not lock every user out.
                tracing::warn!(
                    url = %crate::doctor::url_without_secrets(&self.url),
                    error = %why,
                    "JWKS refresh failed; keeping the previous keys"
                );
            }
        }
    }

    async fn fetch(&self) -> Result<(Vec<CachedKey>, Duration), String> {
        let response = self
            .client
            .get(self.url.clone())
            .send()
            .await
            .map_err(|e| e.without_url().to_string())?;
        if !response.status().is_success() {
            return Err(format!("status {}", response.status()));
        }
        let max_age = cache_lifetime(response.headers());
        let body: Value = response
            .json()
            .await
            .map_err(|e| e.without_url().to_string())?;
        let entries = body
            .get("keys")
            .and_then(Value::as_array)
            .ok_or("no `keys` array")?;
        let mut keys = Vec::new();
        for entry in entries {
            // One unusable key (an `enc` key, ES512, an unknown kty) must not discard the others.
            let Ok(jwk) = serde_json::from_value::<Jwk>(entry.clone()) else {
                continue;
            };
            if jwk
                .common
                .public_key_use
                .as_ref()
                .is_some_and(|u| !matches!(u, jsonwebtoken::jwk::PublicKeyUse::Signature))
            {
                continue;
            }
            let Ok(key) = DecodingKey::from_jwk(&jwk) else {
                continue;
            };
            let family = match &jwk.algorithm {
                AlgorithmParameters::RSA(_) => AlgorithmFamily::Rsa,
                AlgorithmParameters::EllipticCurve(_) => AlgorithmFamily::Ec,
                AlgorithmParameters::OctetKeyPair(_) => AlgorithmFamily::Ed,
                AlgorithmParameters::OctetKey(_) => AlgorithmFamily::Hmac,
                _ => continue,
            };
            let algorithm = jwk.common.key_algorithm.and_then(signing_algorithm);
            keys.push(CachedKey {
                kid: jwk.common.key_id.clone(),
                algorithm,
                family,
                // Parsed once per fetch, not per token.
                key: Arc::new(VerifyingKey::new(key, algorithm)),
            });
        }
        Ok((keys, max_age))
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn signing_algorithm(k: KeyAlgorithm) -> Option<Algorithm> {
    Some(match k {
        KeyAlgorithm::HS256 => Algorithm::HS256,
        KeyAlgorithm::HS384 => Algorithm::HS384,
        KeyAlgorithm::HS512 => Algorithm::HS512,
        KeyAlgorithm::ES256 => Algorithm::ES256,
        KeyAlgorithm::ES384 => Algorithm::ES384,
        KeyAlgorithm::RS256 => Algorithm::RS256,
        KeyAlgorithm::RS384 => Algorithm::RS384,
        KeyAlgorithm::RS512 => Algorithm::RS512,
        KeyAlgorithm::PS256 => Algorithm::PS256,
        KeyAlgorithm::PS384 => Algorithm::PS384,
        KeyAlgorithm::PS512 => Algorithm::PS512,
        KeyAlgorithm::EdDSA => Algorithm::EdDSA,
        _ => return None,
    })
}

/// A key usable for `alg`: same `kid` (when the token names one), and an algorithm the key
/// allows. This is what stops algorithm confusion (an RSA public key used as an HMAC secret).
fn find(keys: &[CachedKey], kid: Option<&str>, alg: Algorithm) -> Option<Arc<VerifyingKey>> {
    keys.iter()
        .filter(|k| kid.is_none() || k.kid.as_deref() == kid)
        .find(|k| match k.algorithm {
            Some(a) => a == alg,
            None => k.family.algorithms().contains(&alg),
        })
        .map(|k| Arc::clone(&k.key))
}

/// How long a JWKS response may be reused (`Cache-Control` first, then `Expires`).
fn cache_lifetime(headers: &http::HeaderMap) -> Duration {
    if let Some(cc) = headers
        .get(http::header::CACHE_CONTROL)
        .and_then(|v| v.to_str().ok())
    {
        let mut max_age = None;
        for directive in cc.split(',').map(str::trim) {
            let lower = directive.to_ascii_lowercase();
            if lower == "no-cache" || lower == "no-store" || lower == "must-revalidate" {
                return Duration::ZERO;
            }
            if let Some(v) = lower
                .strip_prefix("s-maxage=")
                .or_else(|| lower.strip_prefix("max-age="))
            {
                if let Ok(secs) = v.trim_matches('"').parse::<u64>() {
                    // s-maxage wins over max-age for shared caches; take the first one given.
                    max_age.get_or_insert(Duration::from_secs(secs));
                }
            }
        }
        if let Some(age) = max_age {
            return age;
        }
    }
    if let Some(expires) = headers
        .get(http::header::EXPIRES)
        .and_then(|v| v.to_str().ok())
    {
        if let Ok(at) = chrono::DateTime::parse_from_rfc2822(expires) {
            let secs = (at.timestamp() - chrono::Utc::now().timestamp()).max(0);
            return Duration::from_secs(secs as u64);
        }
        return Duration::ZERO;
    }
    DEFAULT_MAX_AGE
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> http::HeaderMap {
        pairs
            .iter()
            .map(|(k, v)| (http::HeaderName::from_static(k), v.parse().unwrap()))
            .collect()
    }

    #[test]
    fn lifetime_from_cache_headers() {
        assert_eq!(
            cache_lifetime(&headers(&[("cache-control", "public, max-age=60")])),
            Duration::from_secs(60)
        );
        assert_eq!(
            cache_lifetime(&headers(&[("cache-control", "s-maxage=30, max-age=60")])),
            Duration::from_secs(30)
        );
        assert_eq!(
            cache_lifetime(&headers(&[("cache-control", "no-store")])),
            Duration::ZERO
        );
        assert_eq!(
            cache_lifetime(&headers(&[("expires", "Mon, 30 Mar 2020 13:25:18 GMT")])),
            Duration::ZERO
        );
        let later = (chrono::Utc::now() + chrono::Duration::seconds(120)).to_rfc2822();
        let got = cache_lifetime(&headers(&[("expires", &later)]));
        assert!(got > Duration::from_secs(100) && got <= Duration::from_secs(120));
        assert_eq!(cache_lifetime(&http::HeaderMap::new()), DEFAULT_MAX_AGE);
    }
}
