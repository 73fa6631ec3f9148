//! The hot copy: a TTL cache in front of the durable store. It is only ever a
//! cache: every value in it can be rebuilt from the store, so losing it (a
//! restart, a flush) loses nothing. Embedded mode uses [`MemoryCache`];
//! production uses [`RedisCache`]. Both pass the same conformance suite.
//!
//! A cache never fails its caller: [`Cache::get`] answers `None` and
//! [`Cache::set`] does nothing when the backend cannot be used, and the caller
//! falls back to the store.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use redis::aio::{ConnectionManager, ConnectionManagerConfig};

/// A byte-valued cache with per-entry time to live.
#[async_trait::async_trait]
pub trait Cache: Send + Sync + 'static {
    /// The value under `key`, if present and not expired.
    async fn get(&self, key: &str) -> Option<Vec<u8>>;
    /// Stores `value` under `key` for `ttl`.
    async fn set(&self, key: &str, value: Vec<u8>, ttl: Duration);
    /// Forgets `key` (absent is fine). Best effort, like every cache write:
    /// what it fails to delete still expires with its TTL.
    async fn delete(&self, key: &str);
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

    async fn delete(&self, key: &str) {
        self.entries().remove(key);
    }
}

/// Key prefix of the storage service's entries in a shared Redis.
pub const REDIS_KEY_PREFIX: &str = "molbatch:";

/// How long one attempt to open a Redis connection may take.
const REDIS_CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
/// How long a Redis command may take before it counts as a miss. A stalled
/// Redis must not stall reads that the store could answer.
const REDIS_RESPONSE_TIMEOUT: Duration = Duration::from_secs(1);
/// Reconnection attempts the connection manager makes after losing its
/// connection, before commands fail (as misses) and the next one retries.
const REDIS_RECONNECT_RETRIES: usize = 2;
/// Longest pause between those attempts, in milliseconds. It must be set:
/// redis-rs's default factor (100) makes the second pause 100 s, during which
/// every cache call would wait instead of missing.
const REDIS_RECONNECT_MAX_DELAY_MS: u64 = 200;
/// Bounds of the delay between start-up connection attempts.
const REDIS_FIRST_RETRY_DELAY: Duration = Duration::from_millis(250);
const REDIS_MAX_RETRY_DELAY: Duration = Duration::from_secs(30);
/// Longest TTL sent to Redis (about 34 years); `PX` rejects values whose
/// deadline overflows.
const REDIS_MAX_TTL_MS: u64 = 1 << 40;

/// A [`Cache`] in Redis: `SET prefix+key value PX ttl_ms` and `GET`.
///
/// Redis is only a cache, so it may be down, flushed or restarted at any
/// moment: every Redis error is logged at warn and answered as a miss
/// (`get` gives `None`, `set` does nothing). Connecting follows the same rule:
/// [`RedisCache::connect`] tries once, briefly, and if Redis is not there it
/// returns anyway and keeps trying in a background task (backing off up to
/// 30 s) while every call is a miss. Once connected, the
/// [`ConnectionManager`] reconnects by itself after any loss. The background
/// task ends when connected or when the cache is dropped.
pub struct RedisCache {
    prefix: String,
    connection: Arc<OnceLock<ConnectionManager>>,
    connector: Option<tokio::task::JoinHandle<()>>,
}

impl std::fmt::Debug for RedisCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The client holds the URL, which may carry a password.
        f.debug_struct("RedisCache")
            .field("prefix", &self.prefix)
            .field("connected", &self.connection.get().is_some())
            .finish()
    }
}

impl RedisCache {
    /// A cache on the Redis at `url` (`redis://[:password@]host:port[/db]`)
    /// whose keys all start with `prefix`. Fails only for a malformed URL;
    /// an unreachable server is retried in the background (see the type's
    /// documentation). Must run inside a Tokio runtime.
    pub async fn connect(url: &str, prefix: impl Into<String>) -> redis::RedisResult<Self> {
        let client = redis::Client::open(url)?;
        let connection = Arc::new(OnceLock::new());
        let connector = match open_connection(&client).await {
            Ok(manager) => {
                // Freshly created, so nobody else can have set it.
                let _ = connection.set(manager);
                None
            }
            Err(error) => {
                tracing::warn!(
                    %error,
                    "redis unreachable at start-up; serving without a cache while retrying"
                );
                Some(tokio::spawn(connect_until_up(
                    client,
                    Arc::downgrade(&connection),
                )))
            }
        };
        Ok(Self {
            prefix: prefix.into(),
            connection,
            connector,
        })
    }

    fn key(&self, key: &str) -> String {
        format!("{}{key}", self.prefix)
    }

    fn manager(&self) -> Option<ConnectionManager> {
        self.connection.get().cloned()
    }
}

impl Drop for RedisCache {
    fn drop(&mut self) {
        if let Some(connector) = self.connector.take() {
            connector.abort();
        }
    }
}

async fn open_connection(client: &redis::Client) -> redis::RedisResult<ConnectionManager> {
    let config = ConnectionManagerConfig::new()
        .set_connection_timeout(REDIS_CONNECT_TIMEOUT)
        .set_response_timeout(REDIS_RESPONSE_TIMEOUT)
        .set_number_of_retries(REDIS_RECONNECT_RETRIES)
        .set_factor(2)
        .set_max_delay(REDIS_RECONNECT_MAX_DELAY_MS);
    ConnectionManager::new_with_config(client.clone(), config).await
}

/// Retries the first connection until it succeeds or the cache is gone.
async fn connect_until_up(
    client: redis::Client,
    slot: std::sync::Weak<OnceLock<ConnectionManager>>,
) {
    let mut delay = REDIS_FIRST_RETRY_DELAY;
    loop {
        tokio::time::sleep(delay).await;
        if slot.strong_count() == 0 {
            return;
        }
        match open_connection(&client).await {
            Ok(manager) => {
                if let Some(slot) = slot.upgrade() {
                    let _ = slot.set(manager);
                    tracing::info!("redis cache connected");
                }
                return;
            }
            Err(error) => {
                tracing::warn!(%error, retry_in = ?delay, "redis still unreachable");
                delay = (delay * 2).min(REDIS_MAX_RETRY_DELAY);
            }
        }
    }
}

#[async_trait::async_trait]
impl Cache for RedisCache {
    async fn get(&self, key: &str) -> Option<Vec<u8>> {
        let mut manager = self.manager()?;
        match redis::cmd("GET")
            .arg(self.key(key))
            .query_async::<Option<Vec<u8>>>(&mut manager)
            .await
        {
            Ok(value) => value,
            Err(error) => {
                tracing::warn!(%error, "redis GET failed; treating as a miss");
                None
            }
        }
    }

    async fn set(&self, key: &str, value: Vec<u8>, ttl: Duration) {
        let ttl_ms = u64::try_from(ttl.as_millis())
            .unwrap_or(u64::MAX)
            .min(REDIS_MAX_TTL_MS);
        // Expired on arrival; Redis would reject `PX 0` anyway.
        if ttl_ms == 0 {
            return;
        }
        let Some(mut manager) = self.manager() else {
            return;
        };
        if let Err(error) = redis::cmd("SET")
            .arg(self.key(key))
            .arg(value)
            .arg("PX")
            .arg(ttl_ms)
            .query_async::<()>(&mut manager)
            .await
        {
            tracing::warn!(%error, "redis SET failed; value not cached");
        }
    }

    async fn delete(&self, key: &str) {
        let Some(mut manager) = self.manager() else {
            return;
        };
        if let Err(error) = redis::cmd("DEL")
            .arg(self.key(key))
            .query_async::<()>(&mut manager)
            .await
        {
            tracing::warn!(%error, "redis DEL failed; the value expires with its TTL");
        }
    }
}

#[cfg(test)]
pub(crate) mod conformance {
    //! One suite every [`Cache`] backend must pass. Keys are plain; a shared
    //! backend gives each test its own prefix.
    use super::*;

    pub(crate) async fn cache_conforms(cache: &dyn Cache) {
        absent_key_is_a_miss(cache).await;
        set_then_get_round_trips_bytes(cache).await;
        set_overwrites(cache).await;
        zero_ttl_is_a_miss(cache).await;
        values_expire_after_their_ttl(cache).await;
        delete_forgets_the_key_only(cache).await;
    }

    async fn delete_forgets_the_key_only(cache: &dyn Cache) {
        cache.set("gone", vec![1], Duration::from_secs(60)).await;
        cache.set("kept", vec![2], Duration::from_secs(60)).await;
        cache.delete("gone").await;
        cache.delete("never-set").await;
        assert_eq!(cache.get("gone").await, None);
        assert_eq!(cache.get("kept").await, Some(vec![2]));
    }

    async fn absent_key_is_a_miss(cache: &dyn Cache) {
        assert_eq!(cache.get("absent").await, None);
    }

    async fn set_then_get_round_trips_bytes(cache: &dyn Cache) {
        let value = vec![0, 1, 255, b':', 0];
        cache
            .set("bytes", value.clone(), Duration::from_secs(60))
            .await;
        assert_eq!(cache.get("bytes").await, Some(value));
    }

    async fn set_overwrites(cache: &dyn Cache) {
        cache.set("k", vec![1], Duration::from_secs(60)).await;
        cache.set("k", vec![2, 2], Duration::from_secs(60)).await;
        assert_eq!(cache.get("k").await, Some(vec![2, 2]));
    }

    async fn zero_ttl_is_a_miss(cache: &dyn Cache) {
        cache.set("zero", vec![1], Duration::ZERO).await;
        assert_eq!(cache.get("zero").await, None);
    }

    async fn values_expire_after_their_ttl(cache: &dyn Cache) {
        cache.set("long", vec![1], Duration::from_secs(60)).await;
        cache.set("short", vec![2], Duration::from_millis(50)).await;
        // Wait for the condition; the deadline only guards a hang.
        let deadline = Instant::now() + Duration::from_secs(10);
        while cache.get("short").await.is_some() {
            assert!(Instant::now() < deadline, "entry outlived its ttl");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(cache.get("long").await, Some(vec![1]));
    }
}

#[cfg(test)]
pub(crate) mod testing {
    //! A Redis key prefix of its own for each test, on the shared server.
    use std::future::Future;

    /// Server used when `MOLBATCH_TEST_REDIS_URL` is unset.
    const DEFAULT_URL: &str = "redis://127.0.0.1:6379";

    pub(crate) fn redis_url() -> String {
        std::env::var("MOLBATCH_TEST_REDIS_URL").unwrap_or_else(|_| DEFAULT_URL.into())
    }

    /// A plain connection for inspecting what a test wrote.
    pub(crate) async fn raw_connection() -> redis::aio::MultiplexedConnection {
        redis::Client::open(redis_url())
            .unwrap()
            .get_multiplexed_async_connection()
            .await
            .unwrap()
    }

    /// Every key under `prefix` (SCAN MATCH, which unlike KEYS does not
    /// block the shared server).
    pub(crate) async fn keys(prefix: &str) -> Vec<String> {
        let mut conn = raw_connection().await;
        let mut found = Vec::new();
        let mut cursor = 0u64;
        loop {
            let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
                .arg(cursor)
                .arg("MATCH")
                .arg(format!("{prefix}*"))
                .arg("COUNT")
                .arg(1000)
                .query_async(&mut conn)
                .await
                .unwrap();
            found.extend(keys);
            if next == 0 {
                return found;
            }
            cursor = next;
        }
    }

    /// Deletes every key under `prefix`; never a flush, the server is shared.
    pub(crate) async fn delete_keys(prefix: &str) {
        let keys = keys(prefix).await;
        if !keys.is_empty() {
            redis::cmd("DEL")
                .arg(&keys)
                .query_async::<()>(&mut raw_connection().await)
                .await
                .unwrap();
        }
    }

    /// Runs `test` with a fresh prefix `molbatch-test:<uuid>:`, then deletes
    /// the prefix's keys, also when `test` panics (re-raised afterwards).
    pub(crate) async fn with_fresh_prefix<F, Fut>(test: F)
    where
        F: FnOnce(String) -> Fut,
        Fut: Future<Output = ()> + Send + 'static,
    {
        // A uuid's hex digits hold no glob characters, so MATCH is exact.
        let prefix = format!("molbatch-test:{}:", uuid::Uuid::new_v4().simple());
        let outcome = tokio::spawn(test(prefix.clone())).await;
        delete_keys(&prefix).await;
        if let Err(failed) = outcome {
            std::panic::resume_unwind(failed.into_panic());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn memory_cache_conforms() {
        conformance::cache_conforms(&MemoryCache::new(1 << 20)).await;
    }

    #[tokio::test]
    async fn redis_cache_conforms() {
        testing::with_fresh_prefix(|prefix| async move {
            let cache = RedisCache::connect(&testing::redis_url(), prefix)
                .await
                .unwrap();
            conformance::cache_conforms(&cache).await;
        })
        .await;
    }

    #[tokio::test]
    async fn redis_cache_writes_prefixed_keys_with_px_ttl() {
        testing::with_fresh_prefix(|prefix| async move {
            let cache = RedisCache::connect(&testing::redis_url(), prefix.clone())
                .await
                .unwrap();
            cache.set("k", vec![7, 8], Duration::from_secs(60)).await;
            let mut raw = testing::raw_connection().await;
            let key = format!("{prefix}k");
            let value: Option<Vec<u8>> = redis::cmd("GET")
                .arg(&key)
                .query_async(&mut raw)
                .await
                .unwrap();
            assert_eq!(value, Some(vec![7, 8]));
            let pttl: i64 = redis::cmd("PTTL")
                .arg(&key)
                .query_async(&mut raw)
                .await
                .unwrap();
            assert!(pttl > 0 && pttl <= 60_000, "pttl {pttl}");
        })
        .await;
    }

    #[tokio::test]
    async fn unreachable_redis_answers_misses_not_errors() {
        // Port 1 refuses connections: start-up succeeds, every call is a miss.
        let run = async {
            let cache = RedisCache::connect("redis://127.0.0.1:1", "molbatch-test:unreachable:")
                .await
                .unwrap();
            cache.set("k", vec![1], Duration::from_secs(60)).await;
            assert_eq!(cache.get("k").await, None);
        };
        // The deadline only guards a hang.
        tokio::time::timeout(Duration::from_secs(30), run)
            .await
            .unwrap();
    }

    /// A private `redis-server` on a free port, so a test may stop and
    /// restart it without touching the shared one.
    struct PrivateRedis {
        port: u16,
        process: Option<std::process::Child>,
    }

    impl PrivateRedis {
        async fn start() -> Self {
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port();
            let mut redis = Self {
                port,
                process: None,
            };
            redis.restart().await;
            redis
        }

        fn url(&self) -> String {
            format!("redis://127.0.0.1:{}", self.port)
        }

        async fn restart(&mut self) {
            self.stop().await;
            let child = std::process::Command::new("redis-server")
                .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
                .args(["--save", "", "--appendonly", "no"])
                .stdout(std::process::Stdio::null())
                .spawn()
                .unwrap();
            self.process = Some(child);
            // Wait until it answers; the deadline only guards a hang.
            let client = redis::Client::open(self.url()).unwrap();
            let deadline = Instant::now() + Duration::from_secs(10);
            while client.get_multiplexed_async_connection().await.is_err() {
                assert!(Instant::now() < deadline, "redis-server did not start");
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }

        async fn stop(&mut self) {
            if let Some(mut child) = self.process.take() {
                child.kill().ok();
                child.wait().ok();
            }
        }
    }

    impl Drop for PrivateRedis {
        fn drop(&mut self) {
            if let Some(mut child) = self.process.take() {
                child.kill().ok();
                child.wait().ok();
            }
        }
    }

    #[tokio::test]
    async fn redis_restart_is_a_miss_then_the_cache_reconnects() {
        let run = async {
            let mut redis = PrivateRedis::start().await;
            let cache = RedisCache::connect(&redis.url(), "molbatch-test:")
                .await
                .unwrap();
            cache.set("k", vec![1], Duration::from_secs(60)).await;
            assert_eq!(cache.get("k").await, Some(vec![1]));

            // Down: misses, no errors. Back (empty, as after a flush): the
            // connection manager reconnects and the cache works again.
            redis.stop().await;
            assert_eq!(cache.get("k").await, None);
            cache.set("k", vec![2], Duration::from_secs(60)).await;
            redis.restart().await;
            let deadline = Instant::now() + Duration::from_secs(10);
            loop {
                cache.set("k", vec![3], Duration::from_secs(60)).await;
                if cache.get("k").await == Some(vec![3]) {
                    break;
                }
                assert!(Instant::now() < deadline, "cache never reconnected");
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            redis.stop().await;
        };
        tokio::time::timeout(Duration::from_secs(60), run)
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn redis_down_at_start_up_is_connected_later() {
        let run = async {
            let mut redis = PrivateRedis::start().await;
            redis.stop().await;
            let cache = RedisCache::connect(&redis.url(), "molbatch-test:")
                .await
                .unwrap();
            assert_eq!(cache.get("k").await, None);
            redis.restart().await;
            // The background task retries with backoff (first pauses 250 ms,
            // 500 ms, ...); wait for the condition, the deadline guards a hang.
            let deadline = Instant::now() + Duration::from_secs(20);
            loop {
                cache.set("k", vec![1], Duration::from_secs(60)).await;
                if cache.get("k").await == Some(vec![1]) {
                    break;
                }
                assert!(Instant::now() < deadline, "cache never connected");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            redis.stop().await;
        };
        tokio::time::timeout(Duration::from_secs(60), run)
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn malformed_redis_url_is_refused() {
        assert!(RedisCache::connect("http://127.0.0.1:6379", "p:")
            .await
            .is_err());
    }

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
