//! `molbatch-operator`: the MoleculeBatch controller, for Kubernetes;
//! `molbatch-operator crd` prints the CustomResourceDefinition.

use clap::Parser;

#[derive(Parser)]
#[command(about = "molbatch MoleculeBatch operator")]
struct Args {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    config: molbatch_operator::Config,
    #[command(flatten)]
    logs: molbatch_telemetry::LogArgs,
}

#[derive(clap::Subcommand)]
enum Command {
    /// Prints the MoleculeBatch CustomResourceDefinition as JSON.
    Crd,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    if let Some(Command::Crd) = args.command {
        println!(
            "{}",
            serde_json::to_string_pretty(&molbatch_operator::crd::definition())?
        );
        return Ok(());
    }
    molbatch_telemetry::init_tracing_for("molbatch-operator", args.logs.log_format)?;
    molbatch_operator::run(args.config, molbatch_telemetry::shutdown_signal()).await?;
    molbatch_telemetry::shutdown_tracing().await;
    Ok(())
}
