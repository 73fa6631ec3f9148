//! `molbatch`: the user's front door. `molbatch serve` runs everything in one
//! process; every other subcommand talks to a server.

use std::process::ExitCode;

use clap::Parser;

#[tokio::main]
async fn main() -> ExitCode {
    molbatch_telemetry::init_tracing();
    match molbatch::commands::run(molbatch::commands::Cli::parse()).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
