//! 2D depiction: a SMILES in, an MDL Molblock with 2D coordinates out, for
//! SD files written from results (which carry SMILES, never coordinates).
//!
//! This is not part of [`Pipeline::process`](crate::Pipeline::process) and
//! needs no shared state: each call parses its own molecule, so it may run on
//! any thread. Like the pipeline it never aborts the process: RDKit's C++
//! exceptions come back as [`ChemError::Depiction`].

use crate::{ffi, ChemError};

/// The Molblock RDKit writes for a molecule without atoms (V2000, empty
/// title): a valid SD record body for a result that has no structure, such
/// as an invalid molecule, so an SD file keeps one record per result.
pub const EMPTY_MOLBLOCK: &str =
    "\n     RDKit          2D\n\n  0  0  0  0  0  0  0  0  0  0999 V2000\nM  END\n";

/// Parses `smiles` as `Chem.MolFromSmiles` does (with sanitisation),
/// computes 2D coordinates with `RDDepict::compute2DCoords` and returns
/// `Chem.MolToMolBlock`'s text: V2000 (RDKit switches to V3000 only above 999
/// atoms or bonds), an empty title line, Kekulé bonds, wedges for stereo
/// centres and `M  CHG` lines for charges. An empty SMILES gives
/// [`EMPTY_MOLBLOCK`].
///
/// ```
/// let block = molbatch_chem::depict::molblock_2d("CCO")?;
/// assert!(block.contains("  3  2  0  0  0  0  0  0  0  0999 V2000"));
/// assert!(molbatch_chem::depict::molblock_2d("C1CC").is_err());
/// # Ok::<(), molbatch_chem::ChemError>(())
/// ```
///
/// # Errors
///
/// [`ChemError::Depiction`] with RDKit's message when the SMILES does not
/// parse or sanitise, or RDKit fails to lay it out.
pub fn molblock_2d(smiles: &str) -> Result<String, ChemError> {
    ffi::molblock_2d(smiles).map_err(|e| ChemError::Depiction {
        smiles: smiles.to_owned(),
        message: e.what().to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{MolInput, Pipeline};

    /// Canonical SMILES of `input` as the pipeline reads it.
    fn canonical(p: &Pipeline, input: MolInput<'_>) -> String {
        let outcome = p.process(input);
        let record = outcome.valid().expect("a valid molecule");
        record.canonical_smiles.clone()
    }

    /// Counts line of a V2000 block: (atoms, bonds).
    fn counts(block: &str) -> (usize, usize) {
        let line = block.lines().nth(3).expect("a counts line");
        assert!(line.ends_with("V2000"), "{line:?}");
        let field =
            |range: std::ops::Range<usize>| line[range].trim().parse::<usize>().expect("a number");
        (field(0..3), field(3..6))
    }

    #[test]
    fn ethanol_has_three_atoms_and_round_trips() {
        let p = Pipeline::new().expect("RDKit context builds");
        let block = molblock_2d("OCC").unwrap();
        assert_eq!(counts(&block), (3, 2));
        assert!(block.ends_with("M  END\n"), "{block}");
        let symbols: Vec<&str> = block
            .lines()
            .skip(4)
            .take(3)
            .filter_map(|atom| atom.split_whitespace().nth(3))
            .collect();
        assert_eq!(symbols, ["O", "C", "C"], "{block}");
        assert_eq!(canonical(&p, MolInput::Molblock(&block)), "CCO");
    }

    #[test]
    fn coordinates_are_two_dimensional_and_laid_out() {
        let block = molblock_2d("c1ccccc1").unwrap();
        let atoms: Vec<(f64, f64, f64)> = block
            .lines()
            .skip(4)
            .take(6)
            .map(|l| {
                let xyz: Vec<f64> = l
                    .split_whitespace()
                    .take(3)
                    .map(|v| v.parse().unwrap())
                    .collect();
                (xyz[0], xyz[1], xyz[2])
            })
            .collect();
        assert!(atoms.iter().all(|&(_, _, z)| z == 0.0));
        assert!(atoms.iter().any(|&(x, y, _)| x != 0.0 || y != 0.0));
        assert!(block.lines().nth(1).is_some_and(|l| l.ends_with("2D")));
    }

    #[test]
    fn salts_charges_and_stereo_survive_the_round_trip() {
        let p = Pipeline::new().expect("RDKit context builds");
        for smiles in [
            "CC(=O)Oc1ccccc1C(=O)[O-].[Na+]",
            "C[N+](C)(C)C.[Cl-]",
            "C[C@H](N)C(=O)O",
            "F/C=C/F",
        ] {
            let block = molblock_2d(smiles).unwrap();
            assert_eq!(
                canonical(&p, MolInput::Molblock(&block)),
                canonical(&p, MolInput::Smiles(smiles)),
                "{smiles}\n{block}"
            );
        }
        let salt = molblock_2d("CC(=O)Oc1ccccc1C(=O)[O-].[Na+]").unwrap();
        assert_eq!(counts(&salt), (14, 13));
        assert!(salt.contains("M  CHG  2"), "{salt}");
    }

    #[test]
    fn bad_smiles_are_errors_with_rdkits_message() {
        for smiles in ["C1CC", "not a smiles", "C(C)(C)(C)(C)C", "c1cccc1"] {
            match molblock_2d(smiles) {
                Err(ChemError::Depiction { smiles: s, message }) => {
                    assert_eq!(s, smiles);
                    assert!(!message.is_empty(), "{smiles}");
                }
                other => panic!("{smiles}: {other:?}"),
            }
        }
        let Err(err) = molblock_2d("C(C)(C)(C)(C)C") else {
            panic!("pentavalent carbon depicted");
        };
        assert!(err.to_string().contains("valence"), "{err}");
    }

    #[test]
    fn empty_smiles_is_the_empty_molblock() {
        assert_eq!(molblock_2d("").unwrap(), EMPTY_MOLBLOCK);
        assert_eq!(counts(EMPTY_MOLBLOCK), (0, 0));
    }
}
