//! Analytics worker configuration: flags, or `MOLBATCH_ANALYTICS_*`
//! environment variables for Kubernetes.

use std::net::SocketAddr;

use crate::result_cache::CacheScope;

/// Settings of an analytics worker process.
#[derive(Debug, Clone, clap::Args)]
pub struct Config {
    /// Address to serve gRPC health on (port 0 picks a free one).
    #[arg(
        long = "analytics-listen",
        env = "MOLBATCH_ANALYTICS_LISTEN",
        default_value = "127.0.0.1:50054"
    )]
    pub listen: SocketAddr,
    /// The scheduler and storage to call.
    #[command(flatten)]
    pub upstreams: molbatch_telemetry::net::Upstreams,
    /// Chunks worked on at once; each spreads its molecules over all cores,
    /// so two keep the cores busy while the other chunk does I/O.
    #[arg(
        long = "concurrent-chunks",
        env = "MOLBATCH_ANALYTICS_CONCURRENT_CHUNKS",
        default_value_t = 2
    )]
    pub concurrent_chunks: u32,
    /// Longest long-poll for work, in milliseconds.
    #[arg(
        long = "lease-wait-ms",
        env = "MOLBATCH_ANALYTICS_LEASE_WAIT_MS",
        default_value_t = 5_000
    )]
    pub lease_wait_ms: u32,
    /// Whose earlier results a chunk reuses instead of computing them again:
    /// `tenant` (a tenant's own; the default), `shared` (every tenant's: lets
    /// a tenant tell by timing that a structure was submitted before) or
    /// `off`.
    #[arg(
        long = "result-cache",
        env = "MOLBATCH_RESULT_CACHE",
        value_enum,
        default_value_t = CacheScope::Tenant
    )]
    pub result_cache: CacheScope,
    /// Memory the `mmp` analysis's pairing may hold, in MiB: its index is
    /// spilled to disk (the temporary directory, `TMPDIR`) and paired in
    /// groups of about three quarters of this; the transforms' sums hold the
    /// rest and spill there too past it.
    #[arg(
        long = "mmp-memory-mb",
        env = "MOLBATCH_ANALYTICS_MMP_MEMORY_MB",
        default_value_t = 1_024
    )]
    pub mmp_memory_mb: u64,
    /// Name of this worker in leases and logs (default: host name and pid).
    #[arg(long = "worker-id", env = "MOLBATCH_ANALYTICS_WORKER_ID")]
    pub worker_id: Option<String>,
    /// TEST ONLY, built only with the `test-hooks` feature (release
    /// binaries lack the flag): the worker process aborts (as if RDKit
    /// crashed it) when it is about to compute a molecule whose input SMILES
    /// is exactly this. Failure tests use it to plant a poison molecule in a
    /// batch. Off by default.
    #[cfg(feature = "test-hooks")]
    #[arg(
        long = "test-abort-on-smiles",
        env = "MOLBATCH_ANALYTICS_TEST_ABORT_ON_SMILES",
        value_name = "SMILES"
    )]
    pub test_abort_on_smiles: Option<String>,
    /// The admin port (`/metrics`, `/healthz`, `/readyz`).
    #[command(flatten)]
    pub admin: molbatch_telemetry::admin::AdminArgs,
}

impl Config {
    /// The embedded set-up: a free loopback port, talking to the given
    /// scheduler and storage.
    pub fn embedded(upstreams: molbatch_telemetry::net::Upstreams) -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            upstreams,
            concurrent_chunks: 2,
            lease_wait_ms: 5_000,
            result_cache: CacheScope::Tenant,
            mmp_memory_mb: 1_024,
            worker_id: None,
            #[cfg(feature = "test-hooks")]
            test_abort_on_smiles: None,
            admin: molbatch_telemetry::admin::AdminArgs::default(),
        }
    }

    /// The worker id to present.
    pub fn worker_id(&self) -> String {
        self.worker_id.clone().unwrap_or_else(|| {
            let host = std::fs::read_to_string("/etc/hostname").unwrap_or_default();
            format!("{}-{}", host.trim(), std::process::id())
        })
    }
}
