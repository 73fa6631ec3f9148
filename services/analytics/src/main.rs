//! `molbatch-analytics`: an analytics worker on its own, for Kubernetes.

use clap::Parser;

#[derive(Parser)]
#[command(about = "molbatch analytics worker")]
struct Args {
    #[command(flatten)]
    config: molbatch_analytics::Config,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    molbatch_telemetry::init_tracing_for("molbatch-analytics")?;
    molbatch_analytics::serve(Args::parse().config).await?;
    molbatch_telemetry::shutdown_tracing().await;
    Ok(())
}
