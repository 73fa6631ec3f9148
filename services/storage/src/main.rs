//! `molbatch-storage`: the storage service on its own, for Kubernetes.

use clap::Parser;

#[derive(Parser)]
#[command(about = "molbatch storage service")]
struct Args {
    #[command(flatten)]
    config: molbatch_storage::Config,
    #[command(flatten)]
    logs: molbatch_telemetry::LogArgs,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    molbatch_telemetry::init_tracing_for("molbatch-storage", args.logs.log_format)?;
    molbatch_storage::serve(args.config).await?;
    molbatch_telemetry::shutdown_tracing().await;
    Ok(())
}
