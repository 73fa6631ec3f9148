//! `molbatch-scheduler`: the batch scheduler on its own, for Kubernetes.

use clap::Parser;

#[derive(Parser)]
#[command(about = "molbatch batch scheduler")]
struct Args {
    #[command(flatten)]
    config: molbatch_scheduler::Config,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    molbatch_telemetry::init_tracing_for("molbatch-scheduler")?;
    molbatch_scheduler::serve(Args::parse().config).await?;
    molbatch_telemetry::shutdown_tracing().await;
    Ok(())
}
