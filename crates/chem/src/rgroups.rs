//! R-group decomposition of molecules against a core: RDKit's `RGroupDecomposition` with its
//! default parameters, as `rdRGroupDecomposition.RGroupDecompose(cores, mols, asSmiles=True)`
//! runs it in Python (every molecule added in order, then processed once), under a time budget.
//!
//! **The core.** [`Core::parse`] reads the text as SMILES first (`Chem.MolFromSmiles`,
//! sanitised) and only when that fails as SMARTS (`Chem.MolFromSmarts`); [`Core::syntax`] says
//! which. So `c1ccc(N2CCNCC2)cc1` is a SMILES core and `[c;R1]1[c;R1][c;R1][c;R1][c;R1][c;R1]1`
//! a SMARTS one; RDKit's SMILES parser also reads bracket atoms such as `[#6]`, so a string of
//! those alone is a SMILES core (matched as SMILES matches). Attachment points labelled `[*:1]`, `[*:2]` fix the labels; an unlabelled core gets a
//! label at every core atom that carries a substituent in some molecule (RDKit's AutoDetect).
//!
//! **The rows.** Per molecule that contains the core: the core as it matched (`Core`), and
//! each R-group as RDKit labels it (`R1`, `R2`, …), written with `MolToSmiles`; a position that
//! is substituted in some molecules and not in this one is `[H][*:n]`. Canonical SMILES from
//! the same RDKit version, so the strings equal Python's (`tests/rgroups.rs`).
//!
//! **The time budget.** RDKit's cost is not per molecule: every fifth molecule it searches the
//! permutations of the symmetric core matches of the latest chunk and scores them against all
//! molecules so far, so the work grows with the square of the matches and explodes for a small
//! symmetric core (benzene against 3,000 ChEMBL molecules: over 7 minutes for the first 750 and
//! several GB). [`Options::budget_per_molecule`] (default [`DEFAULT_BUDGET`]) is pooled: after
//! `k` molecules the decomposition may have used `(k + 5) × budget` (the 5 is one chunk),
//! checked after every molecule, and RDKit's own `timeout`, which interrupts its permutation
//! search, is set before every molecule to what is left, so one pathological molecule cannot
//! run past it either. When the symmetry-aware decomposition runs out, it starts again with
//! RDKit's `NoSymmetrization` (each molecule's first core match, linear time;
//! [`Matching::FirstMatch`]) under a fresh budget of the same rule; when that runs out too,
//! the molecules not reached are reported [`Unmatched::OverBudget`]. The whole call therefore
//! ends within about `2 × (n + 10) × budget` for `n` molecules. What RDKit cannot interrupt is
//! a single substructure search of the core (capped at 1,000 matches per molecule) and the core
//! replacement per match; those are polynomial and fast on real molecules.
//!
//! A session is used from one thread; the function is synchronous, like the rest of the crate.

use std::time::{Duration, Instant};

use crate::{ffi, ChemError};

/// The default [`Options::budget_per_molecule`]: 50 ms. The symmetry-aware decomposition of
/// 1,400 arylpiperazines among 6,400 ChEMBL molecules takes 47 s (7 ms per molecule), and
/// 5,000 molecules all with the core would need about 10 minutes; at 50 ms it falls back
/// to first-match after about 2,000 of them, and any analysis of 5,000 molecules ends within
/// about 8 minutes.
pub const DEFAULT_BUDGET: Duration = Duration::from_millis(50);

/// Molecules RDKit adds between two permutation searches (`chunkSize` of its default
/// `GreedyChunks` strategy): the slack the budget starts with.
const CHUNK: u32 = 5;

/// Times a decomposition starts over after RDKit threw on a molecule (which is then left
/// out), before the error is returned.
const MAX_RESTARTS: usize = 3;

/// Which parser read a core.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CoreSyntax {
    /// `Chem.MolFromSmiles` read it.
    Smiles,
    /// The SMILES parser failed and `Chem.MolFromSmarts` read it.
    Smarts,
}

impl CoreSyntax {
    /// `"smiles"` or `"smarts"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Smiles => "smiles",
            Self::Smarts => "smarts",
        }
    }
}

/// A core RDKit can read, with the parser that read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Core {
    text: String,
    syntax: CoreSyntax,
}

impl Core {
    /// Reads `text` as SMILES, or failing that as SMARTS.
    ///
    /// ```
    /// use molbatch_chem::rgroups::{Core, CoreSyntax};
    /// assert_eq!(Core::parse("c1ccccc1[*:1]")?.syntax(), CoreSyntax::Smiles);
    /// assert_eq!(Core::parse("[c;R1]1[c;R1][c;R1][c;R1][c;R1][c;R1]1")?.syntax(), CoreSyntax::Smarts);
    /// assert!(Core::parse("C1CC").is_err());
    /// # Ok::<(), molbatch_chem::ChemError>(())
    /// ```
    pub fn parse(text: &str) -> Result<Self, ChemError> {
        let invalid = |message: String| ChemError::Core {
            core: text.to_owned(),
            message,
        };
        if text.trim().is_empty() {
            return Err(invalid("it is empty".to_owned()));
        }
        let raw = ffi::rgroup_core(text).map_err(|e| invalid(e.what().to_owned()))?;
        if !raw.ok {
            return Err(invalid(raw.message));
        }
        Ok(Self {
            text: text.to_owned(),
            syntax: if raw.smarts {
                CoreSyntax::Smarts
            } else {
                CoreSyntax::Smiles
            },
        })
    }

    /// The text as given.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The parser that read it.
    pub fn syntax(&self) -> CoreSyntax {
        self.syntax
    }
}

/// How a decomposition is bounded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    /// Time per molecule, pooled over the molecules reached (see the module documentation).
    pub budget_per_molecule: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            budget_per_molecule: DEFAULT_BUDGET,
        }
    }
}

/// How core matches were assigned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Matching {
    /// RDKit's default: among a molecule's symmetric core matches, the one that labels its
    /// substituents most consistently with the other molecules'.
    Symmetrized,
    /// The symmetry-aware decomposition ran out of time; each molecule's first core match
    /// (RDKit's `NoSymmetrization`), so equivalent positions may carry different labels in
    /// different molecules.
    FirstMatch,
}

impl Matching {
    /// `"symmetrized"` or `"first_match"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Symmetrized => "symmetrized",
            Self::FirstMatch => "first_match",
        }
    }
}

/// Why a molecule has no row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unmatched {
    /// It does not contain the core.
    NoCore,
    /// The time budget ran out before it was decomposed.
    OverBudget,
    /// RDKit could not read its SMILES, or threw while adding it; RDKit's text.
    Failed(String),
}

/// One decomposed molecule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    /// Its position in the slice given to [`decompose`].
    pub molecule: usize,
    /// The core as it matched, attachment points `[*:n]`.
    pub core: String,
    /// `(label, SMILES)` per R-group, in label order (`R1`, `R2`, …, `R10`).
    pub rgroups: Vec<(String, String)>,
}

/// A finished decomposition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decomposition {
    /// How core matches were assigned.
    pub matching: Matching,
    /// One row per molecule with the core, in input order.
    pub rows: Vec<Row>,
    /// `(position, why)` for every other molecule, in input order.
    pub unmatched: Vec<(usize, Unmatched)>,
    /// Every R label of the rows, in label order.
    pub labels: Vec<String>,
}

/// Orders `R2` before `R10`; anything else after, by text.
fn label_key(label: &str) -> (u32, &str) {
    let n = label
        .strip_prefix('R')
        .and_then(|n| n.parse::<u32>().ok())
        .unwrap_or(u32::MAX);
    (n, label)
}

/// How one pass over the molecules ended.
enum Pass {
    /// Processed; the rows and the molecules without one.
    Done(Decomposition),
    /// The budget ran out in a symmetry-aware pass.
    OverBudget,
    /// RDKit threw while adding the molecule at this position.
    Threw(usize, String),
}

/// Decomposes `molecules` (SMILES, read as `Chem.MolFromSmiles` reads them) against `core`.
///
/// ```
/// use molbatch_chem::rgroups::{decompose, Core, Options, Unmatched};
/// let core = Core::parse("c1ccccc1[*:1]")?;
/// let d = decompose(&core, &["Cc1ccccc1", "CCO", "Clc1ccccc1"], &Options::default())?;
/// let r: Vec<(usize, &str)> = d.rows.iter().map(|r| (r.molecule, r.rgroups[0].1.as_str())).collect();
/// assert_eq!(r, [(0, "C[*:1]"), (2, "Cl[*:1]")]);
/// assert_eq!(d.unmatched, [(1, Unmatched::NoCore)]);
/// assert_eq!(d.labels, ["R1"]);
/// # Ok::<(), molbatch_chem::ChemError>(())
/// ```
pub fn decompose(
    core: &Core,
    molecules: &[&str],
    options: &Options,
) -> Result<Decomposition, ChemError> {
    let _ = ffi::silence_rdkit_logs();
    let mut matching = Matching::Symmetrized;
    let mut failed: Vec<(usize, String)> = Vec::new();
    loop {
        match pass(core, molecules, options, matching, &failed)? {
            Pass::Done(mut d) => {
                d.unmatched.extend(
                    failed
                        .into_iter()
                        .map(|(i, message)| (i, Unmatched::Failed(message))),
                );
                d.unmatched.sort_by_key(|(i, _)| *i);
                return Ok(d);
            }
            Pass::OverBudget => matching = Matching::FirstMatch,
            Pass::Threw(i, message) => {
                if failed.len() == MAX_RESTARTS {
                    return Err(ChemError::RGroups { message });
                }
                failed.push((i, message));
            }
        }
    }
}

/// One pass over every molecule not in `failed`.
fn pass(
    core: &Core,
    molecules: &[&str],
    options: &Options,
    matching: Matching,
    failed: &[(usize, String)],
) -> Result<Pass, ChemError> {
    let rdkit = |e: cxx::Exception| ChemError::RGroups {
        message: e.what().to_owned(),
    };
    let symmetrize = matching == Matching::Symmetrized;
    let mut session =
        ffi::new_rgroup_session(&core.text, core.syntax == CoreSyntax::Smarts, symmetrize)
            .map_err(rdkit)?;
    let budget = options.budget_per_molecule;
    let started = Instant::now();
    let mut rows_of: Vec<usize> = Vec::new();
    let mut unmatched: Vec<(usize, Unmatched)> = Vec::new();
    let mut reached = 0u32;
    for (i, smiles) in molecules.iter().enumerate() {
        if failed.iter().any(|(f, _)| *f == i) {
            continue;
        }
        let allowed = budget.saturating_mul(reached.saturating_add(CHUNK));
        let left = allowed.saturating_sub(started.elapsed());
        if left.is_zero() {
            if symmetrize {
                return Ok(Pass::OverBudget);
            }
            unmatched.extend(
                (i..molecules.len())
                    .filter(|j| !failed.iter().any(|(f, _)| f == j))
                    .map(|j| (j, Unmatched::OverBudget)),
            );
            break;
        }
        reached += 1;
        let added =
            ffi::rgroup_add(session.pin_mut(), smiles, left.as_secs_f64()).map_err(rdkit)?;
        match added.outcome {
            ffi::AddOutcome::Added => {
                if usize::try_from(added.row).ok() != Some(rows_of.len()) {
                    return Err(ChemError::RGroups {
                        message: format!(
                            "RDKit gave molecule {i} row {} where {} was next",
                            added.row,
                            rows_of.len()
                        ),
                    });
                }
                rows_of.push(i);
            }
            ffi::AddOutcome::NoMatch => unmatched.push((i, Unmatched::NoCore)),
            ffi::AddOutcome::Unreadable => unmatched.push((i, Unmatched::Failed(added.message))),
            ffi::AddOutcome::TimedOut if symmetrize => return Ok(Pass::OverBudget),
            ffi::AddOutcome::TimedOut => {
                // RDKit may or may not have kept this molecule; rows past `rows_of` are
                // ignored below, so it is reported over budget with the rest.
                unmatched.extend(
                    (i..molecules.len())
                        .filter(|j| !failed.iter().any(|(f, _)| f == j))
                        .map(|j| (j, Unmatched::OverBudget)),
                );
                break;
            }
            ffi::AddOutcome::Failed => return Ok(Pass::Threw(i, added.message)),
            _ => {
                return Err(ChemError::RGroups {
                    message: format!("unknown add outcome {:?}", added.outcome),
                })
            }
        }
    }
    // The final search covers at most one chunk; it gets what is left and one chunk more.
    let allowed = budget.saturating_mul(reached.saturating_add(2 * CHUNK));
    let left = allowed
        .saturating_sub(started.elapsed())
        .max(budget.saturating_mul(CHUNK));
    if !rows_of.is_empty()
        && !ffi::rgroup_process(session.pin_mut(), left.as_secs_f64()).map_err(rdkit)?
    {
        if symmetrize {
            return Ok(Pass::OverBudget);
        }
        return Err(ChemError::RGroups {
            message: format!(
                "RDKit could not finish the first-match decomposition within {:.1} s",
                left.as_secs_f64()
            ),
        });
    }
    let raw = if rows_of.is_empty() {
        Vec::new()
    } else {
        ffi::rgroup_rows(&session).map_err(rdkit)?
    };
    let mut labels: Vec<String> = Vec::new();
    let mut rows = Vec::with_capacity(rows_of.len());
    for (molecule, raw) in rows_of.into_iter().zip(raw) {
        let mut core = String::new();
        let mut rgroups = Vec::new();
        for (label, smiles) in raw.labels.into_iter().zip(raw.smiles) {
            if label == "Core" {
                core = smiles;
            } else {
                if !labels.contains(&label) {
                    labels.push(label.clone());
                }
                rgroups.push((label, smiles));
            }
        }
        rgroups.sort_by(|(a, _), (b, _)| label_key(a).cmp(&label_key(b)));
        rows.push(Row {
            molecule,
            core,
            rgroups,
        });
    }
    labels.sort_by(|a, b| label_key(a).cmp(&label_key(b)));
    Ok(Pass::Done(Decomposition {
        matching,
        rows,
        unmatched,
        labels,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_sort_by_number() {
        let mut labels = vec!["R10", "R2", "R1", "Rx"];
        labels.sort_by(|a, b| label_key(a).cmp(&label_key(b)));
        assert_eq!(labels, ["R1", "R2", "R10", "Rx"]);
    }

    #[test]
    fn a_bad_core_is_an_error_naming_it() {
        let err = Core::parse("C1CC(").unwrap_err();
        assert!(
            matches!(&err, ChemError::Core { core, .. } if core == "C1CC("),
            "{err}"
        );
        assert!(matches!(Core::parse("  "), Err(ChemError::Core { .. })));
    }

    #[test]
    fn a_zero_budget_decomposes_nothing() {
        let core = Core::parse("c1ccccc1[*:1]").unwrap();
        let none = Options {
            budget_per_molecule: Duration::ZERO,
        };
        let d = decompose(&core, &["Cc1ccccc1", "CCO"], &none).unwrap();
        assert_eq!(d.matching, Matching::FirstMatch);
        assert!(d.rows.is_empty());
        assert_eq!(
            d.unmatched,
            [(0, Unmatched::OverBudget), (1, Unmatched::OverBudget)]
        );
    }

    #[test]
    fn rdkit_stops_a_search_that_would_take_minutes() {
        // Benzene in a molecule with five phenyl rings: 60 matches each, so RDKit's search
        // over three molecules alone has 216,000 permutations, over a chunk of five 7.8e8. Its
        // timeout (set from a 1 ms budget) must interrupt it and the pass fall back.
        let core = Core::parse("c1ccccc1").unwrap();
        let smiles = "c1ccc(cc1)C(c1ccccc1)(c1ccccc1)Cc1ccc(cc1)-c1ccccc1";
        let molecules = vec![smiles; 40];
        let tight = Options {
            budget_per_molecule: Duration::from_millis(1),
        };
        let d = decompose(&core, &molecules, &tight).unwrap();
        assert_eq!(d.matching, Matching::FirstMatch);
        assert!(
            d.unmatched
                .iter()
                .all(|(_, why)| *why == Unmatched::OverBudget),
            "{:?}",
            d.unmatched
        );
        assert_eq!(d.rows.len() + d.unmatched.len(), molecules.len());
    }
}
