//! Per-tenant limits: molecules per job and per day and concurrent jobs
//! (checked at submit against the scheduler's usage counts), and requests
//! per second as a token bucket — in Redis when the gateway has one (shared
//! by every replica), in process otherwise. If Redis is unreachable the
//! limiter lets requests through (logged): rate limiting must not take the
//! API down with it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use molbatch_proto::{v1 as pb, TenantId};
use redis::aio::{ConnectionManager, ConnectionManagerConfig};

use crate::error::GatewayError;

/// A tenant's limits with the server's defaults filled in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::Args)]
pub struct Limits {
    /// Most molecules in one job.
    #[arg(
        long = "max-molecules-per-job",
        env = "MOLBATCH_GATEWAY_MAX_MOLECULES_PER_JOB",
        default_value_t = 10_000_000
    )]
    pub max_molecules_per_job: u64,
    /// Most molecules a tenant submits over 24 hours.
    #[arg(
        long = "max-molecules-per-day",
        env = "MOLBATCH_GATEWAY_MAX_MOLECULES_PER_DAY",
        default_value_t = 100_000_000
    )]
    pub max_molecules_per_day: u64,
    /// Most unfinished jobs of a tenant.
    #[arg(
        long = "max-concurrent-jobs",
        env = "MOLBATCH_GATEWAY_MAX_CONCURRENT_JOBS",
        default_value_t = 50
    )]
    pub max_concurrent_jobs: u32,
    /// Sustained requests per second per tenant.
    #[arg(
        long = "requests-per-second",
        env = "MOLBATCH_GATEWAY_REQUESTS_PER_SECOND",
        default_value_t = 10_000
    )]
    pub requests_per_second: u32,
    /// Requests per tenant in a burst.
    #[arg(
        long = "request-burst",
        env = "MOLBATCH_GATEWAY_REQUEST_BURST",
        default_value_t = 20_000
    )]
    pub burst: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_molecules_per_job: 10_000_000,
            max_molecules_per_day: 100_000_000,
            max_concurrent_jobs: 50,
            requests_per_second: 10_000,
            burst: 20_000,
        }
    }
}

impl Limits {
    /// These defaults overridden by a tenant's non-zero quotas.
    pub fn with(&self, quotas: Option<&pb::Quotas>) -> Self {
        let Some(q) = quotas else { return *self };
        let pick64 = |own: u64, default: u64| if own == 0 { default } else { own };
        let pick32 = |own: u32, default: u32| if own == 0 { default } else { own };
        Self {
            max_molecules_per_job: pick64(q.max_molecules_per_job, self.max_molecules_per_job),
            max_molecules_per_day: pick64(q.max_molecules_per_day, self.max_molecules_per_day),
            max_concurrent_jobs: pick32(q.max_concurrent_jobs, self.max_concurrent_jobs),
            requests_per_second: pick32(q.requests_per_second, self.requests_per_second),
            burst: pick32(q.burst, self.burst),
        }
    }

    /// As the API shows them.
    pub fn to_proto(self) -> pb::Quotas {
        pb::Quotas {
            max_molecules_per_job: self.max_molecules_per_job,
            max_molecules_per_day: self.max_molecules_per_day,
            max_concurrent_jobs: self.max_concurrent_jobs,
            requests_per_second: self.requests_per_second,
            burst: self.burst,
        }
    }
}

/// RESOURCE_EXHAUSTED with a `google.rpc.RetryInfo` (HTTP 429 with
/// `Retry-After` over REST).
pub fn exhausted(message: String, retry_after: Duration) -> GatewayError {
    GatewayError::Exhausted {
        message,
        retry_after,
    }
}

/// A token bucket's state.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Bucket {
    /// Tokens left (fractions accrue between looks).
    pub(crate) tokens: f64,
    /// When the bucket was last refilled.
    pub(crate) at: Instant,
}

impl Bucket {
    /// Refills the bucket at `rate` per second up to `burst` for the time
    /// since it was last looked at; while it holds less than one token, how
    /// long until it does.
    pub(crate) fn ready(
        &mut self,
        now: Instant,
        (rate, burst): (f64, f64),
    ) -> Result<(), Duration> {
        let elapsed = now.saturating_duration_since(self.at).as_secs_f64();
        self.tokens = (self.tokens + elapsed * rate).min(burst);
        self.at = now;
        if self.tokens >= 1.0 {
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - self.tokens) / rate))
        }
    }
}

/// Takes one token from `bucket` refilled at `rate` per second up to
/// `burst`; on refusal, how long until a token is there.
fn take(bucket: &mut Bucket, now: Instant, rate: f64, burst: f64) -> Result<(), Duration> {
    bucket.ready(now, (rate, burst))?;
    bucket.tokens -= 1.0;
    Ok(())
}

/// The same token bucket as [`take`] in one atomic Redis script, with
/// Redis's clock so every gateway replica agrees. Returns 0 when admitted,
/// else the milliseconds to wait.
const REDIS_BUCKET: &str = r"
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1]) or burst
local at = tonumber(state[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - at) * rate / 1000)
local wait = 0
if tokens >= 1 then tokens = tokens - 1 else wait = math.ceil((1 - tokens) * 1000 / rate) end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', now)
redis.call('PEXPIRE', KEYS[1], math.ceil(burst * 1000 / rate) + 1000)
return wait
";

/// How long to wait before trying an unreachable Redis again.
const REDIS_RETRY: Duration = Duration::from_secs(5);

/// Per-tenant request rate limiting.
#[derive(Clone)]
pub struct RateLimiter(Buckets);

#[derive(Clone)]
enum Buckets {
    /// In this process (one gateway).
    Local(Arc<Mutex<HashMap<String, Bucket>>>),
    /// In Redis under a key prefix (every replica shares them).
    Redis(Arc<RedisBuckets>),
}

/// Token buckets in Redis.
struct RedisBuckets {
    client: redis::Client,
    prefix: String,
    connection: tokio::sync::Mutex<(Option<ConnectionManager>, Option<Instant>)>,
}

impl RateLimiter {
    /// In-process buckets.
    pub fn local() -> Self {
        Self(Buckets::Local(Arc::default()))
    }

    /// Buckets in the Redis at `url` under keys starting with `prefix`.
    pub fn redis(url: &str, prefix: &str) -> redis::RedisResult<Self> {
        Ok(Self(Buckets::Redis(Arc::new(RedisBuckets {
            client: redis::Client::open(url)?,
            prefix: prefix.to_owned(),
            connection: tokio::sync::Mutex::new((None, None)),
        }))))
    }

    /// Admits one request of `tenant`, whose limits are `limits`, or says
    /// when to retry.
    pub async fn admit(&self, tenant: &TenantId, limits: &Limits) -> Result<(), GatewayError> {
        let (rate, burst) = (
            f64::from(limits.requests_per_second.max(1)),
            f64::from(limits.burst.max(1)),
        );
        let wait = match &self.0 {
            Buckets::Local(buckets) => {
                let now = Instant::now();
                let mut buckets = buckets.lock().unwrap_or_else(|p| p.into_inner());
                let bucket = buckets.entry(tenant.to_string()).or_insert(Bucket {
                    tokens: burst,
                    at: now,
                });
                take(bucket, now, rate, burst).err()
            }
            Buckets::Redis(redis) => redis.take(tenant.as_str(), rate, burst).await,
        };
        match wait {
            None => Ok(()),
            Some(wait) => Err(exhausted(
                format!(
                    "tenant {} is over its rate limit of {} requests per second (burst {})",
                    tenant, limits.requests_per_second, limits.burst
                ),
                wait,
            )),
        }
    }
}

impl RedisBuckets {
    async fn connection(&self) -> Option<ConnectionManager> {
        let mut slot = self.connection.lock().await;
        if let Some(manager) = &slot.0 {
            return Some(manager.clone());
        }
        if slot.1.is_some_and(|failed| failed.elapsed() < REDIS_RETRY) {
            return None;
        }
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Duration::from_millis(500))
            .set_response_timeout(Duration::from_millis(500));
        match ConnectionManager::new_with_config(self.client.clone(), config).await {
            Ok(manager) => {
                slot.0 = Some(manager.clone());
                Some(manager)
            }
            Err(error) => {
                tracing::warn!(%error, "redis unreachable; requests are not rate limited");
                slot.1 = Some(Instant::now());
                None
            }
        }
    }

    async fn take(&self, tenant: &str, rate: f64, burst: f64) -> Option<Duration> {
        let mut connection = self.connection().await?;
        let waited: redis::RedisResult<u64> = redis::cmd("EVAL")
            .arg(REDIS_BUCKET)
            .arg(1)
            .arg(format!("{}ratelimit:{tenant}", self.prefix))
            .arg(rate)
            .arg(burst)
            .query_async(&mut connection)
            .await;
        match waited {
            Ok(0) => None,
            Ok(ms) => Some(Duration::from_millis(ms)),
            Err(error) => {
                tracing::warn!(%error, "redis rate limit check failed; request let through");
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tonic::{Code, Status};
    use tonic_types::StatusExt;

    #[test]
    fn bucket_allows_a_burst_then_the_rate() {
        let start = Instant::now();
        let mut bucket = Bucket {
            tokens: 3.0,
            at: start,
        };
        for _ in 0..3 {
            assert!(take(&mut bucket, start, 2.0, 3.0).is_ok());
        }
        let wait = take(&mut bucket, start, 2.0, 3.0).unwrap_err();
        assert!((wait.as_secs_f64() - 0.5).abs() < 1e-9, "{wait:?}");
        // Half a second later one token has come back, not more.
        let later = start + Duration::from_millis(500);
        assert!(take(&mut bucket, later, 2.0, 3.0).is_ok());
        assert!(take(&mut bucket, later, 2.0, 3.0).is_err());
    }

    fn caller(rate: u32, burst: u32) -> (TenantId, Limits) {
        (
            TenantId("limited".to_owned()),
            Limits {
                requests_per_second: rate,
                burst,
                ..Limits::default()
            },
        )
    }

    /// Two gateways on one Redis share a tenant's bucket.
    #[tokio::test]
    async fn redis_buckets_are_shared_by_every_gateway() {
        let url = std::env::var("MOLBATCH_TEST_REDIS_URL")
            .unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned());
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let prefix = format!("molbatch-test-{}-{nanos}:", std::process::id());
        let (a, b) = (
            RateLimiter::redis(&url, &prefix).unwrap(),
            RateLimiter::redis(&url, &prefix).unwrap(),
        );
        let (tenant, limits) = caller(1, 3);
        for limiter in [&a, &b, &a] {
            limiter.admit(&tenant, &limits).await.unwrap();
        }
        let refused = Status::from(b.admit(&tenant, &limits).await.unwrap_err());
        assert_eq!(refused.code(), Code::ResourceExhausted);
        let wait = refused
            .get_details_retry_info()
            .and_then(|r| r.retry_delay)
            .unwrap();
        assert!(
            wait > Duration::ZERO && wait <= Duration::from_secs(1),
            "{wait:?}"
        );
        let mut connection = redis::Client::open(url.as_str())
            .unwrap()
            .get_multiplexed_async_connection()
            .await
            .unwrap();
        let deleted: u32 = redis::cmd("DEL")
            .arg(format!("{prefix}ratelimit:limited"))
            .query_async(&mut connection)
            .await
            .unwrap();
        assert_eq!(deleted, 1, "the bucket lives under the prefix");
    }

    #[tokio::test]
    async fn local_buckets_refuse_with_a_retry_delay() {
        let limiter = RateLimiter::local();
        let (tenant, limits) = caller(2, 2);
        limiter.admit(&tenant, &limits).await.unwrap();
        limiter.admit(&tenant, &limits).await.unwrap();
        let refused = Status::from(limiter.admit(&tenant, &limits).await.unwrap_err());
        assert!(
            refused.message().contains("2 requests per second"),
            "{}",
            refused.message()
        );
        assert!(refused.get_details_retry_info().is_some());
    }

    #[test]
    fn tenant_quotas_override_only_what_they_set() {
        let defaults = Limits::default();
        let quotas = pb::Quotas {
            max_concurrent_jobs: 2,
            ..Default::default()
        };
        let limits = defaults.with(Some(&quotas));
        assert_eq!(limits.max_concurrent_jobs, 2);
        assert_eq!(limits.max_molecules_per_job, defaults.max_molecules_per_job);
    }
}
