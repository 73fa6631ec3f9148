//! Matched-molecular-pair fragmentation (Hussain & Rea, *J. Chem. Inf. Model.* 2010, 50, 339):
//! every way of cutting one, two or three acyclic single bonds that the cut SMARTS matches,
//! split into a constant part and a variable part with canonical, symmetry-aware attachment
//! labels. Cut rules, topology checks and the hydrogen-substitution key follow mmpdb 3
//! (Dalke, Hert & Kramer, *J. Chem. Inf. Model.* 2018, 58, 902); pairing lives in
//! `molbatch-analysis` (`mmp`), which needs no RDKit.
//!
//! Two fragmentations (of any molecules) have equal [`Fragmentation::constant`] strings exactly
//! when their constant parts are the same graph with the attachment points in correspondence;
//! their variable strings are then labelled consistently, so `A>>B` reads as a transform.
//!
//! With [`FragmentOptions::up_enumerate`], a split whose cut makes a new potential
//! stereocentre (one methyl of an isopropyl, one arm of a symmetric ring) is also written with
//! that centre as `@` and `@@`, as mmpdb does: these [`Fragmentation::up_enumerated`] splits
//! pair with plain splits of other molecules but never with each other (issue 18 item 5), and
//! are why mmpdb finds some pairs, and counts others several times, on symmetric series.

use crate::{ffi, ChemError, ErrorCode};

/// mmpdb's default cut SMARTS: a non-ring single bond from a carbon that is not doubly or
/// triply bonded to a heteroatom to any heavy atom that is not a CH2 or the CH3 of an ethyl.
pub const DEFAULT_CUT_SMARTS: &str = "[#6+0;!$(*=,#[!#6])]!@!=!#[!#0;!#1;!$([CH2]);!$([CH3][CH2])]";

/// The variable part of a hydrogen substitution (the constant is the whole other molecule).
pub const HYDROGEN_VARIABLE: &str = "[*:1][H]";

/// One constant/variable split of a molecule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fragmentation {
    /// 1, 2 or 3.
    pub num_cuts: u8,
    /// The constant part: canonical SMILES, attachment points `[*:1]`..`[*:3]`, pieces sorted
    /// and joined by `.`.
    pub constant: String,
    /// The variable part, labelled like the constant.
    pub variable: String,
    /// Heavy atoms of the variable part.
    pub variable_heavies: u32,
    /// Single cuts: canonical SMILES of the constant with its attachment point replaced by
    /// hydrogen, the molecule a hydrogen substitution pairs with; `None` for several cuts.
    pub constant_with_hydrogen: Option<String>,
    /// One of mmpdb's stereo up-enumerations of a split rather than the split as cut: it may
    /// pair only with fragmentations that are not (always `false` without
    /// [`FragmentOptions::up_enumerate`]).
    pub up_enumerated: bool,
}

/// Every fragmentation of one molecule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fragments {
    /// RDKit canonical SMILES of the molecule as parsed (the hydrogen-substitution lookup key).
    pub normalized: String,
    /// Heavy atoms of the molecule.
    pub heavy_atoms: u32,
    /// Distinct fragmentations, in cut order.
    pub fragmentations: Vec<Fragmentation>,
}

/// How molecules are cut.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FragmentOptions {
    /// The bonds that may be cut (first two atoms of each match).
    pub cut_smarts: String,
    /// At most this many cuts (1 to 3).
    pub max_cuts: u32,
    /// Leave out splits whose variable part has more heavy atoms (`None`: keep all). The
    /// pairing filters on the same bound; giving it here spares writing parts it would drop,
    /// which on large molecules (peptides) is nearly all the work.
    pub max_variable_heavies: Option<u32>,
    /// Also write mmpdb's stereo up-enumerations ([`Fragmentation::up_enumerated`]). Off by
    /// default: an index that cannot keep two up-enumerated splits from pairing would find
    /// pairs mmpdb does not, so only callers that pass the flag on should ask for them.
    pub up_enumerate: bool,
}

impl Default for FragmentOptions {
    fn default() -> Self {
        Self {
            cut_smarts: DEFAULT_CUT_SMARTS.to_owned(),
            max_cuts: 3,
            max_variable_heavies: None,
            up_enumerate: false,
        }
    }
}

fn rejected(smiles: &str, status: ffi::Status, message: String) -> ChemError {
    ChemError::Rejected {
        smiles: smiles.to_owned(),
        code: ffi::error_code(status).unwrap_or(ErrorCode::Internal),
        message,
    }
}

/// Fragments a (standardised) SMILES.
///
/// ```
/// use molbatch_chem::mmp::{fragment, FragmentOptions};
/// let f = fragment("Cc1ccccc1", &FragmentOptions::default())?;
/// let pairs: Vec<(&str, &str)> =
///     f.fragmentations.iter().map(|f| (f.constant.as_str(), f.variable.as_str())).collect();
/// assert_eq!(pairs, [("[*:1]C", "[*:1]c1ccccc1"), ("[*:1]c1ccccc1", "[*:1]C")]);
/// assert_eq!(f.fragmentations[1].constant_with_hydrogen.as_deref(), Some("c1ccccc1"));
/// # Ok::<(), molbatch_chem::ChemError>(())
/// ```
pub fn fragment(smiles: &str, options: &FragmentOptions) -> Result<Fragments, ChemError> {
    ffi::non_empty(smiles)?;
    let raw = ffi::mmp_fragment(
        smiles,
        &options.cut_smarts,
        options.max_cuts.clamp(1, 3),
        options.max_variable_heavies.unwrap_or(u32::MAX),
        options.up_enumerate,
    )
    .map_err(|e| rejected(smiles, ffi::Status::Internal, e.what().to_owned()))?;
    if raw.status != ffi::Status::Ok {
        return Err(rejected(smiles, raw.status, raw.message));
    }
    Ok(Fragments {
        normalized: raw.normalized,
        heavy_atoms: raw.heavy_atoms,
        fragmentations: raw
            .fragmentations
            .into_iter()
            .map(|f| Fragmentation {
                num_cuts: f.num_cuts,
                constant: f.constant,
                variable: f.variable,
                variable_heavies: f.variable_heavies,
                constant_with_hydrogen: (f.num_cuts == 1 && !f.constant_with_h.is_empty())
                    .then_some(f.constant_with_h),
                up_enumerated: f.up_enumerated,
            })
            .collect(),
    })
}

/// What mmpdb's `--smallest-transformation-only` compares of a variable part: its single-cut
/// pieces that keep an attachment point (masked as Ne, Ar, Kr), with and without hydrogen.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Reduction {
    /// Canonical SMILES of the masked variable part.
    pub canon: String,
    /// Distinct pieces.
    pub pieces: Vec<String>,
    /// Pieces with the cut replaced by hydrogen.
    pub pieces_with_hydrogen: Vec<String>,
}

impl Reduction {
    /// Whether the transform `self >> other` can be reduced to a smaller one: the two variable
    /// parts share a piece, or one is a piece of the other with hydrogen in place of the rest.
    pub fn reducible_with(&self, other: &Reduction) -> bool {
        self.pieces.iter().any(|p| other.pieces.contains(p))
            || other.pieces_with_hydrogen.contains(&self.canon)
            || self.pieces_with_hydrogen.contains(&other.canon)
    }
}

/// The [`Reduction`] of a labelled variable part.
pub fn reduction(variable: &str, cut_smarts: &str) -> Result<Reduction, ChemError> {
    ffi::non_empty(variable)?;
    let raw = ffi::mmp_reduction(variable, cut_smarts)
        .map_err(|e| rejected(variable, ffi::Status::Internal, e.what().to_owned()))?;
    if raw.status != ffi::Status::Ok {
        return Err(rejected(variable, raw.status, raw.message));
    }
    Ok(Reduction {
        canon: raw.canon,
        pieces: raw.pieces,
        pieces_with_hydrogen: raw.pieces_with_h,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn splits(smiles: &str) -> Vec<(u8, String, String)> {
        let mut v: Vec<(u8, String, String)> = fragment(smiles, &FragmentOptions::default())
            .unwrap()
            .fragmentations
            .into_iter()
            .map(|f| (f.num_cuts, f.constant, f.variable))
            .collect();
        v.sort();
        v
    }

    #[test]
    fn symmetric_constants_get_one_labelling() {
        // Both para positions of the ring are cut: the two constant pieces are the same, so
        // the labels may be swapped; the key must not depend on which cut came first.
        let a = splits("Cc1ccc(C)cc1");
        assert!(a.contains(&(
            2,
            "[*:1]C.[*:2]C".to_owned(),
            "[*:1]c1ccc([*:2])cc1".to_owned()
        )));
        // An asymmetric linker under a symmetric constant: both orientations are the same
        // molecule, so they give the same labelled variable.
        let one = splits("Clc1ccc(NC(=O)c2ccc(Cl)cc2)cc1");
        let flipped = splits("O=C(Nc1ccc(Cl)cc1)c1ccc(Cl)cc1");
        assert_eq!(one, flipped);
    }

    #[test]
    fn two_cuts_need_a_linker_with_both_attachment_points() {
        // Cutting both methyls off ethylbenzene's ring side is not a linker split.
        let f = splits("CCc1ccccc1");
        assert!(f
            .iter()
            .all(|(n, _, v)| *n == 1 || v.matches("[*:").count() == usize::from(*n)));
    }

    #[test]
    fn hydrogen_reduction_pieces() {
        let r = reduction("[*:1]c1ccc(Cl)cc1", DEFAULT_CUT_SMARTS).unwrap();
        assert!(r.pieces.iter().any(|p| p.contains("Ne")), "{r:?}");
        let h = reduction("[*:1]c1ccccc1", DEFAULT_CUT_SMARTS).unwrap();
        assert!(h.reducible_with(&r) || r.reducible_with(&h));
    }

    #[test]
    fn unreadable_smiles_is_an_error() {
        assert!(fragment("C1CC", &FragmentOptions::default()).is_err());
        assert!(fragment("", &FragmentOptions::default()).is_err());
    }
}
