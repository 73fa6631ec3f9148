//! `molbatch analyze`: the per-molecule results of a few SMILES, at once and
//! without a job (`AnalyzeMolecules`), written like `molbatch results`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use molbatch_client::Client;
use molbatch_proto::v1 as pb;

use super::results::ResultsFormat;
use crate::output::{output_writer, ResultsWriter};

/// `molbatch analyze`.
#[derive(Debug, Args)]
pub struct AnalyzeArgs {
    /// The molecules as SMILES (or standard InChIs, `InChI=1S/...`), 1 to
    /// 1,000; each one's id is its position (0, 1, …) unless given as
    /// `SMILES id` in one argument.
    #[arg(required = true, num_args = 1..)]
    pub smiles: Vec<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ResultsFormat::Csv)]
    pub format: ResultsFormat,
    /// Write to this file instead of standard output.
    #[arg(short = 'o', long)]
    pub output_file: Option<PathBuf>,
    /// Include Morgan fingerprints (on-bit indices).
    #[arg(long)]
    pub fingerprints: bool,
    /// Structural-alert sets to look for, comma-separated (as `submit
    /// --alerts`; default pains,brenk,nih).
    #[arg(long = "alerts", value_name = "SETS")]
    pub alert_sets: Vec<String>,
}

/// The request's molecule of one argument: `SMILES` or `SMILES id`.
fn molecule(position: usize, argument: &str) -> pb::InputMolecule {
    let argument = argument.trim();
    let (smiles, id) = match argument.split_once(char::is_whitespace) {
        Some((smiles, id)) => (smiles, id.trim().to_owned()),
        None => (argument, position.to_string()),
    };
    pb::InputMolecule {
        smiles: smiles.to_owned(),
        id,
        ..Default::default()
    }
}

/// Analyses the molecules and writes their results.
pub async fn run(client: &mut Client, args: AnalyzeArgs) -> anyhow::Result<ExitCode> {
    let AnalyzeArgs {
        smiles,
        format,
        output_file,
        fingerprints,
        alert_sets,
    } = args;
    let molecules = smiles
        .iter()
        .enumerate()
        .map(|(i, s)| molecule(i, s))
        .collect();
    let response = client
        .raw()
        .analyze_molecules(pb::AnalyzeMoleculesRequest {
            molecules,
            include_fingerprint: fingerprints,
            alert_sets,
        })
        .await?
        .into_inner();
    let mut writer = ResultsWriter::new(
        format.into(),
        output_writer(output_file.as_deref())?,
        fingerprints,
    )?;
    writer.write_page(&response.results)?;
    writer.finish()?;
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_argument_is_smiles_and_an_optional_id() {
        let m = molecule(3, "CCO");
        assert_eq!((m.smiles.as_str(), m.id.as_str()), ("CCO", "3"));
        let m = molecule(0, " c1ccccc1  benzene ring ");
        assert_eq!(
            (m.smiles.as_str(), m.id.as_str()),
            ("c1ccccc1", "benzene ring")
        );
    }
}
