//! Replays `tests/fixtures/scaffolds.jsonl.gz` (written by
//! `scripts/scaffold_fixtures.py` with Debian's python3-rdkit 2022.09.3) and
//! requires the same answers as Python, exactly: Murcko and generic scaffold
//! SMILES, stereo-insensitive SMILES, SVG text, and the query fingerprint of
//! the raw input (which must also be the fingerprint `Pipeline::process`
//! stores). A null reference value means RDKit raised, so the Rust function
//! must return an error. Every mismatch is collected and reported with its
//! input.
#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader};

use molbatch_chem::depict::{svg, DEFAULT_SVG_SIZE};
use molbatch_chem::{
    fingerprint, keys, scaffold, ChemError, Fingerprint, MolInput, MoleculeOutcome, Pipeline,
};
use rayon::prelude::*;
use serde_json::Value;

const FIXTURE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/scaffolds.jsonl.gz"
);
const REFERENCE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/reference.jsonl.gz"
);

fn load(path: &str) -> Vec<Value> {
    let file = std::fs::File::open(path).unwrap();
    BufReader::new(flate2::read::GzDecoder::new(file))
        .lines()
        .map(|line| serde_json::from_str(&line.unwrap()).unwrap())
        .collect()
}

fn str_field<'a>(record: &'a Value, field: &str) -> &'a str {
    record[field].as_str().unwrap()
}

/// Compares a Rust result with a reference value that is a string, or null
/// where Python raised.
fn compare(field: &str, got: &Result<String, ChemError>, want: &Value, diffs: &mut Vec<String>) {
    match (got, want.as_str()) {
        (Ok(got), Some(want)) if got == want => {}
        (Err(_), None) => {}
        (got, _) => diffs.push(format!("{field}: got {got:?}, expected {want}")),
    }
}

/// Where two SVG texts part, by line, kept short.
fn first_difference(got: &str, want: &str) -> String {
    let (mut got_lines, mut want_lines) = (got.lines(), want.lines());
    for line in 1.. {
        match (got_lines.next(), want_lines.next()) {
            (Some(a), Some(b)) if a == b => {}
            (None, None) => break,
            (a, b) => return format!("svg differs at line {line}: got {a:?}, expected {b:?}"),
        }
    }
    "svg differs".into()
}

fn bits_of(value: &Value) -> Fingerprint {
    Fingerprint::from_on_bits(
        value
            .as_array()
            .unwrap()
            .iter()
            .map(|b| u32::try_from(b.as_u64().unwrap()).unwrap()),
    )
    .unwrap()
}

/// The pipeline's standardised SMILES and the query fingerprint of the raw
/// input, against the reference pipeline's.
fn compare_pipeline(
    outcome: &MoleculeOutcome,
    query: &Result<Fingerprint, ChemError>,
    record: &Value,
    diffs: &mut Vec<String>,
) {
    let want = &record["pipeline"];
    match (outcome, want["valid"].as_bool().unwrap()) {
        (MoleculeOutcome::Valid(stored), true) => {
            if stored.standardized_smiles != str_field(want, "standardized_smiles") {
                diffs.push(format!(
                    "standardized_smiles: got {:?}, expected {}",
                    stored.standardized_smiles, want["standardized_smiles"]
                ));
            }
            let want_fp = bits_of(&want["fingerprint_on_bits"]);
            match query {
                Ok(fp) if *fp == want_fp && *fp == stored.fingerprint => {}
                other => diffs.push(format!(
                    "query fingerprint: got {other:?}, expected {want_fp:?} (stored {:?})",
                    stored.fingerprint
                )),
            }
        }
        (MoleculeOutcome::Invalid(invalid), false) => {
            let code = str_field(want, "error_code");
            if invalid.code.as_str() != code {
                diffs.push(format!(
                    "pipeline code: got {}, expected {code}",
                    invalid.code
                ));
            }
            match query {
                Err(ChemError::Rejected { code: got, .. }) if got.as_str() == code => {}
                other => diffs.push(format!("query fingerprint: got {other:?}, expected {code}")),
            }
        }
        (outcome, _) => diffs.push(format!("pipeline: got {outcome:?}, expected {want}")),
    }
}

#[test]
fn scaffolds_keys_and_depictions_match_python_rdkit() {
    let records = load(FIXTURE);
    assert!(
        records.len() > 2300,
        "fixture has only {} records",
        records.len()
    );
    let pipeline = Pipeline::new().unwrap();
    let smiles: Vec<&str> = records.iter().map(|r| str_field(r, "smiles")).collect();
    let scaffolds = scaffold::scaffolds_batch(&smiles);
    let stereo = keys::stereo_insensitive_batch(&smiles);
    let (outcomes, queries): (Vec<_>, Vec<_>) = records
        .par_iter()
        .map(|r| {
            let input = str_field(r, "input");
            (
                pipeline.process(MolInput::Smiles(input)),
                fingerprint::morgan(input),
            )
        })
        .unzip();

    let mut mismatches = Vec::new();
    let (mut acyclic, mut svgs) = (0usize, 0usize);
    for (i, record) in records.iter().enumerate() {
        let mut diffs = Vec::new();
        let smi = smiles[i];
        compare(
            "murcko",
            &scaffolds[i].murcko,
            &record["murcko"],
            &mut diffs,
        );
        compare(
            "generic",
            &scaffolds[i].generic,
            &record["generic"],
            &mut diffs,
        );
        compare(
            "stereo_insensitive",
            &stereo[i],
            &record["stereo_insensitive"],
            &mut diffs,
        );
        // The single-molecule functions agree with the batch ones.
        if scaffold::murcko(smi) != scaffolds[i].murcko {
            diffs.push(format!(
                "murcko() differs from scaffolds_batch: {:?}",
                scaffold::murcko(smi)
            ));
        }
        if scaffold::generic(smi) != scaffolds[i].generic {
            diffs.push(format!(
                "generic() differs from scaffolds_batch: {:?}",
                scaffold::generic(smi)
            ));
        }
        if scaffolds[i].murcko.as_deref() == Ok("") {
            acyclic += 1;
        }
        if let Some(want) = record.get("svg") {
            svgs += usize::from(!want.is_null());
            let got = svg(smi, DEFAULT_SVG_SIZE, DEFAULT_SVG_SIZE);
            match (&got, want.as_str()) {
                (Ok(got), Some(want)) if got == want => {}
                (Err(_), None) => {}
                (Ok(got), Some(want)) => diffs.push(first_difference(got, want)),
                (got, _) => diffs.push(format!("svg: got {got:?}, expected {want}")),
            }
        }
        compare_pipeline(&outcomes[i], &queries[i], record, &mut diffs);
        if !diffs.is_empty() {
            mismatches.push(format!(
                "[{}] input {:?}, smiles {smi:?}\n    {}",
                str_field(record, "source"),
                str_field(record, "input"),
                diffs.join("\n    ")
            ));
        }
    }
    println!(
        "compared {} records: {acyclic} acyclic, {svgs} SVGs",
        records.len()
    );
    assert!(acyclic >= 10 && svgs >= 100, "fixture lacks edge cases");
    assert!(
        mismatches.is_empty(),
        "{} of {} records differ from the Python reference:\n{}",
        mismatches.len(),
        records.len(),
        mismatches.join("\n")
    );
}

/// A similarity query by SMILES gets exactly the fingerprint the pipeline
/// stored, for every SMILES input of the pipeline's own reference fixture
/// (`tests/reference.rs` checks `Pipeline::process` against the same
/// values), and is rejected with the same code where the pipeline rejects.
#[test]
fn query_fingerprint_is_the_stored_fingerprint_for_every_reference_input() {
    let records: Vec<Value> = load(REFERENCE)
        .into_iter()
        .filter(|r| str_field(r, "kind") == "smiles")
        .collect();
    assert!(
        records.len() > 2300,
        "only {} reference inputs",
        records.len()
    );
    let mut mismatches = Vec::new();
    for record in &records {
        let input = str_field(record, "input");
        let query = fingerprint::morgan(input);
        let same = match (&query, record["valid"].as_bool().unwrap()) {
            (Ok(fp), true) => *fp == bits_of(&record["fingerprint_on_bits"]),
            (Err(ChemError::Rejected { code, .. }), false) => {
                code.as_str() == str_field(record, "error_code")
            }
            _ => false,
        };
        if !same {
            mismatches.push(format!("{input:?}: query {query:?}"));
        }
    }
    assert!(
        mismatches.is_empty(),
        "{} of {} differ:\n{}",
        mismatches.len(),
        records.len(),
        mismatches.join("\n")
    );
}

/// Many threads at once give what one thread gives (each call owns its
/// RDKit objects).
#[test]
fn batch_functions_are_thread_safe() {
    let records = load(FIXTURE);
    let smiles: Vec<&str> = records
        .iter()
        .take(600)
        .map(|r| str_field(r, "smiles"))
        .collect();
    let serial: Vec<_> = smiles.iter().map(|s| scaffold::scaffolds(s)).collect();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(8)
        .build()
        .unwrap();
    for _ in 0..3 {
        let parallel = pool.install(|| scaffold::scaffolds_batch(&smiles));
        assert_eq!(parallel, serial);
        let pictures = pool.install(|| {
            smiles[..50]
                .par_iter()
                .map(|s| svg(s, 300, 300))
                .collect::<Vec<_>>()
        });
        for (s, picture) in smiles.iter().zip(&pictures) {
            assert_eq!(picture, &svg(s, 300, 300), "{s}");
        }
    }
}

/// `keys::stereo_insensitive_grouping` partitions the fixture's SMILES
/// together with their stereo-free keys (so every molecule with stereo meets
/// its stereo-free form) exactly as their full keys do, and a key shared by
/// two or more of them is the full key.
#[test]
fn stereo_insensitive_grouping_partitions_as_the_full_keys() {
    let records = load(FIXTURE);
    let mut smiles: Vec<&str> = records.iter().map(|r| str_field(r, "smiles")).collect();
    smiles.extend(
        records
            .iter()
            .filter_map(|r| r["stereo_insensitive"].as_str()),
    );
    let grouping = keys::stereo_insensitive_grouping(&smiles);
    let full: Vec<String> = keys::stereo_insensitive_batch(&smiles)
        .into_iter()
        .zip(&smiles)
        .map(|(key, s)| key.unwrap_or_else(|_| (*s).to_owned()))
        .collect();
    let mut first_of: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    let mut first_of_full: std::collections::HashMap<&str, usize> =
        std::collections::HashMap::new();
    let mut shared = 0;
    for i in 0..smiles.len() {
        let a = *first_of.entry(grouping[i].as_str()).or_insert(i);
        let b = *first_of_full.entry(full[i].as_str()).or_insert(i);
        assert_eq!(a, b, "{} groups differently from its full key", smiles[i]);
        if a != i {
            shared += 1;
            assert_eq!(grouping[i], full[i], "{}", smiles[i]);
            assert_eq!(grouping[a], full[a], "{}", smiles[a]);
        }
    }
    assert!(shared > 1000, "only {shared} molecules share a key");
}
