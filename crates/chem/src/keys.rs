//! Deduplication keys of a molecule. Of the four levels a batch is
//! deduplicated at, three are fields of the pipeline's
//! [`MoleculeRecord`](crate::MoleculeRecord): exact = `canonical_smiles`,
//! tautomer = `tautomer_smiles`, salt form = `standardized_smiles` (the
//! fragment parent). The fourth, stereo-insensitive, is computed here from
//! the standardised SMILES: [`stereo_insensitive`].
//!
//! Each call parses its own molecule and shares no RDKit state, so it runs on
//! any thread; [`stereo_insensitive_batch`] runs a slice on the current rayon
//! pool.

use rayon::prelude::*;

use crate::{ffi, ChemError};

/// The canonical SMILES of `smiles` with all stereochemistry removed, as
/// `Chem.RemoveStereochemistry(mol)` then `Chem.MolToSmiles(mol)` gives it
/// (tetrahedral and double-bond stereo go; isotopes and charges stay).
///
/// ```
/// use molbatch_chem::keys::stereo_insensitive;
/// assert_eq!(stereo_insensitive("C[C@H](N)C(=O)O")?, "CC(N)C(=O)O");
/// assert_eq!(stereo_insensitive("F/C=C/F")?, stereo_insensitive("F/C=C\\F")?);
/// # Ok::<(), molbatch_chem::ChemError>(())
/// ```
///
/// # Errors
///
/// [`ChemError::Rejected`] when `smiles` is empty or RDKit cannot read it;
/// [`ChemError::StereoKey`] if RDKit fails on the molecule it read.
pub fn stereo_insensitive(smiles: &str) -> Result<String, ChemError> {
    ffi::non_empty(smiles)?;
    let record = ffi::stereo_insensitive_smiles(smiles).map_err(|e| ChemError::StereoKey {
        smiles: smiles.to_owned(),
        message: e.what().to_owned(),
    })?;
    ffi::accepted(smiles, record.status, record.message)?;
    Ok(record.text)
}

/// [`stereo_insensitive`] of every SMILES, in order, computed in parallel
/// on the current rayon pool.
pub fn stereo_insensitive_batch<S: AsRef<str> + Sync>(
    smiles: &[S],
) -> Vec<Result<String, ChemError>> {
    smiles
        .par_iter()
        .map(|s| stereo_insensitive(s.as_ref()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorCode;

    #[test]
    fn stereoisomers_share_a_key_and_other_marks_stay() {
        let r = stereo_insensitive("C[C@@H](N)C(=O)O").unwrap();
        assert_eq!(r, stereo_insensitive("C[C@H](N)C(=O)O").unwrap());
        assert_eq!(r, "CC(N)C(=O)O");
        assert_eq!(stereo_insensitive("C/C=C\\C").unwrap(), "CC=CC");
        assert_eq!(
            stereo_insensitive("[13CH3][C@H](O)C(=O)[O-]").unwrap(),
            "[13CH3]C(O)C(=O)[O-]"
        );
    }

    #[test]
    fn unreadable_smiles_are_rejected() {
        for (smiles, code) in [
            ("", ErrorCode::EmptyInput),
            ("C1CC", ErrorCode::SmilesSyntax),
        ] {
            match stereo_insensitive(smiles) {
                Err(ChemError::Rejected { code: got, .. }) => assert_eq!(got, code),
                other => panic!("{smiles:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn batch_keeps_input_order() {
        let input = vec![
            "C[C@H](N)C(=O)O".to_owned(),
            "C1CC".to_owned(),
            "CCO".to_owned(),
        ];
        let got = stereo_insensitive_batch(&input);
        assert_eq!(got[0].as_deref(), Ok("CC(N)C(=O)O"));
        assert!(got[1].is_err());
        assert_eq!(got[2].as_deref(), Ok("CCO"));
    }
}
