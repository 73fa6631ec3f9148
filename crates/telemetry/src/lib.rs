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
//! - [`net`]: binding before serving and dialling other services lazily
//!   over a [`net::Channel`] that carries trace context;
//! - [`shutdown_signal`]: Ctrl-C or SIGTERM.
//!
//! This crate depends on no other molbatch crate.
//!
//! How a service wires it (the health service standing in for its own):
//!
//! ```no_run
//! use molbatch_telemetry::{admin::{AdminArgs, Readiness}, metrics::RpcMetricsLayer, net, trace};
//! # async fn serve(admin: AdminArgs, logs: molbatch_telemetry::LogArgs) -> Result<(), Box<dyn std::error::Error>> {
//! // Text or JSON lines (`--log-format`); OTLP if OTEL_EXPORTER_OTLP_ENDPOINT.
//! molbatch_telemetry::init_tracing_for("molbatch-scheduler", logs.log_format)?;
//! let storage: net::Channel = net::lazy_channel("http://127.0.0.1:50053", None)?; // client: traceparent out
//! let readiness = Readiness::new().check("storage", || async { Ok::<(), std::io::Error>(()) });
//! let admin = admin.bind().await?.map(|a| a.with_readiness(readiness).spawn(molbatch_telemetry::shutdown_signal()));
//! let (_reporter, health) = tonic_health::server::health_reporter();
//! tonic::transport::Server::builder()
//!     .layer(RpcMetricsLayer::new("scheduler")) // molbatch_rpc_requests_total, _duration_seconds
//!     .layer(trace::server_layer("scheduler")) // traceparent in, one server span per RPC
//!     .add_service(health)
//!     .serve_with_shutdown("127.0.0.1:50052".parse()?, molbatch_telemetry::shutdown_signal())
//!     .await?;
//! if let Some(admin) = admin { admin.await??; }
//! molbatch_telemetry::shutdown_tracing().await; // flush spans
//! # drop(storage); Ok(()) }
//! ```

pub mod admin;
pub mod metrics;
pub mod net;
pub mod trace;

pub use trace::{
    flush_tracing, init_tracing, init_tracing_as, init_tracing_for, shutdown_tracing, LogArgs,
    LogFormat,
};

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
