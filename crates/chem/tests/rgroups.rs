//! Replays `tests/fixtures/rgroups_*.json` (written by `scripts/rgroup_fixtures.py` with
//! Debian's python3-rdkit 2022.09.3: `RGroupDecompose([core], mols, asSmiles=True)` with
//! RDKit's default parameters) and requires the same decomposition exactly: the same
//! molecules matched, the same core and R-group SMILES under the same labels for every one,
//! the same unmatched molecules, and the core read by the same parser (SMILES first, then
//! SMARTS). Every mismatch is collected and reported with its molecule.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;

use molbatch_chem::rgroups::{decompose, Core, CoreSyntax, Matching, Options, Unmatched};
use serde_json::Value;

fn fixture(name: &str) -> Value {
    let path = format!(
        "{}/tests/fixtures/rgroups_{name}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Decomposes a fixture's molecules against its core and compares everything.
fn replay(name: &str) {
    let f = fixture(name);
    let core = Core::parse(f["core"].as_str().unwrap()).unwrap();
    let syntax = match core.syntax() {
        CoreSyntax::Smiles => "smiles",
        CoreSyntax::Smarts => "smarts",
    };
    assert_eq!(syntax, f["syntax"].as_str().unwrap(), "{name}: parser");
    let molecules: Vec<&str> = f["molecules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m.as_str().unwrap())
        .collect();
    // A generous budget: the reference has no time limit, so neither may this run.
    let options = Options {
        budget_per_molecule: std::time::Duration::from_secs(10),
    };
    let d = decompose(&core, &molecules, &options).unwrap();
    assert_eq!(d.matching, Matching::Symmetrized, "{name}");

    let mut diffs = Vec::new();
    let want_unmatched: Vec<usize> = f["unmatched"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i.as_u64().unwrap() as usize)
        .collect();
    let got_unmatched: Vec<usize> = d
        .unmatched
        .iter()
        .map(|(i, why)| {
            assert_eq!(*why, Unmatched::NoCore, "{name}: molecule {i}");
            *i
        })
        .collect();
    if got_unmatched != want_unmatched {
        diffs.push(format!(
            "unmatched: got {got_unmatched:?}, expected {want_unmatched:?}"
        ));
    }
    let want_rows = f["rows"].as_array().unwrap();
    if d.rows.len() != want_rows.len() {
        diffs.push(format!(
            "{} rows, expected {}",
            d.rows.len(),
            want_rows.len()
        ));
    }
    for (got, want) in d.rows.iter().zip(want_rows) {
        let molecule = want["molecule"].as_u64().unwrap() as usize;
        let mut want_parts: BTreeMap<String, String> = want
            .as_object()
            .unwrap()
            .iter()
            .filter(|(k, _)| *k != "molecule")
            .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_owned()))
            .collect();
        let want_core = want_parts.remove("Core").unwrap_or_default();
        let got_parts: BTreeMap<String, String> = got.rgroups.iter().cloned().collect();
        if got.molecule != molecule || got.core != want_core || got_parts != want_parts {
            diffs.push(format!(
                "molecule {} ({}): got {} {:?} {:?}, expected {molecule} {want_core} {want_parts:?}",
                got.molecule, molecules[got.molecule], got.core, got_parts, want_parts
            ));
        }
    }
    let mut want_labels: Vec<String> = want_rows
        .iter()
        .flat_map(|r| r.as_object().unwrap().keys())
        .filter(|k| k.starts_with('R'))
        .cloned()
        .collect();
    want_labels.sort_by_key(|l| l[1..].parse::<u32>().unwrap());
    want_labels.dedup();
    if d.labels != want_labels {
        diffs.push(format!(
            "labels: got {:?}, expected {want_labels:?}",
            d.labels
        ));
    }
    assert!(
        diffs.is_empty(),
        "{name}: {} differences from RDKit's Python:\n{}",
        diffs.len(),
        diffs.join("\n")
    );
}

#[test]
fn unlabelled_smiles_core_matches_python() {
    replay("arylpiperazine");
}

#[test]
fn labelled_smarts_core_matches_python() {
    replay("smarts");
}

#[test]
fn murcko_scaffold_core_matches_python() {
    replay("murcko");
}
