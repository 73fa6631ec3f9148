//! The gateway: molbatch's only public door. It serves `molbatch.v1` over
//! gRPC and as REST/JSON (plus HTTP health and the OpenAPI document) on one
//! port, validates requests, scopes them to the caller's tenant, parses
//! uploads as streams and forwards to the scheduler and storage. It owns no
//! tables.
//!
//! - [`auth`]: API keys, roles and rate limits in front of every public
//!   call; [`key_checks`] (private): the bounded Argon2 work behind it;
//!   [`limits`]: quotas and the token buckets.
//! - [`error`]: what a call can fail with, and the one place an error
//!   becomes a `Status` (internal causes are logged, never sent).
//! - [`grpc`]: the public service (admin RPCs in `admin`).
//! - [`rest`]: REST/JSON transcoded from the service's `google.api.http`
//!   annotations, calling [`grpc`] as gRPC; `GET /openapi.json`.
//! - [`upload`] (private): streaming intake of batch files and inline batches.
//! - [`tls`]: HTTPS and gRPC over TLS on the public port, certificates
//!   reloaded when their files change.
//! - [`web`]: the browser app's static files at `/`, same origin as REST.
//! - `webhooks` (private): the tenant's webhook endpoints, forwarded to the
//!   scheduler with the caller's tenant, registrations audited.

mod admin;
pub mod auth;
pub mod config;
pub mod error;
mod export;
pub mod grpc;
mod key_checks;
pub mod limits;
pub mod rest;
pub mod tls;
mod upload;
pub mod web;
mod webhooks;

use molbatch_telemetry::admin::AdminServer;
use molbatch_telemetry::metrics::RpcMetricsLayer;
use std::future::Future;
use std::net::SocketAddr;

use axum::routing::get;
use molbatch_proto::internal::analytics_client::AnalyticsClient;
use molbatch_proto::internal::identity_client::IdentityClient;
use molbatch_proto::internal::scheduler_client::SchedulerClient;
use molbatch_proto::internal::storage_client::StorageClient;
use molbatch_proto::internal::webhooks_client::WebhooksClient;
use molbatch_proto::v1::mol_batch_server::MolBatchServer;
use molbatch_telemetry::net::{bind, lazy_channel};
use tokio::net::TcpListener;

pub use config::Config;

/// Largest gRPC message accepted or sent (inline batches, result pages),
/// and largest REST JSON body.
const MAX_MESSAGE_BYTES: usize = 64 << 20;

/// The public service, the one reflected and served over REST.
pub const PUBLIC_SERVICE: &str = "molbatch.v1.MolBatch";

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
    /// The rate-limit Redis URL is not valid.
    #[error("invalid gateway Redis URL: {0}")]
    Redis(redis::RedisError),
    /// The TLS certificate or key could not be read.
    #[error("cannot read the TLS certificate and key: {0}")]
    Tls(std::io::Error),
}

/// A gateway whose listeners are bound.
pub struct Server {
    http: (TcpListener, SocketAddr),
    grpc: Option<(TcpListener, SocketAddr)>,
    api: grpc::GatewayApi,
    admin: Option<AdminServer>,
    bootstrap_key_file: Option<std::path::PathBuf>,
    tls: Option<tls::Tls>,
}

impl Server {
    /// Prepares connections (lazily) and binds the listeners.
    pub async fn bind(config: Config) -> Result<Self, StartError> {
        let scheduler_channel: molbatch_telemetry::net::Channel =
            lazy_channel(&config.upstreams.scheduler_url, None)?;
        let scheduler = SchedulerClient::new(scheduler_channel.clone());
        let webhooks = WebhooksClient::new(scheduler_channel.clone());
        let limiter = match &config.redis_url {
            Some(url) => {
                limits::RateLimiter::redis(url, &config.redis_prefix).map_err(StartError::Redis)?
            }
            None => limits::RateLimiter::local(),
        };
        let auth = auth::Authenticator::new(
            IdentityClient::new(scheduler_channel),
            config.limits,
            limiter,
        )
        .trusting_forwarded_for(config.trust_forwarded_for);
        let storage = StorageClient::new(lazy_channel(&config.upstreams.storage_url, None)?)
            .max_decoding_message_size(MAX_MESSAGE_BYTES)
            .max_encoding_message_size(MAX_MESSAGE_BYTES);
        let analytics = AnalyticsClient::new(lazy_channel(&config.analytics_url, None)?)
            .max_decoding_message_size(MAX_MESSAGE_BYTES)
            .max_encoding_message_size(MAX_MESSAGE_BYTES);
        let api = grpc::GatewayApi::new(
            grpc::Upstreams {
                scheduler,
                storage,
                analytics,
                webhooks,
            },
            auth,
            config.chunk_size,
            config.max_inline_molecules,
        );
        let http = bind(config.http).await?;
        let grpc = match config.grpc {
            Some(addr) => Some(bind(addr).await?),
            None => None,
        };
        let admin = config.admin.bind().await?;
        let tls = match (&config.tls_cert, &config.tls_key) {
            (Some(cert), Some(key)) => {
                Some(tls::Tls::load(cert, key).await.map_err(StartError::Tls)?)
            }
            _ => None,
        };
        Ok(Self {
            http,
            grpc,
            api,
            admin,
            bootstrap_key_file: config.bootstrap_key_file,
            tls,
        })
    }

    /// Makes the first admin key if no admin key exists and a bootstrap
    /// file is configured; resolves to the file when it wrote it. The
    /// scheduler may still be starting (Kubernetes), so it retries for a
    /// minute while the scheduler is unavailable.
    pub fn bootstrap(
        &self,
    ) -> impl Future<Output = Result<Option<std::path::PathBuf>, tonic::Status>> + Send + 'static
    {
        let path = self.bootstrap_key_file.clone();
        let mut identity = self.api.auth.identity();
        async move {
            let Some(path) = path else { return Ok(None) };
            let mut attempt = 0;
            loop {
                match auth::bootstrap(&mut identity, &path).await {
                    Ok(wrote) => return Ok(wrote.then_some(path)),
                    Err(error::GatewayError::Upstream(status))
                        if status.code() == tonic::Code::Unavailable && attempt < 60 =>
                    {
                        attempt += 1;
                        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                    }
                    Err(error) => return Err(error.into()),
                }
            }
        }
    }

    /// The public (gRPC + HTTP) address.
    pub fn local_addr(&self) -> SocketAddr {
        self.http.1
    }

    /// Whether the public port speaks TLS (`https://`).
    pub fn is_tls(&self) -> bool {
        self.tls.is_some()
    }

    /// The extra gRPC-only address, if configured.
    pub fn grpc_addr(&self) -> Option<SocketAddr> {
        self.grpc.as_ref().map(|g| g.1)
    }

    fn router(api: grpc::GatewayApi) -> Result<axum::Router, StartError> {
        let api_auth = api.auth.clone();
        let reflection = tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(molbatch_proto::FILE_DESCRIPTOR_SET)
            .with_service_name(PUBLIC_SERVICE)
            .build_v1()?;
        let (_reporter, health) = tonic_health::server::health_reporter();
        let public = MolBatchServer::new(api)
            .max_decoding_message_size(MAX_MESSAGE_BYTES)
            .max_encoding_message_size(MAX_MESSAGE_BYTES);
        let auth = api_auth;
        let grpc = tonic::service::Routes::new(public)
            .add_service(health)
            .add_service(reflection)
            .into_axum_router()
            .layer(axum::middleware::from_fn_with_state(auth, auth::middleware))
            .layer(RpcMetricsLayer::new("gateway"))
            .layer(molbatch_telemetry::trace::server_layer("gateway"));
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
                async move {
                    if web::serves(request.method(), request.uri().path()) {
                        return web::respond(request.uri().path(), request.headers());
                    }
                    rest.handle(request).await
                }
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
                axum::serve(listener, with_client_address(router))
                    .with_graceful_shutdown(stop)
                    .await
            })
        });
        let served = match &self.tls {
            Some(tls) => {
                tokio::spawn(tls.clone().watch(stopped(stop_rx.clone())));
                tls.serve(self.http.0, router, stopped(stop_rx)).await
            }
            None => {
                axum::serve(self.http.0, with_client_address(router))
                    .with_graceful_shutdown(stopped(stop_rx))
                    .await
            }
        };
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

/// The router's service with each request's peer address in its extensions
/// (`ConnectInfo`), for the budgets per client address.
fn with_client_address(
    router: axum::Router,
) -> axum::extract::connect_info::IntoMakeServiceWithConnectInfo<axum::Router, SocketAddr> {
    router.into_make_service_with_connect_info::<SocketAddr>()
}

/// Entry point for the binary and for `molbatch serve`.
pub async fn serve(config: Config) -> Result<(), StartError> {
    let server = Server::bind(config).await?;
    let bootstrap = server.bootstrap();
    tokio::spawn(async move {
        match bootstrap.await {
            Ok(Some(path)) => tracing::info!(
                path = %path.display(),
                "no admin key existed: wrote the first admin key (mode 0600)"
            ),
            Ok(None) => {}
            Err(status) => tracing::error!(%status, "could not create the bootstrap admin key"),
        }
    });
    server.run(molbatch_telemetry::shutdown_signal()).await
}

#[cfg(test)]
mod tests {
    //! The router answered without a socket (`tower::ServiceExt::oneshot`):
    //! what needs no upstream is tested here, not through a served process.
    use super::*;
    use axum::body::Body;
    use http::{Request, StatusCode};
    use tower::ServiceExt;

    /// The gateway's router, its upstreams at an address nothing listens on.
    fn router() -> axum::Router {
        let nowhere = || -> molbatch_telemetry::net::Channel {
            lazy_channel("http://127.0.0.1:9", None).unwrap()
        };
        let auth = auth::Authenticator::new(
            IdentityClient::new(nowhere()),
            limits::Limits::default(),
            limits::RateLimiter::local(),
        );
        let upstreams = grpc::Upstreams {
            scheduler: SchedulerClient::new(nowhere()),
            storage: StorageClient::new(nowhere()),
            analytics: AnalyticsClient::new(nowhere()),
            webhooks: WebhooksClient::new(nowhere()),
        };
        Server::router(grpc::GatewayApi::new(upstreams, auth, 1_000, 1_000)).unwrap()
    }

    async fn get(path: &str, key: Option<&str>) -> (StatusCode, serde_json::Value) {
        let mut request = Request::get(path);
        if let Some(key) = key {
            request = request.header(http::header::AUTHORIZATION, format!("Bearer {key}"));
        }
        let response = router()
            .oneshot(request.body(Body::empty()).unwrap())
            .await
            .unwrap();
        let status = response.status();
        let bytes = axum::body::to_bytes(response.into_body(), 1 << 24)
            .await
            .unwrap();
        let json = serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null);
        (status, json)
    }

    #[tokio::test]
    async fn health_and_the_openapi_document_need_no_upstream() {
        assert_eq!(get("/healthz", None).await.0, StatusCode::OK);
        let (status, openapi) = get("/openapi.json", None).await;
        assert_eq!(status, StatusCode::OK);
        assert!(openapi["paths"]["/v1/jobs"].is_object(), "{openapi}");
    }

    #[tokio::test]
    async fn rest_errors_before_any_upstream_are_google_json() {
        let (status, body) = get("/v1/nothing-here", None).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
        assert_eq!(body["error"]["status"], "NOT_FOUND");
        let (status, body) = get("/v1/jobs", None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .starts_with("no API key"),
            "{body}"
        );
    }

    /// A well-formed key sends the gateway to the Identity service, which is
    /// not there: the client hears UNAVAILABLE, not the connection error.
    #[tokio::test]
    async fn an_unreachable_upstream_is_unavailable_without_its_error_text() {
        let key = format!("mbk_{}_{}", "a".repeat(12), "b".repeat(64));
        let (status, body) = get("/v1/jobs", Some(&key)).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
        assert_eq!(
            body["error"]["message"],
            error::UNAVAILABLE_MESSAGE,
            "{body}"
        );
    }
}
