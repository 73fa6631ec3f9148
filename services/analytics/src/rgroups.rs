//! The `rgroups` analysis: R-group decomposition of a job's valid (standardised) molecules
//! against a core, with RDKit's `RGroupDecomposition` through `molbatch_chem::rgroups`, and
//! per label the distinct substituents with their counts. A pure function over result lists,
//! like the rest of `analyses`.
//!
//! The core is the `core` parameter, read as SMILES first and as SMARTS when RDKit's SMILES
//! parser rejects it; one RDKit cannot read fails the analysis with a parameter error naming
//! `core` (the scheduler only checks its shape, without RDKit). Without a core, the job's most
//! frequent Bemis–Murcko scaffold is proposed (most molecules first, then the smaller SMILES,
//! acyclic molecules not counted) and the result says so; a job without any ring is skipped.
//! The time budget is `timeout_ms` per molecule, pooled (see `molbatch_chem::rgroups`).

use std::collections::HashMap;
use std::time::Duration;

use molbatch_chem::rgroups::{decompose, Core, Options, Unmatched};
use molbatch_chem::ChemError;
use molbatch_proto::analysis::RgroupsParams;
use molbatch_proto::v1 as pb;
use pb::analysis::Result as AnalysisResult;
use rayon::prelude::*;

use crate::outcome::{AnalysisError, Outcome};

/// The most frequent non-empty Murcko scaffold of `smiles` and how many molecules have it;
/// ties go to the smaller SMILES.
pub fn most_frequent_scaffold(smiles: &[&str]) -> Option<(String, u64)> {
    let scaffolds: Vec<Option<String>> = smiles
        .par_iter()
        .map(|s| molbatch_chem::scaffold::murcko(s).ok())
        .collect();
    let mut counts: HashMap<String, u64> = HashMap::new();
    for scaffold in scaffolds.into_iter().flatten() {
        if !scaffold.is_empty() {
            *counts.entry(scaffold).or_default() += 1;
        }
    }
    counts
        .into_iter()
        .min_by(|(a, n), (b, m)| m.cmp(n).then_with(|| a.cmp(b)))
}

/// The `rgroups` analysis of the valid results.
pub fn rgroups(
    valid: &[&pb::MoleculeResult],
    params: &RgroupsParams,
) -> Result<Outcome, AnalysisError> {
    let smiles: Vec<&str> = valid
        .iter()
        .map(|r| r.standardized_smiles.as_str())
        .collect();
    let (core, proposed_count) = match &params.core {
        Some(text) => (Core::parse(text).map_err(core_error)?, None),
        None => {
            let Some((scaffold, count)) = most_frequent_scaffold(&smiles) else {
                return Ok(Outcome::Skipped(
                    "no molecule has a ring scaffold to propose as the core; give one with core=SMILES"
                        .to_owned(),
                ));
            };
            let core = Core::parse(&scaffold).map_err(|e| {
                AnalysisError::Compute(format!("the proposed core cannot be used: {e}"))
            })?;
            (core, Some(count))
        }
    };
    let options = Options {
        budget_per_molecule: Duration::from_millis(u64::from(params.timeout_ms)),
    };
    let d =
        decompose(&core, &smiles, &options).map_err(|e| AnalysisError::Compute(e.to_string()))?;

    let mut counts: Vec<HashMap<&str, u64>> = vec![HashMap::new(); d.labels.len()];
    for row in &d.rows {
        for (label, rgroup) in &row.rgroups {
            if let Some(k) = d.labels.iter().position(|l| l == label) {
                *counts[k].entry(rgroup.as_str()).or_default() += 1;
            }
        }
    }
    let substituents = d
        .labels
        .iter()
        .zip(&counts)
        .map(|(label, counts)| {
            let mut list: Vec<(&str, u64)> = counts.iter().map(|(s, n)| (*s, *n)).collect();
            list.sort_by(|(a, n), (b, m)| m.cmp(n).then_with(|| a.cmp(b)));
            pb::RGroupLabel {
                label: label.clone(),
                substituents: list
                    .into_iter()
                    .map(|(smiles, count)| pb::RGroupSubstituent {
                        smiles: smiles.to_owned(),
                        count,
                    })
                    .collect(),
            }
        })
        .collect();
    let (mut unmatched, mut over_budget, mut failed) = (0u64, 0u64, 0u64);
    let unmatched_molecules = d
        .unmatched
        .iter()
        .map(|(i, why)| {
            let (reason, message) = match why {
                Unmatched::NoCore => {
                    unmatched += 1;
                    (pb::RGroupUnmatchedReason::NoCore, String::new())
                }
                Unmatched::OverBudget => {
                    over_budget += 1;
                    (pb::RGroupUnmatchedReason::OverBudget, String::new())
                }
                Unmatched::Failed(message) => {
                    failed += 1;
                    (pb::RGroupUnmatchedReason::Failed, message.clone())
                }
            };
            pb::RGroupUnmatched {
                index: valid[*i].index,
                reason: reason as i32,
                message,
            }
        })
        .collect();
    let rows: Vec<pb::RGroupRow> = d
        .rows
        .iter()
        .map(|row| pb::RGroupRow {
            index: valid[row.molecule].index,
            core: row.core.clone(),
            rgroups: row
                .rgroups
                .iter()
                .map(|(label, smiles)| pb::RGroup {
                    label: label.clone(),
                    smiles: smiles.clone(),
                })
                .collect(),
        })
        .collect();
    Ok(Outcome::Complete(AnalysisResult::Rgroups(
        pb::RGroupsResult {
            core: core.text().to_owned(),
            core_syntax: core.syntax().as_str().to_owned(),
            core_proposed: proposed_count.is_some(),
            core_scaffold_count: proposed_count.unwrap_or(0),
            molecules: valid.len() as u64,
            matched: rows.len() as u64,
            unmatched,
            over_budget,
            failed,
            labels: d.labels.clone(),
            substituents,
            rows,
            unmatched_molecules,
            matching: d.matching.as_str().to_owned(),
            timeout_ms: params.timeout_ms,
        },
    )))
}

/// A core RDKit cannot read is a parameter error naming `core`.
fn core_error(e: ChemError) -> AnalysisError {
    if let ChemError::Core { core, message } = &e {
        return AnalysisError::Params(format!("core {core:?} cannot be used: {message}"));
    }
    AnalysisError::Compute(e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use molbatch_proto::analysis::DEFAULT_RGROUPS_TIMEOUT_MS;

    fn result(index: u64, smiles: &str) -> pb::MoleculeResult {
        pb::MoleculeResult {
            index,
            valid: true,
            standardized_smiles: smiles.to_owned(),
            ..Default::default()
        }
    }

    fn complete(outcome: Outcome) -> pb::RGroupsResult {
        let Outcome::Complete(AnalysisResult::Rgroups(r)) = outcome else {
            panic!("not an rgroups result: {outcome:?}");
        };
        r
    }

    #[test]
    fn counts_substituents_per_label_and_keeps_job_indices() {
        let results = [
            result(0, "Cc1ccccc1"),
            result(2, "CCO"),
            result(3, "Clc1ccccc1"),
            result(5, "Cc1ccccc1"),
        ];
        let valid: Vec<&pb::MoleculeResult> = results.iter().collect();
        let params = RgroupsParams {
            core: Some("c1ccccc1[*:1]".to_owned()),
            timeout_ms: DEFAULT_RGROUPS_TIMEOUT_MS,
        };
        let r = complete(rgroups(&valid, &params).unwrap());
        assert_eq!((r.core_syntax.as_str(), r.core_proposed), ("smiles", false));
        assert_eq!((r.molecules, r.matched, r.unmatched), (4, 3, 1));
        assert_eq!(r.labels, ["R1"]);
        let rows: Vec<(u64, &str)> = r
            .rows
            .iter()
            .map(|row| (row.index, row.rgroups[0].smiles.as_str()))
            .collect();
        assert_eq!(rows, [(0, "C[*:1]"), (3, "Cl[*:1]"), (5, "C[*:1]")]);
        let subs: Vec<(&str, u64)> = r.substituents[0]
            .substituents
            .iter()
            .map(|s| (s.smiles.as_str(), s.count))
            .collect();
        assert_eq!(subs, [("C[*:1]", 2), ("Cl[*:1]", 1)]);
        assert_eq!(r.unmatched_molecules.len(), 1);
        assert_eq!(r.unmatched_molecules[0].index, 2);
        assert_eq!(
            r.unmatched_molecules[0].reason,
            pb::RGroupUnmatchedReason::NoCore as i32
        );
        assert_eq!(r.matching, "symmetrized");
    }

    #[test]
    fn without_a_core_the_most_frequent_scaffold_is_proposed() {
        let results = [
            result(0, "Cc1ccccc1"),
            result(1, "Cc1ccncc1"),
            result(2, "Clc1ccncc1"),
            result(3, "CCO"),
        ];
        let valid: Vec<&pb::MoleculeResult> = results.iter().collect();
        let r = complete(rgroups(&valid, &RgroupsParams::default()).unwrap());
        assert_eq!(r.core, "c1ccncc1");
        assert!(r.core_proposed);
        assert_eq!((r.core_scaffold_count, r.matched), (2, 2));
        // A tie goes to the smaller SMILES.
        assert_eq!(
            most_frequent_scaffold(&["Cc1ccccc1", "Cc1ccncc1"]),
            Some(("c1ccccc1".to_owned(), 1))
        );
        let acyclic = [result(0, "CCO")];
        let valid: Vec<&pb::MoleculeResult> = acyclic.iter().collect();
        assert!(matches!(
            rgroups(&valid, &RgroupsParams::default()).unwrap(),
            Outcome::Skipped(_)
        ));
    }

    #[test]
    fn an_unreadable_core_is_a_parameter_error_naming_core() {
        let results = [result(0, "Cc1ccccc1")];
        let valid: Vec<&pb::MoleculeResult> = results.iter().collect();
        let params = RgroupsParams {
            core: Some("C1CC".to_owned()),
            timeout_ms: DEFAULT_RGROUPS_TIMEOUT_MS,
        };
        let err = rgroups(&valid, &params).unwrap_err();
        assert!(
            matches!(&err, AnalysisError::Params(m) if m.starts_with("core \"C1CC\"")),
            "{err}"
        );
        assert!(!err.is_retryable());
    }
}
