//! The MoleculeBatch operator: `kubectl apply` of a `MoleculeBatch`
//! (`molbatch.io/v1alpha1`) submits its molecules as a molbatch job through
//! the gateway's public gRPC API, the resource's status follows the job
//! (`kubectl get moleculebatches` shows job id, state, progress and counts),
//! and deleting the resource cancels the job.
//!
//! - [`crd`]: the custom resource and its definition ([`crd::definition`]).
//! - [`source`]: the molecules, inline or from a ConfigMap key or a URL.
//! - [`reconcile`]: the reconcile function, finalizer and error policy.
//! - [`run`]: the controller over every namespace (or one), with the admin
//!   server (`/healthz`, `/readyz`, `/metrics`).
//!
//! The operator talks to Kubernetes and to the gateway only; it owns no
//! tables and calls no internal service.

pub mod crd;
pub mod reconcile;
pub mod source;

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt as _;
use kube::runtime::{watcher, Controller};
use kube::Api;

use crate::crd::MoleculeBatch;

/// The operator's configuration: flags, or the environment in Kubernetes.
#[derive(Debug, Clone, clap::Args)]
pub struct Config {
    /// The gateway's gRPC URL.
    #[arg(
        long = "gateway-url",
        env = "MOLBATCH_GATEWAY_URL",
        default_value = "http://127.0.0.1:8080"
    )]
    pub gateway_url: String,
    /// The API key sent when a MoleculeBatch names no Secret.
    #[arg(long = "api-key", env = "MOLBATCH_API_KEY", hide_env_values = true)]
    pub api_key: Option<String>,
    /// Seconds between looks at a running job.
    #[arg(
        long = "poll-interval-secs",
        env = "MOLBATCH_OPERATOR_POLL_INTERVAL_SECS",
        default_value_t = 5
    )]
    pub poll_interval_secs: u64,
    /// Watch MoleculeBatches in this namespace only; every namespace when
    /// not set.
    #[arg(long = "watch-namespace", env = "MOLBATCH_WATCH_NAMESPACE")]
    pub watch_namespace: Option<String>,
    /// The admin server.
    #[command(flatten)]
    pub admin: molbatch_telemetry::admin::AdminArgs,
}

/// Why the operator could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// No kubeconfig or in-cluster configuration.
    #[error("cannot reach Kubernetes: {0}")]
    Kube(#[from] kube::Error),
    /// The admin address could not be bound.
    #[error(transparent)]
    Bind(#[from] molbatch_telemetry::net::BindError),
}

/// Runs the controller until `shutdown` resolves.
pub async fn run(
    config: Config,
    shutdown: impl std::future::Future<Output = ()> + Send + Sync + 'static,
) -> Result<(), StartError> {
    let kube = kube::Client::try_default().await?;
    let admin = config.admin.bind().await?;
    let batches: Api<MoleculeBatch> = match &config.watch_namespace {
        Some(namespace) => Api::namespaced(kube.clone(), namespace),
        None => Api::all(kube.clone()),
    };
    let ctx = Arc::new(reconcile::Context {
        kube,
        gateway_url: config.gateway_url,
        api_key: config.api_key.filter(|k| !k.is_empty()),
        poll_interval: Duration::from_secs(config.poll_interval_secs.max(1)),
    });
    let admin = admin.map(molbatch_telemetry::admin::AdminServer::start);
    tracing::info!(gateway = %ctx.gateway_url, "MoleculeBatch operator running");
    Controller::new(batches, watcher::Config::default())
        .graceful_shutdown_on(shutdown)
        .run(reconcile::reconcile, reconcile::error_policy, ctx)
        .for_each(|result| async move {
            match result {
                Ok((object, _)) => tracing::debug!(name = %object.name, "reconciled"),
                Err(e) => tracing::debug!(error = %e, "reconcile error"),
            }
        })
        .await;
    if let Some(admin) = admin {
        admin.stop().await;
    }
    Ok(())
}
