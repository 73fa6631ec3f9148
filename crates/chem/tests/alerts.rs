//! Replays `tests/fixtures/alerts.jsonl.gz` (written by
//! `scripts/alert_fixtures.py` with Debian's python3-rdkit 2022.09.3) and
//! requires Python's answers exactly: for each molecule's standardised
//! SMILES, every alert's catalog, name and matched atoms
//! ([`alerts::matches`]), and the highlighted SVG of its first alert
//! ([`depict::svg_highlighted`]). It also checks the alert names are the
//! ones `Pipeline::process` stores for the same input, which is what lets a
//! client name a stored alert to highlight. Every mismatch is collected and
//! reported with its molecule.
#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader};

use molbatch_chem::{alerts, depict, MolInput, Pipeline};
use serde_json::Value;

const FIXTURE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/alerts.jsonl.gz"
);

fn load() -> Vec<Value> {
    let file = std::fs::File::open(FIXTURE).unwrap();
    BufReader::new(flate2::read::GzDecoder::new(file))
        .lines()
        .map(|line| serde_json::from_str(&line.unwrap()).unwrap())
        .collect()
}

fn u32s(value: &Value) -> Vec<u32> {
    value
        .as_array()
        .unwrap()
        .iter()
        .map(|v| u32::try_from(v.as_u64().unwrap()).unwrap())
        .collect()
}

/// (catalog, name, atoms of each match) as the fixture lists them.
type Expected = Vec<(String, String, Vec<Vec<u32>>)>;

fn expected(record: &Value) -> Expected {
    record["matches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["catalog"].as_str().unwrap().to_owned(),
                m["name"].as_str().unwrap().to_owned(),
                m["atoms"].as_array().unwrap().iter().map(u32s).collect(),
            )
        })
        .collect()
}

#[test]
fn alert_atoms_and_highlighted_svgs_equal_python() {
    let records = load();
    assert!(records.len() >= 30, "{} records", records.len());
    let pipeline = Pipeline::new().unwrap();
    let mut diffs = Vec::new();
    let (mut pains, mut brenk) = (0, 0);
    for record in &records {
        let source = record["source"].as_str().unwrap();
        let smiles = record["smiles"].as_str().unwrap();
        let found = alerts::matches(smiles).unwrap();
        let got: Expected = found
            .iter()
            .map(|m| {
                (
                    m.alert.catalog.clone(),
                    m.alert.name.clone(),
                    m.matches.clone(),
                )
            })
            .collect();
        let want = expected(record);
        if got != want {
            diffs.push(format!(
                "{source} {smiles}: matches {got:?}, expected {want:?}"
            ));
        }
        pains += usize::from(found.iter().any(|m| m.alert.is_pains()));
        brenk += usize::from(found.iter().any(|m| m.alert.catalog == "BRENK"));

        // The names a client sees on the stored result.
        let input = record["input"].as_str().unwrap();
        let outcome = pipeline.process(MolInput::Smiles(input));
        let stored = &outcome.valid().unwrap().alerts;
        let named: Vec<_> = found.iter().map(|m| m.alert.clone()).collect();
        if &named != stored {
            diffs.push(format!(
                "{source} {smiles}: alerts {named:?}, pipeline stored {stored:?}"
            ));
        }

        let highlight = &record["highlight"];
        let name = highlight["name"].as_str().unwrap();
        let atoms: Vec<u32> = {
            let mut atoms: Vec<u32> = found
                .iter()
                .filter(|m| m.alert.name == name)
                .flat_map(|m| m.atoms())
                .collect();
            atoms.sort_unstable();
            atoms.dedup();
            atoms
        };
        if atoms != u32s(&highlight["atoms"]) {
            diffs.push(format!("{source}: highlight atoms {atoms:?}"));
        }
        let size = |field: &str| u32::try_from(highlight[field].as_u64().unwrap()).unwrap();
        // Order and repeats of the atoms given do not matter.
        let mut given = atoms.clone();
        given.reverse();
        given.extend_from_slice(&atoms);
        let svg = depict::svg_highlighted(smiles, size("width"), size("height"), &given).unwrap();
        if svg != highlight["svg"].as_str().unwrap() {
            diffs.push(format!("{source} {smiles}: highlighted svg differs"));
        }
    }
    assert!(
        diffs.is_empty(),
        "{} of {} molecules differ:\n{}",
        diffs.len(),
        records.len(),
        diffs.join("\n")
    );
    assert!(pains >= 15 && brenk >= 12, "{pains} PAINS, {brenk} Brenk");
}

#[test]
fn highlighted_atom_out_of_range_is_an_error_not_an_abort() {
    let err = depict::svg_highlighted("CCO", 300, 300, &[0, 3]).unwrap_err();
    assert!(err.to_string().contains("out of range"), "{err}");
}
