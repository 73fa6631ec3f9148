//! `molbatch`: the user's front door. `molbatch serve` runs everything in one
//! process; every other subcommand talks to a server.

use std::process::ExitCode;

use clap::Parser;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = molbatch::commands::Cli::parse();
    molbatch_telemetry::init_tracing_as(cli.logs.log_format);
    let outcome = molbatch::commands::run(cli).await;
    // Spans still buffered for OTLP (`molbatch serve` stopped by SIGTERM).
    molbatch_telemetry::shutdown_tracing().await;
    match outcome {
        Ok(code) => code,
        // `molbatch results JOB | head` closing the pipe early is not an error.
        Err(e) if closed_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// True when the error comes from writing to a pipe whose reader has gone.
fn closed_pipe(error: &anyhow::Error) -> bool {
    let broken = |io: &std::io::Error| io.kind() == std::io::ErrorKind::BrokenPipe;
    error.chain().any(|cause| {
        // csv::Error does not expose its io::Error as a source.
        let from_csv = cause.downcast_ref::<csv::Error>().and_then(|e| {
            if let csv::ErrorKind::Io(io) = e.kind() {
                Some(io)
            } else {
                None
            }
        });
        cause
            .downcast_ref::<std::io::Error>()
            .or(from_csv)
            .is_some_and(broken)
    })
}
