//! `molbatch-scheduler`: the batch scheduler on its own, for Kubernetes.

use clap::Parser;

#[derive(Parser)]
#[command(about = "molbatch batch scheduler")]
struct Args {
    #[command(flatten)]
    config: molbatch_scheduler::Config,
    #[command(flatten)]
    logs: molbatch_telemetry::LogArgs,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    molbatch_telemetry::init_tracing_for("molbatch-scheduler", args.logs.log_format)?;
    molbatch_scheduler::serve(args.config).await?;
    molbatch_telemetry::shutdown_tracing().await;
    Ok(())
}
