//! Readable tables of analyses and search hits, as `molbatch analytics JOB
//! TYPE` and `molbatch search` print them. Long lists are cut to their first
//! rows with a note saying how many were left out; `--output json` prints
//! everything. Also every matched pair of an `mmp` result as CSV, for
//! `molbatch analytics JOB mmp --pairs-csv FILE`.

use std::fmt::Write;

use molbatch_proto::v1 as pb;
use pb::analysis::Result as AnalysisResult;

/// Rows shown of a long list.
const SHOWN: usize = 10;

/// An analysis status without the enum prefix (`COMPLETE`).
pub fn analysis_status(status: i32) -> &'static str {
    pb::AnalysisStatus::try_from(status).map_or("UNKNOWN", |s| {
        s.as_str_name().trim_start_matches("ANALYSIS_STATUS_")
    })
}

/// One line per analysis: type, status, parameters, reason.
pub fn analysis_line(a: &pb::Analysis) -> String {
    let mut params: Vec<String> = a.params.iter().map(|(k, v)| format!("{k}={v}")).collect();
    params.sort();
    let mut line = format!("{:<18} {:<10}", a.r#type, analysis_status(a.status));
    if !params.is_empty() {
        line.push_str(&format!(" {}", params.join(" ")));
    }
    if !a.reason.is_empty() {
        line.push_str(&format!(" {}", a.reason));
    }
    line
}

fn more(out: &mut String, total: usize) {
    if total > SHOWN {
        let _ = writeln!(out, "  ... {} more (--output json for all)", total - SHOWN);
    }
}

fn members(m: &[u64]) -> String {
    let mut shown: Vec<String> = m.iter().take(8).map(u64::to_string).collect();
    if m.len() > 8 {
        shown.push("...".to_owned());
    }
    shown.join(",")
}

fn group_rows(out: &mut String, groups: &[pb::MoleculeGroup]) {
    let _ = writeln!(out, "  {:>6}  {:<48}  members", "count", "key");
    for g in groups.iter().take(SHOWN) {
        let key = if g.key.is_empty() { "(none)" } else { &g.key };
        let _ = writeln!(
            out,
            "  {:>6}  {:<48}  {}",
            g.members.len(),
            key,
            members(&g.members)
        );
    }
    more(out, groups.len());
}

/// The analysis's status line and, once complete, its result as tables.
pub fn analysis_text(a: &pb::Analysis) -> String {
    let mut out = analysis_line(a);
    out.push('\n');
    let Some(result) = &a.result else {
        return out;
    };
    match result {
        AnalysisResult::Deduplication(d) => deduplication_text(&mut out, d),
        AnalysisResult::Statistics(s) => statistics_text(&mut out, s),
        AnalysisResult::Scaffolds(s) => scaffolds_text(&mut out, s),
        AnalysisResult::ChemicalSpace(c) => chemical_space_text(&mut out, c),
        AnalysisResult::SimilarityMatrix(m) => similarity_matrix_text(&mut out, m),
        AnalysisResult::NearestNeighbors(n) => nearest_neighbors_text(&mut out, n),
        AnalysisResult::Mmp(m) => mmp_text(&mut out, m),
        AnalysisResult::Rgroups(r) => rgroups_text(&mut out, r),
    }
    out
}

/// The `deduplication` analysis: per level, the unique count and the groups of duplicates.
fn deduplication_text(out: &mut String, d: &pb::DeduplicationResult) {
    for level in &d.levels {
        let _ = writeln!(
            out,
            "{}: {} unique, {} groups of duplicates",
            level.level,
            level.unique_count,
            level.groups.len()
        );
        if !level.groups.is_empty() {
            group_rows(out, &level.groups);
        }
    }
}

/// The `statistics` analysis: the quality score, a row per column, outlier counts, then
/// [`welch_text`].
fn statistics_text(out: &mut String, s: &pb::StatisticsResult) {
    if let Some(q) = &s.quality {
        let _ = writeln!(
            out,
            "quality score {:.1}: validity {:.1}%, diversity {:.1}%, drug-likeness {:.1}%",
            q.score, q.validity_percent, q.diversity_percent, q.drug_likeness_percent
        );
    }
    let _ = writeln!(
        out,
        "  {:<20} {:>7} {:>10} {:>10} {:>10} {:>10} {:>10} {:>10}",
        "column", "count", "mean", "median", "std", "q1", "q3", "max"
    );
    for c in &s.columns {
        let _ = writeln!(
            out,
            "  {:<20} {:>7} {:>10.3} {:>10.3} {:>10.3} {:>10.3} {:>10.3} {:>10.3}",
            c.column, c.count, c.mean, c.median, c.std, c.q1, c.q3, c.max
        );
    }
    let _ = writeln!(
        out,
        "{} IQR outliers, {} robust-z anomalies",
        s.iqr_outliers.len(),
        s.anomalies.len()
    );
    welch_text(out, &s.welch_tests);
}

/// Welch's t-tests of a statistics result: how many columns differ at p < 0.05, and those.
fn welch_text(out: &mut String, tests: &[pb::WelchTest]) {
    let Some(first) = tests.first() else {
        return;
    };
    let significant: Vec<&pb::WelchTest> = tests.iter().filter(|t| t.p_value < 0.05).collect();
    let _ = writeln!(
        out,
        "Welch's t-test, {} vs not: {} of {} columns differ at p < 0.05",
        first.group_filter,
        significant.len(),
        tests.len()
    );
    for t in significant.iter().take(SHOWN) {
        let _ = writeln!(
            out,
            "  {:<20} mean {:.3} vs {:.3}  t {:.2}  p {:.2e}",
            t.column, t.mean_a, t.mean_b, t.t, t.p_value
        );
    }
}

/// The `scaffolds` analysis: counts and entropies, then the most frequent scaffolds.
fn scaffolds_text(out: &mut String, s: &pb::ScaffoldsResult) {
    let _ = writeln!(
        out,
        "{} Bemis-Murcko scaffolds (entropy {:.3}, scaled {:.3}); {} generic (entropy {:.3}, scaled {:.3})",
        s.scaffolds.len(),
        s.entropy,
        s.scaled_entropy,
        s.generic_scaffolds.len(),
        s.generic_entropy,
        s.generic_scaled_entropy
    );
    group_rows(out, &s.scaffolds);
}

/// The `chemical_space` analysis: the method and variance explained, then the first points.
fn chemical_space_text(out: &mut String, c: &pb::ChemicalSpaceResult) {
    let ratios: Vec<String> = c
        .explained_variance_ratio
        .iter()
        .map(|r| format!("{:.2}%", 100.0 * r))
        .collect();
    let _ = writeln!(
        out,
        "{} of {}, {} components; variance explained {}",
        c.method,
        c.features,
        c.components,
        ratios.join(", ")
    );
    for p in c.points.iter().take(SHOWN) {
        let coords: Vec<String> = p.coordinates.iter().map(|x| format!("{x:>9.3}")).collect();
        let _ = writeln!(out, "  {:>8}  {}", p.index, coords.join(" "));
    }
    more(out, c.points.len());
}

/// The `similarity_matrix` analysis: the size of a dense matrix, or the first pairs above the
/// threshold of a sparse one.
fn similarity_matrix_text(out: &mut String, m: &pb::SimilarityMatrixResult) {
    if m.dense {
        let _ = writeln!(
            out,
            "dense {0} x {0} matrix ({1} pairs)",
            m.indexes.len(),
            m.upper_triangle.len()
        );
        return;
    }
    let _ = writeln!(
        out,
        "{} pairs with similarity >= {} among {} molecules",
        m.pairs.len(),
        m.threshold,
        m.indexes.len()
    );
    for p in m.pairs.iter().take(SHOWN) {
        let _ = writeln!(out, "  {:>8} {:>8}  {:.4}", p.a, p.b, p.similarity);
    }
    more(out, m.pairs.len());
}

/// The `nearest_neighbors` analysis: the most isolated molecules first.
fn nearest_neighbors_text(out: &mut String, n: &pb::NearestNeighborsResult) {
    let mut isolated: Vec<&pb::Neighbor> = n.neighbors.iter().collect();
    isolated.sort_by(|a, b| {
        b.isolation
            .total_cmp(&a.isolation)
            .then(a.index.cmp(&b.index))
    });
    let _ = writeln!(out, "most isolated molecules:");
    let _ = writeln!(
        out,
        "  {:>8}  {:>8}  {:>10}  {:>9}",
        "index", "neighbor", "similarity", "isolation"
    );
    for m in isolated.iter().take(SHOWN) {
        let _ = writeln!(
            out,
            "  {:>8}  {:>8}  {:>10.4}  {:>9.4}",
            m.index, m.neighbor, m.similarity, m.isolation
        );
    }
    more(out, isolated.len());
}

/// The columns of [`write_pairs_csv`].
pub const PAIRS_CSV_HEADER: [&str; 8] = [
    "a",
    "b",
    "constant",
    "variable_a",
    "variable_b",
    "transform",
    "tanimoto",
    "delta_p_activity",
];

/// Writes matched pairs as CSV rows with [`PAIRS_CSV_HEADER`] (first, when `header`), in the
/// order given, and flushes them; called once per page, the first with `header`, so a file of
/// every pair is written as its pages arrive. `delta_p_activity` is empty unless both
/// molecules have a pActivity.
pub fn write_pairs_csv(
    pairs: &[pb::MatchedPair],
    header: bool,
    out: impl std::io::Write,
) -> csv::Result<()> {
    let mut w = csv::Writer::from_writer(out);
    if header {
        w.write_record(PAIRS_CSV_HEADER)?;
    }
    for p in pairs {
        w.write_record([
            p.a.to_string(),
            p.b.to_string(),
            p.constant.clone(),
            p.variable_a.clone(),
            p.variable_b.clone(),
            p.transform.clone(),
            p.tanimoto.to_string(),
            p.delta_p_activity
                .map(|d| d.to_string())
                .unwrap_or_default(),
        ])?;
    }
    w.flush()?;
    Ok(())
}

/// Substituents shown per label.
const SUBSTITUENTS_SHOWN: usize = 5;

/// Whether an R-group is a bare hydrogen (`[H][*:1]`).
fn is_hydrogen(smiles: &str) -> bool {
    smiles
        .strip_prefix("[H][*:")
        .and_then(|rest| rest.strip_suffix(']'))
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// The `rgroups` analysis: the core, counts, per label its top substituents, then the first
/// molecules with their non-hydrogen R-groups.
fn rgroups_text(out: &mut String, r: &pb::RGroupsResult) {
    let origin = if r.core_proposed {
        format!(
            "proposed: the most frequent Murcko scaffold, {} molecules",
            r.core_scaffold_count
        )
    } else {
        "given".to_owned()
    };
    let _ = writeln!(out, "core {} ({}, {origin})", r.core, r.core_syntax);
    let _ = writeln!(
        out,
        "{} of {} molecules matched; {} without the core, {} over the time budget ({} ms per molecule), {} failed; matching {}",
        r.matched, r.molecules, r.unmatched, r.over_budget, r.timeout_ms, r.failed, r.matching
    );
    if r.labels.is_empty() {
        return;
    }
    let _ = writeln!(out, "substituents by label (molecules):");
    for label in &r.substituents {
        let top: Vec<String> = label
            .substituents
            .iter()
            .take(SUBSTITUENTS_SHOWN)
            .map(|s| format!("{} {}", s.smiles, s.count))
            .collect();
        let rest = label.substituents.len().saturating_sub(SUBSTITUENTS_SHOWN);
        let _ = writeln!(
            out,
            "  {:<4} {:>4} distinct: {}{}",
            label.label,
            label.substituents.len(),
            top.join(", "),
            if rest > 0 {
                format!(" (+{rest} more)")
            } else {
                String::new()
            }
        );
    }
    let _ = writeln!(out, "molecules (R-groups other than H):");
    let _ = writeln!(out, "  {:>8}  r-groups", "index");
    for row in r.rows.iter().take(SHOWN) {
        let groups: Vec<String> = row
            .rgroups
            .iter()
            .filter(|g| !is_hydrogen(&g.smiles))
            .map(|g| format!("{}={}", g.label, g.smiles))
            .collect();
        let _ = writeln!(out, "  {:>8}  {}", row.index, groups.join("  "));
    }
    more(out, r.rows.len());
}

/// The `mmp` analysis: counts, top transforms, top cliffs.
fn mmp_text(out: &mut String, m: &pb::MmpResult) {
    // The counts cover every page; a result stored before they existed
    // holds every pair and transform itself.
    let _ = writeln!(
        out,
        "{} matched pairs from {} fragmentations of {} molecules; {} transforms",
        m.pair_count.max(m.pairs.len() as u64),
        m.fragmentations,
        m.molecules,
        m.transform_count.max(m.transforms.len() as u64)
    );
    let opt = |x: Option<f64>| x.map_or_else(|| "-".to_owned(), |v| format!("{v:.2}"));
    let _ = writeln!(out, "top transforms:");
    let _ = writeln!(
        out,
        "  {:>6}  {:>6}  {:>7}  {:>6}  transform",
        "pairs", "with p", "mean dp", "sd"
    );
    for t in m.transforms.iter().take(SHOWN) {
        let _ = writeln!(
            out,
            "  {:>6}  {:>6}  {:>7}  {:>6}  {}",
            t.count,
            t.activity_count,
            opt(t.mean_delta),
            opt(t.std_delta),
            t.transform
        );
    }
    more(out, m.transforms.len());
    if m.activity_column.is_empty() {
        let _ = writeln!(out, "no activity column: no activity cliffs");
        return;
    }
    let flagged = m.cliff_molecules.iter().filter(|c| c.cliff).count();
    let _ = writeln!(
        out,
        "activity cliffs on {}: {} pairs, {} of {} molecules in a cliff",
        m.activity_column,
        m.cliffs.len(),
        flagged,
        m.cliff_molecules.len()
    );
    let _ = writeln!(
        out,
        "  {:>8} {:>8}  {:>6}  {:>8}  {:>8}  {:>8}  {:>3}  {:>8}",
        "a", "b", "dp", "tanimoto", "scaffold", "smiles", "mmp", "sali"
    );
    for c in m.cliffs.iter().take(SHOWN) {
        let _ = writeln!(
            out,
            "  {:>8} {:>8}  {:>6.2}  {:>8.3}  {:>8.3}  {:>8.3}  {:>3}  {:>8.2}",
            c.a,
            c.b,
            c.delta_p_activity,
            c.tanimoto,
            c.scaffold_tanimoto,
            c.levenshtein,
            if c.matched_pair { "yes" } else { "" },
            c.sali
        );
    }
    more(out, m.cliffs.len());
}

/// Search hits as a table.
pub fn hits_text(response: &pb::SearchSimilarResponse) -> String {
    let mut out = format!(
        "{} hits among {} molecules\n",
        response.hits.len(),
        response.searched
    );
    let _ = writeln!(
        out,
        "{:>4}  {:>8}  {:>10}  {:<16}  smiles",
        "rank", "index", "similarity", "id"
    );
    for (rank, hit) in response.hits.iter().enumerate() {
        let _ = writeln!(
            out,
            "{:>4}  {:>8}  {:>10.4}  {:<16}  {}",
            rank + 1,
            hit.index,
            hit.similarity,
            hit.input_id,
            hit.smiles
        );
    }
    out
}

/// Substructure hits as a table, with the screen's counts and the next
/// page's token.
pub fn substructure_hits_text(response: &pb::SearchSubstructureResponse) -> String {
    let mut out = format!(
        "{} hits; {} of {} molecules looked at, {} left by the screen for matching\n",
        response.hits.len(),
        response.scanned,
        response.searched,
        response.candidates
    );
    let _ = writeln!(out, "{:>8}  {:<16}  {:<40}  atoms", "index", "id", "smiles");
    for hit in &response.hits {
        let atoms: Vec<String> = hit.atoms.iter().map(u32::to_string).collect();
        let _ = writeln!(
            out,
            "{:>8}  {:<16}  {:<40}  {}",
            hit.index,
            hit.input_id,
            hit.smiles,
            atoms.join(",")
        );
    }
    if !response.next_page_token.is_empty() {
        let _ = writeln!(
            out,
            "more: --page-token {} (or --all)",
            response.next_page_token
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_lists_are_cut_with_a_note() {
        let groups = (0..15)
            .map(|i| pb::MoleculeGroup {
                key: format!("C{i}"),
                representative: i,
                members: vec![i, i + 100],
            })
            .collect();
        let analysis = pb::Analysis {
            r#type: "scaffolds".into(),
            status: pb::AnalysisStatus::Complete as i32,
            result: Some(AnalysisResult::Scaffolds(pb::ScaffoldsResult {
                scaffolds: groups,
                ..Default::default()
            })),
            ..Default::default()
        };
        let text = analysis_text(&analysis);
        assert!(text.starts_with("scaffolds          COMPLETE"), "{text}");
        assert!(text.contains("C9 "), "{text}");
        assert!(!text.contains("C10 "), "{text}");
        assert!(text.contains("5 more"), "{text}");
    }

    #[test]
    fn rgroups_show_the_core_top_substituents_and_non_hydrogen_groups() {
        let group = |label: &str, smiles: &str| pb::RGroup {
            label: label.into(),
            smiles: smiles.into(),
        };
        let sub = |smiles: &str, count| pb::RGroupSubstituent {
            smiles: smiles.into(),
            count,
        };
        let analysis = pb::Analysis {
            r#type: "rgroups".into(),
            status: pb::AnalysisStatus::Complete as i32,
            result: Some(AnalysisResult::Rgroups(pb::RGroupsResult {
                core: "c1ccncc1".into(),
                core_syntax: "smiles".into(),
                core_proposed: true,
                core_scaffold_count: 2,
                molecules: 3,
                matched: 2,
                unmatched: 1,
                labels: vec!["R1".into(), "R2".into()],
                substituents: vec![
                    pb::RGroupLabel {
                        label: "R1".into(),
                        substituents: vec![sub("C[*:1]", 1), sub("Cl[*:1]", 1)],
                    },
                    pb::RGroupLabel {
                        label: "R2".into(),
                        substituents: vec![sub("[H][*:2]", 1), sub("O[*:2]", 1)],
                    },
                ],
                rows: vec![
                    pb::RGroupRow {
                        index: 0,
                        core: "c1cc([*:1])ccn1".into(),
                        rgroups: vec![group("R1", "C[*:1]"), group("R2", "[H][*:2]")],
                    },
                    pb::RGroupRow {
                        index: 4,
                        core: "c1cc([*:1])ccn1".into(),
                        rgroups: vec![group("R1", "Cl[*:1]"), group("R2", "O[*:2]")],
                    },
                ],
                matching: "symmetrized".into(),
                timeout_ms: 50,
                ..Default::default()
            })),
            ..Default::default()
        };
        let text = analysis_text(&analysis);
        assert!(
            text.contains(
                "core c1ccncc1 (smiles, proposed: the most frequent Murcko scaffold, 2 molecules)"
            ),
            "{text}"
        );
        assert!(
            text.contains("2 of 3 molecules matched; 1 without the core"),
            "{text}"
        );
        assert!(
            text.contains("R2      2 distinct: [H][*:2] 1, O[*:2] 1"),
            "{text}"
        );
        let first = text
            .lines()
            .find(|l| l.trim_start().starts_with("0 "))
            .unwrap();
        assert_eq!(
            first.split_whitespace().collect::<Vec<_>>(),
            ["0", "R1=C[*:1]"]
        );
        assert!(text.contains("R1=Cl[*:1]  R2=O[*:2]"), "{text}");
        assert!(is_hydrogen("[H][*:12]") && !is_hydrogen("[H]C[*:1]") && !is_hydrogen("[H][*:]"));
    }
}
