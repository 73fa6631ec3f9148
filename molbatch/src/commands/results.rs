//! `molbatch results`: every per-molecule result of a job, page by page in
//! input order (or `--order-by`), written as CSV, JSON lines or an SD file
//! by the result writers of `molbatch-analytics` ([`crate::output`]), so the
//! CLI and exports write the same files.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, ValueEnum};
use molbatch_client::Client;
use molbatch_proto::export::ExportFormat;
use molbatch_proto::v1 as pb;

use crate::output::{output_writer, OutputError, ResultsWriter};

/// Result file formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ResultsFormat {
    /// CSV with the contract's column names.
    Csv,
    /// One proto3 JSON object per line.
    Jsonl,
    /// SD file: a 2D structure of the standardised molecule per result (no
    /// atoms for an invalid one), titled by the input id, with the CSV
    /// columns as data items.
    Sdf,
}

impl From<ResultsFormat> for ExportFormat {
    fn from(format: ResultsFormat) -> Self {
        match format {
            ResultsFormat::Csv => Self::Csv,
            ResultsFormat::Jsonl => Self::Jsonl,
            ResultsFormat::Sdf => Self::Sdf,
        }
    }
}

/// `molbatch results`.
#[derive(Debug, Args)]
pub struct ResultsArgs {
    /// The job id.
    pub job: String,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ResultsFormat::Csv)]
    pub format: ResultsFormat,
    /// Write to this file instead of standard output.
    #[arg(short = 'o', long)]
    pub output_file: Option<PathBuf>,
    /// Keep only `valid`, `invalid`, `pains`, `alerts` (any structural alert)
    /// or `lipinski` (one or more Lipinski violations) results.
    #[arg(long, default_value = "")]
    pub filter: String,
    /// Sort by a descriptor or activity metric, e.g. `qed desc`, `molWt`,
    /// `activities.IC50.pActivity desc` (as ListResults' `order_by`; the
    /// job must have completed). Default: input order.
    #[arg(long, default_value = "")]
    pub order_by: String,
    /// Include Morgan fingerprints (on-bit indices).
    #[arg(long)]
    pub fingerprints: bool,
}

/// Writes the job's results to the file or standard output.
pub async fn run(client: &mut Client, args: ResultsArgs) -> anyhow::Result<ExitCode> {
    let ResultsArgs {
        job,
        format,
        output_file,
        filter,
        order_by,
        fingerprints,
    } = args;
    let out = output_writer(output_file.as_deref())?;
    let mut writer = ResultsWriter::new(format.into(), out, fingerprints)?;
    // Depicting an SD page runs RDKit for up to a second; let the runtime
    // move the connection's tasks to another worker meanwhile.
    write_pages(
        client,
        &job,
        &filter,
        &order_by,
        fingerprints,
        &mut |page| tokio::task::block_in_place(|| writer.write_page(page)),
    )
    .await?;
    writer.finish()?;
    Ok(ExitCode::SUCCESS)
}

/// Hands every page of a job's results to `write`, in input order; after the
/// first failure, later pages are skipped and the failure returned.
async fn write_pages(
    client: &mut Client,
    job: &str,
    filter: &str,
    order_by: &str,
    fingerprints: bool,
    write: &mut dyn FnMut(&[pb::MoleculeResult]) -> Result<(), OutputError>,
) -> anyhow::Result<()> {
    let mut failed = None;
    client
        .for_each_sorted_result_page(job, filter, order_by, fingerprints, |page| {
            if failed.is_none() {
                failed = write(&page).err();
            }
            Ok(())
        })
        .await?;
    match failed {
        Some(e) => Err(e.into()),
        None => Ok(()),
    }
}
