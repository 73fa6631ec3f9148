//! Bemis–Murcko and generic (CSK) scaffolds of a molecule, exactly as RDKit
//! 2022.09's Python `rdkit.Chem.Scaffolds.MurckoScaffold` writes them.
//!
//! Callers pass the standardised SMILES molbatch stores
//! ([`MoleculeRecord::standardized_smiles`](crate::MoleculeRecord)), so the
//! scaffold is that of the fragment parent; any SMILES RDKit reads works.
//!
//! - [`murcko`] is `MurckoScaffold.MurckoScaffoldSmiles(smiles=...)`:
//!   `MurckoDecompose` (rings, linkers, and exocyclic/linker double bonds
//!   kept; an aromatic N that loses its substituent gains an H), written as
//!   *non-isomeric* SMILES, because that function passes its
//!   `includeChirality=False` to `MolToSmiles` as `isomericSmiles` (so no
//!   stereo and no isotopes).
//! - [`generic`] is `MolToSmiles(MakeScaffoldGeneric(GetScaffoldForMol(mol)))`:
//!   every heavy atom carbon, every bond single, charges, aromaticity,
//!   chirality and H counts cleared; written isomeric, so an isotope label on
//!   a ring atom survives (`[13cH]1ccccc1` gives `C1CC[13CH2]CC1`), exactly as
//!   in Python.
//!
//! An acyclic molecule has the empty scaffold: both functions return `""`
//! (what Python returns), never an error, so a batch groups all acyclic
//! molecules under the key `""`.
//!
//! Each call parses its own molecule and shares no RDKit state, so these
//! functions run on any thread; [`scaffolds_batch`] runs a slice on the
//! current rayon pool.

use rayon::prelude::*;

use crate::{ffi, ChemError};

/// Which scaffold of a molecule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ScaffoldKind {
    /// The Bemis–Murcko scaffold ([`murcko`]).
    Murcko,
    /// The generic (CSK) scaffold ([`generic`]).
    Generic,
}

impl ScaffoldKind {
    /// The stable lower-case name, e.g. `"murcko"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Murcko => "murcko",
            Self::Generic => "generic",
        }
    }
}

impl std::fmt::Display for ScaffoldKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Both scaffolds of one molecule, each with its own outcome: the generic
/// scaffold can fail where the Murcko scaffold does not (a ring atom with
/// five or more scaffold bonds cannot be a carbon).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scaffolds {
    /// What [`murcko`] returns.
    pub murcko: Result<String, ChemError>,
    /// What [`generic`] returns.
    pub generic: Result<String, ChemError>,
}

/// The Bemis–Murcko scaffold SMILES of `smiles`, as
/// `MurckoScaffold.MurckoScaffoldSmiles(smiles=smiles)` gives it; `""` for
/// an acyclic molecule.
///
/// ```
/// use molbatch_chem::scaffold;
/// assert_eq!(scaffold::murcko("Cc1cc(Oc2nccc(CCC)c2)ccc1")?, "c1ccc(Oc2ccccn2)cc1");
/// assert_eq!(scaffold::murcko("CCO")?, "");
/// assert!(scaffold::murcko("C1CC").is_err());
/// # Ok::<(), molbatch_chem::ChemError>(())
/// ```
///
/// # Errors
///
/// [`ChemError::Rejected`] when `smiles` is empty or RDKit cannot read it;
/// [`ChemError::Scaffold`] if RDKit fails on the molecule it read.
pub fn murcko(smiles: &str) -> Result<String, ChemError> {
    let record = compute(smiles, false)?;
    Ok(record.murcko)
}

/// The generic (CSK) scaffold SMILES of `smiles`, as
/// `Chem.MolToSmiles(MakeScaffoldGeneric(GetScaffoldForMol(mol)))` gives it;
/// `""` for an acyclic molecule.
///
/// ```
/// use molbatch_chem::scaffold;
/// assert_eq!(scaffold::generic("O=C1NC(=O)C2(CCCC2)N1")?, "CC1CC(C)C2(CCCC2)C1");
/// assert_eq!(scaffold::generic("c1ccncc1")?, "C1CCCCC1");
/// # Ok::<(), molbatch_chem::ChemError>(())
/// ```
///
/// # Errors
///
/// As [`murcko`], and [`ChemError::Scaffold`] when the all-carbon form
/// does not sanitise.
pub fn generic(smiles: &str) -> Result<String, ChemError> {
    scaffolds(smiles).generic
}

/// Both scaffolds of `smiles` from one parse: what [`murcko`] and
/// [`generic`] return, at the cost of one call.
pub fn scaffolds(smiles: &str) -> Scaffolds {
    match compute(smiles, true) {
        Err(e) => Scaffolds {
            murcko: Err(e.clone()),
            generic: Err(e),
        },
        Ok(record) => {
            let generic = if record.generic_ok {
                Ok(record.generic)
            } else {
                Err(ChemError::Scaffold {
                    smiles: smiles.to_owned(),
                    kind: ScaffoldKind::Generic,
                    message: record.generic_error,
                })
            };
            Scaffolds {
                murcko: Ok(record.murcko),
                generic,
            }
        }
    }
}

/// [`scaffolds`] of every SMILES, in order, computed in parallel on the
/// current rayon pool (the global one unless called inside
/// `ThreadPool::install`).
pub fn scaffolds_batch<S: AsRef<str> + Sync>(smiles: &[S]) -> Vec<Scaffolds> {
    smiles.par_iter().map(|s| scaffolds(s.as_ref())).collect()
}

/// One bridge call; a parse failure or an exception becomes the error of
/// both scaffolds.
/// The graph framework of `smiles`: `MakeScaffoldGeneric` applied to the whole molecule
/// (every atom carbon, every bond single, side chains kept), or its Murcko scaffold when that
/// does not sanitise. It is what MoleculeACE's activity-cliff "scaffold similarity"
/// fingerprints (van Tilborg et al. 2022), not the generic *scaffold* of [`generic`].
///
/// ```
/// use molbatch_chem::scaffold::graph_framework;
/// assert_eq!(graph_framework("Clc1ccccc1O")?, "CC1CCCCC1C");
/// # Ok::<(), molbatch_chem::ChemError>(())
/// ```
pub fn graph_framework(smiles: &str) -> Result<String, ChemError> {
    ffi::non_empty(smiles)?;
    let record = ffi::graph_framework(smiles).map_err(|e| ChemError::Scaffold {
        smiles: smiles.to_owned(),
        kind: ScaffoldKind::Generic,
        message: e.what().to_owned(),
    })?;
    ffi::accepted(smiles, record.status, record.message)?;
    Ok(record.text)
}

fn compute(smiles: &str, generic: bool) -> Result<ffi::ScaffoldRecord, ChemError> {
    ffi::non_empty(smiles)?;
    let record = ffi::scaffolds(smiles, generic).map_err(|e| ChemError::Scaffold {
        smiles: smiles.to_owned(),
        kind: ScaffoldKind::Murcko,
        message: e.what().to_owned(),
    })?;
    ffi::accepted(smiles, record.status, record.message.clone())?;
    Ok(record)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorCode;

    #[test]
    fn acyclic_molecules_have_the_empty_scaffold() {
        for smiles in ["CCO", "C/C=C/C(=O)O", "C[C@H](N)C(=O)O", "[Na+]"] {
            assert_eq!(murcko(smiles).unwrap(), "", "{smiles}");
            assert_eq!(generic(smiles).unwrap(), "", "{smiles}");
        }
    }

    #[test]
    fn murcko_is_non_isomeric_and_generic_keeps_isotopes() {
        assert_eq!(murcko("C[C@H]1CC[C@@H](O)CC1").unwrap(), "C1CCCCC1");
        assert_eq!(
            murcko("c1ccc(/C=C/c2ccccc2)cc1").unwrap(),
            "C(=Cc1ccccc1)c1ccccc1"
        );
        assert_eq!(murcko("[13cH]1ccccc1").unwrap(), "c1ccccc1");
        assert_eq!(generic("[13cH]1ccccc1").unwrap(), "C1CC[13CH2]CC1");
        assert_eq!(murcko("Cn1cccc1").unwrap(), "c1cc[nH]c1");
    }

    #[test]
    fn exocyclic_double_bonds_stay_in_the_murcko_scaffold() {
        assert_eq!(murcko("O=C1CCCCC1").unwrap(), "O=C1CCCCC1");
        assert_eq!(generic("O=C1CCCCC1").unwrap(), "CC1CCCCC1");
        assert_eq!(murcko("O=S1(=O)CCCC1").unwrap(), "O=S1(=O)CCCC1");
    }

    #[test]
    fn a_generic_scaffold_rdkit_cannot_sanitise_is_an_error_of_its_own() {
        let both = scaffolds("C1CCP23(CC1)(CCC2)CCC3");
        assert_eq!(both.murcko.unwrap(), "C1CC[PH]23(CC1)(CCC2)CCC3");
        match both.generic {
            Err(ChemError::Scaffold { kind, message, .. }) => {
                assert_eq!(kind, ScaffoldKind::Generic);
                assert!(message.contains("valence"), "{message}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn unreadable_smiles_are_rejected_with_the_pipelines_code() {
        for (smiles, code) in [
            ("", ErrorCode::EmptyInput),
            ("  ", ErrorCode::EmptyInput),
            ("C1CC", ErrorCode::SmilesSyntax),
            ("C(C)(C)(C)(C)C", ErrorCode::Valence),
            ("c1cccc1", ErrorCode::Kekulize),
        ] {
            let both = scaffolds(smiles);
            for result in [both.murcko, both.generic, murcko(smiles)] {
                match result {
                    Err(ChemError::Rejected {
                        code: got,
                        smiles: s,
                        ..
                    }) => {
                        assert_eq!((got, s.as_str()), (code, smiles));
                    }
                    other => panic!("{smiles:?}: {other:?}"),
                }
            }
        }
    }

    #[test]
    fn batch_keeps_input_order() {
        let input = ["c1ccccc1CC", "CCO", "C1CC", "C1CCNCC1"];
        let got = scaffolds_batch(&input);
        assert_eq!(got.len(), input.len());
        for (smiles, both) in input.iter().zip(&got) {
            assert_eq!(both, &scaffolds(smiles));
        }
    }
}
