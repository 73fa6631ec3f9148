//! Matched molecular pairs from fragmentations (the chemistry core cuts the molecules; this
//! module only indexes strings): molecules whose fragmentations share a constant part pair up,
//! with their variable parts as the transform. The pairing rules are mmpdb 3's `index`: a
//! variable part may have at most `max_variable_heavies` heavy atoms and at most
//! `max_variable_ratio` of the molecule's heavy atoms; a single-cut constant whose
//! hydrogen-capped form *is* another molecule of the set pairs that molecule with the variable
//! `[*:1][H]`; two entries of one constant pair unless they are the same molecule or the same
//! variable, or both are stereo up-enumerations (mmpdb's rule for the extra splits it writes
//! when a cut next to a symmetric group makes a new potential stereocentre; see
//! [`FragmentedMolecule::up_enumerated`]). A molecule pair is listed once per pair of entries,
//! so, as in mmpdb, a pair related through several constants or up-enumerations appears that
//! many times.
//!
//! Memory: every distinct constant and variable string is held once, interned to a `u32`; an
//! entry is three `u32`s (the top bit of the molecule marks an up-enumeration, so molecule
//! indices stay below 2³¹). Molecules are added one at a time ([`MmpIndex::add`]), so a caller
//! can fragment in batches and drop each batch's strings once added.

use std::collections::HashMap;

/// One fragmentation of a molecule, as the chemistry core writes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fragment {
    /// 1, 2 or 3 cuts.
    pub num_cuts: u8,
    /// Canonical constant part (its string is the key).
    pub constant: String,
    /// Variable part, labelled like the constant.
    pub variable: String,
    /// Heavy atoms of the variable part.
    pub variable_heavies: u32,
    /// Single cuts: canonical SMILES of the constant capped with hydrogen.
    pub constant_with_hydrogen: Option<String>,
}

/// A molecule as the chemistry core fragments it, for [`index_fragmented`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FragmentedMolecule {
    /// Normalized SMILES (the hydrogen-substitution lookup key).
    pub normalized: String,
    /// Heavy atoms of the molecule.
    pub heavy_atoms: u32,
    /// Its fragmentations as cut.
    pub fragments: Vec<Fragment>,
    /// mmpdb's stereo up-enumerations of its fragmentations (a new potential stereocentre
    /// given `@` or `@@`): each pairs with other molecules' [`Self::fragments`] only.
    pub up_enumerated: Vec<Fragment>,
}

/// Marks an up-enumerated entry in the molecule field of [`MmpIndex`]'s entries.
const UP_ENUMERATED: u32 = 1 << 31;

/// Which fragmentations index.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MmpOptions {
    /// Largest variable part, in heavy atoms (mmpdb's default: 10).
    pub max_variable_heavies: u32,
    /// Largest variable heavy atoms / molecule heavy atoms; `None` for no limit.
    pub max_variable_ratio: Option<f64>,
}

impl Default for MmpOptions {
    fn default() -> Self {
        Self {
            max_variable_heavies: 10,
            max_variable_ratio: None,
        }
    }
}

/// One matched pair, as interned ids ([`MmpIndex::text`] gives the strings).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Pair {
    /// The molecule with the smaller index.
    pub a: u32,
    /// The other molecule.
    pub b: u32,
    /// The shared constant.
    pub constant: u32,
    /// The variable part of `a`.
    pub variable_a: u32,
    /// The variable part of `b`.
    pub variable_b: u32,
}

/// Interned strings.
#[derive(Debug, Default)]
struct Interner {
    ids: HashMap<Box<str>, u32>,
    texts: Vec<Box<str>>,
}

impl Interner {
    fn intern(&mut self, text: &str) -> u32 {
        if let Some(&id) = self.ids.get(text) {
            return id;
        }
        let id = self.texts.len() as u32;
        let boxed: Box<str> = text.into();
        self.texts.push(boxed.clone());
        self.ids.insert(boxed, id);
        id
    }
}

/// The hydrogen variable part (mmpdb's `[*][H]`, labelled).
pub const HYDROGEN_VARIABLE: &str = "[*:1][H]";

/// Fragmentations indexed by constant part.
#[derive(Debug)]
pub struct MmpIndex {
    options: MmpOptions,
    strings: Interner,
    /// (constant, molecule | [`UP_ENUMERATED`] when it is one, variable).
    entries: Vec<(u32, u32, u32)>,
    /// Molecules by their normalized SMILES (interned).
    by_smiles: HashMap<u32, Vec<u32>>,
    /// Single-cut constant → its hydrogen-capped SMILES (interned).
    hydrogen_of: HashMap<u32, u32>,
    fragmentations: u64,
    molecules: u64,
}

impl MmpIndex {
    /// An empty index.
    pub fn new(options: MmpOptions) -> Self {
        Self {
            options,
            strings: Interner::default(),
            entries: Vec::new(),
            by_smiles: HashMap::new(),
            hydrogen_of: HashMap::new(),
            fragmentations: 0,
            molecules: 0,
        }
    }

    /// Adds molecule `molecule` (its normalized SMILES, heavy atoms and fragmentations).
    pub fn add(
        &mut self,
        molecule: u32,
        normalized: &str,
        heavy_atoms: u32,
        fragments: &[Fragment],
    ) {
        self.add_parts(molecule, normalized, heavy_atoms, fragments, &[]);
    }

    /// Adds molecule `molecule` with its up-enumerated fragmentations. `molecule` must be below
    /// 2³¹.
    pub fn add_fragmented(&mut self, molecule: u32, fragmented: &FragmentedMolecule) {
        self.add_parts(
            molecule,
            &fragmented.normalized,
            fragmented.heavy_atoms,
            &fragmented.fragments,
            &fragmented.up_enumerated,
        );
    }

    fn add_parts(
        &mut self,
        molecule: u32,
        normalized: &str,
        heavy_atoms: u32,
        fragments: &[Fragment],
        up_enumerated: &[Fragment],
    ) {
        debug_assert!(molecule < UP_ENUMERATED, "molecule index {molecule} ≥ 2³¹");
        self.molecules += 1;
        let smiles = self.strings.intern(normalized);
        self.by_smiles.entry(smiles).or_default().push(molecule);
        let tagged = fragments
            .iter()
            .map(|f| (f, molecule))
            .chain(up_enumerated.iter().map(|f| (f, molecule | UP_ENUMERATED)));
        for (f, entry_molecule) in tagged {
            if f.variable_heavies > self.options.max_variable_heavies {
                continue;
            }
            if let Some(max) = self.options.max_variable_ratio {
                if heavy_atoms == 0 || f64::from(f.variable_heavies) / f64::from(heavy_atoms) > max
                {
                    continue;
                }
            }
            self.fragmentations += 1;
            let constant = self.strings.intern(&f.constant);
            let variable = self.strings.intern(&f.variable);
            self.entries.push((constant, entry_molecule, variable));
            if let (1, Some(h)) = (f.num_cuts, &f.constant_with_hydrogen) {
                let h = self.strings.intern(h);
                self.hydrogen_of.insert(constant, h);
            }
        }
    }

    /// Molecules added.
    pub fn molecules(&self) -> u64 {
        self.molecules
    }

    /// Fragmentations that passed the variable-size filters.
    pub fn fragmentations(&self) -> u64 {
        self.fragmentations
    }

    /// The string of an interned id.
    pub fn text(&self, id: u32) -> &str {
        self.strings.texts.get(id as usize).map_or("", |t| t)
    }

    /// Every pair, ordered by (a, b, constant, variables), keeping those `keep(variable_a,
    /// variable_b)` accepts (e.g. mmpdb's smallest-transformation filter).
    pub fn pairs(mut self, mut keep: impl FnMut(&str, &str) -> bool) -> (Vec<Pair>, MmpStrings) {
        // Hydrogen substitutions: a single-cut constant that, capped, is a molecule.
        let hydrogen = self.strings.intern(HYDROGEN_VARIABLE);
        let mut extra = Vec::new();
        let mut constants: Vec<u32> = self.hydrogen_of.keys().copied().collect();
        constants.sort_unstable();
        for constant in constants {
            if let Some(molecules) = self.by_smiles.get(&self.hydrogen_of[&constant]) {
                extra.extend(molecules.iter().map(|&m| (constant, m, hydrogen)));
            }
        }
        self.entries.extend(extra);
        self.entries.sort_unstable();
        self.entries.dedup();
        let mut pairs = Vec::new();
        for group in self.entries.chunk_by(|x, y| x.0 == y.0) {
            for (i, &(constant, e1, v1)) in group.iter().enumerate() {
                for &(_, e2, v2) in &group[i + 1..] {
                    let (m1, m2) = (e1 & !UP_ENUMERATED, e2 & !UP_ENUMERATED);
                    if m1 == m2 || v1 == v2 || e1 & e2 & UP_ENUMERATED != 0 {
                        continue;
                    }
                    let (a, va, b, vb) = if m1 < m2 {
                        (m1, v1, m2, v2)
                    } else {
                        (m2, v2, m1, v1)
                    };
                    if !keep(self.text(va), self.text(vb)) {
                        continue;
                    }
                    pairs.push(Pair {
                        a,
                        b,
                        constant,
                        variable_a: va,
                        variable_b: vb,
                    });
                }
            }
        }
        pairs.sort_unstable();
        (
            pairs,
            MmpStrings {
                texts: self.strings.texts,
            },
        )
    }
}

/// Molecules fragmented per parallel batch by [`index_molecules`]: a batch's fragment strings
/// are interned and dropped before the next batch, so memory follows the distinct strings.
pub const FRAGMENT_BATCH: usize = 2_000;

/// What a fragmenter returns for one SMILES: its normalized SMILES, heavy atoms and
/// fragmentations; `None` when it cannot read the molecule (it is left out).
pub type Fragmented = Option<(String, u32, Vec<Fragment>)>;

/// Indexes `(molecule, SMILES)`s, fragmenting each batch on the current rayon pool.
pub fn index_molecules(
    molecules: &[(u32, &str)],
    options: MmpOptions,
    fragment: impl Fn(&str) -> Fragmented + Sync,
) -> MmpIndex {
    index_fragmented(molecules, options, |smiles| {
        fragment(smiles).map(|(normalized, heavy_atoms, fragments)| FragmentedMolecule {
            normalized,
            heavy_atoms,
            fragments,
            up_enumerated: Vec::new(),
        })
    })
}

/// Indexes `(molecule, SMILES)`s with up-enumerated fragmentations, which mmpdb's pairs need
/// on series with symmetric groups beside the cuts; `None` from `fragment` leaves the molecule
/// out. Molecule indices must be below 2³¹.
pub fn index_fragmented(
    molecules: &[(u32, &str)],
    options: MmpOptions,
    fragment: impl Fn(&str) -> Option<FragmentedMolecule> + Sync,
) -> MmpIndex {
    use rayon::prelude::*;
    let mut index = MmpIndex::new(options);
    for batch in molecules.chunks(FRAGMENT_BATCH) {
        let fragmented: Vec<(u32, Option<FragmentedMolecule>)> = batch
            .par_iter()
            .map(|&(m, smiles)| (m, fragment(smiles)))
            .collect();
        for (m, f) in fragmented {
            if let Some(f) = f {
                index.add_fragmented(m, &f);
            }
        }
    }
    index
}

/// The strings the pairs' ids refer to, once the index is consumed.
#[derive(Debug)]
pub struct MmpStrings {
    texts: Vec<Box<str>>,
}

impl MmpStrings {
    /// The string of an interned id.
    pub fn text(&self, id: u32) -> &str {
        self.texts.get(id as usize).map_or("", |t| t)
    }
}

/// Count, mean and sample standard deviation of the ΔpActivity of one transform.
#[derive(Debug, Clone, PartialEq)]
pub struct TransformSummary {
    /// `A>>B` with A ≤ B.
    pub transform: String,
    /// Pairs.
    pub count: u64,
    /// Pairs with both activities.
    pub activity_count: u64,
    /// Mean of pActivity(B side) − pActivity(A side).
    pub mean_delta: Option<f64>,
    /// Sample standard deviation (n − 1).
    pub std_delta: Option<f64>,
}

/// Per-transform statistics, most frequent first (ties by transform). `activity(m)` is a
/// molecule's pActivity.
pub fn transform_summaries(
    pairs: &[Pair],
    strings: &MmpStrings,
    activity: impl Fn(u32) -> Option<f64>,
) -> Vec<TransformSummary> {
    // (count, Σδ, Σδ², n) by (A, B) interned ids.
    let mut acc: HashMap<(u32, u32), (u64, f64, f64, u64)> = HashMap::new();
    for p in pairs {
        let (x, y, from, to) = if strings.text(p.variable_a) <= strings.text(p.variable_b) {
            (p.variable_a, p.variable_b, p.a, p.b)
        } else {
            (p.variable_b, p.variable_a, p.b, p.a)
        };
        let e = acc.entry((x, y)).or_insert((0, 0.0, 0.0, 0));
        e.0 += 1;
        if let (Some(pa), Some(pb)) = (activity(from), activity(to)) {
            let d = pb - pa;
            e.1 += d;
            e.2 += d * d;
            e.3 += 1;
        }
    }
    let mut out: Vec<TransformSummary> = acc
        .into_iter()
        .map(|((x, y), (count, sum, sum_sq, n))| {
            let mean = (n > 0).then(|| sum / n as f64);
            let std = (n > 1).then(|| {
                let m = sum / n as f64;
                ((sum_sq - n as f64 * m * m) / (n - 1) as f64)
                    .max(0.0)
                    .sqrt()
            });
            TransformSummary {
                transform: format!("{}>>{}", strings.text(x), strings.text(y)),
                count,
                activity_count: n,
                mean_delta: mean,
                std_delta: std,
            }
        })
        .collect();
    out.sort_by(|a, b| {
        b.count
            .cmp(&a.count)
            .then_with(|| a.transform.cmp(&b.transform))
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Pairs as (a, b, variable of a, variable of b).
    fn shown<'s>(pairs: &[Pair], strings: &'s MmpStrings) -> Vec<(u32, u32, &'s str, &'s str)> {
        pairs
            .iter()
            .map(|p| {
                (
                    p.a,
                    p.b,
                    strings.text(p.variable_a),
                    strings.text(p.variable_b),
                )
            })
            .collect()
    }

    fn frag(cuts: u8, c: &str, v: &str, heavies: u32, h: Option<&str>) -> Fragment {
        Fragment {
            num_cuts: cuts,
            constant: c.to_owned(),
            variable: v.to_owned(),
            variable_heavies: heavies,
            constant_with_hydrogen: h.map(str::to_owned),
        }
    }

    #[test]
    fn shared_constants_pair_and_hydrogen_caps_find_the_parent() {
        let mut index = MmpIndex::new(MmpOptions::default());
        // toluene, chlorobenzene, benzene
        index.add(
            0,
            "Cc1ccccc1",
            7,
            &[
                frag(1, "[*:1]c1ccccc1", "[*:1]C", 1, Some("c1ccccc1")),
                frag(1, "[*:1]C", "[*:1]c1ccccc1", 6, Some("C")),
            ],
        );
        index.add(
            1,
            "Clc1ccccc1",
            7,
            &[frag(1, "[*:1]c1ccccc1", "[*:1]Cl", 1, Some("c1ccccc1"))],
        );
        index.add(2, "c1ccccc1", 6, &[]);
        let (pairs, strings) = index.pairs(|_, _| true);
        let shown = shown(&pairs, &strings);
        assert_eq!(
            shown,
            [
                (0, 1, "[*:1]C", "[*:1]Cl"),
                (0, 2, "[*:1]C", HYDROGEN_VARIABLE),
                (1, 2, "[*:1]Cl", HYDROGEN_VARIABLE),
            ]
        );
        let activity = |m: u32| [Some(6.0), Some(7.5), None][m as usize];
        let t = transform_summaries(&pairs, &strings, activity);
        let cl = t.iter().find(|t| t.transform == "[*:1]C>>[*:1]Cl").unwrap();
        assert_eq!(
            (cl.count, cl.activity_count, cl.mean_delta),
            (1, 1, Some(1.5))
        );
        assert_eq!(cl.std_delta, None);
        let h = t
            .iter()
            .find(|t| t.transform == "[*:1]C>>[*:1][H]")
            .unwrap();
        assert_eq!((h.count, h.activity_count, h.mean_delta), (1, 0, None));
    }

    #[test]
    fn up_enumerations_pair_with_plain_splits_only() {
        let mut index = MmpIndex::new(MmpOptions::default());
        let molecule = |normalized: &str, plain: &str, up: &[&str]| FragmentedMolecule {
            normalized: normalized.to_owned(),
            heavy_atoms: 10,
            fragments: vec![frag(2, "k", plain, 3, None)],
            up_enumerated: up.iter().map(|v| frag(2, "k", v, 3, None)).collect(),
        };
        index.add_fragmented(0, &molecule("x", "a", &["a@", "a@@"]));
        index.add_fragmented(1, &molecule("y", "b", &["b@", "b@@"]));
        index.add_fragmented(2, &molecule("z", "a@", &[]));
        let (pairs, strings) = index.pairs(|_, _| true);
        let shown = shown(&pairs, &strings);
        // Each molecule's up-enumerations meet the others' plain splits, never each other;
        // the same variable never pairs.
        assert_eq!(
            shown,
            [
                (0, 1, "a", "b"),
                (0, 1, "a", "b@"),
                (0, 1, "a", "b@@"),
                (0, 1, "a@", "b"),
                (0, 1, "a@@", "b"),
                (0, 2, "a", "a@"),
                (0, 2, "a@@", "a@"),
                (1, 2, "b", "a@"),
                (1, 2, "b@", "a@"),
                (1, 2, "b@@", "a@"),
            ]
        );
    }

    #[test]
    fn variable_filters_apply_per_fragmentation() {
        let mut index = MmpIndex::new(MmpOptions {
            max_variable_heavies: 3,
            max_variable_ratio: Some(0.2),
        });
        index.add(
            0,
            "x",
            10,
            &[frag(2, "k", "v4", 4, None), frag(2, "k", "v3", 3, None)],
        );
        index.add(1, "y", 10, &[frag(2, "k", "w2", 2, None)]);
        assert_eq!(index.fragmentations(), 1);
        let (pairs, strings) = index.pairs(|a, b| !(a == "v3" && b == "w2"));
        assert!(pairs.is_empty());
        assert_eq!(strings.text(0), "x");
    }
}
