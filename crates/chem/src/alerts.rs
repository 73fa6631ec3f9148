//! Structural alerts with the atoms they match, for showing an alert on a
//! drawing of the molecule ([`depict::svg_highlighted`](crate::depict::svg_highlighted)).
//!
//! The per-molecule pipeline stores only each alert's catalog and name
//! ([`Alert`]); [`matches`] finds the same alerts again, from the same
//! filter catalogs (by default PAINS_A/B/C, Brenk and NIH; [`matches_in`]
//! for the sets a job chose), on a stored SMILES, and adds
//! the molecule atoms of every match. Atom indices are those of the molecule
//! RDKit's `MolFromSmiles` builds from that SMILES, which is also the
//! molecule [`depict::svg`](crate::depict::svg) draws, so they can be
//! highlighted as they are.
//!
//! Given the standardised SMILES of a result, the alerts found are the ones
//! the pipeline stored for it (`tests/alerts.rs` checks this on its
//! fixtures): the pipeline matches the standardised molecule itself, and its
//! SMILES reads back to the same graph, aromaticity and hydrogens.
//! Like the rest of the crate this never aborts: RDKit's C++ exceptions come
//! back as errors. The RDKit state (the filter catalogs and their screens)
//! is built once per process, on first use.

use std::sync::OnceLock;

use crate::alert_sets::AlertSets;
use crate::{ffi, Alert, ChemError, Pipeline};

/// One alert of a molecule and the atoms of each of its matches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlertMatch {
    /// Catalog and entry name, exactly as the pipeline's [`Alert`].
    pub alert: Alert,
    /// One entry per RDKit `FilterMatch`, each the matched molecule atoms in
    /// ascending order. RDKit reports only the first substructure match of
    /// an entry that has no minimum count, so this usually has one element.
    pub matches: Vec<Vec<u32>>,
}

impl AlertMatch {
    /// Every atom of every match, ascending, each once.
    pub fn atoms(&self) -> Vec<u32> {
        let mut atoms: Vec<u32> = self.matches.iter().flatten().copied().collect();
        atoms.sort_unstable();
        atoms.dedup();
        atoms
    }
}

/// The process-wide pipeline whose catalogs [`matches`] uses.
fn shared_pipeline() -> Result<&'static Pipeline, ChemError> {
    static SHARED: OnceLock<Result<Pipeline, ChemError>> = OnceLock::new();
    SHARED
        .get_or_init(Pipeline::new)
        .as_ref()
        .map_err(Clone::clone)
}

/// Every PAINS_A, PAINS_B, PAINS_C, Brenk and NIH alert of the molecule
/// `smiles` parses to (`Chem.MolFromSmiles`, no standardisation), sorted by
/// (catalog, name) like [`MoleculeRecord::alerts`](crate::MoleculeRecord::alerts),
/// each with its matched atoms: what Python's `catalog.GetMatches(mol)` and
/// `entry.GetFilterMatches(mol)` give, the molecule side of each
/// `atomPairs`. An entry matching twice in different catalogs (such as
/// `peroxide`, in Brenk and NIH) is two items.
///
/// ```
/// let found = molbatch_chem::alerts::matches("O=C1NC(=S)SC1=Cc1ccccc1")?;
/// let rhodanine = found.iter().find(|m| m.alert.name == "ene_rhod_A(235)").unwrap();
/// assert_eq!(rhodanine.alert.catalog, "PAINS_A");
/// assert_eq!(rhodanine.atoms(), [0, 1, 2, 3, 4, 5, 6, 7]);
/// assert!(molbatch_chem::alerts::matches("CCO")?.is_empty());
/// # Ok::<(), molbatch_chem::ChemError>(())
/// ```
///
/// # Errors
///
/// [`ChemError::Rejected`] when `smiles` is empty or RDKit cannot read it
/// (with the code the pipeline would give); [`ChemError::Alerts`] when
/// RDKit fails while matching; [`ChemError::PipelineInit`] when the
/// catalogs cannot be built.
pub fn matches(smiles: &str) -> Result<Vec<AlertMatch>, ChemError> {
    matches_in(smiles, AlertSets::DEFAULT)
}

/// [`matches`] for the alerts of `sets` instead of the default sets: the
/// alerts [`Pipeline::process_with`] reports with those sets. Rules of one
/// set sharing a description are one [`AlertMatch`] holding the matches of
/// each.
///
/// # Errors
///
/// As [`matches`].
pub fn matches_in(smiles: &str, sets: AlertSets) -> Result<Vec<AlertMatch>, ChemError> {
    ffi::non_empty(smiles)?;
    let pipeline = shared_pipeline()?;
    let raw = pipeline
        .alert_matches_raw(smiles, sets)
        .map_err(|e| ChemError::Alerts {
            smiles: smiles.to_owned(),
            message: e.what().to_owned(),
        })?;
    ffi::accepted(smiles, raw.status, raw.message)?;
    let mut found: Vec<AlertMatch> = Vec::new();
    for m in raw.matches {
        let Some(catalog) = ffi::CATALOG_NAMES.get(usize::from(m.catalog)) else {
            return Err(ChemError::Alerts {
                smiles: smiles.to_owned(),
                message: format!("unknown alert catalog index {}", m.catalog),
            });
        };
        // The bridge sends one record per FilterMatch, entry by entry;
        // entries of one catalog with the same name are one alert.
        match found
            .iter_mut()
            .rev()
            .find(|f| f.alert.catalog == *catalog && f.alert.name == m.name)
        {
            Some(same) => same.matches.push(m.atoms),
            None => found.push(AlertMatch {
                alert: Alert {
                    catalog: (*catalog).to_owned(),
                    name: m.name,
                },
                matches: vec![m.atoms],
            }),
        }
    }
    found.sort_by(|a, b| a.alert.cmp(&b.alert));
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorCode;

    #[test]
    fn catechol_matches_pains_and_brenk_on_the_ring_and_oxygens() {
        let found = matches("C[C@H](N)Cc1ccc(O)c(O)c1").unwrap();
        let names: Vec<(&str, &str)> = found
            .iter()
            .map(|m| (m.alert.catalog.as_str(), m.alert.name.as_str()))
            .collect();
        assert_eq!(
            names,
            [("BRENK", "catechol"), ("PAINS_B", "catechol_A(92)")]
        );
        for m in &found {
            assert_eq!(m.atoms(), [4, 5, 6, 7, 8, 9, 10, 11], "{m:?}");
        }
    }

    #[test]
    fn unreadable_or_empty_smiles_are_rejected_like_the_pipeline() {
        for (smiles, code) in [
            ("", ErrorCode::EmptyInput),
            ("C1CC", ErrorCode::SmilesSyntax),
            ("c1cccc1", ErrorCode::Kekulize),
        ] {
            match matches(smiles) {
                Err(ChemError::Rejected { code: got, .. }) => assert_eq!(got, code, "{smiles:?}"),
                other => panic!("{smiles:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn a_name_shared_by_two_catalogs_is_two_alerts() {
        let found = matches("CC(C)(C)OOC(C)(C)C").unwrap();
        let peroxides: Vec<&str> = found
            .iter()
            .filter(|m| m.alert.name == "peroxide")
            .map(|m| m.alert.catalog.as_str())
            .collect();
        assert_eq!(peroxides, ["BRENK", "NIH"]);
    }
}
