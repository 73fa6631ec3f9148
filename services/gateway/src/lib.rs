//! The gateway: molbatch's only public door. It serves `molbatch.v1` over
//! gRPC and as REST/JSON (plus HTTP health and the OpenAPI document) on one
//! port, validates requests, scopes them to the caller's tenant, parses
//! uploads as streams and forwards to the scheduler and storage. It owns no
//! tables.
//!
//! - [`grpc`]: the public service.
//! - [`rest`]: REST/JSON transcoded from the service's `google.api.http`
//!   annotations, calling [`grpc`] as gRPC; `GET /openapi.json`.
//! - [`upload`] (private): streaming intake of batch files and inline batches.

pub mod config;
pub mod grpc;
pub mod rest;
mod upload;

use molbatch_telemetry::admin::AdminServer;
use molbatch_telemetry::metrics::RpcMetricsLayer;
use std::future::Future;
use std::net::SocketAddr;

use axum::routing::get;
use molbatch_proto::internal::analytics_client::AnalyticsClient;
use molbatch_proto::internal::scheduler_client::SchedulerClient;
use molbatch_proto::internal::storage_client::StorageClient;
use molbatch_proto::v1::mol_batch_server::MolBatchServer;
use molbatch_telemetry::net::{bind, lazy_channel};
use tokio::net::TcpListener;

pub use config::Config;

/// Largest gRPC message accepted or sent (inline batches, result pages),
/// and largest REST JSON body.
const MAX_MESSAGE_BYTES: usize = 64 << 20;

/// The public service, the one reflected and served over REST.
const PUBLIC_SERVICE: &str = "molbatch.v1.MolBatch";

/// Why the gateway could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// A service URL is not valid.
    #[error(transparent)]
    Url(#[from] molbatch_telemetry::net::UrlError),
    /// A listen address could not be bound.
    #[error(transparent)]
    Bind(#[from] molbatch_telemetry::net::BindError),
    /// Serving failed.
    #[error("server failed: {0}")]
    Serve(std::io::Error),
    /// The reflection service could not be built.
    #[error("reflection: {0}")]
    Reflection(#[from] tonic_reflection::server::Error),
    /// An HTTP annotation of the public service cannot be served over REST.
    #[error("REST routes: {0}")]
    Routes(#[from] rest::RouteError),
}

/// A gateway whose listeners are bound.
pub struct Server {
    http: (TcpListener, SocketAddr),
    grpc: Option<(TcpListener, SocketAddr)>,
    api: grpc::GatewayApi,
    admin: Option<AdminServer>,
}

impl Server {
    /// Prepares connections (lazily) and binds the listeners.
    pub async fn bind(config: Config) -> Result<Self, StartError> {
        let scheduler = SchedulerClient::new(lazy_channel(&config.upstreams.scheduler_url, None)?);
        let storage = StorageClient::new(lazy_channel(&config.upstreams.storage_url, None)?)
            .max_decoding_message_size(MAX_MESSAGE_BYTES)
            .max_encoding_message_size(MAX_MESSAGE_BYTES);
        let analytics = AnalyticsClient::new(lazy_channel(&config.analytics_url, None)?)
            .max_decoding_message_size(MAX_MESSAGE_BYTES);
        let api = grpc::GatewayApi::new(
            grpc::Upstreams {
                scheduler,
                storage,
                analytics,
            },
            config.chunk_size,
            config.max_inline_molecules,
        );
        let http = bind(config.http).await?;
        let grpc = match config.grpc {
            Some(addr) => Some(bind(addr).await?),
            None => None,
        };
        let admin = config.admin.bind().await?;
        Ok(Self {
            http,
            grpc,
            api,
            admin,
        })
    }

    /// The public (gRPC + HTTP) address.
    pub fn local_addr(&self) -> SocketAddr {
        self.http.1
    }

    /// The extra gRPC-only address, if configured.
    pub fn grpc_addr(&self) -> Option<SocketAddr> {
        self.grpc.as_ref().map(|g| g.1)
    }

    fn router(api: grpc::GatewayApi) -> Result<axum::Router, StartError> {
        let reflection = tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(molbatch_proto::FILE_DESCRIPTOR_SET)
            .with_service_name(PUBLIC_SERVICE)
            .build_v1()?;
        let (_reporter, health) = tonic_health::server::health_reporter();
        let public = MolBatchServer::new(api)
            .max_decoding_message_size(MAX_MESSAGE_BYTES)
            .max_encoding_message_size(MAX_MESSAGE_BYTES);
        let grpc = tonic::service::Routes::new(public)
            .add_service(health)
            .add_service(reflection)
            .into_axum_router()
            .layer(RpcMetricsLayer::new("gateway"));
        // REST calls the same gRPC routes external clients reach.
        let rest = rest::Rest::new(PUBLIC_SERVICE, grpc.clone(), MAX_MESSAGE_BYTES)?;
        let openapi = rest.clone();
        Ok(grpc
            .route("/healthz", get(|| async { "ok\n" }))
            .route(
                "/openapi.json",
                get(move || {
                    let openapi = openapi.clone();
                    async move { openapi.openapi_json() }
                }),
            )
            .fallback(move |request: axum::extract::Request| {
                let rest = rest.clone();
                async move { rest.handle(request).await }
            }))
    }

    /// Serves until `shutdown` resolves.
    pub async fn run(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), StartError> {
        let router = Self::router(self.api)?;
        let admin = self.admin.map(AdminServer::start);
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        tokio::spawn(async move {
            shutdown.await;
            let _ = stop_tx.send(true);
        });
        let stopped = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
            let _ = rx.wait_for(|stop| *stop).await;
        };
        tracing::info!(addr = %self.http.1, "gateway serving gRPC and HTTP");
        let extra = self.grpc.map(|(listener, addr)| {
            tracing::info!(%addr, "gateway serving gRPC");
            let router = router.clone();
            let stop = stopped(stop_rx.clone());
            tokio::spawn(async move {
                axum::serve(listener, router)
                    .with_graceful_shutdown(stop)
                    .await
            })
        });
        let served = axum::serve(self.http.0, router)
            .with_graceful_shutdown(stopped(stop_rx))
            .await;
        if let Some(admin) = admin {
            admin.stop().await;
        }
        if let Some(handle) = extra {
            if let Ok(Err(e)) = handle.await {
                return Err(StartError::Serve(e));
            }
        }
        served.map_err(StartError::Serve)
    }
}

/// Entry point for the binary and for `molbatch serve`.
pub async fn serve(config: Config) -> Result<(), StartError> {
    Server::bind(config)
        .await?
        .run(molbatch_telemetry::shutdown_signal())
        .await
}
