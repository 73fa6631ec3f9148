//! `molbatch-analytics`: an analytics worker on its own, for Kubernetes.

use clap::Parser;

#[derive(Parser)]
#[command(about = "molbatch analytics worker")]
struct Args {
    #[command(flatten)]
    config: molbatch_analytics::Config,
    #[command(flatten)]
    logs: molbatch_telemetry::LogArgs,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    molbatch_telemetry::init_tracing_for("molbatch-analytics", args.logs.log_format)?;
    molbatch_analytics::serve(args.config).await?;
    molbatch_telemetry::shutdown_tracing().await;
    Ok(())
}
