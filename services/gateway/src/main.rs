//! `molbatch-gateway`: the gateway on its own, for Kubernetes.

use clap::Parser;

#[derive(Parser)]
#[command(about = "molbatch gateway")]
struct Args {
    #[command(flatten)]
    config: molbatch_gateway::Config,
    #[command(flatten)]
    logs: molbatch_telemetry::LogArgs,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    molbatch_telemetry::init_tracing_for("molbatch-gateway", args.logs.log_format)?;
    molbatch_gateway::serve(args.config).await?;
    molbatch_telemetry::shutdown_tracing().await;
    Ok(())
}
