//! The hot copy: a TTL cache in front of the durable store. It is only ever a
//! cache: every value in it can be rebuilt from the store, so losing it (a
//! restart, a flush) loses nothing. Embedded mode uses [`MemoryCache`]; Redis
//! implements the same trait in production.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A byte-valued cache with per-entry time to live.
#[async_trait::async_trait]
pub trait Cache: Send + Sync + 'static {
    /// The value under `key`, if present and not expired.
    async fn get(&self, key: &str) -> Option<Vec<u8>>;
    /// Stores `value` under `key` for `ttl`.
    async fn set(&self, key: &str, value: Vec<u8>, ttl: Duration);
}

/// An in-process [`Cache`] bounded in bytes; expired entries go first when
/// room is needed, then arbitrary ones.
#[derive(Debug)]
pub struct MemoryCache {
    capacity_bytes: usize,
    inner: Mutex<Entries>,
}

#[derive(Debug, Default)]
struct Entries {
    map: HashMap<String, (Instant, Vec<u8>)>,
    bytes: usize,
}

impl Entries {
    fn remove(&mut self, key: &str) {
        if let Some((_, v)) = self.map.remove(key) {
            self.bytes -= v.len();
        }
    }

    fn make_room(&mut self, needed: usize, capacity: usize, now: Instant) {
        if self.bytes + needed <= capacity {
            return;
        }
        let expired: Vec<String> = self
            .map
            .iter()
            .filter(|(_, (exp, _))| *exp <= now)
            .map(|(k, _)| k.clone())
            .collect();
        for key in expired {
            self.remove(&key);
        }
        while self.bytes + needed > capacity {
            let Some(key) = self.map.keys().next().cloned() else {
                break;
            };
            self.remove(&key);
        }
    }
}

impl MemoryCache {
    /// A cache holding at most `capacity_bytes` of values.
    pub fn new(capacity_bytes: usize) -> Self {
        Self {
            capacity_bytes,
            inner: Mutex::new(Entries::default()),
        }
    }

    fn entries(&self) -> std::sync::MutexGuard<'_, Entries> {
        // A panic while holding the lock leaves a consistent map (every
        // mutation is a single insert or remove), so poisoning is ignored.
        self.inner
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

#[async_trait::async_trait]
impl Cache for MemoryCache {
    async fn get(&self, key: &str) -> Option<Vec<u8>> {
        let mut entries = self.entries();
        let now = Instant::now();
        match entries.map.get(key) {
            Some((expires, value)) if *expires > now => Some(value.clone()),
            Some(_) => {
                entries.remove(key);
                None
            }
            None => None,
        }
    }

    async fn set(&self, key: &str, value: Vec<u8>, ttl: Duration) {
        if value.len() > self.capacity_bytes {
            return;
        }
        let mut entries = self.entries();
        let now = Instant::now();
        entries.remove(key);
        let capacity = self.capacity_bytes;
        entries.make_room(value.len(), capacity, now);
        entries.bytes += value.len();
        entries.map.insert(key.to_owned(), (now + ttl, value));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn values_expire_after_their_ttl() {
        let cache = MemoryCache::new(1024);
        cache.set("a", vec![1, 2], Duration::from_millis(0)).await;
        cache.set("b", vec![3], Duration::from_secs(60)).await;
        assert_eq!(cache.get("a").await, None);
        assert_eq!(cache.get("b").await, Some(vec![3]));
    }

    #[tokio::test]
    async fn capacity_is_never_exceeded() {
        let cache = MemoryCache::new(10);
        for i in 0..20u8 {
            cache
                .set(&format!("k{i}"), vec![i; 4], Duration::from_secs(60))
                .await;
            assert!(cache.entries().bytes <= 10);
        }
        assert_eq!(cache.get("k19").await, Some(vec![19; 4]));
        cache
            .set("huge", vec![0; 11], Duration::from_secs(60))
            .await;
        assert_eq!(cache.get("huge").await, None);
    }
}
