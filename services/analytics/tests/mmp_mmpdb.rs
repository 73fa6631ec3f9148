//! Matched molecular pairs against mmpdb 3.1.4 (`scripts/mmp_fixtures.py`): 400 ChEMBL
//! molecules fragmented by molbatch-chem (with mmpdb's stereo up-enumeration) and paired by
//! molbatch-analysis through [`matched_pairs`], the `mmp` analysis's own fragmentation and
//! pair filter, must give mmpdb's pair set: the same molecule pairs with the same numbers of
//! cuts.
//!
//! The pairs are equal including multiplicities, with the default options (2,311 pairs, 1,490
//! distinct) and with `--smallest-transformation-only` (1,553 pairs, 1,395 distinct). The
//! latter depends on labels: when a constant has equal pieces (say two methyls), two variables
//! can be matched up through it in more than one way, and whether the transform reduces to a
//! smaller one depends on which; mmpdb takes the points in the order they appear in the two
//! unlabelled variable SMILES, and so must molbatch's labels (m297/m336, a three-cut transform
//! of an N-methyl-N-isopropyl amide, is the case on this slice).
//!
//! The symmetric series (issue 18 item 5: isopropyl, tert-butyl, gem-dimethyl, symmetric
//! rings and trisubstituted centres beside one to three cuts) must equal mmpdb's pairs exactly,
//! each listed as many times as mmpdb lists it.
#![allow(clippy::unwrap_used)]

use molbatch_analysis::mmp::{MmpStrings, Pair};
use molbatch_analytics::sar::matched_pairs;
use molbatch_proto::analysis::MmpParams;

const CHEMBL: &str = include_str!("fixtures/mmp_input.smi");
const SYMMETRIC: &str = include_str!("fixtures/mmp_symmetric_input.smi");

fn read_input(smi: &str) -> Vec<(u32, String)> {
    smi.lines()
        .map(|line| {
            let (smiles, id) = line.split_once(' ').unwrap();
            (
                id.trim_start_matches('m').parse().unwrap(),
                smiles.to_owned(),
            )
        })
        .collect()
}

fn pairs(params: &MmpParams) -> (Vec<Pair>, MmpStrings) {
    pairs_of(CHEMBL, params)
}

/// The molecules of `smi` fragmented and paired as the analytics worker does.
fn pairs_of(smi: &str, params: &MmpParams) -> (Vec<Pair>, MmpStrings) {
    let input = read_input(smi);
    let molecules: Vec<(u32, &str)> = input.iter().map(|(m, s)| (*m, s.as_str())).collect();
    let (pairs, strings, _) = matched_pairs(&molecules, params);
    (pairs, strings)
}

/// mmpdb's `--smallest-transformation-only` run of the fixtures: at most 10 heavy atoms
/// and half the molecule changing.
fn smallest() -> MmpParams {
    MmpParams {
        max_variable_ratio: Some(0.5),
        smallest_transformation_only: true,
        ..MmpParams::default()
    }
}

fn multiset(pairs: &[Pair], strings: &MmpStrings) -> Vec<(u32, u32, usize)> {
    let mut v = with_multiplicity(pairs, strings);
    v.dedup();
    v
}

/// (a, b, cuts) once per pair of index entries, sorted.
fn with_multiplicity(pairs: &[Pair], strings: &MmpStrings) -> Vec<(u32, u32, usize)> {
    let mut v: Vec<(u32, u32, usize)> = pairs
        .iter()
        .map(|p| (p.a, p.b, strings.text(p.variable_a).matches('*').count()))
        .collect();
    v.sort_unstable();
    v
}

fn fixture(tsv: &str) -> Vec<(u32, u32, usize)> {
    let mut v = fixture_with_multiplicity(tsv);
    v.dedup();
    v
}

fn fixture_with_multiplicity(tsv: &str) -> Vec<(u32, u32, usize)> {
    let id = |s: &str| s.trim_start_matches('m').parse::<u32>().unwrap();
    let mut v: Vec<(u32, u32, usize)> = tsv
        .lines()
        .map(|line| {
            let f: Vec<&str> = line.split('\t').collect();
            (id(f[0]), id(f[1]), f[2].parse().unwrap())
        })
        .collect();
    v.sort_unstable();
    v
}

fn difference(a: &[(u32, u32, usize)], b: &[(u32, u32, usize)]) -> Vec<(u32, u32, usize)> {
    let mut rest = b.to_vec();
    let mut out = Vec::new();
    for x in a {
        match rest.iter().position(|y| y == x) {
            Some(i) => {
                rest.swap_remove(i);
            }
            None => out.push(*x),
        }
    }
    out
}

/// Fails listing (the first of) the pairs only one side has, if any.
fn assert_no_difference(
    ours: &[(u32, u32, usize)],
    theirs: &[(u32, u32, usize)],
    only_ours: &[(u32, u32, usize)],
    only_theirs: &[(u32, u32, usize)],
) {
    assert!(
        only_ours.is_empty() && only_theirs.is_empty(),
        "{} pairs vs mmpdb's {}; only molbatch ({}): {:?}; only mmpdb ({}): {:?}",
        ours.len(),
        theirs.len(),
        only_ours.len(),
        &only_ours[..only_ours.len().min(12)],
        only_theirs.len(),
        &only_theirs[..only_theirs.len().min(12)],
    );
}

#[test]
fn pairs_equal_mmpdb() {
    let (pairs, strings) = pairs(&MmpParams::default());
    check_exact(
        multiset(&pairs, &strings),
        fixture(include_str!("fixtures/mmp_default.tsv")),
    );
}

#[test]
fn smallest_transformation_pairs_equal_mmpdb() {
    let (pairs, strings) = pairs(&smallest());
    check_exact(
        multiset(&pairs, &strings),
        fixture(include_str!("fixtures/mmp_smallest.tsv")),
    );
}

/// The smallest transformations of the ChEMBL slice, multiplicities included: which
/// attachment points of a constant with equal pieces (two methyls) two variables match up by
/// decides whether a three-cut transform reduces, so the labelling must pick mmpdb's matching.
#[test]
fn smallest_transformation_pairs_equal_mmpdb_with_multiplicity() {
    let (pairs, strings) = pairs(&smallest());
    check_exact(
        with_multiplicity(&pairs, &strings),
        fixture_with_multiplicity(include_str!("fixtures/mmp_smallest.tsv")),
    );
}

/// Exactly mmpdb's pairs (each as many times as mmpdb lists it, when the lists keep
/// multiplicities), and nothing else.
fn check_exact(ours: Vec<(u32, u32, usize)>, theirs: Vec<(u32, u32, usize)>) {
    let only_ours = difference(&ours, &theirs);
    let only_theirs = difference(&theirs, &ours);
    assert_no_difference(&ours, &theirs, &only_ours, &only_theirs);
}

/// Issue 18 item 5: series with isopropyl, tert-butyl, gem-dimethyl, para-disubstituted
/// benzene and cyclohexane, piperazine and trisubstituted centres beside the cuts (two and
/// three cuts), where mmpdb's symmetry handling and stereo up-enumeration decide which pairs
/// exist and how often each is listed.
#[test]
fn symmetric_series_pairs_equal_mmpdb_with_multiplicity() {
    let (pairs, strings) = pairs_of(SYMMETRIC, &MmpParams::default());
    check_exact(
        with_multiplicity(&pairs, &strings),
        fixture_with_multiplicity(include_str!("fixtures/mmp_symmetric_default.tsv")),
    );
}

#[test]
fn symmetric_series_smallest_transformation_pairs_equal_mmpdb_with_multiplicity() {
    let (pairs, strings) = pairs_of(SYMMETRIC, &smallest());
    check_exact(
        with_multiplicity(&pairs, &strings),
        fixture_with_multiplicity(include_str!("fixtures/mmp_symmetric_smallest.tsv")),
    );
}

/// With mmpdb's up-enumeration the ChEMBL slice's default pairs are exact too, multiplicities
/// included (a pair listed once per constant and per up-enumerated split that relates it).
#[test]
fn pairs_equal_mmpdb_with_multiplicity() {
    let (pairs, strings) = pairs_of(CHEMBL, &MmpParams::default());
    check_exact(
        with_multiplicity(&pairs, &strings),
        fixture_with_multiplicity(include_str!("fixtures/mmp_default.tsv")),
    );
}
