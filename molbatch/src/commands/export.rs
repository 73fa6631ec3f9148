//! `molbatch export`: a job's results as one file through the export
//! resource: create the export, poll it while a worker writes it, download
//! it. Unlike `results`, the server writes the file (and the report).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::bail;
use clap::{Args, ValueEnum};
use molbatch_client::Client;
use molbatch_proto::v1 as pb;

use crate::output::{output_writer, OutputFormat};

/// Export file formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExportFileFormat {
    /// CSV with the contract's column names.
    Csv,
    /// SD file, as `results --format sdf`.
    Sdf,
    /// One JSON array of results (proto3 JSON).
    Json,
    /// One proto3 JSON result per line.
    Jsonl,
    /// A spreadsheet: a structure image per row, every column, and a
    /// summary sheet (at most 10,000 molecules).
    Xlsx,
    /// The batch report: one self-contained HTML file.
    Report,
    /// The batch report as a PDF.
    #[value(name = "report_pdf")]
    ReportPdf,
}

/// `molbatch export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The job id.
    pub job: String,
    /// File format.
    #[arg(long, value_enum)]
    pub format: ExportFileFormat,
    /// Write to this file instead of standard output.
    #[arg(short = 'o', long)]
    pub output_file: Option<PathBuf>,
    /// Keep only `valid`, `invalid`, `pains`, `alerts` or `lipinski`
    /// results (not for a report, which covers the whole job).
    #[arg(long, default_value = "")]
    pub filter: String,
    /// Include Morgan fingerprints (on-bit indices).
    #[arg(long)]
    pub fingerprints: bool,
    /// Only these columns, in this order, named as in the CSV header
    /// (e.g. `inputId,standardizedSmiles,molWt`); every column by default.
    #[arg(long, value_delimiter = ',')]
    pub columns: Vec<String>,
    /// Only the molecules at these input indices (0-based): numbers and
    /// ranges, e.g. `0-99,120`.
    #[arg(long, default_value = "")]
    pub indices: String,
}

/// The export's state on standard error while a worker writes it, then the
/// file; `--output json` prints the finished export record on standard error
/// too.
pub async fn run(
    client: &mut Client,
    args: ExportArgs,
    output: OutputFormat,
) -> anyhow::Result<ExitCode> {
    let ExportArgs {
        job,
        format,
        output_file,
        filter,
        fingerprints,
        columns,
        indices,
    } = args;
    let indices = match molbatch_proto::export::parse_ranges(&indices) {
        Ok(indices) => indices,
        Err(message) => bail!("--indices: {message}"),
    };
    let binary = matches!(format, ExportFileFormat::Xlsx | ExportFileFormat::ReportPdf);
    if binary && output_file.is_none() && std::io::IsTerminal::is_terminal(&std::io::stdout()) {
        bail!("an {format:?} file is binary: write it to a file with -o FILE");
    }
    let format = format
        .to_possible_value()
        .map(|v| v.get_name().to_owned())
        .unwrap_or_default();
    let created = client
        .create_export(pb::CreateExportRequest {
            job_id: job,
            format,
            filter,
            include_fingerprint: fingerprints,
            columns,
            indices,
        })
        .await?;
    let export = client
        .wait_export(
            &created.export_id,
            std::time::Duration::from_millis(250),
            |_| {},
        )
        .await?;
    if export.state != pb::ExportState::Complete as i32 {
        bail!("export {} failed: {}", export.export_id, export.error);
    }
    let mut out = output_writer(output_file.as_deref())?;
    let bytes = client.download_export(&export.export_id, &mut out).await?;
    match output {
        OutputFormat::Json => eprintln!(
            "{}",
            molbatch_proto::json::to_json("molbatch.v1.Export", &export)?
        ),
        OutputFormat::Text => eprintln!(
            "export {}: {} molecules, {bytes} bytes",
            export.export_id, export.molecules
        ),
    }
    Ok(ExitCode::SUCCESS)
}
