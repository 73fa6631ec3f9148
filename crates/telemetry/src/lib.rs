//! What every service shares around its core: structured logging set-up, the
//! shutdown signal, and binding/dialling ([`net`]). Metrics and OpenTelemetry export join this crate when
//! the observability work lands (issue 8); nothing here knows about molecules.

pub mod net;

use tracing_subscriber::EnvFilter;

/// Installs the global tracing subscriber: human-readable lines on stderr,
/// filtered by `RUST_LOG` (default `info`, with sqlx's per-query logs at
/// `warn`). Safe to call twice; the second call does nothing.
pub fn init_tracing() {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,h2=warn,tower=warn,hyper=warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false)
        .try_init();
}

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
