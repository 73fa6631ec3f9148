//! Analytics workers: stateless processes that lease chunk tasks from the
//! scheduler, run the per-molecule chemistry pipeline on all cores, store the
//! results in storage and complete the task. They own no tables.
//!
//! - [`worker`]: the lease → compute → store → complete loop.
//! - [`sar`]: matched molecular pairs and activity cliffs (the `mmp` analysis);
//!   [`parts`]: its parts (fragmenting ranges of the results, any worker)
//!   and the task joining them.
//! - [`rgroups`]: R-group decomposition against a core (the `rgroups` analysis).
//! - [`interactive`] and [`depictions`]: the synchronous API the gateway
//!   calls: similarity and substructure search in a job ([`substructure`]:
//!   the keys the worker stores with each chunk, and pages of hits), and SVG depictions (single and
//!   batched, optionally highlighting a structural alert); [`error`]: what
//!   it answers on failure, internal causes logged and never sent.
//! - [`analyses`]: the batch analyses of a completed job; [`outcome`]: what
//!   each ends with (a result, a skip or an [`outcome::AnalysisError`]).
//! - [`export`] and [`report`]: export files, and the batch report (HTML
//!   or PDF) of a job's analyses.
//! - [`compute`]: chemistry outcomes mapped to `MoleculeResult`s, and the
//!   WORKER_CRASH error results of a poisoned task (a molecule on which
//!   workers died repeatedly, which the chemistry is never run on again).

pub mod analyses;
pub mod compute;
pub mod config;
pub mod depictions;
pub mod error;
pub mod export;
pub mod files;
pub mod interactive;
pub mod outcome;
pub mod parts;
pub mod report;
pub mod result_cache;
pub mod rgroups;
pub mod sar;
pub mod substructure;
pub mod worker;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use molbatch_proto::internal::analytics_server::AnalyticsServer;
use molbatch_proto::internal::scheduler_client::SchedulerClient;
use molbatch_proto::internal::storage_client::StorageClient;
use molbatch_telemetry::admin::AdminServer;
use molbatch_telemetry::metrics::RpcMetricsLayer;
use molbatch_telemetry::net::{bind, lazy_channel};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

pub use config::Config;

/// Largest message a worker sends or receives (a chunk of large molecules).
const MAX_MESSAGE_BYTES: usize = 64 << 20;
/// Longest call to another service (long-polls included).
const CALL_TIMEOUT: Duration = Duration::from_secs(120);

/// Why the worker could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The chemistry core could not be set up.
    #[error("cannot set up the chemistry pipeline: {0}")]
    Chem(#[from] molbatch_chem::ChemError),
    /// A service URL is not valid.
    #[error(transparent)]
    Url(#[from] molbatch_telemetry::net::UrlError),
    /// The listen address could not be bound.
    #[error(transparent)]
    Bind(#[from] molbatch_telemetry::net::BindError),
    /// The health server failed.
    #[error("gRPC server failed: {0}")]
    Transport(#[from] tonic::transport::Error),
    /// The internal TLS certificate, key or CA could not be used.
    #[error(transparent)]
    Tls(#[from] molbatch_telemetry::net::TlsError),
}

/// A worker process whose pipeline is built and whose health listener is bound.
pub struct Server {
    listener: TcpListener,
    addr: SocketAddr,
    worker: worker::Worker,
    interactive: interactive::AnalyticsApi,
    loops: u32,
    admin: Option<AdminServer>,
}

impl Server {
    /// Builds the chemistry pipeline, prepares connections (lazily, so start
    /// order does not matter) and binds the health listener.
    pub async fn bind(config: Config) -> Result<Self, StartError> {
        // Building the filter catalogs takes a moment, once, before serving.
        let pipeline = Arc::new(molbatch_chem::Pipeline::new()?);
        let scheduler = SchedulerClient::new(lazy_channel(
            &config.upstreams.scheduler_url,
            Some(CALL_TIMEOUT),
        )?)
        .max_decoding_message_size(MAX_MESSAGE_BYTES);
        let storage = StorageClient::new(lazy_channel(
            &config.upstreams.storage_url,
            Some(CALL_TIMEOUT),
        )?)
        .max_decoding_message_size(MAX_MESSAGE_BYTES)
        .max_encoding_message_size(MAX_MESSAGE_BYTES);
        // Ready once bound: the pipeline is built and upstreams are dialled
        // lazily, so a worker waits for the scheduler rather than failing.
        let admin = config.admin.bind().await?;
        let (listener, addr) = bind(config.listen).await?;
        let interactive = interactive::AnalyticsApi::new(storage.clone(), pipeline.clone());
        let worker = worker::Worker {
            pipeline,
            scheduler,
            storage,
            worker_id: config.worker_id(),
            lease_wait_ms: config.lease_wait_ms,
            result_cache: config.result_cache,
            mmp_memory_bytes: config.mmp_memory_mb << 20,
            pipeline_version: molbatch_chem::pipeline_version().into(),
            #[cfg(feature = "test-hooks")]
            test_abort_on_smiles: config.test_abort_on_smiles.map(Arc::from),
        };
        #[cfg(feature = "test-hooks")]
        if let Some(smiles) = &worker.test_abort_on_smiles {
            tracing::warn!(%smiles, "TEST ONLY: this worker aborts on a planted poison molecule");
        }
        Ok(Self {
            listener,
            addr,
            worker,
            interactive,
            loops: config.concurrent_chunks.max(1),
            admin,
        })
    }

    /// The bound health address.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Works until `shutdown` resolves; chunks in progress are finished.
    pub async fn run(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), StartError> {
        let (reporter, health) = tonic_health::server::health_reporter();
        reporter
            .set_service_status("", tonic_health::ServingStatus::Serving)
            .await;
        let stop = CancellationToken::new();
        let loops: Vec<_> = (0..self.loops)
            .map(|_| tokio::spawn(self.worker.clone().run(stop.clone())))
            .collect();
        tracing::info!(addr = %self.addr, loops = self.loops, "analytics worker running");
        let admin = self.admin.map(AdminServer::start);
        let served = molbatch_telemetry::net::server()?
            .layer(RpcMetricsLayer::new("analytics"))
            .layer(molbatch_telemetry::trace::server_layer("analytics"))
            .add_service(health)
            .add_service(
                AnalyticsServer::new(self.interactive)
                    .max_encoding_message_size(MAX_MESSAGE_BYTES)
                    .max_decoding_message_size(MAX_MESSAGE_BYTES),
            )
            .serve_with_incoming_shutdown(
                molbatch_telemetry::net::incoming(self.listener),
                shutdown,
            )
            .await;
        stop.cancel();
        for handle in loops {
            let _ = handle.await;
        }
        if let Some(admin) = admin {
            admin.stop().await;
        }
        served?;
        Ok(())
    }
}

/// Entry point for the binary and for `molbatch serve`.
pub async fn serve(config: Config) -> Result<(), StartError> {
    Server::bind(config)
        .await?
        .run(molbatch_telemetry::shutdown_signal())
        .await
}
