//! The `mmp` analysis on symmetric series (issue 18 item 5) against mmpdb 3.1.4: molecules of
//! `fixtures/mmp_symmetric_input.smi` with an isopropyl, a centre-bearing
//! amide or a symmetric ring beside the cuts, and the pairs mmpdb's `index` reports for them
//! (`mmp_symmetric_default.tsv`, written by `scripts/mmp_fixtures.py`, one row per pair it
//! lists, so a pair related through several constants or up-enumerations repeats). Whether
//! two molecules pair depends on those two only, so mmpdb's pairs among a subset are the
//! fixture's rows with both molecules in it. `sar::mmp` must list the same rows (direction,
//! transform and constant as mmpdb writes them) with the same multiplicities.
#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, HashSet};

use molbatch_analytics::sar::mmp;
use molbatch_proto::analysis::MmpParams;
use molbatch_proto::v1 as pb;

const INPUT: &str = include_str!("fixtures/mmp_symmetric_input.smi");
const MMPDB: &str = include_str!("fixtures/mmp_symmetric_default.tsv");

/// Isopropyl and tert-butyl aryls (one cut), isopropyl and stereocentre amides (R and S
/// included), 3,5-disubstituted toluenes (two and three cuts on a symmetric ring).
const SUBSET: &[u32] = &[
    0, 1, 2, 5, 6, 54, 55, 56, 57, 58, 59, 60, 61, 62, 84, 85, 86, 87, 88, 91, 93,
];

fn id(s: &str) -> u32 {
    s.trim_start_matches('m').parse().unwrap()
}

/// (a, b, transform, constant) → how many times the pair is listed.
type Counted = BTreeMap<(u64, u64, String, String), usize>;

#[test]
fn symmetric_series_rows_equal_mmpdb_with_multiplicity() {
    let subset: HashSet<u32> = SUBSET.iter().copied().collect();
    let results: Vec<pb::MoleculeResult> = INPUT
        .lines()
        .filter_map(|line| {
            let (smiles, name) = line.split_once(' ').unwrap();
            let index = id(name);
            subset.contains(&index).then(|| pb::MoleculeResult {
                index: u64::from(index),
                valid: true,
                input_smiles: smiles.to_owned(),
                standardized_smiles: smiles.to_owned(),
                ..Default::default()
            })
        })
        .collect();
    assert_eq!(results.len(), SUBSET.len());
    let valid: Vec<&pb::MoleculeResult> = results.iter().collect();

    let started = std::time::Instant::now();
    let result = mmp(&valid, &MmpParams::default()).unwrap();
    eprintln!(
        "mmp over {} molecules: {:.3} s, {} pairs, {} fragmentations",
        valid.len(),
        started.elapsed().as_secs_f64(),
        result.pairs.len(),
        result.fragmentations
    );

    let mut ours = Counted::new();
    for p in &result.pairs {
        *ours
            .entry((p.a, p.b, p.transform.clone(), p.constant.clone()))
            .or_default() += 1;
    }
    let mut want = Counted::new();
    for line in MMPDB.lines() {
        let f: Vec<&str> = line.split('\t').collect();
        let (a, b) = (id(f[0]), id(f[1]));
        if subset.contains(&a) && subset.contains(&b) {
            let key = (u64::from(a), u64::from(b), f[2].to_owned(), f[3].to_owned());
            *want.entry(key).or_default() += 1;
        }
    }
    let differences: Vec<String> = ours
        .keys()
        .chain(want.keys())
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .filter(|k| ours.get(k) != want.get(k))
        .map(|k| {
            format!(
                "m{} m{} {} {}: molbatch {} mmpdb {}",
                k.0,
                k.1,
                k.2,
                k.3,
                ours.get(k).copied().unwrap_or(0),
                want.get(k).copied().unwrap_or(0)
            )
        })
        .collect();
    assert!(
        differences.is_empty(),
        "{} of {} mmpdb rows differ:\n{}",
        differences.len(),
        want.values().sum::<usize>(),
        differences.join("\n")
    );
    assert_eq!(result.pairs.len(), want.values().sum::<usize>());
    // Transform counts are the pairs per transform, multiplicity included.
    let counted: u64 = result.transforms.iter().map(|t| t.count).sum();
    assert_eq!(counted, result.pairs.len() as u64);
}
