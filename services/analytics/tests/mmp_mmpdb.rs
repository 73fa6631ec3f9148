//! Matched molecular pairs against mmpdb 3.1.4 (`scripts/mmp_fixtures.py`): 400 ChEMBL
//! molecules fragmented by molbatch-chem (with mmpdb's stereo up-enumeration) and paired by
//! molbatch-analysis through [`matched_pairs`], the `mmp` analysis's own fragmentation (read
//! back from the records a part stores) and pair filter, must give mmpdb's pairs row for row: the same molecules in the same direction,
//! the same transform and the same constant, as strings with mmpdb's attachment labels, each
//! listed as many times as mmpdb lists it.
//!
//! With the default options that is 2,311 rows; with `--smallest-transformation-only` 1,553.
//! The latter depends on labels: whether a transform reduces to a smaller one is decided on
//! its labelled strings, so it holds only when the labels are mmpdb's.
//!
//! The symmetric series (issue 18 item 5: isopropyl, tert-butyl, gem-dimethyl, symmetric
//! rings and trisubstituted centres beside one to three cuts) must equal mmpdb's rows too.
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
    let (pairs, strings, _) = matched_pairs(&molecules, params).unwrap();
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

/// One pair as mmpdb's csv writes it: ids, transform, constant.
type Row = (u32, u32, String, String);

/// The pairs as rows, sorted.
fn rows(pairs: &[Pair], strings: &MmpStrings) -> Vec<Row> {
    let mut v: Vec<Row> = pairs
        .iter()
        .map(|p| {
            let transform = format!(
                "{}>>{}",
                strings.text(p.variable_a),
                strings.text(p.variable_b)
            );
            (p.a, p.b, transform, strings.text(p.constant).to_owned())
        })
        .collect();
    v.sort_unstable();
    v
}

fn fixture(tsv: &str) -> Vec<Row> {
    let id = |s: &str| s.trim_start_matches('m').parse::<u32>().unwrap();
    let mut v: Vec<Row> = tsv
        .lines()
        .map(|line| {
            let f: Vec<&str> = line.split('\t').collect();
            (id(f[0]), id(f[1]), f[2].to_owned(), f[3].to_owned())
        })
        .collect();
    v.sort_unstable();
    v
}

/// The rows of `a` not in `b`, counting multiplicity (both sorted).
fn difference<'r>(a: &'r [Row], b: &[Row]) -> Vec<&'r Row> {
    let mut out = Vec::new();
    let mut rest = b.iter().peekable();
    for x in a {
        while rest.next_if(|y| *y < x).is_some() {}
        if rest.next_if(|y| *y == x).is_none() {
            out.push(x);
        }
    }
    out
}

/// Exactly mmpdb's rows, each as many times as mmpdb lists it, and nothing else; fails
/// listing (the first of) the rows only one side has.
fn check_exact(ours: Vec<Row>, theirs: Vec<Row>) {
    let only_ours = difference(&ours, &theirs);
    let only_theirs = difference(&theirs, &ours);
    assert!(
        only_ours.is_empty() && only_theirs.is_empty(),
        "{} rows vs mmpdb's {}; only molbatch ({}): {:#?}; only mmpdb ({}): {:#?}",
        ours.len(),
        theirs.len(),
        only_ours.len(),
        &only_ours[..only_ours.len().min(8)],
        only_theirs.len(),
        &only_theirs[..only_theirs.len().min(8)],
    );
}

#[test]
fn pairs_equal_mmpdb() {
    let (pairs, strings) = pairs(&MmpParams::default());
    check_exact(
        rows(&pairs, &strings),
        fixture(include_str!("fixtures/mmp_default.tsv")),
    );
}

/// Which attachment points of a constant with equal pieces (two methyls) two variables match
/// up by decides whether a three-cut transform reduces, so the labels must be mmpdb's.
#[test]
fn smallest_transformation_pairs_equal_mmpdb() {
    let (pairs, strings) = pairs(&smallest());
    check_exact(
        rows(&pairs, &strings),
        fixture(include_str!("fixtures/mmp_smallest.tsv")),
    );
}

/// Issue 18 item 5: series with isopropyl, tert-butyl, gem-dimethyl, para-disubstituted
/// benzene and cyclohexane, piperazine and trisubstituted centres beside the cuts (two and
/// three cuts), where mmpdb's symmetry handling and stereo up-enumeration decide which pairs
/// exist, how often each is listed and how its transform is labelled.
#[test]
fn symmetric_series_pairs_equal_mmpdb() {
    let (pairs, strings) = pairs_of(SYMMETRIC, &MmpParams::default());
    check_exact(
        rows(&pairs, &strings),
        fixture(include_str!("fixtures/mmp_symmetric_default.tsv")),
    );
}

#[test]
fn symmetric_series_smallest_transformation_pairs_equal_mmpdb() {
    let (pairs, strings) = pairs_of(SYMMETRIC, &smallest());
    check_exact(
        rows(&pairs, &strings),
        fixture(include_str!("fixtures/mmp_symmetric_smallest.tsv")),
    );
}
