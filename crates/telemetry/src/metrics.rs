//! Prometheus metrics: the one registry of the process ([`registry`]), every
//! molbatch metric family in one struct ([`get`]), and a tower layer that counts
//! and times the RPCs of a tonic server ([`RpcMetricsLayer`]).
//!
//! Names follow Prometheus conventions: `molbatch_<area>_<name>_<unit>`, base
//! units (seconds), counters end in `_total`. prometheus-client appends the
//! `_total` suffix of counters and the unit itself, so families are registered
//! by their stem. Labels are bounded: never a job id, a SMILES or a free-form
//! string; tenant ids are the one exception, on queue depth, which the
//! autoscaler needs by tenant.
//!
//! The exposition ([`encode`]) is OpenMetrics text, which Prometheus scrapes
//! natively; the admin server ([`crate::admin`]) serves it on `/metrics`.
//! This module never starts a server and never reads configuration.

use std::fmt::Write as _;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Mutex, MutexGuard, OnceLock, PoisonError};
use std::task::{Context, Poll};
use std::time::Instant;

use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue, LabelValueEncoder};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::{Registry, Unit};
use tonic::Code;

/// The OpenMetrics content type that [`encode`] produces.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// The process-wide registry. Services may register families of their own in
/// it; the molbatch families ([`get`]) are registered on first use of either.
pub fn registry() -> MutexGuard<'static, Registry> {
    // Registering the molbatch families first means they are present in every
    // scrape, even before anything records into them.
    let _ = get();
    raw_registry()
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
}

fn raw_registry() -> &'static Mutex<Registry> {
    static REGISTRY: OnceLock<Mutex<Registry>> = OnceLock::new();
    REGISTRY.get_or_init(|| Mutex::new(Registry::default()))
}

/// The registry in OpenMetrics text exposition format (what `/metrics` serves).
/// Gauges read at scrape time ([`watch_db_pool`]) are read first.
pub fn encode() -> String {
    read_db_pools();
    let registry = registry();
    let mut text = String::new();
    if let Err(err) = prometheus_client::encoding::text::encode(&mut text, &registry) {
        // Only a failing `fmt::Write` can cause this, and a `String` never fails.
        tracing::error!(error = %err, "cannot encode metrics");
        text.clear();
        let _ = writeln!(text, "# EOF");
    }
    text
}

/// The molbatch metric families, registered once per process; see [`get`].
///
/// Each field is a family (or a metric) so that a call site is one line:
/// `metrics::get().task_retries.inc();`,
/// `metrics::get().queue_depth(&QueueLabels { .. }).set(n);`.
#[derive(Debug)]
pub struct Metrics {
    /// `molbatch_rpc_requests_total{service,method,code}`: finished RPCs.
    pub rpc_requests: Family<RpcLabels, Counter>,
    /// `molbatch_rpc_duration_seconds{service,method}`: time to the response headers.
    pub rpc_duration: Family<RpcMethodLabels, Histogram, fn() -> Histogram>,
    /// `molbatch_queue_depth{queue,priority,tenant}`: tasks waiting in a queue.
    pub queue_depth: Family<QueueLabels, Gauge>,
    /// `molbatch_workers_active`: analytics workers holding or asking for leases.
    pub workers_active: Gauge,
    /// `molbatch_jobs_stuck`: running jobs that made no progress for too long.
    pub jobs_stuck: Gauge,
    /// `molbatch_molecules_processed_total{outcome}`: molecules through the pipeline.
    pub molecules_processed: Family<OutcomeLabels, Counter>,
    /// `molbatch_task_retries_total`: chunk tasks offered again after a failure.
    pub task_retries: Counter,
    /// `molbatch_lease_expiries_total`: task leases that ran out.
    pub lease_expiries: Counter,
    /// `molbatch_chunk_splits_total`: chunks split in halves after repeated crashes.
    pub chunk_splits: Counter,
    /// `molbatch_cache_requests_total{cache,result}`: cache look-ups, hit or miss.
    pub cache_requests: Family<CacheLabels, Counter>,
    /// `molbatch_job_duration_seconds`: from submission to a final state.
    pub job_duration: Histogram,
    /// `molbatch_task_duration_seconds{kind}`: one task from lease to completion.
    pub task_duration: Family<TaskLabels, Histogram, fn() -> Histogram>,
    /// `molbatch_db_pool_connections{service,state}`: database pool connections.
    pub db_pool_connections: Family<PoolLabels, Gauge>,
    /// `molbatch_key_checks_total{outcome}`: API key secrets checked with
    /// Argon2 (`verified`, `rejected`), or refused unchecked (`throttled`).
    pub key_checks: Family<KeyCheckLabels, Counter>,
}

/// Labels of `molbatch_rpc_requests_total`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub struct RpcLabels {
    /// The molbatch service serving the RPC (`gateway`, `scheduler`, ...).
    pub service: &'static str,
    /// `package.Service/Method`, or `unknown` for a path no service implements.
    pub method: String,
    /// The gRPC status code name (`OK`, `NotFound`, ...).
    pub code: &'static str,
}

/// Labels of `molbatch_rpc_duration_seconds`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub struct RpcMethodLabels {
    /// The molbatch service serving the RPC.
    pub service: &'static str,
    /// `package.Service/Method`.
    pub method: String,
}

/// Labels of `molbatch_queue_depth`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub struct QueueLabels {
    /// The queue (`chunks`, `analyses`, ...).
    pub queue: String,
    /// The priority class.
    pub priority: String,
    /// The tenant id.
    pub tenant: String,
}

/// Labels of `molbatch_molecules_processed_total`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub struct OutcomeLabels {
    /// Whether RDKit accepted the molecule.
    pub outcome: Outcome,
}

/// What became of a processed molecule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// A result with descriptors (`valid`).
    Valid,
    /// A result carrying an error code (`invalid`).
    Invalid,
}

/// Label values spelled as Prometheus label values are (`in_use`), not as
/// Rust variants are: what the derive would write.
macro_rules! label_values {
    ($($ty:ty { $($variant:ident => $value:literal),+ $(,)? })+) => {$(
        impl $ty {
            /// The label value.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $value),+
                }
            }
        }

        impl EncodeLabelValue for $ty {
            fn encode(&self, encoder: &mut LabelValueEncoder<'_>) -> Result<(), std::fmt::Error> {
                EncodeLabelValue::encode(&self.as_str(), encoder)
            }
        }
    )+};
}

label_values! {
    Outcome { Valid => "valid", Invalid => "invalid" }
    CacheResult { Hit => "hit", Miss => "miss" }
    PoolState { Idle => "idle", InUse => "in_use" }
    KeyCheck { Verified => "verified", Rejected => "rejected", Throttled => "throttled" }
}

/// Labels of `molbatch_key_checks_total`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub struct KeyCheckLabels {
    /// What came of the check.
    pub outcome: KeyCheck,
}

/// What came of checking an API key's secret.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyCheck {
    /// Argon2 ran and the secret matched (`verified`).
    Verified,
    /// Argon2 ran and the secret did not match (`rejected`).
    Rejected,
    /// Refused without running Argon2: over a budget (`throttled`).
    Throttled,
}

/// Labels of `molbatch_cache_requests_total`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub struct CacheLabels {
    /// Which cache (`results`, `jobs`, ...).
    pub cache: &'static str,
    /// Hit or miss.
    pub result: CacheResult,
}

/// Whether a cache look-up found its entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CacheResult {
    /// Found (`hit`).
    Hit,
    /// Not found (`miss`).
    Miss,
}

/// Labels of `molbatch_task_duration_seconds`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub struct TaskLabels {
    /// The task kind (`chunk`, `analysis`, ...).
    pub kind: &'static str,
}

/// Labels of `molbatch_db_pool_connections`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub struct PoolLabels {
    /// The service owning the pool.
    pub service: &'static str,
    /// Idle or in use.
    pub state: PoolState,
}

/// The state of a pooled database connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PoolState {
    /// Open and unused (`idle`).
    Idle,
    /// Checked out (`in_use`).
    InUse,
}

/// The molbatch families, registered in [`registry`] on first call.
pub fn get() -> &'static Metrics {
    static METRICS: OnceLock<Metrics> = OnceLock::new();
    METRICS.get_or_init(|| {
        let metrics = Metrics::new();
        metrics.register(
            &mut raw_registry()
                .lock()
                .unwrap_or_else(PoisonError::into_inner),
        );
        metrics
    })
}

/// Prometheus' default buckets, 5 ms to 10 s: RPCs.
fn rpc_histogram() -> Histogram {
    Histogram::new([
        0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
    ])
}

/// 10 ms to about 20 min (x2.5 steps): one task.
fn task_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.01, 2.5, 14))
}

impl Metrics {
    fn new() -> Self {
        Self {
            rpc_requests: Family::default(),
            rpc_duration: Family::new_with_constructor(rpc_histogram as fn() -> Histogram),
            queue_depth: Family::default(),
            workers_active: Gauge::default(),
            jobs_stuck: Gauge::default(),
            molecules_processed: Family::default(),
            task_retries: Counter::default(),
            lease_expiries: Counter::default(),
            chunk_splits: Counter::default(),
            cache_requests: Family::default(),
            // 1 s to about 9 h (x2 steps): a whole job.
            job_duration: Histogram::new(exponential_buckets(1.0, 2.0, 16)),
            task_duration: Family::new_with_constructor(task_histogram as fn() -> Histogram),
            db_pool_connections: Family::default(),
            key_checks: Family::default(),
        }
    }

    fn register(&self, r: &mut Registry) {
        r.register(
            "molbatch_rpc_requests",
            "gRPC requests served, by service, method and status code",
            self.rpc_requests.clone(),
        );
        r.register_with_unit(
            "molbatch_rpc_duration",
            "gRPC request latency to the response headers",
            Unit::Seconds,
            self.rpc_duration.clone(),
        );
        r.register(
            "molbatch_queue_depth",
            "Tasks waiting in a queue, by queue, priority and tenant",
            self.queue_depth.clone(),
        );
        r.register(
            "molbatch_workers_active",
            "Analytics workers currently active",
            self.workers_active.clone(),
        );
        r.register(
            "molbatch_jobs_stuck",
            "Running jobs without progress for longer than the stuck threshold",
            self.jobs_stuck.clone(),
        );
        r.register(
            "molbatch_molecules_processed",
            "Molecules processed, by outcome (valid or invalid)",
            self.molecules_processed.clone(),
        );
        r.register(
            "molbatch_task_retries",
            "Chunk tasks retried after a failure",
            self.task_retries.clone(),
        );
        r.register(
            "molbatch_lease_expiries",
            "Task leases that expired before completion (taken over by a new lease, or reaped on the last attempt)",
            self.lease_expiries.clone(),
        );
        r.register(
            "molbatch_chunk_splits",
            "Chunks split in halves after repeated worker crashes",
            self.chunk_splits.clone(),
        );
        r.register(
            "molbatch_cache_requests",
            "Cache look-ups, by cache and result (hit or miss)",
            self.cache_requests.clone(),
        );
        r.register_with_unit(
            "molbatch_job_duration",
            "Job duration from submission to a final state",
            Unit::Seconds,
            self.job_duration.clone(),
        );
        r.register_with_unit(
            "molbatch_task_duration",
            "Task duration from lease to completion, by kind",
            Unit::Seconds,
            self.task_duration.clone(),
        );
        r.register(
            "molbatch_db_pool_connections",
            "Database pool connections, by service and state (idle or in_use)",
            self.db_pool_connections.clone(),
        );
        r.register(
            "molbatch_key_checks",
            "API key secrets checked with Argon2 (verified, rejected) or refused unchecked over a budget (throttled)",
            self.key_checks.clone(),
        );
    }

    /// The `molbatch_queue_depth` gauge of one queue, priority and tenant.
    pub fn queue_depth(&self, labels: &QueueLabels) -> Gauge {
        self.queue_depth.get_or_create_owned(labels)
    }

    /// Counts `n` processed molecules with one outcome.
    pub fn molecules_processed(&self, outcome: Outcome, n: u64) {
        self.molecules_processed
            .get_or_create(&OutcomeLabels { outcome })
            .inc_by(n);
    }

    /// Counts one look-up of `cache`.
    pub fn cache_request(&self, cache: &'static str, result: CacheResult) {
        self.cache_lookups(cache, result, 1);
    }

    /// Counts `n` look-ups of `cache` with the same result.
    pub fn cache_lookups(&self, cache: &'static str, result: CacheResult, n: u64) {
        self.cache_requests
            .get_or_create(&CacheLabels { cache, result })
            .inc_by(n);
    }

    /// Records how long one task of `kind` took, in seconds.
    pub fn task_duration(&self, kind: &'static str, seconds: f64) {
        self.task_duration
            .get_or_create(&TaskLabels { kind })
            .observe(seconds);
    }

    /// Sets the idle and in-use connection counts of `service`'s pool.
    pub fn db_pool(&self, service: &'static str, idle: i64, in_use: i64) {
        self.db_pool_connections
            .get_or_create(&PoolLabels {
                service,
                state: PoolState::Idle,
            })
            .set(idle);
        self.db_pool_connections
            .get_or_create(&PoolLabels {
                service,
                state: PoolState::InUse,
            })
            .set(in_use);
    }
}

/// A database pool's connections at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolUsage {
    /// Open connections, idle or checked out.
    pub open: u32,
    /// Open connections not checked out.
    pub idle: u32,
}

impl PoolUsage {
    /// From what a sqlx pool reports (`size()`, `num_idle()`).
    pub fn new(open: u32, idle: usize) -> Self {
        Self {
            open,
            idle: u32::try_from(idle).unwrap_or(u32::MAX),
        }
    }
}

type PoolReader = Box<dyn Fn() -> PoolUsage + Send + Sync>;

fn pool_readers() -> MutexGuard<'static, Vec<(&'static str, PoolReader)>> {
    static READERS: OnceLock<Mutex<Vec<(&'static str, PoolReader)>>> = OnceLock::new();
    READERS
        .get_or_init(|| Mutex::new(Vec::new()))
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
}

/// Reports `service`'s database pool in `molbatch_db_pool_connections`,
/// read by `usage` at every scrape, so the gauges are never stale. A second
/// call for the same service replaces the first (a restarted server in one
/// process).
pub fn watch_db_pool(service: &'static str, usage: impl Fn() -> PoolUsage + Send + Sync + 'static) {
    let mut readers = pool_readers();
    readers.retain(|(watched, _)| *watched != service);
    readers.push((service, Box::new(usage)));
}

fn read_db_pools() {
    let metrics = get();
    for (service, usage) in pool_readers().iter() {
        let PoolUsage { open, idle } = usage();
        let idle = idle.min(open);
        metrics.db_pool(service, i64::from(idle), i64::from(open - idle));
    }
}

/// The `molbatch_queue_depth` family, for call sites that set many queues.
pub fn queue_depth() -> &'static Family<QueueLabels, Gauge> {
    &get().queue_depth
}

/// A tower layer for tonic servers that counts every RPC in
/// `molbatch_rpc_requests_total{service,method,code}` and times it in
/// `molbatch_rpc_duration_seconds{service,method}`:
/// `Server::builder().layer(RpcMetricsLayer::new("scheduler"))`.
///
/// The code comes from the `grpc-status` response header. A handler that
/// fails before answering produces a trailers-only response whose headers
/// carry it; a response without one in its headers is counted `OK`, since its
/// status only comes in the trailers. So a streaming call that starts fine
/// and fails later is counted by its initial status, `OK`, and its duration
/// is the time to its response headers, not to the end of the stream.
/// Unimplemented paths are counted as method `unknown`, so that requests for
/// made-up paths cannot grow the label set.
#[derive(Debug, Clone, Copy)]
pub struct RpcMetricsLayer {
    service: &'static str,
}

impl RpcMetricsLayer {
    /// A layer labelling its metrics `service=<service>`.
    pub fn new(service: &'static str) -> Self {
        Self { service }
    }
}

impl<S> tower::Layer<S> for RpcMetricsLayer {
    type Service = RpcMetrics<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RpcMetrics {
            inner,
            service: self.service,
        }
    }
}

/// The service [`RpcMetricsLayer`] wraps around a tonic server's routes.
#[derive(Debug, Clone)]
pub struct RpcMetrics<S> {
    inner: S,
    service: &'static str,
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

impl<S, B, R> tower::Service<http::Request<B>> for RpcMetrics<S>
where
    S: tower::Service<http::Request<B>, Response = http::Response<R>>,
    S::Future: Send + 'static,
{
    type Response = http::Response<R>;
    type Error = S::Error;
    type Future = BoxFuture<Result<http::Response<R>, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let method = grpc_method(request.uri().path()).to_owned();
        let service = self.service;
        let started = Instant::now();
        let response = self.inner.call(request);
        Box::pin(async move {
            let response = response.await;
            let code = match &response {
                Ok(response) => response_code(response.headers()),
                // The routes of a tonic server never fail; a layer below that
                // did has sent no status at all.
                Err(_) => Code::Unknown,
            };
            record_rpc(service, method, code, started.elapsed().as_secs_f64());
            response
        })
    }
}

/// Counts one RPC of `method` (`package.Service/Method`) served by `service`
/// that ended with `code` after `seconds`; what [`RpcMetricsLayer`] calls, for
/// servers that are not tonic's.
pub fn record_rpc(service: &'static str, method: String, code: Code, seconds: f64) {
    let method = if code == Code::Unimplemented {
        "unknown".to_owned()
    } else {
        method
    };
    let metrics = get();
    metrics
        .rpc_duration
        .get_or_create(&RpcMethodLabels {
            service,
            method: method.clone(),
        })
        .observe(seconds);
    metrics
        .rpc_requests
        .get_or_create(&RpcLabels {
            service,
            method,
            code: code_name(code),
        })
        .inc();
}

/// `package.Service/Method` from a gRPC request path `/package.Service/Method`.
pub(crate) fn grpc_method(path: &str) -> &str {
    path.strip_prefix('/').unwrap_or(path)
}

/// The status in a response's headers; `OK` when they carry none (see
/// [`RpcMetricsLayer`] for why that is an approximation).
fn response_code(headers: &http::HeaderMap) -> Code {
    headers
        .get("grpc-status")
        .map_or(Code::Ok, |value| Code::from_bytes(value.as_bytes()))
}

/// The label value of a gRPC status code: the name gRPC uses in its own
/// metrics (`OK`, `NotFound`, ...).
pub fn code_name(code: Code) -> &'static str {
    match code {
        Code::Ok => "OK",
        Code::Cancelled => "Canceled",
        Code::Unknown => "Unknown",
        Code::InvalidArgument => "InvalidArgument",
        Code::DeadlineExceeded => "DeadlineExceeded",
        Code::NotFound => "NotFound",
        Code::AlreadyExists => "AlreadyExists",
        Code::PermissionDenied => "PermissionDenied",
        Code::ResourceExhausted => "ResourceExhausted",
        Code::FailedPrecondition => "FailedPrecondition",
        Code::Aborted => "Aborted",
        Code::OutOfRange => "OutOfRange",
        Code::Unimplemented => "Unimplemented",
        Code::Internal => "Internal",
        Code::Unavailable => "Unavailable",
        Code::DataLoss => "DataLoss",
        Code::Unauthenticated => "Unauthenticated",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families_are_exposed_with_prometheus_names() {
        let m = get();
        m.task_retries.inc();
        m.molecules_processed(Outcome::Invalid, 3);
        m.cache_request("results", CacheResult::Hit);
        m.db_pool("storage", 4, 1);
        m.task_duration("chunk", 0.2);
        m.queue_depth(&QueueLabels {
            queue: "chunks".into(),
            priority: "normal".into(),
            tenant: "t1".into(),
        })
        .set(7);
        let text = encode();
        for needle in [
            "molbatch_task_retries_total 1",
            "molbatch_molecules_processed_total{outcome=\"invalid\"} 3",
            "molbatch_cache_requests_total{cache=\"results\",result=\"hit\"} 1",
            "molbatch_db_pool_connections{service=\"storage\",state=\"in_use\"} 1",
            "molbatch_task_duration_seconds_count{kind=\"chunk\"} 1",
            "molbatch_queue_depth{queue=\"chunks\",priority=\"normal\",tenant=\"t1\"} 7",
            "# TYPE molbatch_job_duration_seconds histogram",
            "molbatch_job_duration_seconds_count 0",
            "molbatch_workers_active 0",
            "molbatch_jobs_stuck 0",
            "molbatch_lease_expiries_total 0",
            "molbatch_chunk_splits_total 0",
        ] {
            assert!(text.contains(needle), "{needle:?} missing from\n{text}");
        }
        assert!(text.ends_with("# EOF\n"));
    }

    #[test]
    fn pool_gauges_are_read_at_every_scrape() {
        use std::sync::atomic::{AtomicU32, Ordering};
        use std::sync::Arc;
        let open = Arc::new(AtomicU32::new(5));
        let idle = Arc::new(AtomicU32::new(2));
        let (o, i) = (open.clone(), idle.clone());
        watch_db_pool("pool-test", move || PoolUsage {
            open: o.load(Ordering::Relaxed),
            idle: i.load(Ordering::Relaxed),
        });
        let gauge = |text: &str, state: &str| {
            let needle =
                format!("molbatch_db_pool_connections{{service=\"pool-test\",state=\"{state}\"}} ");
            text.lines()
                .find_map(|line| line.strip_prefix(needle.as_str()))
                .map(str::to_owned)
        };
        let text = encode();
        assert_eq!(gauge(&text, "in_use").as_deref(), Some("3"), "{text}");
        assert_eq!(gauge(&text, "idle").as_deref(), Some("2"));
        open.store(1, Ordering::Relaxed);
        idle.store(1, Ordering::Relaxed);
        let text = encode();
        assert_eq!(gauge(&text, "in_use").as_deref(), Some("0"));
        assert_eq!(gauge(&text, "idle").as_deref(), Some("1"));
    }

    #[test]
    fn status_header_decides_the_code() {
        let mut headers = http::HeaderMap::new();
        assert_eq!(response_code(&headers), Code::Ok);
        headers.insert("grpc-status", http::HeaderValue::from_static("5"));
        assert_eq!(response_code(&headers), Code::NotFound);
        assert_eq!(grpc_method("/a.b.C/M"), "a.b.C/M");
    }
}
