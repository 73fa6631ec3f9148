//! Result files: a job's results as CSV, an SD file, one JSON array or JSON
//! lines (proto3 JSON, the same field names as REST), written page by page so
//! a file of any size streams through. `molbatch results` and exports (see
//! [`crate::export`]) write through the same [`ResultsWriter`].
//!
//! CSV and SD output share one mapping of a result to its contract fields
//! ([`result_values`]), so a column and a data item of the same name always
//! hold the same text. SD output is the only writer that calls RDKit (to lay
//! out 2D structures); it is synchronous, so async callers run it where
//! blocking is allowed.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;

use molbatch_chem::depict::{molblock_2d, EMPTY_MOLBLOCK};
use molbatch_proto::export::ExportFormat;
use molbatch_proto::v1 as pb;

/// Result columns of CSV output and data items of SD output, in order, named
/// as in the JSON contract.
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
    /// The format is not a file of results (the batch report).
    #[error("{} is not a results file format", .0.as_str())]
    NotResults(ExportFormat),
}

/// Name of the optional column and data item holding Morgan on-bits.
const FINGERPRINT_COLUMN: &str = "morganFingerprint";

fn opt<T: ToString>(value: Option<T>) -> String {
    value.map(|v| v.to_string()).unwrap_or_default()
}

/// The contract fields of one result as text, parallel to
/// [`RESULT_COLUMNS`]; an empty string is a field without a value (the
/// descriptors and `pains` of an invalid molecule, the error of a valid one).
/// Alerts are `CATALOG:name` joined by `|`.
pub fn result_values(r: &pb::MoleculeResult) -> [String; RESULT_COLUMNS.len()] {
    let alerts: Vec<String> = r
        .alerts
        .iter()
        .map(|a| format!("{}:{}", a.catalog, a.name))
        .collect();
    [
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
    ]
}

/// The Morgan fingerprint's on-bits, space-separated.
fn fingerprint_value(r: &pb::MoleculeResult) -> String {
    let bits: Vec<String> = r.morgan_fingerprint.iter().map(u32::to_string).collect();
    bits.join(" ")
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
                header.push(FINGERPRINT_COLUMN.to_owned());
            }
            header.extend(properties.iter().cloned());
            self.writer.write_record(&header)?;
            self.properties = Some(properties);
        }
        let properties = self.properties.clone().unwrap_or_default();
        for r in results {
            let mut row: Vec<String> = result_values(r).into();
            if self.fingerprints {
                row.push(fingerprint_value(r));
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

/// Writes results as an SD file, one record per result in the order given,
/// so the record count always equals the result count:
///
/// - the structure is a 2D Molblock of `standardizedSmiles` for a valid
///   molecule and [`EMPTY_MOLBLOCK`] (no atoms) for an invalid one;
/// - the title line is the `inputId`, or the index when the input had none;
/// - then a `> <name>` data item for every contract field with a value, in
///   [`RESULT_COLUMNS`] order, the fingerprint when asked for, and the
///   input's own properties by name; then `$$$$`.
///
/// Laying out structures calls RDKit and takes about a millisecond per
/// molecule, so `write_page` blocks; run it off the async runtime.
pub struct SdfResults<W: Write> {
    out: W,
    fingerprints: bool,
}

impl<W: Write> SdfResults<W> {
    /// A writer; `fingerprints` adds a `morganFingerprint` data item of
    /// space-separated on-bits.
    pub fn new(out: W, fingerprints: bool) -> Self {
        Self { out, fingerprints }
    }

    /// Writes one page of records.
    pub fn write_page(&mut self, results: &[pb::MoleculeResult]) -> Result<(), OutputError> {
        for r in results {
            self.write_record(r)?;
        }
        Ok(())
    }

    fn write_record(&mut self, r: &pb::MoleculeResult) -> Result<(), OutputError> {
        let depicted = if r.valid {
            molblock_2d(&r.standardized_smiles)
                .inspect_err(|error| {
                    // Keep one record per result: the data items still carry
                    // the SMILES, only the drawing is missing.
                    tracing::warn!(index = r.index, %error, "no 2D structure in the SD record");
                })
                .ok()
        } else {
            None
        };
        let molblock = depicted.as_deref().unwrap_or(EMPTY_MOLBLOCK);
        let title = if r.input_id.is_empty() {
            r.index.to_string()
        } else {
            // The title is one line of the Molblock; a line break would
            // shift every line after it.
            r.input_id.replace(['\r', '\n'], " ")
        };
        // RDKit writes an empty title line first; ours replaces it.
        let body = molblock.split_once('\n').map_or(molblock, |(_, rest)| rest);
        write!(self.out, "{title}\n{body}")?;

        for (name, value) in RESULT_COLUMNS.iter().zip(result_values(r)) {
            write_data_item(&mut self.out, name, &value)?;
        }
        if self.fingerprints {
            write_data_item(&mut self.out, FINGERPRINT_COLUMN, &fingerprint_value(r))?;
        }
        let properties: BTreeMap<&String, &String> = r.properties.iter().collect();
        for (name, value) in properties {
            write_data_item(&mut self.out, name, value)?;
        }
        self.out.write_all(b"$$$$\n")?;
        Ok(())
    }

    /// Flushes the output.
    pub fn finish(mut self) -> Result<(), OutputError> {
        self.out.flush()?;
        Ok(())
    }
}

/// Writes `> <name>`, the value and the blank line that ends a data item;
/// nothing for a value without text. Blank lines inside the value are
/// dropped, since a reader would take the first one as the item's end.
fn write_data_item(out: &mut impl Write, name: &str, value: &str) -> std::io::Result<()> {
    let mut lines = value.lines().filter(|l| !l.trim().is_empty()).peekable();
    if lines.peek().is_none() {
        return Ok(());
    }
    writeln!(out, "> <{name}>")?;
    for line in lines {
        writeln!(out, "{line}")?;
    }
    writeln!(out)
}

/// Writes one proto3 JSON object per result: one per line (JSON lines), or
/// as the elements of one JSON array.
pub struct JsonResults<W: Write> {
    out: W,
    array: bool,
    written: u64,
}

impl<W: Write> JsonResults<W> {
    /// A writer of JSON lines, or of one array when `array`.
    pub fn new(out: W, array: bool) -> Self {
        Self {
            out,
            array,
            written: 0,
        }
    }

    /// Writes one page.
    pub fn write_page(&mut self, results: &[pb::MoleculeResult]) -> Result<(), OutputError> {
        for r in results {
            let json = molbatch_proto::json::to_json("molbatch.v1.MoleculeResult", r)?;
            if self.array {
                let separator = if self.written == 0 { "[\n" } else { ",\n" };
                self.out.write_all(separator.as_bytes())?;
                write!(self.out, "{json}")?;
            } else {
                writeln!(self.out, "{json}")?;
            }
            self.written += 1;
        }
        Ok(())
    }

    /// Ends the array and flushes.
    pub fn finish(mut self) -> Result<(), OutputError> {
        if self.array {
            let end = if self.written == 0 { "[]\n" } else { "\n]\n" };
            self.out.write_all(end.as_bytes())?;
        }
        self.out.flush()?;
        Ok(())
    }
}

/// A writer of any result file format.
pub enum ResultsWriter<W: Write> {
    /// CSV (boxed: the CSV writer carries its buffer inline).
    Csv(Box<CsvResults<W>>),
    /// SD file.
    Sdf(SdfResults<W>),
    /// JSON array or JSON lines.
    Json(JsonResults<W>),
}

impl<W: Write> ResultsWriter<W> {
    /// A writer of `format` to `out`; `fingerprints` adds Morgan on-bits
    /// (CSV and SD: a `morganFingerprint` column or item; JSON: the field).
    /// A report is not a results file ([`OutputError::NotResults`]).
    pub fn new(format: ExportFormat, out: W, fingerprints: bool) -> Result<Self, OutputError> {
        Ok(match format {
            ExportFormat::Csv => Self::Csv(Box::new(CsvResults::new(out, fingerprints))),
            ExportFormat::Sdf => Self::Sdf(SdfResults::new(out, fingerprints)),
            ExportFormat::Json => Self::Json(JsonResults::new(out, true)),
            ExportFormat::Jsonl => Self::Json(JsonResults::new(out, false)),
            ExportFormat::Report | ExportFormat::ReportPdf => {
                return Err(OutputError::NotResults(format))
            }
        })
    }

    /// Writes one page of results (SD output blocks on RDKit).
    pub fn write_page(&mut self, results: &[pb::MoleculeResult]) -> Result<(), OutputError> {
        match self {
            Self::Csv(w) => w.write_page(results),
            Self::Sdf(w) => w.write_page(results),
            Self::Json(w) => w.write_page(results),
        }
    }

    /// Ends the file and flushes.
    pub fn finish(self) -> Result<(), OutputError> {
        match self {
            Self::Csv(w) => w.finish(),
            Self::Sdf(w) => w.finish(),
            Self::Json(w) => w.finish(),
        }
    }
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
    fn sdf_has_one_record_per_result_with_its_fields() {
        let mut ethanol = pb::MoleculeResult {
            index: 0,
            input_id: "ethanol".into(),
            input_smiles: "OCC".into(),
            valid: true,
            canonical_smiles: "CCO".into(),
            standardized_smiles: "CCO".into(),
            mol_wt: Some(46.069),
            ..Default::default()
        };
        ethanol.properties.insert("pKi".into(), "7.1".into());
        ethanol
            .properties
            .insert("note".into(), "two\n\nlines".into());
        ethanol.alerts.push(pb::Alert {
            catalog: "BRENK".into(),
            name: "x".into(),
        });
        let invalid = pb::MoleculeResult {
            index: 1,
            input_smiles: "C1CC".into(),
            error_code: "SMILES_SYNTAX".into(),
            error_message: "SMILES parse error".into(),
            ..Default::default()
        };
        let mut out = Vec::new();
        let mut w = SdfResults::new(&mut out, false);
        w.write_page(&[ethanol, invalid]).unwrap();
        w.finish().unwrap();
        let text = String::from_utf8(out).unwrap();
        let records: Vec<&str> = text.split_terminator("$$$$\n").collect();
        assert_eq!(records.len(), 2, "{text}");

        let first: Vec<&str> = records[0].lines().collect();
        assert_eq!(first[0], "ethanol");
        assert!(first[3].starts_with("  3  2"), "{}", records[0]);
        assert!(records[0].contains("M  END\n> <index>\n0\n\n> <inputId>\nethanol\n\n"));
        assert!(records[0].contains("> <canonicalSmiles>\nCCO\n\n"));
        assert!(records[0].contains("> <molWt>\n46.069\n\n"));
        assert!(records[0].contains("> <pains>\nfalse\n\n"));
        assert!(records[0].contains("> <alerts>\nBRENK:x\n\n"));
        assert!(records[0].ends_with("> <note>\ntwo\nlines\n\n> <pKi>\n7.1\n\n"));
        assert!(!records[0].contains("<errorCode>"));

        let second: Vec<&str> = records[1].lines().collect();
        assert_eq!(second[0], "1");
        assert!(second[3].starts_with("  0  0"), "{}", records[1]);
        assert!(records[1].contains("> <valid>\nfalse\n\n> <errorCode>\nSMILES_SYNTAX\n\n"));
        assert!(!records[1].contains("<molWt>") && !records[1].contains("<pains>"));
    }

    #[test]
    fn json_is_one_array_or_one_object_per_line() {
        let results: Vec<pb::MoleculeResult> = (0..2)
            .map(|index| pb::MoleculeResult {
                index,
                input_smiles: "CCO".into(),
                ..Default::default()
            })
            .collect();
        for (format, empty) in [(ExportFormat::Json, "[]\n"), (ExportFormat::Jsonl, "")] {
            let mut out = Vec::new();
            ResultsWriter::new(format, &mut out, false)
                .unwrap()
                .finish()
                .unwrap();
            assert_eq!(String::from_utf8(out).unwrap(), empty);
        }
        let mut out = Vec::new();
        let mut w = ResultsWriter::new(ExportFormat::Json, &mut out, false).unwrap();
        w.write_page(&results[..1]).unwrap();
        w.write_page(&results[1..]).unwrap();
        w.finish().unwrap();
        let array: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(array.as_array().unwrap().len(), 2);
        assert_eq!(array[1]["inputSmiles"], "CCO");
        let mut out = Vec::new();
        let mut w = ResultsWriter::new(ExportFormat::Jsonl, &mut out, false).unwrap();
        w.write_page(&results).unwrap();
        w.finish().unwrap();
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 2);
    }
}
