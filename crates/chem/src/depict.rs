//! 2D depiction: a SMILES in, and out either an MDL Molblock with 2D
//! coordinates, for SD files written from results (which carry SMILES,
//! never coordinates), or an SVG picture of a molecule or scaffold
//! ([`svg`]), for clients showing hits and scaffolds, optionally with some
//! atoms highlighted ([`svg_highlighted`]), such as a structural alert's,
//! or the same picture as PNG ([`png`]) for spreadsheets.
//!
//! This is not part of [`Pipeline::process`](crate::Pipeline::process) and
//! needs no shared state: each call parses its own molecule and builds its
//! own drawer, so it may run on any thread. Like the pipeline it never
//! aborts the process: RDKit's C++ exceptions come back as errors.

use std::ops::RangeInclusive;

use crate::{ffi, ChemError, ErrorCode};

/// Width and height [`svg`] callers should use unless asked otherwise.
pub const DEFAULT_SVG_SIZE: u32 = 300;

/// The widths and heights, in pixels, [`svg`] accepts.
pub const SVG_SIZE_RANGE: RangeInclusive<u32> = 50..=2000;

/// An SVG document of `smiles` (a molecule or a scaffold, any SMILES RDKit
/// reads, several fragments included), `width` × `height` pixels: RDKit's
/// `RDDepict::compute2DCoords` with the defaults of Python's
/// `rdDepictor.Compute2DCoords` (canonical orientation: long axis
/// horizontal), then `MolDraw2DUtils::prepareAndDrawMolecule`
/// (Kekulé form, wedges, chiral Hs) on a `MolDraw2DSVG` with default drawing
/// options; byte for byte what Python's `rdDepictor.Compute2DCoords(mol)`,
/// `rdMolDraw2D.PrepareAndDrawMolecule(d, mol)`, `d.FinishDrawing()`,
/// `d.GetDrawingText()` give. Deterministic: the same input gives the same
/// text. Starts with `<?xml` and ends with `</svg>` and a newline.
///
/// ```
/// use molbatch_chem::depict::{svg, DEFAULT_SVG_SIZE};
/// let picture = svg("c1ccccc1C(=O)O", DEFAULT_SVG_SIZE, DEFAULT_SVG_SIZE)?;
/// assert!(picture.starts_with("<?xml") && picture.contains("</svg>"));
/// assert!(svg("", 300, 300).is_err()); // e.g. the scaffold of an acyclic molecule
/// # Ok::<(), molbatch_chem::ChemError>(())
/// ```
///
/// # Errors
///
/// [`ChemError::DepictionSize`] when a side is outside [`SVG_SIZE_RANGE`];
/// [`ChemError::Rejected`] when `smiles` is empty or has no atoms (code
/// [`ErrorCode::EmptyInput`]: the empty scaffold of an acyclic molecule
/// cannot be drawn) or RDKit cannot read it; [`ChemError::Depiction`] when
/// RDKit fails to lay it out or draw it.
pub fn svg(smiles: &str, width: u32, height: u32) -> Result<String, ChemError> {
    drawable(smiles, width, height)?;
    let record = ffi::svg(smiles, width, height).map_err(|e| depiction_error(smiles, &e))?;
    ffi::accepted(smiles, record.status, record.message)?;
    Ok(record.text)
}

/// [`svg`]'s drawing of `smiles` as a PNG image, `width` × `height` pixels,
/// from RDKit's Cairo drawer (`MolDraw2DCairo`: the same layout and drawing
/// options), for files that cannot hold SVG, such as a spreadsheet.
///
/// ```
/// let image = molbatch_chem::depict::png("c1ccccc1C(=O)O", 200, 150)?;
/// assert!(image.starts_with(b"\x89PNG\r\n\x1a\n"));
/// # Ok::<(), molbatch_chem::ChemError>(())
/// ```
///
/// # Errors
///
/// Those of [`svg`].
pub fn png(smiles: &str, width: u32, height: u32) -> Result<Vec<u8>, ChemError> {
    drawable(smiles, width, height)?;
    let record = ffi::png(smiles, width, height).map_err(|e| depiction_error(smiles, &e))?;
    ffi::accepted(smiles, record.status, record.message)?;
    Ok(record.data)
}

/// [`svg`] with the atoms `atoms` (indices of the molecule as RDKit's
/// `MolFromSmiles` reads `smiles`, as [`alerts::matches`](crate::alerts::matches)
/// gives them; order and repeats do not matter) and every bond between two
/// of them highlighted: same layout and options, byte for byte what
/// Python's `rdMolDraw2D.PrepareAndDrawMolecule(d, mol,
/// highlightAtoms=atoms, highlightBonds=bonds)` draws, with `atoms` sorted
/// and `bonds` the ascending indices of those bonds. No atoms is exactly
/// [`svg`].
///
/// ```
/// use molbatch_chem::depict::{svg, svg_highlighted};
/// let plain = svg("O=C1NC(=S)SC1=Cc1ccccc1", 200, 150)?;
/// let marked = svg_highlighted("O=C1NC(=S)SC1=Cc1ccccc1", 200, 150, &[0, 1, 2, 3])?;
/// assert_ne!(plain, marked);
/// assert_eq!(plain, svg_highlighted("O=C1NC(=S)SC1=Cc1ccccc1", 200, 150, &[])?);
/// assert!(svg_highlighted("CCO", 200, 150, &[3]).is_err()); // ethanol has atoms 0..=2
/// # Ok::<(), molbatch_chem::ChemError>(())
/// ```
///
/// # Errors
///
/// Those of [`svg`], and [`ChemError::Depiction`] when an atom index is
/// not one of the molecule's.
pub fn svg_highlighted(
    smiles: &str,
    width: u32,
    height: u32,
    atoms: &[u32],
) -> Result<String, ChemError> {
    if atoms.is_empty() {
        return svg(smiles, width, height);
    }
    drawable(smiles, width, height)?;
    let record = ffi::svg_highlighted(smiles, width, height, atoms)
        .map_err(|e| depiction_error(smiles, &e))?;
    ffi::accepted(smiles, record.status, record.message)?;
    Ok(record.text)
}

/// The checks made before calling RDKit to draw.
fn drawable(smiles: &str, width: u32, height: u32) -> Result<(), ChemError> {
    if !SVG_SIZE_RANGE.contains(&width) || !SVG_SIZE_RANGE.contains(&height) {
        return Err(ChemError::DepictionSize { width, height });
    }
    if smiles.trim().is_empty() {
        return Err(ChemError::Rejected {
            smiles: smiles.to_owned(),
            code: ErrorCode::EmptyInput,
            message: "nothing to draw: empty SMILES (an acyclic molecule has the empty scaffold)"
                .into(),
        });
    }
    Ok(())
}

fn depiction_error(smiles: &str, e: &cxx::Exception) -> ChemError {
    ChemError::Depiction {
        smiles: smiles.to_owned(),
        message: e.what().to_owned(),
    }
}

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
    fn svg_is_a_deterministic_svg_document() {
        for smiles in [
            "c1ccccc1",
            "C[C@H](N)C(=O)O",
            "C1CCC2(CC1)CCNCC2",
            "c1ccccc1.C1CCNCC1",
        ] {
            let picture = svg(smiles, DEFAULT_SVG_SIZE, DEFAULT_SVG_SIZE).unwrap();
            assert!(picture.starts_with("<?xml"), "{picture}");
            assert!(picture.contains("<svg"), "{picture}");
            assert!(picture.trim_end().ends_with("</svg>"), "{picture}");
            assert!(picture.contains("width='300px'"), "{picture}");
            assert_eq!(picture, svg(smiles, 300, 300).unwrap(), "{smiles}");
        }
        let wide = svg("CCO", 800, 200).unwrap();
        assert!(
            wide.contains("width='800px'") && wide.contains("height='200px'"),
            "{wide}"
        );
    }

    #[test]
    fn svg_size_is_bounded() {
        for (w, h) in [(49, 300), (300, 49), (2001, 300), (300, 2001), (0, 0)] {
            assert_eq!(
                svg("CCO", w, h),
                Err(ChemError::DepictionSize {
                    width: w,
                    height: h
                })
            );
        }
        assert!(svg("CCO", 50, 2000).is_ok());
        assert!(ChemError::DepictionSize {
            width: 1,
            height: 2
        }
        .to_string()
        .contains("50..=2000"));
    }

    #[test]
    fn svg_of_nothing_or_a_bad_smiles_is_rejected() {
        for (smiles, code) in [
            ("", ErrorCode::EmptyInput),
            ("C1CC", ErrorCode::SmilesSyntax),
            ("c1cccc1", ErrorCode::Kekulize),
        ] {
            match svg(smiles, 300, 300) {
                Err(ChemError::Rejected { code: got, .. }) => assert_eq!(got, code, "{smiles:?}"),
                other => panic!("{smiles:?}: {other:?}"),
            }
        }
        let Err(err) = svg("", 300, 300) else {
            panic!("empty SMILES drawn");
        };
        assert!(err.to_string().contains("nothing to draw"), "{err}");
    }

    #[test]
    fn empty_smiles_is_the_empty_molblock() {
        assert_eq!(molblock_2d("").unwrap(), EMPTY_MOLBLOCK);
        assert_eq!(counts(EMPTY_MOLBLOCK), (0, 0));
    }
}
