//! The canonical tautomer `Pipeline::process` reports comes from molbatch's own enumeration
//! (`src/ffi/tautomer.cc`, RDKit's algorithm without its repeated sanitising and SMILES
//! writing). It must equal RDKit's `TautomerEnumerator::canonicalize` on every molecule: the
//! reference inputs (MOSES, ChEMBL and edge cases) and molecules chosen to reach the corners
//! of the enumeration (stereo on the tautomeric path, the transform limit, isotopes, charges).
#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader};

use molbatch_chem::{ChemError, Pipeline};
use rayon::prelude::*;

const FIXTURE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/reference.jsonl.gz"
);

/// Molecules that exercise the enumeration's corners.
const CORNERS: &[&str] = &[
    // E/Z and tetrahedral stereo on and next to tautomeric paths.
    "C/C=C(/O)C(C)=O",
    r"C/C(O)=C\C(=O)c1ccccc1",
    "C[C@H](N)C(=O)O",
    "C[C@@H]1CC(=O)CCC1=O",
    "O=C1C[C@H](C)C(=O)[C@@H](C)C1",
    r"CC(=O)/C=C(\O)C[C@@H](C)O",
    // Many tautomers; the polyketones stop at RDKit's 1,000 transforms.
    "Oc1c(O)c(O)c(O)c(O)c1O",
    "CC(=O)CC(=O)CC(=O)CC(=O)CC(=O)C",
    "CC(=O)CC(=O)CC(=O)CC(=O)CC(=O)CC(=O)CC(=O)CC(=O)C",
    "NC(=N)NC(=N)NC(=N)NC(=N)N",
    // Heteroaromatics whose sanitisation moves other bonds.
    "Cc1nc2ccccc2[nH]1",
    "Nc1nc2[nH]cnc2c(=O)[nH]1",
    "Oc1ccccn1",
    "O=c1cc[nH]c(=O)[nH]1",
    "c1ccc2[nH]ccc2c1",
    "Oc1nc(O)c2nc[nH]c2n1",
    // Isotopes, charges, nitro and aci-nitro, oximes, thiols.
    "[2H]C([2H])C(=O)C",
    "[13CH3]C(=O)CC(C)=O",
    "CC(=O)C[N+](=O)[O-]",
    "CC(=NO)C(C)=O",
    "SC1=NC=CC=C1",
    "CC(=S)CC(C)=O",
    "OP(=O)(O)C(C)=O",
];

fn reference_smiles() -> Vec<String> {
    let file = std::fs::File::open(FIXTURE).unwrap();
    BufReader::new(flate2::read::GzDecoder::new(file))
        .lines()
        .filter_map(|line| {
            let case: serde_json::Value = serde_json::from_str(&line.unwrap()).unwrap();
            (case["kind"] == "smiles").then(|| case["input"].as_str().unwrap().to_owned())
        })
        .collect()
}

#[test]
fn canonical_tautomers_equal_rdkits() {
    let pipeline = Pipeline::new().unwrap();
    let mut inputs = reference_smiles();
    inputs.extend(CORNERS.iter().map(|s| (*s).to_owned()));
    let outcomes: Vec<_> = inputs
        .par_iter()
        .map(|smiles| (smiles, pipeline.canonical_tautomers(smiles)))
        .collect();
    let mut compared = 0;
    let mut differences = Vec::new();
    for (smiles, outcome) in outcomes {
        match outcome {
            Ok((ours, rdkits)) => {
                compared += 1;
                if ours != rdkits {
                    differences.push(format!("{smiles}: ours {ours}, RDKit's {rdkits}"));
                }
            }
            // Inputs the pipeline rejects are rejected before either enumeration.
            Err(ChemError::Rejected { .. }) => {}
            Err(e) => panic!("{smiles}: {e}"),
        }
    }
    assert!(compared > 2_000, "only {compared} molecules compared");
    assert!(
        differences.is_empty(),
        "{} of {compared} differ:\n{}",
        differences.len(),
        differences.join("\n")
    );
}

#[test]
fn process_reports_the_canonical_tautomer() {
    let pipeline = Pipeline::new().unwrap();
    for smiles in CORNERS {
        let outcome = pipeline.process(molbatch_chem::MolInput::Smiles(smiles));
        let record = outcome.valid().unwrap();
        let (ours, rdkits) = pipeline.canonical_tautomers(smiles).unwrap();
        assert_eq!(record.tautomer_smiles, ours, "{smiles}");
        assert_eq!(ours, rdkits, "{smiles}");
    }
}
