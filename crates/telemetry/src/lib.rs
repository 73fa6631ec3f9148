//! What every service shares around its core, and nothing that knows about
//! molecules:
//!
//! - [`trace`]: the tracing subscriber ([`init_tracing_for`]), OpenTelemetry
//!   export over OTLP when `OTEL_EXPORTER_OTLP_ENDPOINT` is set
//!   ([`shutdown_tracing`] flushes it), and the tower layers carrying W3C
//!   trace context in gRPC metadata ([`trace::server_layer`],
//!   [`trace::client_layer`]);
//! - [`metrics`]: the process's Prometheus registry, every molbatch metric
//!   family ([`metrics::get`]) and the per-RPC layer ([`metrics::RpcMetricsLayer`]);
//! - [`admin`]: the admin HTTP server (`/metrics`, `/healthz`, `/readyz`);
//! - [`net`]: binding before serving and dialling other services lazily;
//! - [`shutdown_signal`]: Ctrl-C or SIGTERM.
//!
//! This crate depends on no other molbatch crate.

pub mod admin;
pub mod metrics;
pub mod net;
pub mod trace;

pub use trace::{flush_tracing, init_tracing, init_tracing_for, shutdown_tracing};

/// Resolves on Ctrl-C or, on Unix, SIGTERM (what Kubernetes sends first).
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutdown signal received");
}
