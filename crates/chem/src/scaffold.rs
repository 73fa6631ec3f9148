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
//! current rayon pool, and makes each generic scaffold once per distinct
//! Murcko scaffold where that is exact (see [`scaffolds_batch`]).

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

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

impl Scaffolds {
    /// Both scaffolds failed with `e` (the molecule could not be read, or
    /// RDKit failed before any scaffold).
    fn failed(e: ChemError) -> Self {
        Self {
            murcko: Err(e.clone()),
            generic: Err(e),
        }
    }
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
        Err(e) => Scaffolds::failed(e),
        Ok(record) => Scaffolds {
            generic: generic_outcome(
                smiles,
                record.generic_ok,
                record.generic,
                record.generic_error,
            ),
            murcko: Ok(record.murcko),
        },
    }
}

/// [`scaffolds`] of every SMILES, in order, computed in parallel on the
/// current rayon pool (the global one unless called inside
/// `ThreadPool::install`).
///
/// The generic scaffold is made once per distinct Murcko scaffold SMILES
/// among scaffolds without hydrogen atoms, isotopes, radicals, atom maps or
/// bond stereo: `MakeScaffoldGeneric` keeps nothing of such a scaffold but
/// its connectivity, which its Murcko SMILES writes, so the answer is the
/// one [`scaffolds`] gives each molecule. Other scaffolds, and any whose
/// generic form fails (RDKit's message names atom indices), are made one by
/// one.
pub fn scaffolds_batch<S: AsRef<str> + Sync>(smiles: &[S]) -> Vec<Scaffolds> {
    let generics = Mutex::new(HashMap::new());
    smiles
        .par_iter()
        .map(|s| scaffolds_sharing(s.as_ref(), &generics))
        .collect()
}

/// [`scaffolds`] of `smiles`, taking its generic scaffold from `generics`
/// (Murcko SMILES to generic SMILES of plain scaffolds) or adding it there.
fn scaffolds_sharing(smiles: &str, generics: &Mutex<HashMap<String, String>>) -> Scaffolds {
    if let Err(e) = ffi::non_empty(smiles) {
        return Scaffolds::failed(e);
    }
    let bridge_error = |e: cxx::Exception| scaffold_error(smiles, ScaffoldKind::Murcko, e.what());
    let mut record = ffi::ScaffoldRecord {
        status: ffi::Status::Ok,
        message: String::new(),
        murcko: String::new(),
        generic_ok: false,
        generic: String::new(),
        generic_error: String::new(),
    };
    let scaffold = match ffi::murcko_scaffold(smiles, &mut record) {
        Ok(scaffold) => scaffold,
        Err(e) => return Scaffolds::failed(bridge_error(e)),
    };
    if let Err(e) = ffi::accepted(smiles, record.status, std::mem::take(&mut record.message)) {
        return Scaffolds::failed(e);
    }
    let Some(scaffold) = scaffold.as_ref() else {
        return Scaffolds::failed(scaffold_error(
            smiles,
            ScaffoldKind::Murcko,
            "no scaffold molecule",
        ));
    };
    let plain = match ffi::is_plain(scaffold) {
        Ok(plain) => plain,
        Err(e) => return Scaffolds::failed(bridge_error(e)),
    };
    let known = || {
        let generics = generics.lock().unwrap_or_else(PoisonError::into_inner);
        generics.get(&record.murcko).cloned()
    };
    let generic = match plain.then(known).flatten() {
        Some(generic) => Ok(generic),
        None => {
            if let Err(e) = ffi::generic_scaffold(scaffold, &mut record) {
                return Scaffolds::failed(bridge_error(e));
            }
            let generic = generic_outcome(
                smiles,
                record.generic_ok,
                std::mem::take(&mut record.generic),
                std::mem::take(&mut record.generic_error),
            );
            if let (true, Ok(generic)) = (plain, &generic) {
                generics
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .insert(record.murcko.clone(), generic.clone());
            }
            generic
        }
    };
    Scaffolds {
        murcko: Ok(record.murcko),
        generic,
    }
}

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
    let record = ffi::graph_framework(smiles)
        .map_err(|e| scaffold_error(smiles, ScaffoldKind::Generic, e.what()))?;
    ffi::accepted(smiles, record.status, record.message)?;
    Ok(record.text)
}

/// One bridge call; a parse failure or an exception becomes the error of
/// both scaffolds.
fn compute(smiles: &str, generic: bool) -> Result<ffi::ScaffoldRecord, ChemError> {
    ffi::non_empty(smiles)?;
    let record = ffi::scaffolds(smiles, generic)
        .map_err(|e| scaffold_error(smiles, ScaffoldKind::Murcko, e.what()))?;
    ffi::accepted(smiles, record.status, record.message.clone())?;
    Ok(record)
}

/// RDKit failed on `smiles` while making its `kind` scaffold.
fn scaffold_error(smiles: &str, kind: ScaffoldKind, message: &str) -> ChemError {
    ChemError::Scaffold {
        smiles: smiles.to_owned(),
        kind,
        message: message.to_owned(),
    }
}

/// The generic scaffold a bridge record holds, or why RDKit could not make it.
fn generic_outcome(
    smiles: &str,
    ok: bool,
    generic: String,
    error: String,
) -> Result<String, ChemError> {
    if ok {
        Ok(generic)
    } else {
        Err(scaffold_error(smiles, ScaffoldKind::Generic, &error))
    }
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
    fn batch_shares_generic_scaffolds_only_where_the_murcko_smiles_decides_them() {
        // Same Murcko SMILES; the isotope-labelled ring is not plain and
        // keeps its label in the generic form; a generic failure stays an
        // error of each molecule; stereo and dummy atoms pass through.
        let input = [
            "Cc1ccccc1",
            "[13cH]1ccccc1",
            "Oc1ccccc1",
            "[13CH3]c1ccccc1",
            "c1ccccc1[13cH]1ccccc1",
            "c1ccccc1c1ccccc1",
            "C1CCP23(CC1)(CCC2)CCC3",
            "CC1CCP23(CC1)(CCC2)CCC3",
            "c1ccccc1/C=C/c1ccccc1",
            "c1ccccc1C=Cc1ccccc1",
            "*c1ccccc1",
            "C1CC[C@H](C2CC2)CC1",
            "C1CCC(C2CC2)CC1",
        ];
        let got = scaffolds_batch(&input);
        for (smiles, both) in input.iter().zip(&got) {
            assert_eq!(both, &scaffolds(smiles), "{smiles}");
        }
        assert_eq!(got[1].generic.as_deref(), Ok("C1CC[13CH2]CC1"));
        assert_eq!(got[0].generic.as_deref(), Ok("C1CCCCC1"));
        assert!(got[7].generic.is_err());
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
