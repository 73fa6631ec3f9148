//! `molbatch-gateway`: the gateway on its own, for Kubernetes.

use clap::Parser;

#[derive(Parser)]
#[command(about = "molbatch gateway")]
struct Args {
    #[command(flatten)]
    config: molbatch_gateway::Config,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    molbatch_telemetry::init_tracing_for("molbatch-gateway")?;
    molbatch_gateway::serve(Args::parse().config).await?;
    molbatch_telemetry::shutdown_tracing().await;
    Ok(())
}
