//! The admin HTTP server every service runs beside its gRPC port, for
//! Prometheus and the kubelet:
//!
//! - `GET /metrics`: the process registry ([`crate::metrics`]) as OpenMetrics text;
//! - `GET /healthz`: 200 `ok` while the process serves at all (liveness);
//! - `GET /readyz`: 200 when every registered [`Readiness`] check passes
//!   within its timeout, otherwise 503 with a JSON body naming each failing
//!   check (readiness).
//!
//! Binding is separate from running ([`AdminServer::bind`], then
//! [`AdminServer::run`] or [`AdminServer::spawn`]), so tests use port 0. The
//! server is off unless `--admin-listen` / `MOLBATCH_ADMIN_LISTEN` gives it an
//! address ([`AdminArgs`]): the embedded single-machine setup has no scraper.
//! The admin port is for the cluster only (the NetworkPolicies keep it so):
//! failing checks' error text is shown to whoever asks.

use std::fmt::Display;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Serialize;
use tokio::net::TcpListener;
use tokio::task::JoinSet;

use crate::net::{bind, BindError};

/// How long one readiness check may take before it counts as failing.
pub const CHECK_TIMEOUT: Duration = Duration::from_secs(1);

/// Where the admin server listens; services flatten it into their command line.
#[derive(Debug, Clone, Default, PartialEq, Eq, clap::Args)]
pub struct AdminArgs {
    /// The admin HTTP address (`/metrics`, `/healthz`, `/readyz`); none, the
    /// default, runs no admin server.
    #[arg(long = "admin-listen", env = "MOLBATCH_ADMIN_LISTEN")]
    pub admin_listen: Option<SocketAddr>,
}

impl AdminArgs {
    /// Binds the admin server when an address is configured.
    pub async fn bind(&self) -> Result<Option<AdminServer>, BindError> {
        match self.admin_listen {
            Some(addr) => AdminServer::bind(addr).await.map(Some),
            None => Ok(None),
        }
    }
}

type CheckFuture = Pin<Box<dyn Future<Output = Result<(), String>> + Send>>;
type CheckFn = Arc<dyn Fn() -> CheckFuture + Send + Sync>;

/// The readiness checks `/readyz` runs, each named and bounded by
/// [`CHECK_TIMEOUT`]:
///
/// ```
/// # use molbatch_telemetry::admin::Readiness;
/// let readiness = Readiness::new()
///     .check("database", || async { Ok::<(), std::io::Error>(()) })
///     .check("migrations", || async { Err("not applied yet") });
/// ```
#[derive(Clone, Default)]
pub struct Readiness {
    checks: Vec<(String, CheckFn)>,
}

impl std::fmt::Debug for Readiness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.checks.iter().map(|(name, _)| name))
            .finish()
    }
}

impl Readiness {
    /// No checks: always ready.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds the check `name`: `check` is called on every `/readyz` request and
    /// its future passes with `Ok`; an `Err`, a panic or taking longer than
    /// [`CHECK_TIMEOUT`] fails it.
    pub fn check<F, Fut, E>(mut self, name: impl Into<String>, check: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), E>> + Send + 'static,
        E: Display,
    {
        let check: CheckFn = Arc::new(move || {
            let fut = check();
            Box::pin(async move { fut.await.map_err(|err| err.to_string()) })
        });
        self.checks.push((name.into(), check));
        self
    }

    /// Runs every check at once and returns the failing ones, in the order
    /// they were added.
    pub async fn failing(&self) -> Vec<FailedCheck> {
        let mut running = JoinSet::new();
        for (index, (_, check)) in self.checks.iter().enumerate() {
            let fut = check();
            running.spawn(async move { (index, tokio::time::timeout(CHECK_TIMEOUT, fut).await) });
        }
        let mut outcomes: Vec<Option<String>> = vec![None; self.checks.len()];
        let mut finished = vec![false; self.checks.len()];
        while let Some(joined) = running.join_next().await {
            if let Ok((index, outcome)) = joined {
                finished[index] = true;
                outcomes[index] = match outcome {
                    Ok(Ok(())) => None,
                    Ok(Err(err)) => Some(err),
                    Err(_) => Some(format!("timed out after {CHECK_TIMEOUT:?}")),
                };
            }
        }
        self.checks
            .iter()
            .zip(outcomes.into_iter().zip(finished))
            .filter_map(|((name, _), (outcome, finished))| {
                let error = if finished {
                    outcome?
                } else {
                    "the check panicked".to_owned()
                };
                Some(FailedCheck {
                    check: name.clone(),
                    error,
                })
            })
            .collect()
    }
}

/// A readiness check that did not pass, as `/readyz` reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FailedCheck {
    /// The check's name.
    pub check: String,
    /// Its error, or that it timed out or panicked.
    pub error: String,
}

/// The JSON body of a 503 from `/readyz`.
#[derive(Debug, Serialize)]
struct NotReady {
    status: &'static str,
    failing: Vec<FailedCheck>,
}

/// The admin routes, without a listener (tests drive it with `oneshot`).
pub fn router(readiness: Readiness) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .with_state(Arc::new(readiness))
}

async fn metrics() -> Response {
    (
        [(header::CONTENT_TYPE, crate::metrics::CONTENT_TYPE)],
        crate::metrics::encode(),
    )
        .into_response()
}

async fn healthz() -> &'static str {
    "ok"
}

async fn readyz(State(readiness): State<Arc<Readiness>>) -> Response {
    let failing = readiness.failing().await;
    if failing.is_empty() {
        return "ok".into_response();
    }
    for failed in &failing {
        tracing::warn!(check = %failed.check, error = %failed.error, "not ready");
    }
    (
        StatusCode::SERVICE_UNAVAILABLE,
        Json(NotReady {
            status: "unavailable",
            failing,
        }),
    )
        .into_response()
}

/// The admin server failed while serving.
#[derive(Debug, thiserror::Error)]
#[error("admin server on {addr} failed: {source}")]
pub struct AdminError {
    /// Where it listened.
    pub addr: SocketAddr,
    /// The I/O error.
    pub source: std::io::Error,
}

/// An admin server whose listener is bound.
#[derive(Debug)]
pub struct AdminServer {
    listener: TcpListener,
    addr: SocketAddr,
    readiness: Readiness,
}

impl AdminServer {
    /// Binds `addr` (port 0 picks a free port); no readiness checks yet.
    pub async fn bind(addr: SocketAddr) -> Result<Self, BindError> {
        let (listener, addr) = bind(addr).await?;
        Ok(Self {
            listener,
            addr,
            readiness: Readiness::new(),
        })
    }

    /// The checks `/readyz` runs, replacing any set before.
    pub fn with_readiness(mut self, readiness: Readiness) -> Self {
        self.readiness = readiness;
        self
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Serves until `shutdown` resolves, then finishes the requests in flight.
    pub async fn run(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), AdminError> {
        let Self {
            listener,
            addr,
            readiness,
        } = self;
        tracing::info!(%addr, "admin server listening");
        axum::serve(listener, router(readiness))
            .with_graceful_shutdown(shutdown)
            .await
            .map_err(|source| AdminError { addr, source })
    }

    /// [`run`](Self::run) on a task; await the handle after `shutdown` resolves.
    pub fn spawn(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> tokio::task::JoinHandle<Result<(), AdminError>> {
        tokio::spawn(self.run(shutdown))
    }

    /// Serves on a task until [`AdminHandle::stop`]: what a service does
    /// beside its gRPC server, which owns the process's shutdown signal.
    pub fn start(self) -> AdminHandle {
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = self.spawn(async move {
            let _ = stopped.await;
        });
        AdminHandle { stop, task }
    }
}

/// An admin server started with [`AdminServer::start`].
#[derive(Debug)]
pub struct AdminHandle {
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<Result<(), AdminError>>,
}

impl AdminHandle {
    /// Stops the server and waits for it; an error it stopped with is logged.
    pub async fn stop(self) {
        let _ = self.stop.send(());
        match self.task.await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::warn!(error = %e, "admin server failed"),
            Err(e) => tracing::warn!(error = %e, "admin server task failed"),
        }
    }
}
