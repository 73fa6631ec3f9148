//! Replays `tests/fixtures/substructure.json.gz` (written by
//! `scripts/substructure_fixtures.py` with Debian's python3-rdkit): 2,000
//! MOSES and ChEMBL molecules standardised by the pipeline, and 48 SMILES
//! and SMARTS queries with and without chirality. Every query's hits, with
//! the atoms of each first match, must equal RDKit's Python
//! `GetSubstructMatch` on every molecule, screen included (a molecule the
//! pattern-fingerprint screen drops must be one RDKit does not match).
#![allow(clippy::unwrap_used)]

use molbatch_chem::substructure::{search_key, QuerySyntax, SearchKey, SubstructureQuery};
use molbatch_chem::{MolInput, Pipeline};
use rayon::prelude::*;
use serde_json::Value;

const FIXTURE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/substructure.json.gz"
);

fn load() -> Value {
    let file = std::fs::File::open(FIXTURE).unwrap();
    serde_json::from_reader(flate2::read::GzDecoder::new(file)).unwrap()
}

/// A fixture query's hits: molecule position and atoms.
fn hits_of(query: &Value) -> Vec<(usize, Vec<u32>)> {
    query["hits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|hit| {
            let position = hit[0].as_u64().unwrap() as usize;
            let atoms = hit[1]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| a.as_u64().unwrap() as u32)
                .collect();
            (position, atoms)
        })
        .collect()
}

#[test]
fn hits_and_atoms_equal_rdkit_python_for_every_query_and_molecule() {
    let fixture = load();
    let molecules = fixture["molecules"].as_array().unwrap();
    assert_eq!(molecules.len(), 2000);
    // The job's own standardisation gives the fixture's molecules.
    let pipeline = Pipeline::new().unwrap();
    let keys: Vec<SearchKey> = molecules
        .par_iter()
        .map(|m| {
            let input = m["input"].as_str().unwrap();
            let outcome = pipeline.process(MolInput::Smiles(input));
            let standardized = &outcome.valid().unwrap().standardized_smiles;
            assert_eq!(standardized, m["standardized"].as_str().unwrap(), "{input}");
            search_key(standardized).unwrap()
        })
        .collect();

    let queries = fixture["queries"].as_array().unwrap();
    assert!(queries.len() >= 40);
    let (mut pairs, mut screened_out) = (0usize, 0usize);
    let mut failures = Vec::new();
    for query in queries {
        let text = query["query"].as_str().unwrap();
        let syntax = match query["syntax"].as_str().unwrap() {
            "smarts" => QuerySyntax::Smarts,
            "smiles" => QuerySyntax::Smiles,
            other => panic!("syntax {other}"),
        };
        let chirality = query["chirality"].as_bool().unwrap();
        let parsed = SubstructureQuery::parse(text, syntax, chirality).unwrap();
        let ours: Vec<(usize, Vec<u32>)> = keys
            .par_iter()
            .enumerate()
            .filter_map(|(i, key)| parsed.find(key).unwrap().map(|atoms| (i, atoms)))
            .collect();
        pairs += keys.len();
        screened_out += keys
            .iter()
            .filter(|k| !parsed.may_match(&k.pattern))
            .count();
        let want = hits_of(query);
        if ours != want {
            let missing: Vec<_> = want.iter().filter(|h| !ours.contains(h)).take(3).collect();
            let extra: Vec<_> = ours.iter().filter(|h| !want.contains(h)).take(3).collect();
            failures.push(format!(
                "{syntax:?} {text:?} chirality={chirality}: {} hits, want {}; \
                 missing {missing:?}, extra {extra:?}",
                ours.len(),
                want.len()
            ));
        }
    }
    println!(
        "{} queries x {} molecules: the screen dropped {screened_out} of {pairs} pairs ({:.1}%)",
        queries.len(),
        keys.len(),
        100.0 * screened_out as f64 / pairs as f64
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
