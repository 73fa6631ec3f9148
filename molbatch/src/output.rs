//! How the command writes what it reads: results as CSV or JSON lines (proto3
//! JSON, the same field names as REST), jobs as a line of text or JSON.

use std::collections::BTreeSet;
use std::io::Write;

use molbatch_proto::v1 as pb;

/// Result columns of CSV output, in order, named as in the JSON contract.
pub const RESULT_COLUMNS: [&str; 25] = [
    "index",
    "inputId",
    "inputSmiles",
    "valid",
    "errorCode",
    "errorMessage",
    "canonicalSmiles",
    "standardizedSmiles",
    "tautomerSmiles",
    "molWt",
    "exactMolWt",
    "logp",
    "tpsa",
    "hbd",
    "hba",
    "rotatableBonds",
    "ringCount",
    "aromaticRings",
    "fractionCsp3",
    "heavyAtoms",
    "formalCharge",
    "qed",
    "lipinskiViolations",
    "pains",
    "alerts",
];

/// A failure writing output.
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    /// Writing failed.
    #[error("writing output: {0}")]
    Io(#[from] std::io::Error),
    /// CSV writing failed.
    #[error("writing CSV: {0}")]
    Csv(#[from] csv::Error),
    /// Mapping to JSON failed.
    #[error(transparent)]
    Json(#[from] molbatch_proto::json::JsonError),
}

fn opt<T: ToString>(value: Option<T>) -> String {
    value.map(|v| v.to_string()).unwrap_or_default()
}

/// Writes results as CSV: the contract columns, then the fingerprint when
/// present, then the input's own columns (from the first page).
pub struct CsvResults<W: Write> {
    writer: csv::Writer<W>,
    properties: Option<Vec<String>>,
    fingerprints: bool,
}

impl<W: Write> CsvResults<W> {
    /// A writer; `fingerprints` adds a `morganFingerprint` column of
    /// space-separated on-bits.
    pub fn new(out: W, fingerprints: bool) -> Self {
        Self {
            writer: csv::Writer::from_writer(out),
            properties: None,
            fingerprints,
        }
    }

    /// Writes one page (the header before the first).
    pub fn write_page(&mut self, results: &[pb::MoleculeResult]) -> Result<(), OutputError> {
        if self.properties.is_none() {
            let keys: BTreeSet<&String> =
                results.iter().flat_map(|r| r.properties.keys()).collect();
            let properties: Vec<String> = keys.into_iter().cloned().collect();
            let mut header: Vec<String> = RESULT_COLUMNS.iter().map(|c| (*c).to_owned()).collect();
            if self.fingerprints {
                header.push("morganFingerprint".to_owned());
            }
            header.extend(properties.iter().cloned());
            self.writer.write_record(&header)?;
            self.properties = Some(properties);
        }
        let properties = self.properties.clone().unwrap_or_default();
        for r in results {
            let alerts: Vec<String> = r
                .alerts
                .iter()
                .map(|a| format!("{}:{}", a.catalog, a.name))
                .collect();
            let mut row = vec![
                r.index.to_string(),
                r.input_id.clone(),
                r.input_smiles.clone(),
                r.valid.to_string(),
                r.error_code.clone(),
                r.error_message.clone(),
                r.canonical_smiles.clone(),
                r.standardized_smiles.clone(),
                r.tautomer_smiles.clone(),
                opt(r.mol_wt),
                opt(r.exact_mol_wt),
                opt(r.logp),
                opt(r.tpsa),
                opt(r.hbd),
                opt(r.hba),
                opt(r.rotatable_bonds),
                opt(r.ring_count),
                opt(r.aromatic_rings),
                opt(r.fraction_csp3),
                opt(r.heavy_atoms),
                opt(r.formal_charge),
                opt(r.qed),
                opt(r.lipinski_violations),
                if r.valid {
                    r.pains.to_string()
                } else {
                    String::new()
                },
                alerts.join("|"),
            ];
            if self.fingerprints {
                let bits: Vec<String> = r.morgan_fingerprint.iter().map(u32::to_string).collect();
                row.push(bits.join(" "));
            }
            row.extend(
                properties
                    .iter()
                    .map(|k| r.properties.get(k).cloned().unwrap_or_default()),
            );
            self.writer.write_record(&row)?;
        }
        Ok(())
    }

    /// Flushes the output.
    pub fn finish(mut self) -> Result<(), OutputError> {
        self.writer.flush()?;
        Ok(())
    }
}

/// Writes one proto3 JSON object per result and line.
pub fn write_jsonl(
    out: &mut impl Write,
    results: &[pb::MoleculeResult],
) -> Result<(), OutputError> {
    for r in results {
        let json = molbatch_proto::json::to_json("molbatch.v1.MoleculeResult", r)?;
        writeln!(out, "{json}")?;
    }
    Ok(())
}

/// A job's state name without the enum prefix (`COMPLETED`).
pub fn state_name(state: i32) -> &'static str {
    match pb::JobState::try_from(state) {
        Ok(s) => s.as_str_name().trim_start_matches("JOB_STATE_"),
        Err(_) => "UNKNOWN",
    }
}

/// One line describing a job.
pub fn job_line(job: &pb::Job) -> String {
    let mut line = format!(
        "{}  {:<9}  {}/{} molecules  {} valid  {} invalid  chunks {}/{}",
        job.job_id,
        state_name(job.state),
        job.processed_molecules,
        job.total_molecules,
        job.valid_molecules,
        job.invalid_molecules,
        job.completed_chunks,
        job.total_chunks,
    );
    if !job.display_name.is_empty() {
        line.push_str(&format!("  {}", job.display_name));
    }
    if !job.error.is_empty() {
        line.push_str(&format!("\n  error: {}", job.error));
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_has_contract_columns_and_input_properties() {
        let mut r = pb::MoleculeResult {
            index: 0,
            input_smiles: "CCO".into(),
            valid: true,
            mol_wt: Some(46.069),
            ..Default::default()
        };
        r.properties.insert("pKi".into(), "7.1".into());
        r.alerts.push(pb::Alert {
            catalog: "BRENK".into(),
            name: "x".into(),
        });
        let invalid = pb::MoleculeResult {
            index: 1,
            error_code: "SMILES_SYNTAX".into(),
            ..Default::default()
        };
        let mut out = Vec::new();
        let mut w = CsvResults::new(&mut out, false);
        w.write_page(&[r, invalid]).unwrap();
        w.finish().unwrap();
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].starts_with("index,inputId,inputSmiles,valid,"));
        assert!(lines[0].ends_with(",alerts,pKi"));
        assert!(lines[1].contains("46.069") && lines[1].ends_with("BRENK:x,7.1"));
        assert!(lines[2].contains("false,SMILES_SYNTAX"));
    }

    #[test]
    fn state_names_drop_the_prefix() {
        assert_eq!(state_name(pb::JobState::Completed as i32), "COMPLETED");
    }
}
