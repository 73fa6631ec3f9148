//! Molecules grouped by a string key: duplicate levels (canonical SMILES, tautomer,
//! stereo-insensitive, salt form) and scaffolds all reduce to this. The key is opaque
//! here; an empty string is a key like any other (callers leave out molecules without one).

use std::collections::HashMap;

/// Molecules sharing one key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    /// The shared key.
    pub key: String,
    /// The lowest member index.
    pub representative: u32,
    /// Member molecule indices, ascending, each once.
    pub members: Vec<u32>,
}

/// Every group of a batch.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Grouping {
    /// Groups by size descending, then representative ascending.
    pub groups: Vec<Group>,
    /// `(group size, number of groups of that size)`, by size ascending.
    pub size_distribution: Vec<(usize, usize)>,
}

impl Grouping {
    /// Distinct keys (the unique count at this level).
    pub fn unique_count(&self) -> usize {
        self.groups.len()
    }

    /// Member count of every group, in group order (e.g. for
    /// [`crate::stats::shannon_entropy`]).
    pub fn sizes(&self) -> Vec<u64> {
        self.groups.iter().map(|g| g.members.len() as u64).collect()
    }
}

/// Groups `(molecule index, key)` pairs by key. An index given twice under one key is
/// counted once.
pub fn group_by_key<K: AsRef<str>>(items: impl IntoIterator<Item = (u32, K)>) -> Grouping {
    let mut by_key: HashMap<String, Vec<u32>> = HashMap::new();
    for (index, key) in items {
        let key = key.as_ref();
        match by_key.get_mut(key) {
            Some(members) => members.push(index),
            None => {
                by_key.insert(key.to_owned(), vec![index]);
            }
        }
    }
    let mut groups: Vec<Group> = by_key
        .into_iter()
        .map(|(key, mut members)| {
            members.sort_unstable();
            members.dedup();
            Group {
                key,
                representative: members[0],
                members,
            }
        })
        .collect();
    groups.sort_unstable_by(|a, b| {
        b.members
            .len()
            .cmp(&a.members.len())
            .then(a.representative.cmp(&b.representative))
    });
    let mut size_distribution: Vec<(usize, usize)> = Vec::new();
    for g in groups.iter().rev() {
        match size_distribution.last_mut() {
            Some((size, count)) if *size == g.members.len() => *count += 1,
            Some(_) | None => size_distribution.push((g.members.len(), 1)),
        }
    }
    Grouping {
        groups,
        size_distribution,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_ordered_by_size_then_representative() {
        let g = group_by_key([
            (9, "c1ccccc1"),
            (2, "CCO"),
            (4, "c1ccccc1"),
            (7, "CCO"),
            (1, "CN"),
            (3, "c1ccccc1"),
            (8, "CC"),
            (7, "CCO"),
        ]);
        let summary: Vec<(&str, u32, &[u32])> = g
            .groups
            .iter()
            .map(|x| (x.key.as_str(), x.representative, x.members.as_slice()))
            .collect();
        assert_eq!(
            summary,
            vec![
                ("c1ccccc1", 3, &[3, 4, 9][..]),
                ("CCO", 2, &[2, 7][..]),
                ("CN", 1, &[1][..]),
                ("CC", 8, &[8][..]),
            ]
        );
        assert_eq!(g.unique_count(), 4);
        assert_eq!(g.size_distribution, vec![(1, 2), (2, 1), (3, 1)]);
        assert_eq!(g.sizes(), vec![3, 2, 1, 1]);
        assert_eq!(
            group_by_key(Vec::<(u32, String)>::new()),
            Grouping::default()
        );
    }
}
