//! Matched-molecular-pair fragmentation (Hussain & Rea, *J. Chem. Inf. Model.* 2010, 50, 339):
//! every way of cutting one, two or three acyclic single bonds that the cut SMARTS matches,
//! split into a constant part and a variable part. Cut rules, topology checks, the
//! hydrogen-substitution key and the way the parts are written follow mmpdb 3 (Dalke, Hert &
//! Kramer, *J. Chem. Inf. Model.* 2018, 58, 902): a [`Fragmentation`] is mmpdb's fragment
//! record, with unlabelled attachment points, the variable's symmetry class and its canonical
//! attachment order. Pairing, and the labels a pair's transform is written with, live in
//! `molbatch-analysis` (`mmp`), which needs no RDKit.
//!
//! Two fragmentations (of any molecules) with equal [`Fragmentation::constant`] strings have
//! the same constant pieces in the same order; [`Fragmentation::attachment_order`] says which
//! piece each attachment point of the variable connects to.
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

/// One constant/variable split of a molecule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fragmentation {
    /// 1, 2 or 3.
    pub num_cuts: u8,
    /// The constant part as mmpdb writes it: canonical SMILES with unlabelled attachment
    /// points (`*`); for several cuts its pieces, in the order RDKit writes the whole
    /// fragmented molecule, joined by `.`.
    pub constant: String,
    /// The variable part: canonical SMILES, unlabelled attachment points.
    pub variable: String,
    /// mmpdb's symmetry class of the variable's attachment points, in the order written:
    /// `1` for one cut; `11` or `12` for two (alike or not); `111`, `112`, `121`, `122` or
    /// `123` for three.
    pub variable_symmetry: String,
    /// mmpdb's canonical attachment order: for the i-th `*` of the variable, the index of the
    /// constant piece across its cut (`0` for one cut; of the orders equivalent under both
    /// symmetries, the smallest).
    pub attachment_order: String,
    /// Heavy atoms of the variable part.
    pub variable_heavies: u32,
    /// Single cuts: how a hydrogen substitution finds its molecule; `None` for several cuts.
    pub hydrogen: Option<HydrogenLookup>,
    /// One of mmpdb's stereo up-enumerations of a split rather than the split as cut: it may
    /// pair only with fragmentations that are not (always `false` without
    /// [`FragmentOptions::up_enumerate`]).
    pub up_enumerated: bool,
}

/// What finds the molecule a single cut's hydrogen substitution pairs with: the one whose
/// [`Fragments::normalized`] is [`capped_smiles`] of [`Self::capped`]. Capping is a SMILES
/// parse and write, and most constants are no molecule of a set, so an index caps only those
/// whose [`Self::graph`] is a molecule's [`Fragments::heavy_graph`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HydrogenLookup {
    /// A hash of the constant's graph without hydrogens and dummies, labelled by element: a
    /// molecule whose SMILES its capped form is has the same [`Fragments::heavy_graph`].
    pub graph: u64,
    /// What is capped when it is not the constant itself: mmpdb caps the constant of some
    /// up-enumerated splits as cut, without the new stereocentre.
    pub capped: Option<String>,
}

/// Every fragmentation of one molecule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fragments {
    /// RDKit canonical SMILES of the molecule as parsed (the hydrogen-substitution lookup key).
    pub normalized: String,
    /// Heavy atoms of the molecule.
    pub heavy_atoms: u32,
    /// A hash of its graph without hydrogens and dummies, labelled by element (see
    /// [`HydrogenLookup`]); equal canonical SMILES give equal hashes.
    pub heavy_graph: u64,
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
/// use molbatch_chem::mmp::{capped_smiles, fragment, FragmentOptions};
/// let f = fragment("Cc1ccccc1", &FragmentOptions::default())?;
/// let pairs: Vec<(&str, &str)> =
///     f.fragmentations.iter().map(|f| (f.constant.as_str(), f.variable.as_str())).collect();
/// assert_eq!(pairs, [("*C", "*c1ccccc1"), ("*c1ccccc1", "*C")]);
/// let benzene = fragment("c1ccccc1", &FragmentOptions::default())?;
/// let lookup = f.fragmentations[1].hydrogen.as_ref().unwrap();
/// assert_eq!(lookup.graph, benzene.heavy_graph);
/// assert_eq!(capped_smiles("*c1ccccc1").as_deref(), Some(benzene.normalized.as_str()));
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
        heavy_graph: raw.heavy_graph,
        fragmentations: raw
            .fragmentations
            .into_iter()
            .map(|f| Fragmentation {
                num_cuts: f.num_cuts,
                constant: f.constant,
                variable: f.variable,
                variable_symmetry: f.variable_symmetry,
                attachment_order: f.attachment_order,
                variable_heavies: f.variable_heavies,
                hydrogen: (f.num_cuts == 1).then(|| HydrogenLookup {
                    graph: f.constant_graph,
                    capped: (!f.cap_from.is_empty()).then_some(f.cap_from),
                }),
                up_enumerated: f.up_enumerated,
            })
            .collect(),
    })
}

/// mmpdb's hydrogen-capped form of a single-cut constant: its first `*` replaced by hydrogen,
/// canonical SMILES; `None` when RDKit cannot read it.
pub fn capped_smiles(constant: &str) -> Option<String> {
    ffi::mmp_capped(constant)
        .ok()
        .filter(|capped| !capped.is_empty())
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

    /// (cuts, variable, symmetry class, attachment order, constant) of every split, sorted.
    fn records(smiles: &str) -> Vec<(u8, String, String, String, String)> {
        let mut v: Vec<_> = fragment(smiles, &FragmentOptions::default())
            .unwrap()
            .fragmentations
            .into_iter()
            .map(|f| {
                (
                    f.num_cuts,
                    f.variable,
                    f.variable_symmetry,
                    f.attachment_order,
                    f.constant,
                )
            })
            .collect();
        v.sort();
        v
    }

    fn expected(lines: &str) -> Vec<(u8, String, String, String, String)> {
        let mut v: Vec<_> = lines
            .lines()
            .map(|l| {
                let f: Vec<&str> = l.split_whitespace().collect();
                let text = |i: usize| f[i].to_owned();
                (f[0].parse().unwrap(), text(1), text(2), text(3), text(4))
            })
            .collect();
        v.sort();
        v
    }

    #[test]
    fn records_equal_mmpdbs() {
        // mmpdb 3.1.4's fragment_mol (3 cuts, default SMARTS) of the same molecules: cuts,
        // variable, its symmetry class, attachment order, constant.
        assert_eq!(
            records("Cc1ccc(C)cc1"),
            expected(
                "1 *c1ccc(C)cc1 1 0 *C
                 1 *C 1 0 *c1ccc(C)cc1
                 2 *c1ccc(*)cc1 11 01 *C.*C"
            )
        );
        assert_eq!(
            records("Cc1cc(Cl)cc(OC)c1"),
            expected(
                "1 *c1cc(Cl)cc(OC)c1 1 0 *C
                 1 *C 1 0 *c1cc(Cl)cc(OC)c1
                 2 *c1cc(*)cc(OC)c1 11 01 *C.*Cl
                 3 *c1cc(*)cc(*)c1 111 012 *C.*Cl.*OC
                 3 *Oc1cc(*)cc(*)c1 122 012 *C.*C.*Cl
                 2 *c1cc(*)cc(Cl)c1 11 01 *C.*OC
                 2 *Oc1cc(*)cc(Cl)c1 12 01 *C.*C
                 1 *Cl 1 0 *c1cc(C)cc(OC)c1
                 1 *c1cc(C)cc(OC)c1 1 0 *Cl
                 2 *c1cc(*)cc(C)c1 11 01 *Cl.*OC
                 2 *Oc1cc(*)cc(C)c1 12 01 *C.*Cl
                 1 *OC 1 0 *c1cc(C)cc(Cl)c1
                 1 *c1cc(C)cc(Cl)c1 1 0 *OC
                 2 *O* 11 01 *C.*c1cc(C)cc(Cl)c1
                 1 *C 1 0 *Oc1cc(C)cc(Cl)c1
                 1 *Oc1cc(C)cc(Cl)c1 1 0 *C"
            )
        );
    }

    #[test]
    fn hydrogen_reduction_pieces() {
        let r = reduction("[*:1]c1ccc(Cl)cc1", DEFAULT_CUT_SMARTS).unwrap();
        assert!(r.pieces.iter().any(|p| p.contains("Ne")), "{r:?}");
        let h = reduction("[*:1]c1ccccc1", DEFAULT_CUT_SMARTS).unwrap();
        assert!(h.reducible_with(&r) || r.reducible_with(&h));
    }

    #[test]
    fn a_capped_constant_has_the_graph_of_its_lookup() {
        // Stereo, charges, isotopes, explicit hydrogens, symmetric groups (with
        // up-enumeration): the capped form of every single-cut constant, read as a molecule,
        // hashes as the lookup says, so the index never skips a molecule it is.
        let options = FragmentOptions {
            up_enumerate: true,
            ..FragmentOptions::default()
        };
        let mut checked = 0;
        for smiles in [
            "C[C@H](N)C(=O)Oc1ccc(C(C)C)cc1",
            "[2H]C([2H])([2H])c1ccc(Cl)cc1",
            "O=[N+]([O-])c1ccc(C(C)(C)C)cc1",
            "CC(C)Cc1ccc(N)cc1OC",
            "C/C=C/c1ccc(N(C)C)cc1",
            "C[S@](=O)c1ccc(C2CC(C)C2)cc1",
            "[H]N([H])c1ccc(C(F)(F)F)cc1",
            "CC(C)(O)c1ccc(-c2ccc[nH]2)cc1",
        ] {
            for f in fragment(smiles, &options).unwrap().fragmentations {
                let Some(lookup) = &f.hydrogen else {
                    assert_ne!(f.num_cuts, 1, "{smiles}: {f:?}");
                    continue;
                };
                let capped = capped_smiles(lookup.capped.as_deref().unwrap_or(&f.constant))
                    .unwrap_or_else(|| panic!("{smiles}: {f:?} does not cap"));
                let molecule = fragment(&capped, &options).unwrap();
                assert_eq!(molecule.normalized, capped, "{smiles}: {f:?}");
                assert_eq!(molecule.heavy_graph, lookup.graph, "{smiles}: {f:?}");
                checked += 1;
            }
        }
        assert!(checked > 40, "{checked}");
        // Different heavy graphs hash apart; bond orders, charges and hydrogens do not count.
        let graph = |s: &str| fragment(s, &options).unwrap().heavy_graph;
        assert_ne!(graph("CCO"), graph("COC"));
        assert_ne!(graph("CCCC"), graph("CC(C)C"));
        assert_eq!(graph("c1ccccc1C"), graph("C1CCCCC1C"));
        assert_eq!(graph("OCC"), graph("[O-]C[CH3]"));
    }

    #[test]
    fn unreadable_smiles_is_an_error() {
        assert!(fragment("C1CC", &FragmentOptions::default()).is_err());
        assert!(fragment("", &FragmentOptions::default()).is_err());
        // Its own dummies would be taken for attachment points.
        let dummy = fragment("*c1ccc(CC(C)C)cc1OC", &FragmentOptions::default()).unwrap_err();
        assert!(dummy.to_string().contains("dummy atoms"), "{dummy}");
    }
}
