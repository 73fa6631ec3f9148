//! Standard InChI and InChIKey of a molecule, through Debian's libinchi (the
//! IUPAC InChI library, version 1.03; Debian's RDKit is built without
//! InChI). The molecule is read like the pipeline reads a SMILES and handed
//! to the library the way RDKit's `Chem.MolToInchi` does (0D stereo parities
//! from the SMILES's chiral tags and double bonds), so keys equal those of
//! RDKit's PyPI build wherever InChI 1.03 and the build's newer InChI agree
//! (`tests/inchi.rs` checks 5,000 molecules; README's *InChI* section lists
//! where they do not).
//!
//! [`to_smiles`] goes the other way, for InChI input: the structure a
//! standard InChI describes, as canonical SMILES the pipeline can read.
//!
//! The library is not re-entrant: calls are serialised by a mutex in the
//! bridge, so many threads may call [`to_inchi`] and [`to_smiles`] but only
//! one computes at a time. A molecule the library refuses is an error, never
//! an abort.

use crate::{ffi, ChemError};

/// The standard InChI identifiers of one molecule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inchi {
    /// Standard InChI, `InChI=1S/...`.
    pub inchi: String,
    /// Standard InChIKey, 27 characters (`XXXXXXXXXXXXXX-YYYYYYYYFV-P`).
    pub key: String,
    /// The InChI library's warning, e.g. `Omitted undefined stereo`.
    pub warning: Option<String>,
}

/// The standard InChI and InChIKey of the molecule `smiles` parses to.
///
/// ```
/// use molbatch_chem::inchi::to_inchi;
/// let aspirin = to_inchi("CC(=O)Oc1ccccc1C(=O)O")?;
/// assert_eq!(aspirin.key, "BSYNRYMUTXBXSQ-UHFFFAOYSA-N");
/// assert_eq!(aspirin.inchi, "InChI=1S/C9H8O4/c1-6(10)13-8-5-3-2-4-7(8)9(11)12/h2-5H,1H3,(H,11,12)");
/// # Ok::<(), molbatch_chem::ChemError>(())
/// ```
///
/// # Errors
///
/// [`ChemError::Rejected`] when `smiles` is empty or RDKit cannot read it;
/// [`ChemError::Inchi`] when the InChI library gives no InChI or key (e.g.
/// a dummy atom `*`) or the molecule is outside what it takes (1,024 atoms,
/// 20 bonds per atom).
pub fn to_inchi(smiles: &str) -> Result<Inchi, ChemError> {
    ffi::non_empty(smiles)?;
    let failed = |message: String| ChemError::Inchi {
        smiles: smiles.to_owned(),
        message,
    };
    let record = ffi::inchi_of_smiles(smiles).map_err(|e| failed(e.what().to_owned()))?;
    ffi::accepted(smiles, record.status, record.message)?;
    if !record.ok {
        return Err(failed(record.warning));
    }
    Ok(Inchi {
        inchi: record.inchi,
        key: record.key,
        warning: Some(record.warning).filter(|w| !w.is_empty()),
    })
}

/// The structure a standard InChI describes, as RDKit canonical isomeric
/// SMILES: atoms, charges, isotopes, radicals, hydrogen counts and the
/// defined tetrahedral and double-bond stereo of the InChI. Feeding the
/// SMILES to the pipeline gives the molecule's InChI back (tests/inchi.rs
/// checks the round trip on 5,000 molecules).
///
/// ```
/// use molbatch_chem::inchi::to_smiles;
/// let smiles = to_smiles("InChI=1S/C3H7NO2/c1-2(4)3(5)6/h2H,4H2,1H3,(H,5,6)/t2-/m0/s1")?;
/// assert_eq!(smiles, "C[C@H](N)C(=O)O");
/// # Ok::<(), molbatch_chem::ChemError>(())
/// ```
///
/// # Errors
///
/// [`ChemError::Inchi`] when the text is empty, the InChI library cannot
/// read it as a standard InChI, or RDKit cannot sanitise its structure.
pub fn to_smiles(inchi: &str) -> Result<String, ChemError> {
    let failed = |message: String| ChemError::Inchi {
        smiles: inchi.to_owned(),
        message,
    };
    if inchi.trim().is_empty() {
        return Err(failed("empty InChI".into()));
    }
    let record = ffi::smiles_of_inchi(inchi.trim()).map_err(|e| failed(e.what().to_owned()))?;
    if !record.ok {
        return Err(failed(record.message));
    }
    Ok(record.smiles)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorCode;

    /// (SMILES, InChI, InChIKey) as RDKit 2022.09.5 from PyPI writes them
    /// (`Chem.MolToInchi`, `Chem.InchiToInchiKey`).
    const REFERENCE: [(&str, &str, &str); 9] = [
        (
            "C[C@H](N)C(=O)O",
            "InChI=1S/C3H7NO2/c1-2(4)3(5)6/h2H,4H2,1H3,(H,5,6)/t2-/m0/s1",
            "QNAYBMKLOCPYGJ-REOHCLBHSA-N",
        ),
        (
            "C/C=C/Cl",
            "InChI=1S/C3H5Cl/c1-2-3-4/h2-3H,1H3/b3-2+",
            "OWXJKYNZGFSVRC-NSCUHMNNSA-N",
        ),
        (
            "C/C=C\\Cl",
            "InChI=1S/C3H5Cl/c1-2-3-4/h2-3H,1H3/b3-2-",
            "OWXJKYNZGFSVRC-IHWYPQMZSA-N",
        ),
        (
            "C[S@@](=O)c1ccccc1",
            "InChI=1S/C7H8OS/c1-9(8)7-5-3-2-4-6-7/h2-6H,1H3/t9-/m1/s1",
            "JXTGICXCHWMCPM-SECBINFHSA-N",
        ),
        (
            "C[C@H]1CC[C@@H](C(C)C)[C@@H](O)C1",
            "InChI=1S/C10H20O/c1-7(2)9-5-4-8(3)6-10(9)11/h7-11H,4-6H2,1-3H3/t8-,9-,10-/m0/s1",
            "NOOLISFMXDJSKH-GUBZILKMSA-N",
        ),
        (
            "[13CH3]C(=O)O",
            "InChI=1S/C2H4O2/c1-2(3)4/h1H3,(H,3,4)/i1+1",
            "QTBSBXVTEAMEQO-OUBTZVSYSA-N",
        ),
        (
            "[CH2]C",
            "InChI=1S/C2H5/c1-2/h1H2,2H3",
            "QUPDWYMUPZLYJZ-UHFFFAOYSA-N",
        ),
        (
            "OCl(=O)(=O)=O",
            "InChI=1S/ClHO4/c2-1(3,4)5/h(H,2,3,4,5)",
            "VLTRZXGMWDSKGL-UHFFFAOYSA-N",
        ),
        (
            "CC(C)F",
            "InChI=1S/C3H7F/c1-3(2)4/h3H,1-2H3",
            "PRNZBCYBKGCOFI-UHFFFAOYSA-N",
        ),
    ];

    #[test]
    fn equals_rdkit_for_stereo_isotopes_radicals_and_perchlorate() {
        for (smiles, inchi, key) in REFERENCE {
            let got = to_inchi(smiles).unwrap_or_else(|e| panic!("{smiles}: {e}"));
            assert_eq!(
                (got.inchi.as_str(), got.key.as_str()),
                (inchi, key),
                "{smiles}"
            );
        }
    }

    #[test]
    fn undefined_stereo_is_a_warning_not_an_error() {
        for (smiles, key) in [
            ("CC(N)C(=O)O", "QNAYBMKLOCPYGJ-UHFFFAOYSA-N"),
            ("CC(F)(Cl)Br", "IUEOVIJFFFDZTG-UHFFFAOYSA-N"),
            ("CC=CC", "IAQRGUVFOMOMEM-UHFFFAOYSA-N"),
        ] {
            let got = to_inchi(smiles).unwrap_or_else(|e| panic!("{smiles}: {e}"));
            assert_eq!(got.key, key, "{smiles}");
            assert_eq!(
                got.warning.as_deref(),
                Some("Omitted undefined stereo"),
                "{smiles}"
            );
        }
        assert_eq!(to_inchi("CCO").map(|i| i.warning), Ok(None));
    }

    #[test]
    fn refusals_are_errors() {
        match to_inchi("*C") {
            Err(ChemError::Inchi { smiles, message }) => {
                assert_eq!(smiles, "*C");
                assert!(!message.is_empty());
            }
            other => panic!("dummy atom: {other:?}"),
        }
        // Standard InChI stops at 1,024 atoms (RDKit's PyPI build too).
        let chain = |atoms: usize| "C".repeat(atoms);
        assert_eq!(
            to_inchi(&chain(1000)).map(|i| i.key),
            Ok("MLMWFNWMMDBANR-UHFFFAOYSA-N".to_owned())
        );
        assert!(matches!(
            to_inchi(&chain(1100)),
            Err(ChemError::Inchi { .. })
        ));
        for (smiles, code) in [
            ("", ErrorCode::EmptyInput),
            ("C1CC", ErrorCode::SmilesSyntax),
            ("C(C)(C)(C)(C)C", ErrorCode::Valence),
        ] {
            match to_inchi(smiles) {
                Err(ChemError::Rejected { code: got, .. }) => assert_eq!(got, code, "{smiles:?}"),
                other => panic!("{smiles:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn inchi_reads_back_to_the_same_molecule() {
        for (smiles, inchi, key) in REFERENCE {
            let back = to_smiles(inchi).unwrap_or_else(|e| panic!("{smiles}: {e}"));
            let again = to_inchi(&back).unwrap_or_else(|e| panic!("{back}: {e}"));
            assert_eq!(
                (again.inchi.as_str(), again.key.as_str()),
                (inchi, key),
                "{smiles} -> {back}"
            );
        }
        assert_eq!(
            to_smiles("InChI=1S/C3H5Cl/c1-2-3-4/h2-3H,1H3/b3-2+").as_deref(),
            Ok("C/C=C/Cl")
        );
        for bad in ["", "InChI=1S/garbage", "CCO"] {
            assert!(
                matches!(to_smiles(bad), Err(ChemError::Inchi { .. })),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn concurrent_callers_get_the_same_answers() {
        let expected: Vec<_> = REFERENCE.iter().map(|(s, _, _)| to_inchi(s)).collect();
        std::thread::scope(|scope| {
            let handles: Vec<_> = (0..4)
                .map(|_| {
                    scope.spawn(|| {
                        (0..20)
                            .flat_map(|_| REFERENCE.iter().map(|(s, _, _)| to_inchi(s)))
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            for handle in handles {
                let got = handle.join().expect("worker thread");
                for chunk in got.chunks(REFERENCE.len()) {
                    assert_eq!(chunk, expected.as_slice());
                }
            }
        });
    }
}
