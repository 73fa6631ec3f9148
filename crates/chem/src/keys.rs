//! Deduplication keys of a molecule. Of the four levels a batch is
//! deduplicated at, three are fields of the pipeline's
//! [`MoleculeRecord`](crate::MoleculeRecord): exact = `canonical_smiles`,
//! tautomer = `tautomer_smiles`, salt form = `standardized_smiles` (the
//! fragment parent). The fourth, stereo-insensitive, is computed here from
//! the canonical SMILES: [`stereo_insensitive`].
//!
//! Each call parses its own molecule and shares no RDKit state, so it runs on
//! any thread; [`stereo_insensitive_batch`] runs a slice on the current rayon
//! pool. [`stereo_insensitive_grouping`] gives the same partition of a batch
//! while calling RDKit only for the molecules another one could share a key
//! with (see its docs for why that is exact).

use std::collections::HashMap;
use std::hash::{BuildHasher, BuildHasherDefault, DefaultHasher};

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

/// Grouping keys for the stereo-insensitive level of a batch of canonical
/// SMILES: two SMILES get the same key exactly when their full keys, `full(s)
/// = stereo_insensitive(s)` or `s` itself when RDKit cannot remove its stereo,
/// are equal; and a key shared by two or more SMILES *is* their full key. A
/// SMILES that shares its full key with no other one of the batch is given
/// itself as its key (distinct from every other key, see below), and RDKit is
/// not called for it.
///
/// Why that is exact: `full(s)` describes the same heavy-atom graph as `s`
/// (RDKit's parse keeps every heavy atom and every bond between heavy atoms,
/// removing stereo changes neither, and the SMILES RDKit writes denotes the
/// graph it was written from), so equal full keys mean isomorphic heavy-atom
/// graphs, and therefore equal isomorphism-invariant hashes of the SMILES
/// texts (element symbols without case, connectivity; hydrogens, bond orders,
/// charges, isotopes and stereo ignored). Only SMILES whose hash another
/// SMILES of the batch has need their full key; every other one is alone in
/// its group, and its own text cannot be another SMILES's key either (that
/// SMILES would have its hash). A hash collision between different graphs
/// only costs RDKit calls. When any SMILES is outside the syntax the hash
/// reads, every full key is computed, as [`stereo_insensitive_batch`] does.
pub fn stereo_insensitive_grouping<S: AsRef<str> + Sync>(smiles: &[S]) -> Vec<String> {
    let full = |s: &str| stereo_insensitive(s).unwrap_or_else(|_| s.to_owned());
    let hashes: Option<Vec<u64>> = smiles
        .par_iter()
        .map(|s| heavy_graph_hash(s.as_ref()))
        .collect();
    let Some(hashes) = hashes else {
        return smiles.par_iter().map(|s| full(s.as_ref())).collect();
    };
    let mut counts: HashMap<u64, u32, BuildHasherDefault<DefaultHasher>> = HashMap::default();
    for &h in &hashes {
        *counts.entry(h).or_default() += 1;
    }
    smiles
        .par_iter()
        .zip(&hashes)
        .map(|(s, h)| {
            let s = s.as_ref();
            if counts[h] > 1 {
                full(s)
            } else {
                s.to_owned()
            }
        })
        .collect()
}

/// Rounds of neighbourhood refinement in [`heavy_graph_hash`].
const REFINEMENT_ROUNDS: usize = 3;

/// An isomorphism-invariant hash of the heavy-atom graph a SMILES writes:
/// atoms labelled by element symbol (case ignored, so aromatic and aliphatic
/// forms agree), bonds without order, hydrogens left out (bracket `H` atoms,
/// isotopic or not, and H counts), as are charges, isotopes, stereo, atom
/// classes and the bond symbols `- = # $ : / \ -> <-`. Weisfeiler–Lehman
/// refinement over [`REFINEMENT_ROUNDS`] rounds, then the sorted labels.
/// `None` when the text is not SMILES this reader knows (whitespace,
/// CXSMILES extensions, unbalanced branches or ring bonds, ...).
fn heavy_graph_hash(smiles: &str) -> Option<u64> {
    let hasher = BuildHasherDefault::<DefaultHasher>::default();
    let mut labels: Vec<u64> = Vec::new(); // per atom; hydrogens get HYDROGEN
    let mut bonds: Vec<(usize, usize)> = Vec::new();
    let mut rings: HashMap<u32, usize> = HashMap::new();
    let mut branches: Vec<Option<usize>> = Vec::new();
    let mut previous: Option<usize> = None;
    const HYDROGEN: u64 = u64::MAX;
    let bytes = smiles.as_bytes();
    let mut i = 0;
    let mut atom = |label: u64, previous: &mut Option<usize>, labels: &mut Vec<u64>| {
        let at = labels.len();
        labels.push(label);
        if let Some(p) = *previous {
            bonds.push((p, at));
        }
        *previous = Some(at);
    };
    let symbol = |text: &[u8]| {
        let lower: Vec<u8> = text.iter().map(u8::to_ascii_lowercase).collect();
        if lower == b"h" {
            HYDROGEN
        } else {
            hasher.hash_one(lower)
        }
    };
    let mut ring_bonds: Vec<(usize, usize)> = Vec::new();
    let mut ring = |number: u32, previous: Option<usize>| -> Option<()> {
        let at = previous?;
        match rings.remove(&number) {
            Some(open) => ring_bonds.push((open, at)),
            None => {
                rings.insert(number, at);
            }
        }
        Some(())
    };
    while i < bytes.len() {
        let c = bytes[i];
        match c {
            b'(' => branches.push(previous),
            b')' => previous = branches.pop()?,
            b'.' => previous = None,
            b'=' | b'#' | b'$' | b':' | b'/' | b'\\' => {}
            b'-' => {
                if bytes.get(i + 1) == Some(&b'>') {
                    i += 1;
                }
            }
            b'<' => {
                if bytes.get(i + 1) != Some(&b'-') {
                    return None;
                }
                i += 1;
            }
            b'0'..=b'9' => ring(u32::from(c - b'0'), previous)?,
            b'%' => {
                let (number, used) = if bytes.get(i + 1) == Some(&b'(') {
                    let close = bytes[i + 2..].iter().position(|&b| b == b')')?;
                    let digits = &bytes[i + 2..i + 2 + close];
                    (parse_digits(digits)?, close + 2)
                } else {
                    (parse_digits(bytes.get(i + 1..i + 3)?)?, 2)
                };
                ring(number, previous)?;
                i += used;
            }
            b'[' => {
                let close = bytes[i + 1..].iter().position(|&b| b == b']')?;
                let inside = &bytes[i + 1..i + 1 + close];
                if inside.contains(&b'[') {
                    return None;
                }
                let start = inside.iter().position(|b| !b.is_ascii_digit())?;
                let rest = &inside[start..];
                let len = match rest.first()? {
                    b'*' => 1,
                    b if b.is_ascii_alphabetic() => {
                        1 + rest[1..]
                            .iter()
                            .take_while(|b| b.is_ascii_lowercase())
                            .count()
                    }
                    _ => return None,
                };
                atom(symbol(&rest[..len]), &mut previous, &mut labels);
                i += close + 1;
            }
            b'B' | b'C' | b'N' | b'O' | b'P' | b'S' | b'F' | b'I' | b'b' | b'c' | b'n' | b'o'
            | b'p' | b's' | b'*' => {
                let two = matches!(
                    (c, bytes.get(i + 1)),
                    (b'B', Some(b'r')) | (b'C', Some(b'l'))
                );
                let len = if two { 2 } else { 1 };
                atom(symbol(&bytes[i..i + len]), &mut previous, &mut labels);
                i += len - 1;
            }
            _ => return None,
        }
        i += 1;
    }
    if !rings.is_empty() || !branches.is_empty() {
        return None;
    }
    // The heavy-atom graph: hydrogens and their bonds dropped.
    let mut heavy = vec![usize::MAX; labels.len()];
    let mut label: Vec<u64> = Vec::new();
    for (at, &l) in labels.iter().enumerate() {
        if l != HYDROGEN {
            heavy[at] = label.len();
            label.push(l);
        }
    }
    let mut neighbours: Vec<Vec<usize>> = vec![Vec::new(); label.len()];
    for &(a, b) in bonds.iter().chain(&ring_bonds) {
        let (a, b) = (heavy[a], heavy[b]);
        if a != usize::MAX && b != usize::MAX {
            neighbours[a].push(b);
            neighbours[b].push(a);
        }
    }
    let mut around: Vec<u64> = Vec::new();
    for _ in 0..REFINEMENT_ROUNDS {
        label = neighbours
            .iter()
            .zip(&label)
            .map(|(near, own)| {
                around.clear();
                around.extend(near.iter().map(|&n| label[n]));
                around.sort_unstable();
                hasher.hash_one((own, &around))
            })
            .collect();
    }
    label.sort_unstable();
    Some(hasher.hash_one(&label))
}

/// A ring-bond number written as decimal digits.
fn parse_digits(digits: &[u8]) -> Option<u32> {
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(digits).ok()?.parse().ok()
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
    fn the_heavy_graph_hash_ignores_how_a_graph_is_written() {
        let same = [
            // Kekulé or aromatic, atom order, ring-bond numbers, branches.
            &[
                "c1ccccc1O",
                "Oc1ccccc1",
                "OC1=CC=CC=C1",
                "C1=CC=C(O)C=C1",
                "c%10ccccc%10O",
            ][..],
            // Hydrogens (H counts, [H] atoms, isotopic H), charges, isotopes, stereo.
            &[
                "C[C@H](N)C(=O)O",
                "CC(N)C(=O)O",
                "[2H]C(C)(N)C(=O)[O-]",
                "[H]OC(=O)C(C)[NH3+]",
            ],
            &["F/C=C/F", "F\\C=C/F", "FC=CF", "[18F]C=CF"],
            // Ring closures across a dot and a dative bond are bonds.
            &["C1.C1", "CC"],
            &["[NH3]->[Cu+2]", "[Cu]<-N"],
            &["[se]1cccc1", "C1=C[Se]C=C1"],
        ];
        for forms in same {
            let hashes: Vec<_> = forms.iter().map(|s| heavy_graph_hash(s)).collect();
            assert!(hashes[0].is_some(), "{forms:?}");
            assert!(
                hashes.iter().all(|h| *h == hashes[0]),
                "{forms:?}: {hashes:?}"
            );
        }
        let different = [
            "CCO",
            "COC",
            "CCC",
            "CCN",
            "C1CC1",
            "c1ccncc1",
            "c1ccccc1",
            "[Cl-].[Na+]",
        ];
        let mut hashes: Vec<_> = different.iter().map(|s| heavy_graph_hash(s)).collect();
        hashes.sort_unstable();
        hashes.dedup();
        assert_eq!(hashes.len(), different.len());
        assert_eq!(heavy_graph_hash("[Hg]"), heavy_graph_hash("[Hg+2]"));
        assert_ne!(heavy_graph_hash("[Hg]"), heavy_graph_hash("[H]"));
    }

    #[test]
    fn text_the_hash_cannot_read_has_none() {
        for smiles in [
            "CCO ethanol",
            "C1CC",
            "C(C",
            "CC)",
            "C[C",
            "C%1",
            "Cx",
            "CC |$;;$|",
            "C<C",
        ] {
            assert_eq!(heavy_graph_hash(smiles), None, "{smiles}");
        }
    }

    #[test]
    fn the_hash_reads_every_smiles_rdkit_writes_in_the_fixtures() {
        use std::io::BufRead as _;
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/scaffolds.jsonl.gz"
        );
        let file = std::fs::File::open(path).unwrap();
        let mut read = 0;
        for line in std::io::BufReader::new(flate2::read::GzDecoder::new(file)).lines() {
            let record: serde_json::Value = serde_json::from_str(&line.unwrap()).unwrap();
            // Inputs RDKit rejects (stereo_insensitive null) are not SMILES.
            let rdkit_read = record["stereo_insensitive"].is_string();
            for field in ["smiles", "stereo_insensitive", "murcko", "generic"] {
                if field == "smiles" && !rdkit_read {
                    continue;
                }
                if let Some(smiles) = record[field].as_str() {
                    assert!(heavy_graph_hash(smiles).is_some(), "{field} {smiles}");
                    read += 1;
                }
            }
        }
        assert!(read > 9000, "{read}");
    }

    /// The partition [`stereo_insensitive_grouping`] promises: equal keys
    /// exactly when the full keys are equal, and full keys on shared ones.
    fn assert_groups_as_full_keys(smiles: &[&str]) {
        let grouping = stereo_insensitive_grouping(smiles);
        let full: Vec<String> = stereo_insensitive_batch(smiles)
            .into_iter()
            .zip(smiles)
            .map(|(key, s)| key.unwrap_or_else(|_| (*s).to_owned()))
            .collect();
        for i in 0..smiles.len() {
            for j in 0..smiles.len() {
                assert_eq!(
                    grouping[i] == grouping[j],
                    full[i] == full[j],
                    "{} and {}",
                    smiles[i],
                    smiles[j]
                );
            }
            if grouping.iter().filter(|k| **k == grouping[i]).count() > 1 {
                assert_eq!(grouping[i], full[i], "{}", smiles[i]);
            }
        }
    }

    #[test]
    fn grouping_keys_partition_as_the_full_keys() {
        assert_groups_as_full_keys(&[
            "C[C@H](N)C(=O)O",
            "C[C@@H](N)C(=O)O",
            "CC(N)C(=O)O",
            "NCC(=O)O",
            "C/C=C/C",
            "C/C=C\\C",
            "CCCC",
            "c1ccccc1",
            "c1ccccc1",
            "Oc1ccccc1",
            "[13CH3][C@H](O)C(=O)O",
            "C[C@H](O)C(=O)O",
        ]);
        // Text the hash cannot read: every full key is computed, and a
        // SMILES RDKit rejects keeps its own text as its key.
        assert_groups_as_full_keys(&["C1CC", "C[C@H](N)O", "CC(N)O", "CCO ethanol"]);
        let keys = stereo_insensitive_grouping(&["C1CC", "C[C@H](N)O", "CC(N)O"]);
        assert_eq!(keys, ["C1CC", "CC(N)O", "CC(N)O"]);
        // Alone in its group: its own text, RDKit not asked.
        let keys = stereo_insensitive_grouping(&["C[C@H](N)O", "CCO"]);
        assert_eq!(keys, ["C[C@H](N)O", "CCO"]);
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
