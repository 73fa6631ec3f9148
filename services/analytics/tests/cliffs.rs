//! Activity cliffs of the `mmp` analysis against `tests/fixtures/cliffs_*.csv`, written by
//! `scripts/cliff_reference.py`: a straightforward, dense Python implementation of
//! MoleculeACE's definition with Debian's python3-rdkit. The molecules go through the
//! per-molecule pipeline as an uploaded CSV with an nM activity column would, then `sar::mmp`
//! with its defaults (MoleculeACE's thresholds, 1024-bit fingerprints, no matched-pair cliffs);
//! every molecule's cliff flag and number of cliff partners must equal the reference's.
#![allow(clippy::unwrap_used)]

use molbatch_analytics::compute::compute_one;
use molbatch_analytics::sar::mmp;
use molbatch_chem::Pipeline;
use molbatch_proto::analysis::MmpParams;
use molbatch_proto::{internal as ipb, v1 as pb};

/// One reference molecule: SMILES, potency in nM, cliff flag, partners.
struct Reference {
    smiles: String,
    nm: String,
    cliff: bool,
    partners: u32,
}

fn load(set: &str) -> Vec<Reference> {
    let path = format!(
        "{}/tests/fixtures/cliffs_{set}.csv",
        env!("CARGO_MANIFEST_DIR")
    );
    csv::Reader::from_path(path)
        .unwrap()
        .records()
        .map(|r| {
            let r = r.unwrap();
            Reference {
                smiles: r[0].to_owned(),
                nm: r[1].to_owned(),
                cliff: &r[2] == "1",
                partners: r[3].parse().unwrap(),
            }
        })
        .collect()
}

/// Compares molbatch's flags with the reference of `set`; returns the differences.
fn compare(set: &str) -> Vec<String> {
    let reference = load(set);
    let pipeline = Pipeline::new().unwrap();
    let results: Vec<pb::MoleculeResult> = reference
        .iter()
        .enumerate()
        .map(|(i, m)| {
            compute_one(
                &pipeline,
                &ipb::InputRecord {
                    index: i as u64,
                    molecule: Some(pb::InputMolecule {
                        smiles: m.smiles.clone(),
                        activities: vec![pb::ActivityValue {
                            column: "exp_mean [nM]".to_owned(),
                            value: m.nm.clone(),
                            unit: "nM".to_owned(),
                        }],
                        ..Default::default()
                    }),
                    ..Default::default()
                },
            )
        })
        .collect();
    let valid: Vec<&pb::MoleculeResult> = results.iter().filter(|r| r.valid).collect();
    assert_eq!(
        valid.len(),
        reference.len(),
        "{set}: every molecule is valid"
    );
    let result = mmp(&valid, &MmpParams::default()).unwrap();
    assert_eq!(result.cliff_molecules.len(), reference.len(), "{set}");
    let mut diffs = Vec::new();
    for m in &result.cliff_molecules {
        let want = &reference[m.index as usize];
        if m.cliff != want.cliff || m.partners != want.partners {
            diffs.push(format!(
                "{set} molecule {} ({}): cliff {} with {} partners, reference {} with {}",
                m.index, want.smiles, m.cliff, m.partners, want.cliff, want.partners
            ));
        }
    }
    diffs
}

#[test]
fn cliff_flags_equal_the_python_reference_on_chembl2047() {
    let diffs = compare("CHEMBL2047_EC50");
    assert!(diffs.is_empty(), "{}", diffs.join("\n"));
}

#[test]
fn cliff_flags_equal_the_python_reference_on_chembl1862() {
    let diffs = compare("CHEMBL1862_Ki");
    assert!(diffs.is_empty(), "{}", diffs.join("\n"));
}
