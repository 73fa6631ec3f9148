//! `molbatch-storage`: the storage service on its own, for Kubernetes.

use clap::Parser;

#[derive(Parser)]
#[command(about = "molbatch storage service")]
struct Args {
    #[command(flatten)]
    config: molbatch_storage::Config,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    molbatch_telemetry::init_tracing_for("molbatch-storage")?;
    molbatch_storage::serve(Args::parse().config).await?;
    molbatch_telemetry::shutdown_tracing().await;
    Ok(())
}
