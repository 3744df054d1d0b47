//! The in-memory store: `governor`'s keyed GCRA limiters, one per distinct limit, with stale
//! keys evicted periodically (keys such as usernames are attacker-chosen, so the map must not
//! grow without bound).

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};

use super::{Decision, RateLimit, RateLimitStore, StoreFuture};

/// Evict stale keys every this many checks.
const EVICT_EVERY: u64 = 4096;

/// One keyed limiter per distinct limit (interval, burst).
type Limiters = HashMap<(Duration, u32), Arc<DefaultKeyedRateLimiter<String>>>;

/// GCRA in this process's memory (the default store; one replica's counters).
#[derive(Default)]
pub struct MemoryStore {
    limiters: RwLock<Limiters>,
    checks: AtomicU64,
    clock: DefaultClock,
}

impl std::fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryStore")
            .field("keys", &self.len())
            .finish()
    }
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Keys currently held (all limits).
    pub fn len(&self) -> usize {
        self.read().values().map(|l| l.len()).sum()
    }

    /// Whether no key is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Drops every key whose state is back to fresh (no recent requests).
    pub fn evict_stale(&self) {
        for limiter in self.read().values() {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Limiters> {
        // A poisoned lock only means a panic elsewhere mid-insert; the map is still sound.
        self.limiters.read().unwrap_or_else(|e| e.into_inner())
    }

    fn limiter(&self, limit: &RateLimit) -> Arc<DefaultKeyedRateLimiter<String>> {
        let id = (limit.interval(), limit.burst());
        if let Some(limiter) = self.read().get(&id) {
            return limiter.clone();
        }
        let mut limiters = self.limiters.write().unwrap_or_else(|e| e.into_inner());
        limiters
            .entry(id)
            .or_insert_with(|| {
                let burst = NonZeroU32::new(limit.burst()).unwrap_or(NonZeroU32::MIN);
                let quota = Quota::with_period(limit.interval())
                    .unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN))
                    .allow_burst(burst);
                Arc::new(DefaultKeyedRateLimiter::keyed(quota))
            })
            .clone()
    }

    /// The synchronous check (no I/O).
    pub fn check_now(&self, bucket: &str, limit: &RateLimit) -> Decision {
        self.check_bucket(&bucket.to_owned(), limit)
    }

    /// [`MemoryStore::check_now`] for a bucket already owned (`governor` looks keys up by
    /// `&String`), saving a copy on the request path.
    #[allow(clippy::ptr_arg)]
    pub(crate) fn check_bucket(&self, bucket: &String, limit: &RateLimit) -> Decision {
        if self.checks.fetch_add(1, Ordering::Relaxed) % EVICT_EVERY == EVICT_EVERY - 1 {
            self.evict_stale();
        }
        let limiter = self.limiter(limit);
        match limiter.check_key(bucket) {
            Ok(()) => Decision::Allowed,
            Err(not_until) => Decision::Limited {
                retry_after: not_until.wait_time_from(self.clock.now()),
            },
        }
    }
}

impl RateLimitStore for MemoryStore {
    fn check<'a>(&'a self, bucket: &'a str, limit: &'a RateLimit) -> StoreFuture<'a> {
        let decision = self.check_now(bucket, limit);
        Box::pin(std::future::ready(Ok(decision)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burst_then_limited_then_replenished() {
        let store = MemoryStore::new();
        let limit = RateLimit::per_second(20).with_burst(3);
        for _ in 0..3 {
            assert_eq!(store.check_now("k", &limit), Decision::Allowed);
        }
        let Decision::Limited { retry_after } = store.check_now("k", &limit) else {
            panic!("the fourth request of a burst of 3 must be limited");
        };
        assert!(retry_after <= Duration::from_millis(50), "{retry_after:?}");
        std::thread::sleep(retry_after + Duration::from_millis(5));
        assert_eq!(store.check_now("k", &limit), Decision::Allowed);
    }

    #[test]
    fn stale_attacker_chosen_keys_are_evicted() {
        let store = MemoryStore::new();
        let limit = RateLimit::per_second(1000).with_burst(1);
        for i in 0..1000 {
            store.check_now(&format!("user-{i}"), &limit);
        }
        assert_eq!(store.len(), 1000);
        std::thread::sleep(Duration::from_millis(20));
        store.evict_stale();
        assert_eq!(store.len(), 0);
    }
}
