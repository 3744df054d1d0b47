//! A small bounded map whose entries expire, each at its own time (a verified token's answer
//! must never outlive the token's `exp`, whatever the cache's own lifetime).
//!
//! Written here rather than taken from a crate: the caches in the dependency tree either have
//! one lifetime for every entry or bring a background runtime of their own, and this needs
//! twenty lines.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;
use std::time::Instant;

pub(crate) struct ExpiringCache<K, V> {
    entries: Mutex<HashMap<K, (V, Instant)>>,
    capacity: usize,
}

impl<K: Eq + Hash, V: Clone> ExpiringCache<K, V> {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            entries: Mutex::new(HashMap::new()),
            capacity: capacity.max(1),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<K, (V, Instant)>> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The live value of `key`.
    pub(crate) fn get(&self, key: &K) -> Option<V> {
        let now = Instant::now();
        let entries = self.lock();
        entries
            .get(key)
            .filter(|(_, until)| *until > now)
            .map(|(v, _)| v.clone())
    }

    /// Stores `value` until `until`. When full, expired entries go first; if none has expired,
    /// the whole map is dropped (a flood of distinct keys must not grow memory, and a cache
    /// miss only costs a lookup).
    pub(crate) fn insert(&self, key: K, value: V, until: Instant) {
        let _ = self.insert_unless(key, value, until, |_| false);
    }

    /// Like [`Self::insert`], except that a live entry `keep` accepts stays, and its value is
    /// returned (checked and replaced under one lock, so a concurrent writer is not lost).
    pub(crate) fn insert_unless(
        &self,
        key: K,
        value: V,
        until: Instant,
        keep: impl FnOnce(&V) -> bool,
    ) -> Option<V> {
        let now = Instant::now();
        if until <= now {
            return None;
        }
        let mut entries = self.lock();
        if let Some((kept, _)) = entries.get(&key).filter(|(v, t)| *t > now && keep(v)) {
            return Some(kept.clone());
        }
        if entries.len() >= self.capacity {
            entries.retain(|_, (_, t)| *t > now);
            if entries.len() >= self.capacity {
                entries.clear();
            }
        }
        entries.insert(key, (value, until));
        None
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.lock().len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn entries_expire_and_the_map_stays_bounded() {
        let cache = ExpiringCache::new(3);
        let later = Instant::now() + Duration::from_secs(60);
        cache.insert(1, "a", later);
        cache.insert(2, "b", Instant::now()); // already expired: not stored
        assert_eq!(cache.get(&1), Some("a"));
        assert_eq!(cache.get(&2), None);
        for k in 0..100 {
            cache.insert(k, "x", later);
            assert!(cache.len() <= 3);
        }
        cache.insert(7, "soon", Instant::now() + Duration::from_millis(20));
        std::thread::sleep(Duration::from_millis(30));
        assert_eq!(cache.get(&7), None);
    }

    #[test]
    fn a_kept_entry_is_not_replaced_and_an_expired_one_is() {
        let cache = ExpiringCache::new(10);
        let later = Instant::now() + Duration::from_secs(60);
        cache.insert("jti", true, later);
        // An older `false` does not undo a `true`.
        assert_eq!(cache.insert_unless("jti", false, later, |&v| v), Some(true));
        assert_eq!(cache.get(&"jti"), Some(true));
        // What `keep` refuses is replaced.
        cache.insert("other", false, later);
        assert_eq!(cache.insert_unless("other", true, later, |&v| v), None);
        assert_eq!(cache.get(&"other"), Some(true));
        // An expired entry is not kept.
        cache.insert("soon", true, Instant::now() + Duration::from_millis(20));
        std::thread::sleep(Duration::from_millis(30));
        assert_eq!(cache.insert_unless("soon", false, later, |&v| v), None);
        assert_eq!(cache.get(&"soon"), Some(false));
    }
}
