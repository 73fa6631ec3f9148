//! `molbatch submit`: streams a batch file (or standard input) to the
//! gateway's `UploadBatch` and prints the job id; with `--wait` it then
//! follows the job as [`super::watch`] does. The file is parsed by the
//! server, which names the first bad record; this module only checks that
//! the flags fit together.

use std::process::ExitCode;

use anyhow::{bail, Context};
use clap::{Args, ValueEnum};
use molbatch_client::Client;
use molbatch_proto::v1 as pb;

use super::watch;
use crate::output::OutputFormat;

/// Input file formats on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum InputFormatArg {
    /// SMILES lines.
    Smi,
    /// CSV/TSV with a header.
    Csv,
    /// SD file.
    Sdf,
}

/// `molbatch submit`.
#[derive(Debug, Args)]
pub struct SubmitArgs {
    /// The file (`-` reads standard input); plain or gzip.
    pub file: String,
    /// Format (default: from the file's extension).
    #[arg(long, value_enum)]
    pub format: Option<InputFormatArg>,
    /// CSV column holding SMILES.
    #[arg(long)]
    pub smiles_column: Option<String>,
    /// Column or SDF field holding the molecule id.
    #[arg(long)]
    pub id_column: Option<String>,
    /// CSV delimiter (default: sniffed).
    #[arg(long)]
    pub delimiter: Option<String>,
    /// Column or SDF field holding activity values (repeatable); each gets
    /// a pActivity and ligand-efficiency metrics.
    #[arg(long)]
    pub activity_column: Vec<String>,
    /// Unit of the activity columns: pM, nM, uM, mM, M, or p (already
    /// -log10 molar). One for all columns, or one per `--activity-column`.
    #[arg(long)]
    pub activity_unit: Vec<String>,
    /// Name of the batch (default: the file name).
    #[arg(long)]
    pub name: Option<String>,
    /// Scheduling priority, 0 (default) to 9: your higher-priority jobs run
    /// before your others (tenants share workers fairly either way).
    #[arg(long, default_value_t = 0)]
    pub priority: i32,
    /// Keep each record the server cannot read (a CSV row with the wrong
    /// number of fields, an unclosed quote, text that is not UTF-8; an SDF
    /// record cut short) in its place as an invalid RECORD_SYNTAX result with
    /// its line, and process the rest; by default the file is refused.
    #[arg(long)]
    pub skip_bad_records: bool,
    /// Structural-alert sets to look for, comma-separated (repeatable):
    /// pains, brenk, nih, zinc, glaxo, dundee, bms, mlsmr, inpharmatica,
    /// lint, surechembl, chelator, alarm_nmr, luciferase (the server checks
    /// the names). Default: pains,brenk,nih.
    #[arg(long = "alerts", value_name = "SETS")]
    pub alerts: Vec<String>,
    /// Show progress and exit when the job ends (exit code 0 only if it
    /// completed).
    #[arg(long)]
    pub wait: bool,
}

/// Uploads the batch, prints its job id and, with `--wait`, follows it.
pub async fn run(
    client: &mut Client,
    args: SubmitArgs,
    output: OutputFormat,
) -> anyhow::Result<ExitCode> {
    let SubmitArgs {
        file,
        format,
        smiles_column,
        id_column,
        delimiter,
        activity_column,
        activity_unit,
        name,
        priority,
        skip_bad_records,
        alerts,
        wait,
    } = args;
    let activity_columns = activity_columns(activity_column, activity_unit)?;
    let format = match format {
        None => pb::InputFormat::Unspecified,
        Some(InputFormatArg::Smi) => pb::InputFormat::Smiles,
        Some(InputFormatArg::Csv) => pb::InputFormat::Csv,
        Some(InputFormatArg::Sdf) => pb::InputFormat::Sdf,
    };
    if file == "-" && format == pb::InputFormat::Unspecified {
        bail!("reading standard input needs --format smi|csv|sdf");
    }
    let display_name = name.unwrap_or_else(|| {
        std::path::Path::new(&file)
            .file_name()
            .map_or_else(|| file.clone(), |n| n.to_string_lossy().into_owned())
    });
    let options = pb::UploadOptions {
        format: format as i32,
        smiles_column: smiles_column.unwrap_or_default(),
        id_column: id_column.unwrap_or_default(),
        delimiter: delimiter.unwrap_or_default(),
        display_name,
        priority,
        activity_columns,
        on_bad_record: if skip_bad_records {
            pb::OnBadRecord::Skip
        } else {
            pb::OnBadRecord::Fail
        } as i32,
        alert_sets: alerts,
    };
    let job = if file == "-" {
        client.upload(tokio::io::stdin(), options).await?
    } else {
        let input = tokio::fs::File::open(&file)
            .await
            .with_context(|| format!("cannot open {file}"))?;
        client.upload(input, options).await?
    };
    println!("{}", job.job_id);
    if !wait {
        return Ok(ExitCode::SUCCESS);
    }
    watch::run(client, &job.job_id, output).await
}

/// Pairs `--activity-column`s with their `--activity-unit`s: one unit for
/// all, or one each (the server checks the unit names).
fn activity_columns(
    columns: Vec<String>,
    units: Vec<String>,
) -> anyhow::Result<Vec<pb::ActivityColumn>> {
    let units = match (columns.len(), units.len()) {
        (_, 0) if columns.is_empty() => return Ok(Vec::new()),
        (_, 0) => bail!("--activity-column needs --activity-unit (pM, nM, uM, mM, M or p)"),
        (0, _) => bail!("--activity-unit needs --activity-column"),
        (n, 1) => vec![units[0].clone(); n],
        (n, m) if n == m => units,
        (n, m) => bail!("{n} activity columns but {m} units; give one unit or one per column"),
    };
    Ok(columns
        .into_iter()
        .zip(units)
        .map(|(column, unit)| pb::ActivityColumn { column, unit })
        .collect())
}
