//! `molbatch serve`: storage, scheduler, an analytics worker and the gateway
//! in one process, on embedded storage (SQLite files under a data directory,
//! in-process caches) or on Postgres and Redis. Each service binds its own loopback port and they talk
//! gRPC to each other exactly as they do on Kubernetes.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// Where `molbatch serve` listens and keeps its data.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// Directory of the SQLite databases (created if missing).
    pub data_dir: PathBuf,
    /// Public gRPC + HTTP address.
    pub http: SocketAddr,
    /// Extra gRPC-only address.
    pub grpc: Option<SocketAddr>,
    /// Postgres URL for job records, the queue and results instead of the
    /// SQLite files (the scheduler and storage each keep their own schema).
    pub postgres: Option<String>,
    /// Redis URL for the hot caches instead of the in-process cache.
    pub redis: Option<String>,
    /// How long ended jobs' results are kept.
    pub retention: std::time::Duration,
    /// How long a finished export can be downloaded.
    pub export_ttl: std::time::Duration,
    /// Let webhook endpoints be at loopback, link-local and private addresses.
    pub webhook_allow_private: bool,
    /// The pause before a failed webhook delivery's first retry.
    pub webhook_retry_base: std::time::Duration,
    /// Whose earlier results a job reuses.
    pub result_cache: molbatch_analytics::result_cache::CacheScope,
    /// The gateway's PEM certificate chain and key: HTTPS and gRPC over TLS.
    pub tls: Option<(PathBuf, PathBuf)>,
    /// Molecules per part of an analysis that runs in parts (`mmp`).
    pub analysis_part_molecules: u64,
}

/// Why the embedded services could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The data directory could not be created.
    #[error("cannot create data directory {path}: {source}")]
    DataDir {
        /// The directory.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// Storage failed to start.
    #[error("storage: {0}")]
    Storage(#[from] molbatch_storage::StartError),
    /// The scheduler failed to start.
    #[error("scheduler: {0}")]
    Scheduler(#[from] molbatch_scheduler::StartError),
    /// The analytics worker failed to start.
    #[error("analytics: {0}")]
    Analytics(#[from] molbatch_analytics::StartError),
    /// The gateway failed to start.
    #[error("gateway: {0}")]
    Gateway(#[from] molbatch_gateway::StartError),
    /// The first admin key could not be made.
    #[error("bootstrap admin key: {}", .0.message())]
    Bootstrap(tonic::Status),
}

/// All four services running; dropping it does not stop them, call
/// [`Embedded::shutdown`].
pub struct Embedded {
    admin_key_file: PathBuf,
    admin_key_written: bool,
    gateway_addr: SocketAddr,
    grpc_addr: Option<SocketAddr>,
    front: CancellationToken,
    back: CancellationToken,
    front_tasks: Vec<JoinHandle<()>>,
    back_tasks: Vec<JoinHandle<()>>,
}

fn spawn<E: std::fmt::Display + Send + 'static>(
    name: &'static str,
    run: impl std::future::Future<Output = Result<(), E>> + Send + 'static,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        if let Err(e) = run.await {
            tracing::error!(service = name, error = %e, "service stopped with an error");
        }
    })
}

impl Embedded {
    /// Starts the four services; returns once every listener is bound.
    pub async fn start(options: &ServeOptions) -> Result<Self, ServeError> {
        let dir: &Path = &options.data_dir;
        std::fs::create_dir_all(dir).map_err(|source| ServeError::DataDir {
            path: dir.to_owned(),
            source,
        })?;
        let mut storage_config = molbatch_storage::Config::embedded(dir);
        let mut scheduler_config = molbatch_scheduler::Config::embedded(dir);
        if let Some(url) = &options.postgres {
            storage_config.database_url = url.clone();
            scheduler_config.database_url = url.clone();
        }
        storage_config.cache_url = options.redis.clone();
        scheduler_config.retention_secs = options.retention.as_secs();
        scheduler_config.analysis_part_molecules = options.analysis_part_molecules;
        scheduler_config.webhook_allow_private = options.webhook_allow_private;
        scheduler_config.webhook_retry_base_ms = options.webhook_retry_base.as_millis() as u64;
        storage_config.export_ttl_secs = options.export_ttl.as_secs();
        let storage = molbatch_storage::Server::bind(storage_config).await?;
        scheduler_config.storage_url = Some(format!("http://{}", storage.local_addr()));
        let scheduler = molbatch_scheduler::Server::bind(scheduler_config).await?;
        let upstreams = molbatch_telemetry::net::Upstreams {
            scheduler_url: format!("http://{}", scheduler.local_addr()),
            storage_url: format!("http://{}", storage.local_addr()),
        };
        let mut analytics_config = molbatch_analytics::Config::embedded(upstreams.clone());
        analytics_config.result_cache = options.result_cache;
        let analytics = molbatch_analytics::Server::bind(analytics_config).await?;
        let analytics_url = format!("http://{}", analytics.local_addr());
        let mut gateway_config = molbatch_gateway::Config::embedded(
            options.http,
            options.grpc,
            upstreams,
            analytics_url,
        );
        let admin_key_file = molbatch_gateway::auth::bootstrap_key_path(dir);
        gateway_config.bootstrap_key_file = Some(admin_key_file.clone());
        if let Some((cert, key)) = &options.tls {
            gateway_config.tls_cert = Some(cert.clone());
            gateway_config.tls_key = Some(key.clone());
        }
        let gateway = molbatch_gateway::Server::bind(gateway_config).await?;
        let bootstrap = gateway.bootstrap();
        let gateway_addr = gateway.local_addr();
        let grpc_addr = gateway.grpc_addr();
        // The front (gateway, workers) stops before the back (scheduler,
        // storage) so in-flight chunks can still store and complete.
        let (front, back) = (CancellationToken::new(), CancellationToken::new());
        let front_tasks = vec![
            spawn("gateway", gateway.run(front.clone().cancelled_owned())),
            spawn("analytics", analytics.run(front.clone().cancelled_owned())),
        ];
        let back_tasks = vec![
            spawn("scheduler", scheduler.run(back.clone().cancelled_owned())),
            spawn("storage", storage.run(back.clone().cancelled_owned())),
        ];
        let admin_key_written = bootstrap.await.map_err(ServeError::Bootstrap)?.is_some();
        Ok(Self {
            admin_key_file,
            admin_key_written,
            gateway_addr,
            grpc_addr,
            front,
            back,
            front_tasks,
            back_tasks,
        })
    }

    /// The file of the first admin key (`<data dir>/admin.key`).
    pub fn admin_key_file(&self) -> &Path {
        &self.admin_key_file
    }

    /// True when this start wrote the admin key file (no admin key existed).
    pub fn admin_key_written(&self) -> bool {
        self.admin_key_written
    }

    /// The public gRPC + HTTP address.
    pub fn gateway_addr(&self) -> SocketAddr {
        self.gateway_addr
    }

    /// The extra gRPC-only address, if configured.
    pub fn grpc_addr(&self) -> Option<SocketAddr> {
        self.grpc_addr
    }

    /// Stops every service: the gateway and workers first, then the rest.
    /// Connections that stay open (a watch stream) are cut after a grace
    /// period.
    pub async fn shutdown(self) {
        self.front.cancel();
        stop_within_grace(self.front_tasks).await;
        self.back.cancel();
        stop_within_grace(self.back_tasks).await;
    }
}

/// How long services get to drain on shutdown.
const SHUTDOWN_GRACE: std::time::Duration = std::time::Duration::from_secs(10);

async fn stop_within_grace(tasks: Vec<JoinHandle<()>>) {
    for mut task in tasks {
        if tokio::time::timeout(SHUTDOWN_GRACE, &mut task)
            .await
            .is_err()
        {
            task.abort();
        }
    }
}
