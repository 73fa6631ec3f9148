//! Scheduler configuration: flags, or `MOLBATCH_SCHEDULER_*` environment
//! variables for Kubernetes. Defaults are the embedded single-machine set-up.

use std::net::SocketAddr;

use crate::jobs::RetryPolicy;

/// Settings of the batch scheduler.
#[derive(Debug, Clone, clap::Args)]
pub struct Config {
    /// Address to serve gRPC on (port 0 picks a free one).
    #[arg(
        long = "scheduler-listen",
        env = "MOLBATCH_SCHEDULER_LISTEN",
        default_value = "127.0.0.1:50052"
    )]
    pub listen: SocketAddr,
    /// Database URL; its scheme picks the backend. `postgres://` or
    /// `postgresql://` (e.g. `postgres://user:password@host:5432/molbatch`) is
    /// the production backend shared by every replica; `sqlite://PATH` is the
    /// embedded single-machine one. Any other scheme is refused at start-up.
    #[arg(
        long = "scheduler-database-url",
        env = "MOLBATCH_SCHEDULER_DATABASE_URL",
        default_value = "sqlite://molbatch-data/scheduler.db"
    )]
    pub database_url: String,
    /// How long a lease lasts without renewal, in milliseconds.
    #[arg(
        long = "lease-ttl-ms",
        env = "MOLBATCH_SCHEDULER_LEASE_TTL_MS",
        default_value_t = 30_000
    )]
    pub lease_ttl_ms: u32,
    /// Leases a chunk gets before it is split in halves (a single molecule is
    /// then handed out poisoned and reported as an error).
    #[arg(
        long = "max-attempts",
        env = "MOLBATCH_SCHEDULER_MAX_ATTEMPTS",
        default_value_t = 3
    )]
    pub max_attempts: u32,
    /// Backoff before a chunk's second attempt, doubling after each further
    /// one, in milliseconds.
    #[arg(
        long = "retry-backoff-ms",
        env = "MOLBATCH_SCHEDULER_RETRY_BACKOFF_MS",
        default_value_t = 1_000
    )]
    pub retry_backoff_ms: u32,
    /// How long an ended job's results and analyses are kept, in seconds;
    /// afterwards the job answers NOT_FOUND saying it expired and storage
    /// deletes its data.
    #[arg(
        long = "retention-secs",
        env = "MOLBATCH_SCHEDULER_RETENTION_SECS",
        default_value_t = 86_400
    )]
    pub retention_secs: u64,
    /// Molecules per part of an analysis that runs in parts (`mmp`
    /// fragments in parts that workers share; one task joins them).
    #[arg(
        long = "analysis-part-molecules",
        env = "MOLBATCH_SCHEDULER_ANALYSIS_PART_MOLECULES",
        default_value_t = crate::store::DEFAULT_ANALYSIS_PART_MOLECULES,
        value_parser = clap::value_parser!(u64).range(1..)
    )]
    pub analysis_part_molecules: u64,
    /// The storage service, asked to delete expired jobs' data (e.g.
    /// `http://storage:50053`); without it jobs expire but their data stays.
    #[arg(long = "storage-url", env = "MOLBATCH_STORAGE_URL")]
    pub storage_url: Option<String>,
    /// Apply the database migrations and exit (the Kubernetes migrations Job).
    #[arg(long = "migrate-only", env = "MOLBATCH_MIGRATE_ONLY")]
    pub migrate_only: bool,
    /// The admin port (`/metrics`, `/healthz`, `/readyz`).
    #[command(flatten)]
    pub admin: molbatch_telemetry::admin::AdminArgs,
    /// Let webhook endpoints be at loopback, link-local and private
    /// addresses (refused by default: a tenant must not reach the
    /// cluster's internal services through them).
    #[arg(long = "webhook-allow-private", env = "MOLBATCH_WEBHOOK_ALLOW_PRIVATE")]
    pub webhook_allow_private: bool,
    /// The pause before a failed webhook delivery's first retry; each
    /// further one doubles it, up to an hour, for 24 hours.
    #[arg(
        long = "webhook-retry-base-ms",
        env = "MOLBATCH_WEBHOOK_RETRY_BASE_MS",
        default_value_t = 10_000
    )]
    pub webhook_retry_base_ms: u64,
}

impl Config {
    /// The embedded set-up with its database under `data_dir`, on a free
    /// loopback port.
    pub fn embedded(data_dir: &std::path::Path) -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            database_url: format!("sqlite://{}", data_dir.join("scheduler.db").display()),
            lease_ttl_ms: 30_000,
            max_attempts: 3,
            retry_backoff_ms: 1_000,
            retention_secs: 86_400,
            analysis_part_molecules: crate::store::DEFAULT_ANALYSIS_PART_MOLECULES,
            storage_url: None,
            migrate_only: false,
            admin: molbatch_telemetry::admin::AdminArgs::default(),
            webhook_allow_private: false,
            webhook_retry_base_ms: 10_000,
        }
    }

    /// How long ended jobs' results are kept.
    pub fn retention(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.retention_secs)
    }

    /// The retry policy these settings describe.
    pub fn retry_policy(&self) -> RetryPolicy {
        RetryPolicy {
            max_attempts: self.max_attempts.max(1),
            base_backoff_ms: i64::from(self.retry_backoff_ms),
            max_backoff_ms: 60_000,
        }
    }
}
