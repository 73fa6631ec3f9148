//! Replays `tests/fixtures/reference.jsonl.gz` (written by
//! `scripts/reference_fixtures.py` with Debian's python3-rdkit 2022.09.3)
//! through [`Pipeline::process`] and requires the same answers: identical
//! SMILES, error codes, alerts and fingerprint bits, descriptors and QED
//! within 1e-6. Every mismatch is collected and reported with its input.
#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader};

use molbatch_chem::{Fingerprint, MolInput, MoleculeOutcome, MoleculeRecord, Pipeline};
use serde_json::Value;

const FIXTURE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/reference.jsonl.gz"
);
const TOLERANCE: f64 = 1e-6;

/// One fixture line.
struct Case {
    source: String,
    kind: String,
    input: String,
    expected: Value,
}

impl Case {
    fn input(&self) -> MolInput<'_> {
        match self.kind.as_str() {
            "molblock" => MolInput::Molblock(&self.input),
            _ => MolInput::Smiles(&self.input),
        }
    }
}

fn load_cases() -> Vec<Case> {
    let file = std::fs::File::open(FIXTURE).unwrap();
    BufReader::new(flate2::read::GzDecoder::new(file))
        .lines()
        .map(|line| {
            let expected: Value = serde_json::from_str(&line.unwrap()).unwrap();
            Case {
                source: expected["source"].as_str().unwrap().to_owned(),
                kind: expected["kind"].as_str().unwrap().to_owned(),
                input: expected["input"].as_str().unwrap().to_owned(),
                expected,
            }
        })
        .collect()
}

/// Differences between a valid record and its expected JSON.
fn compare_valid(record: &MoleculeRecord, expected: &Value, diffs: &mut Vec<String>) {
    for (field, got) in [
        ("canonical_smiles", &record.canonical_smiles),
        ("standardized_smiles", &record.standardized_smiles),
        ("tautomer_smiles", &record.tautomer_smiles),
    ] {
        if expected[field].as_str() != Some(got.as_str()) {
            diffs.push(format!(
                "{field}: got {got:?}, expected {}",
                expected[field]
            ));
        }
    }

    let d = &record.descriptors;
    let e = &expected["descriptors"];
    for (field, got) in [
        ("mol_wt", d.mol_wt),
        ("exact_mol_wt", d.exact_mol_wt),
        ("logp", d.logp),
        ("tpsa", d.tpsa),
        ("fraction_csp3", d.fraction_csp3),
        ("qed", d.qed),
    ] {
        let want = e[field].as_f64().unwrap();
        if (got - want).abs() > TOLERANCE {
            diffs.push(format!("{field}: got {got}, expected {want}"));
        }
    }
    for (field, got) in [
        ("hbd", i64::from(d.hbd)),
        ("hba", i64::from(d.hba)),
        ("rotatable_bonds", i64::from(d.rotatable_bonds)),
        ("ring_count", i64::from(d.ring_count)),
        ("aromatic_rings", i64::from(d.aromatic_rings)),
        ("heavy_atoms", i64::from(d.heavy_atoms)),
        ("formal_charge", i64::from(d.formal_charge)),
    ] {
        if e[field].as_i64() != Some(got) {
            diffs.push(format!("{field}: got {got}, expected {}", e[field]));
        }
    }
    if expected["lipinski_violations"].as_u64() != Some(u64::from(record.lipinski_violations)) {
        diffs.push(format!(
            "lipinski_violations: got {}, expected {}",
            record.lipinski_violations, expected["lipinski_violations"]
        ));
    }

    let alerts: Vec<(String, String)> = record
        .alerts
        .iter()
        .map(|a| (a.catalog.clone(), a.name.clone()))
        .collect();
    let want_alerts: Vec<(String, String)> = expected["alerts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                a[0].as_str().unwrap().to_owned(),
                a[1].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    if alerts != want_alerts {
        diffs.push(format!("alerts: got {alerts:?}, expected {want_alerts:?}"));
    }
    if expected["pains"].as_bool() != Some(record.pains) {
        diffs.push(format!(
            "pains: got {}, expected {}",
            record.pains, expected["pains"]
        ));
    }

    let want_bits = expected["fingerprint_on_bits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| u32::try_from(b.as_u64().unwrap()).unwrap());
    let want_fp = Fingerprint::from_on_bits(want_bits).unwrap();
    if want_fp != record.fingerprint {
        diffs.push(format!(
            "fingerprint: got {:?}, expected {want_fp:?}",
            record.fingerprint
        ));
    }
}

#[test]
fn pipeline_matches_python_rdkit_reference() {
    let cases = load_cases();
    assert!(
        cases.len() > 2300,
        "fixture has only {} records",
        cases.len()
    );
    let pipeline = Pipeline::new().unwrap();

    let mut mismatches = Vec::new();
    let (mut valid, mut invalid) = (0usize, 0usize);
    let mut outcomes = Vec::with_capacity(cases.len());
    for case in &cases {
        let mut diffs = Vec::new();
        let want_valid = case.expected["valid"].as_bool().unwrap();
        let outcome = pipeline.process(case.input());
        outcomes.push(outcome.clone());
        match outcome {
            MoleculeOutcome::Valid(record) if want_valid => {
                valid += 1;
                compare_valid(&record, &case.expected, &mut diffs);
            }
            MoleculeOutcome::Invalid(got) if !want_valid => {
                invalid += 1;
                let want = case.expected["error_code"].as_str().unwrap();
                if got.code.as_str() != want {
                    diffs.push(format!(
                        "error code: got {} ({}), expected {want}",
                        got.code, got.message
                    ));
                }
            }
            MoleculeOutcome::Valid(_) => {
                diffs.push(format!("valid, expected {}", case.expected["error_code"]));
            }
            MoleculeOutcome::Invalid(got) => {
                diffs.push(format!(
                    "invalid ({}: {}), expected valid",
                    got.code, got.message
                ));
            }
        }
        if !diffs.is_empty() {
            mismatches.push(format!(
                "[{}] {:?}\n    {}",
                case.source,
                case.input,
                diffs.join("\n    ")
            ));
        }
    }
    println!(
        "compared {} molecules: {valid} valid, {invalid} invalid",
        cases.len()
    );
    assert!(
        mismatches.is_empty(),
        "{} of {} molecules differ from the Python reference:\n{}",
        mismatches.len(),
        cases.len(),
        mismatches.join("\n")
    );
}

fn moses_smiles(cases: &[Case]) -> Vec<&str> {
    cases
        .iter()
        .filter(|c| c.source == "moses")
        .map(|c| c.input.as_str())
        .collect()
}

/// Rough single-threaded throughput on the MOSES part of the fixture; prints
/// only. `cargo test -p molbatch-chem --release --test reference -- --ignored --nocapture`
#[test]
#[ignore = "timing, run in release by hand"]
fn throughput_single_thread() {
    let cases = load_cases();
    let smiles = moses_smiles(&cases);
    let pipeline = Pipeline::new().unwrap();
    let start = std::time::Instant::now();
    let valid = smiles
        .iter()
        .filter(|s| pipeline.process(MolInput::Smiles(s)).valid().is_some())
        .count();
    let elapsed = start.elapsed();
    println!(
        "single thread: {} molecules ({valid} valid) in {elapsed:.2?}: {:.0} mol/s",
        smiles.len(),
        smiles.len() as f64 / elapsed.as_secs_f64()
    );
}

/// Rough throughput with rayon's default pool; prints only.
#[test]
#[ignore = "timing, run in release by hand"]
fn throughput_rayon() {
    use rayon::prelude::*;

    let cases = load_cases();
    let smiles = moses_smiles(&cases);
    let pipeline = Pipeline::new().unwrap();
    let start = std::time::Instant::now();
    let valid = smiles
        .par_iter()
        .filter(|s| pipeline.process(MolInput::Smiles(s)).valid().is_some())
        .count();
    let elapsed = start.elapsed();
    println!(
        "rayon ({} threads): {} molecules ({valid} valid) in {elapsed:.2?}: {:.0} mol/s",
        rayon::current_num_threads(),
        smiles.len(),
        smiles.len() as f64 / elapsed.as_secs_f64()
    );
}
