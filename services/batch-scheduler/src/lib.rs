//! The batch scheduler: job records and the chunk task queue. It owns the job
//! state machine, chunk tasks, leases, retries with backoff, cancellation,
//! progress events and completion. Only this service writes the job, task and
//! analysis tables; everyone else calls `molbatch.internal.v1.Scheduler`.
//!
//! - [`jobs`]: the state machine and domain records.
//! - [`store`]: the tables behind [`store::JobStore`] (SQLite embedded,
//!   Postgres in production; [`Config::database_url`] picks one).
//! - [`grpc`]: the API, long-poll leasing and the watch stream.
//! - [`identity`]: tenants, API key hashes, the audit log and tenant usage
//!   (`molbatch.internal.v1.Identity`, same port), for the gateway.
//! - [`webhooks`]: tenants' signed webhook endpoints
//!   (`molbatch.internal.v1.Webhooks`, same port) and the loop that turns
//!   finished jobs, analyses and exports into deliveries and sends them.
//! - background passes, once a second: the lease reaper splits chunks whose
//!   lease expired on their last attempt (a single molecule comes back
//!   poisoned), so a molecule that kills workers never strands or fails its
//!   batch; retention expires jobs that ended longer ago than
//!   [`Config::retention_secs`] and asks storage to delete their data (and
//!   a deleted job's, when DeleteJob could not or a late task wrote some). On
//!   Postgres each pass runs under an advisory lock, so replicas take turns.
//!   The gauges the alerts read are set from the shared store on every
//!   replica: queue depth, active workers (holding a lease or having asked
//!   for one in the last minute) and stuck jobs (running, unchanged for ten
//!   minutes).

pub mod analyses;
mod batches;
pub mod config;
pub mod error;
pub mod estimate;
pub mod grpc;
pub mod identity;
pub mod jobs;
pub mod store;
pub mod webhooks;

use std::collections::HashSet;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use molbatch_proto::internal::identity_server::IdentityServer;
use molbatch_proto::internal::scheduler_server::SchedulerServer;
use molbatch_proto::internal::storage_client::StorageClient;
use molbatch_proto::internal::webhooks_server::WebhooksServer;
use molbatch_telemetry::admin::{AdminServer, Readiness};
use molbatch_telemetry::metrics::{QueueLabels, RpcMetricsLayer};
use molbatch_telemetry::net::lazy_channel;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

pub use config::Config;

/// How often the background passes run.
const PASS_INTERVAL: Duration = Duration::from_secs(1);
/// Jobs expired or purged per pass at most.
const RETENTION_BATCH: u32 = 100;
/// A worker counts in `molbatch_workers_active` while it holds an unexpired
/// lease or has asked for leases this recently: two of the longest
/// long-polls, so an idle worker between two polls is never missed.
const WORKER_SEEN_WINDOW: Duration = Duration::from_secs(2 * grpc::MAX_LEASE_WAIT.as_secs());
/// A running job counts in `molbatch_jobs_stuck` once nothing moved it
/// (no lease of a queued job, no chunk completed or split) for this long.
/// A chunk of the default 1,000 molecules takes seconds; the Helm chart's
/// `stuckJobsFor` alert delay comes on top.
const STALLED_AFTER: Duration = Duration::from_secs(10 * 60);

/// Why the service could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The database could not be opened or migrated.
    #[error("cannot open the scheduler database: {0}")]
    Store(#[from] error::StoreError),
    /// The database URL names no backend this service has.
    #[error(
        "unsupported scheduler database URL {url:?}: expected postgres://, postgresql:// or sqlite://"
    )]
    UnsupportedDatabaseUrl {
        /// The URL, its password masked.
        url: String,
    },
    /// The listen address could not be bound.
    #[error(transparent)]
    Bind(#[from] molbatch_telemetry::net::BindError),
    /// The gRPC server failed.
    #[error("gRPC server failed: {0}")]
    Transport(#[from] tonic::transport::Error),
    /// The internal TLS certificate, key or CA could not be used.
    #[error(transparent)]
    Tls(#[from] molbatch_telemetry::net::TlsError),
    /// The storage URL is not a valid endpoint.
    #[error(transparent)]
    StorageUrl(#[from] molbatch_telemetry::net::UrlError),
    /// The system's root certificates could not be read (webhooks over
    /// HTTPS trust them).
    #[error("cannot read the system's root certificates for webhooks: {0}")]
    RootCertificates(std::io::Error),
}

/// A scheduler whose migrations have run and whose listener is bound.
pub struct Server {
    listener: TcpListener,
    addr: SocketAddr,
    api: grpc::SchedulerApi,
    admin: Option<AdminServer>,
    webhooks: webhooks::WebhooksApi,
    sender: webhooks::delivery::Sender,
    retention_ms: i64,
}

impl Server {
    /// Opens the database, applies migrations and binds the listener.
    pub async fn bind(config: Config) -> Result<Self, StartError> {
        let store = open_store(&config).await?;
        let watched = store.clone();
        molbatch_telemetry::metrics::watch_db_pool("scheduler", move || watched.pool_usage());
        let mut api = grpc::SchedulerApi::new(
            store,
            config.retry_policy(),
            config.lease_ttl_ms,
            config.retention(),
        );
        if let Some(url) = &config.storage_url {
            api = api.with_storage(StorageClient::new(lazy_channel(url, None)?));
        }
        let store = api.store().clone();
        let readiness = Readiness::new().check("database", move || {
            let store = store.clone();
            async move { store.ping().await }
        });
        let admin = config
            .admin
            .bind()
            .await?
            .map(|admin| admin.with_readiness(readiness));
        let policy = webhooks::delivery::AddressPolicy {
            allow_private: config.webhook_allow_private,
        };
        let sender = webhooks::delivery::Sender::new(
            policy,
            Duration::from_millis(config.webhook_retry_base_ms),
        )
        .map_err(StartError::RootCertificates)?;
        let webhooks = webhooks::WebhooksApi::new(api.store().webhooks(), policy);
        let (listener, addr) = molbatch_telemetry::net::bind(config.listen).await?;
        Ok(Self {
            listener,
            addr,
            api,
            admin,
            webhooks,
            sender,
            retention_ms: config.retention().as_millis() as i64,
        })
    }

    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Serves until `shutdown` resolves, then stops the reaper and drains.
    pub async fn run(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), StartError> {
        let (reporter, health) = tonic_health::server::health_reporter();
        reporter
            .set_serving::<SchedulerServer<grpc::SchedulerApi>>()
            .await;
        reporter
            .set_serving::<IdentityServer<identity::IdentityApi>>()
            .await;
        reporter
            .set_serving::<WebhooksServer<webhooks::WebhooksApi>>()
            .await;
        let identity = identity::IdentityApi::new(self.api.store().identity());
        let stop = CancellationToken::new();
        let admin = self.admin.map(AdminServer::start);
        let passes = tokio::spawn(background_passes(self.api.clone(), stop.clone()));
        let deliveries = tokio::spawn(webhooks::run(
            self.api.store().clone(),
            self.sender,
            self.retention_ms,
            stop.clone(),
        ));
        tracing::info!(addr = %self.addr, "scheduler serving");
        let served = molbatch_telemetry::net::server()?
            .layer(RpcMetricsLayer::new("scheduler"))
            .layer(molbatch_telemetry::trace::server_layer("scheduler"))
            .add_service(health)
            .add_service(SchedulerServer::new(self.api))
            .add_service(IdentityServer::new(identity))
            .add_service(WebhooksServer::new(self.webhooks))
            .serve_with_incoming_shutdown(
                molbatch_telemetry::net::incoming(self.listener),
                shutdown,
            )
            .await;
        stop.cancel();
        let _ = passes.await;
        let _ = deliveries.await;
        if let Some(admin) = admin {
            admin.stop().await;
        }
        served?;
        Ok(())
    }
}

/// The backend `config`'s database URL names, connected and migrated.
async fn open_store(config: &Config) -> Result<Arc<dyn store::JobStore>, StartError> {
    let url = config.database_url.as_str();
    let scheme = url.split_once("://").map(|(scheme, _)| scheme);
    let store = match scheme {
        Some("postgres" | "postgresql") => store::SqlJobStore::postgres(url).await?,
        Some("sqlite") => store::SqlJobStore::sqlite(url).await?,
        Some(_) | None => {
            return Err(StartError::UnsupportedDatabaseUrl {
                url: mask_password(url),
            })
        }
    };
    Ok(Arc::new(store.with_analysis_part_molecules(
        config.analysis_part_molecules,
    )))
}

/// `url` with the password of its `user:password@` part replaced by `***`,
/// so an error naming the URL leaks no secret.
fn mask_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let authority_end = rest.find('/').unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => match rest[..at].split_once(':') {
            Some((user, _)) => format!("{scheme}://{user}:***{}", &rest[at..]),
            None => url.to_owned(),
        },
        None => url.to_owned(),
    }
}

/// The reaper and retention, once every [`PASS_INTERVAL`] until `stop`.
async fn background_passes(api: grpc::SchedulerApi, stop: CancellationToken) {
    let mut reported = HashSet::new();
    let mut tick = tokio::time::interval(PASS_INTERVAL);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = stop.cancelled() => return,
            _ = tick.tick() => {}
        }
        reap_exhausted_leases(&api).await;
        expire_ended_jobs(&api).await;
        report_queue_depth(&api, &mut reported).await;
        report_activity(&api, molbatch_proto::time::now_ms()).await;
        if api.has_storage() {
            purge_expired_jobs(&api).await;
        }
    }
}

/// Sets `molbatch_queue_depth{queue,priority,tenant}` from the store; labels
/// `reported` before that have no queued task now go back to 0.
async fn report_queue_depth(api: &grpc::SchedulerApi, reported: &mut HashSet<QueueLabels>) {
    let depths = match api.store().queue_depth().await {
        Ok(depths) => depths,
        Err(e) => return tracing::debug!(error = %e, "queue depth not read"),
    };
    let family = molbatch_telemetry::metrics::queue_depth();
    let mut now = HashSet::new();
    for depth in depths {
        let labels = QueueLabels {
            queue: depth.queue,
            priority: depth.priority.to_string(),
            tenant: depth.tenant_id,
        };
        family.get_or_create(&labels).set(depth.tasks);
        now.insert(labels);
    }
    for gone in reported.difference(&now) {
        family.get_or_create(gone).set(0);
    }
    *reported = now;
}

/// Sets `molbatch_workers_active` and `molbatch_jobs_stuck` from the store,
/// which every replica shares, so each replica exports the same values. A
/// failed read leaves the gauges as they were.
async fn report_activity(api: &grpc::SchedulerApi, now: i64) {
    let metrics = molbatch_telemetry::metrics::get();
    let window = WORKER_SEEN_WINDOW.as_millis() as i64;
    match api.store().active_workers(now - window, now).await {
        Ok(workers) => {
            metrics.workers_active.set(workers.len() as i64);
        }
        Err(e) => tracing::debug!(error = %e, "active workers not read"),
    }
    match api
        .store()
        .stalled_jobs(now - STALLED_AFTER.as_millis() as i64)
        .await
    {
        Ok(jobs) => {
            let was = metrics.jobs_stuck.set(jobs.len() as i64);
            if jobs.len() as i64 > was {
                for job in &jobs {
                    tracing::warn!(
                        job_id = %job,
                        stalled_secs = STALLED_AFTER.as_secs(),
                        "running job made no progress"
                    );
                }
            }
        }
        Err(e) => tracing::debug!(error = %e, "stalled jobs not read"),
    }
}

/// Marks jobs that ended more than the retention period ago expired; from
/// then on they answer NOT_FOUND saying so.
async fn expire_ended_jobs(api: &grpc::SchedulerApi) {
    match api
        .store()
        .expire_jobs(
            api.retention_ms(),
            RETENTION_BATCH,
            molbatch_proto::time::now_ms(),
        )
        .await
    {
        Ok(jobs) => {
            for job in jobs {
                tracing::info!(job_id = %job, "job expired: its results will be deleted");
            }
        }
        Err(e) => tracing::warn!(error = %e, "retention pass failed; retrying"),
    }
}

/// Asks storage to delete the data of expired and deleted jobs, recording
/// each deletion it confirms; a failure is retried on the next pass.
async fn purge_expired_jobs(api: &grpc::SchedulerApi) {
    let jobs = match api.store().unpurged_jobs(RETENTION_BATCH).await {
        Ok(jobs) => jobs,
        Err(e) => return tracing::warn!(error = %e, "cannot list expired jobs; retrying"),
    };
    for job in jobs {
        // A DeleteJob call is deleting it and counting what it deletes.
        if api.is_being_deleted(job) {
            continue;
        }
        if let Err(status) = api.purge(job).await {
            return tracing::warn!(job_id = %job, error = %status, "storage did not delete an expired job's data; retrying");
        }
        tracing::info!(job_id = %job, "expired job's data deleted");
    }
}

/// Splits chunks whose lease expired on their last attempt (a single
/// molecule is queued again, poisoned), so no job is left waiting for a
/// worker that died and the molecule that killed it is isolated.
async fn reap_exhausted_leases(api: &grpc::SchedulerApi) {
    match api
        .store()
        .reap_exhausted(api.policy(), molbatch_proto::time::now_ms())
        .await
    {
        Ok(jobs) => {
            for job in &jobs {
                tracing::warn!(job_id = %job, "a chunk's lease expired on its last attempt: split, or poisoned if it held one molecule");
                api.announce(*job);
            }
            if !jobs.is_empty() {
                api.announce_work();
            }
        }
        Err(e) => tracing::warn!(error = %e, "lease reaper failed; retrying"),
    }
}

/// Entry point for the binary and for `molbatch serve`; with
/// [`Config::migrate_only`] it applies the migrations and returns.
pub async fn serve(config: Config) -> Result<(), StartError> {
    if config.migrate_only {
        open_store(&config).await?;
        tracing::info!("scheduler migrations applied");
        return Ok(());
    }
    Server::bind(config)
        .await?
        .run(molbatch_telemetry::shutdown_signal())
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn unknown_database_scheme_is_refused_by_name() {
        for url in ["mysql://u:secret@db/x", "scheduler.db"] {
            let err = Server::bind(Config {
                database_url: url.to_owned(),
                ..Config::embedded(std::path::Path::new("unused"))
            })
            .await
            .err()
            .unwrap();
            let message = err.to_string();
            assert!(
                matches!(err, StartError::UnsupportedDatabaseUrl { .. }),
                "{message}"
            );
            assert!(!message.contains("secret"), "{message}");
            assert!(message.contains(&mask_password(url)), "{message}");
        }
    }

    #[test]
    fn only_the_password_is_masked() {
        assert_eq!(
            mask_password("postgres://app:pw@db:5432/molbatch"),
            "postgres://app:***@db:5432/molbatch"
        );
        assert_eq!(
            mask_password("postgres://app@db/molbatch"),
            "postgres://app@db/molbatch"
        );
        assert_eq!(mask_password("sqlite://a/b.db"), "sqlite://a/b.db");
    }
}
