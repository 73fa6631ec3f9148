//! Replays `tests/fixtures/alert_sets.jsonl.gz` (written by
//! `scripts/alert_set_fixtures.py` with Debian's python3-rdkit 2022.09.3,
//! which builds its own FilterCatalogs from the committed alert files) and
//! requires Python's alerts exactly for every molecule: the alerts
//! `Pipeline::process_with` stores with every set chosen and with one set
//! chosen, and every match with its atoms ([`alerts::matches_in`]). Also
//! pins the committed alert files to the upstream bytes their NOTICE names.
#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader};

use molbatch_chem::alert_sets::{AlertSet, AlertSets};
use molbatch_chem::{alerts, Alert, MolInput, Pipeline};
use serde_json::Value;
use sha2::{Digest, Sha256};

const FIXTURE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/alert_sets.jsonl.gz"
);

fn load() -> Vec<Value> {
    let file = std::fs::File::open(FIXTURE).unwrap();
    BufReader::new(flate2::read::GzDecoder::new(file))
        .lines()
        .map(|line| serde_json::from_str(&line.unwrap()).unwrap())
        .collect()
}

fn alert(pair: &Value) -> Alert {
    Alert {
        catalog: pair[0].as_str().unwrap().to_owned(),
        name: pair[1].as_str().unwrap().to_owned(),
    }
}

/// (catalog, name, atoms of each match) as the fixture lists them.
type Matches = Vec<(String, String, Vec<Vec<u32>>)>;

fn expected_matches(record: &Value) -> Matches {
    record["matches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            let atoms = m["atoms"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| {
                    a.as_array()
                        .unwrap()
                        .iter()
                        .map(|v| u32::try_from(v.as_u64().unwrap()).unwrap())
                        .collect()
                })
                .collect();
            (
                m["catalog"].as_str().unwrap().to_owned(),
                m["name"].as_str().unwrap().to_owned(),
                atoms,
            )
        })
        .collect()
}

#[test]
fn every_alert_set_equals_python_filter_catalogs_on_every_molecule() {
    let records = load();
    assert_eq!(records.len(), 307);
    let pipeline = Pipeline::new().unwrap();
    let all = AlertSets::all();
    let mut diffs = Vec::new();
    let mut fired = std::collections::BTreeSet::new();
    for (i, record) in records.iter().enumerate() {
        let source = record["source"].as_str().unwrap();
        let input = record["input"].as_str().unwrap();
        assert!(record["valid"].as_bool().unwrap(), "{source}");
        let want: Vec<Alert> = record["pipeline_alerts"]
            .as_array()
            .unwrap()
            .iter()
            .map(alert)
            .collect();

        let outcome = pipeline.process_with(MolInput::Smiles(input), all);
        let got = &outcome.valid().unwrap().alerts;
        if *got != want {
            diffs.push(format!(
                "{source} {input}: all sets {got:?}, python {want:?}"
            ));
        }
        fired.extend(got.iter().map(|a| a.catalog.clone()));

        // One set alone, a different one per molecule: only its catalogs.
        let set = AlertSet::ALL[i % AlertSet::ALL.len()];
        let one = pipeline.process_with(MolInput::Smiles(input), AlertSets::of([set]));
        let got_one = &one.valid().unwrap().alerts;
        let want_one: Vec<Alert> = want
            .iter()
            .filter(|a| set.catalogs().contains(&a.catalog.as_str()))
            .cloned()
            .collect();
        if *got_one != want_one {
            diffs.push(format!(
                "{source} {input}: {set} {got_one:?}, python {want_one:?}"
            ));
        }

        let smiles = record["smiles"].as_str().unwrap();
        let found: Matches = alerts::matches_in(smiles, all)
            .unwrap()
            .into_iter()
            .map(|m| (m.alert.catalog, m.alert.name, m.matches))
            .collect();
        let want_matches = expected_matches(record);
        if found != want_matches {
            diffs.push(format!(
                "{source} {smiles}: matches {found:?}, python {want_matches:?}"
            ));
        }
    }
    assert!(
        diffs.is_empty(),
        "{} differences over {} molecules:\n{}",
        diffs.len(),
        records.len(),
        diffs.join("\n")
    );
    // The fixture exercises every catalog but PAINS_C (rare outside PAINS hits).
    let missing: Vec<&str> = AlertSet::ALL
        .iter()
        .flat_map(|s| s.catalogs().iter().copied())
        .filter(|c| !fired.contains(*c) && *c != "PAINS_C")
        .collect();
    assert!(missing.is_empty(), "no molecule hits {missing:?}");
}

#[test]
fn the_default_sets_give_what_process_gives() {
    let pipeline = Pipeline::new().unwrap();
    for smiles in ["O=C1C=CC(=O)C=C1", "ClCCCC(=O)Cl", "Oc1cccc2cccnc12", "CCO"] {
        let plain = pipeline.process(MolInput::Smiles(smiles));
        let default = pipeline.process_with(MolInput::Smiles(smiles), AlertSets::DEFAULT);
        assert_eq!(plain, default, "{smiles}");
        let catalogs: Vec<&str> = plain
            .valid()
            .unwrap()
            .alerts
            .iter()
            .map(|a| a.catalog.as_str())
            .collect();
        assert!(
            catalogs
                .iter()
                .all(|c| ["PAINS_A", "PAINS_B", "PAINS_C", "BRENK", "NIH"].contains(c)),
            "{smiles}: {catalogs:?}"
        );
    }
}

#[test]
fn committed_alert_files_are_the_upstream_bytes() {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/data/alerts/");
    for (file, sha256) in [
        // rd_filters 3630f1a rd_filters/data/alert_collection.csv, verbatim.
        (
            "chembl_alert_collection.csv",
            "92f292322b94e150bbb58f6726d034b7dbf3fd3aa7f87311028cb9ca736f837f",
        ),
        // The Chelator, Alarm-NMR and LuciferaseInhibitor lines of medchem
        // 2.1.1's common_alerts_collection.csv, verbatim, with its header.
        (
            "medchem_interference_alerts.csv",
            "3e221219ceff7a4f56ff778a2a470ca7ccd5cf37a3c806f95b2eba20b729ec35",
        ),
    ] {
        let bytes = std::fs::read(format!("{dir}{file}")).unwrap();
        let digest: String = Sha256::digest(&bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(digest, sha256, "{file}");
    }
}
