//! Replays `tests/fixtures/inchi.tsv.gz` (written by
//! `scripts/inchi_fixtures.py`: 5,000 MOSES and ChEMBL molecules
//! standardised by Debian's python3-rdkit, then InChI and InChIKey by RDKit
//! 2022.9.5 from PyPI, whose bundled InChI library is newer than Debian's
//! libinchi 1.03). molbatch's InChIKey of each standardised SMILES must equal
//! the reference on at least 99.9% of the molecules; every difference is
//! printed with both InChIs, so the README's explanation of them can be
//! checked against the run.
#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader};

use molbatch_chem::inchi::{to_inchi, to_smiles};
use rayon::prelude::*;

const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/inchi.tsv.gz");

/// One fixture line.
struct Reference {
    source: String,
    smiles: String,
    inchi: String,
    key: String,
}

fn load() -> Vec<Reference> {
    let file = std::fs::File::open(FIXTURE).unwrap();
    BufReader::new(flate2::read::GzDecoder::new(file))
        .lines()
        .skip(1)
        .map(|line| {
            let line = line.unwrap();
            let fields: Vec<&str> = line.split('\t').collect();
            assert_eq!(fields.len(), 4, "{line}");
            Reference {
                source: fields[0].to_owned(),
                smiles: fields[1].to_owned(),
                inchi: fields[2].to_owned(),
                key: fields[3].to_owned(),
            }
        })
        .collect()
}

#[test]
fn inchi_keys_match_rdkit_pypi_on_five_thousand_molecules() {
    let references = load();
    assert_eq!(references.len(), 5000);
    let ours: Vec<_> = references.par_iter().map(|r| to_inchi(&r.smiles)).collect();
    let mut differences = Vec::new();
    for (reference, got) in references.iter().zip(&ours) {
        let (inchi, key) = match got {
            Ok(i) => (i.inchi.as_str(), i.key.as_str()),
            Err(e) => {
                differences.push(format!(
                    "{} {}: molbatch error {e}; RDKit {} {}",
                    reference.source, reference.smiles, reference.key, reference.inchi
                ));
                continue;
            }
        };
        if key != reference.key {
            differences.push(format!(
                "{} {}:\n  molbatch {key} {inchi}\n  RDKit    {} {}",
                reference.source, reference.smiles, reference.key, reference.inchi
            ));
        } else {
            // Same key, same InChI: the key is a hash of it.
            assert_eq!(inchi, reference.inchi, "{}", reference.source);
        }
    }
    let identical = references.len() - differences.len();
    println!(
        "{identical} of {} InChIKeys identical to RDKit 2022.9.5 (PyPI); {} differ:",
        references.len(),
        differences.len()
    );
    for difference in &differences {
        println!("{difference}");
    }
    assert!(
        identical * 1000 >= references.len() * 999,
        "only {identical} of {} identical (at least 99.9% required):\n{}",
        references.len(),
        differences.join("\n")
    );
}

/// Every reference InChI, read back with [`to_smiles`] and written again,
/// gives the same InChI on at least 99.9% of the molecules; every one that
/// does not is printed (one today: a cation whose mobile-H structure comes
/// back as the neutral molecule protonated, `/q+1` becoming `/p+1`).
#[test]
fn reference_inchis_read_back_to_the_same_inchi() {
    let references = load();
    let with_inchi: Vec<&Reference> = references.iter().filter(|r| !r.inchi.is_empty()).collect();
    let failures: Vec<String> = with_inchi
        .par_iter()
        .filter_map(|r| {
            let again =
                to_smiles(&r.inchi).and_then(|smiles| to_inchi(&smiles).map(|i| (smiles, i)));
            match again {
                Ok((_, i)) if i.inchi == r.inchi => None,
                Ok((smiles, i)) => Some(format!(
                    "{} {}:\n  read back as {smiles}\n  written as  {}",
                    r.source, r.inchi, i.inchi
                )),
                Err(e) => Some(format!("{} {}: {e}", r.source, r.inchi)),
            }
        })
        .collect();
    let same = with_inchi.len() - failures.len();
    println!(
        "{same} of {} InChIs read back to the same InChI; {} differ:",
        with_inchi.len(),
        failures.len()
    );
    for failure in &failures {
        println!("{failure}");
    }
    assert!(
        same * 1000 >= with_inchi.len() * 999,
        "only {same} of {} read back:\n{}",
        with_inchi.len(),
        failures.join("\n")
    );
}
