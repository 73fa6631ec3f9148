//! Batch-wide similarity: the pairwise matrix (dense upper triangle for small batches,
//! sparse above a threshold beyond) and each molecule's nearest neighbour.

use rayon::prelude::*;

use super::kernel::{screen, word_counts};
use super::{
    bound, check_threshold, min_intersection, popcount, ratio, Fingerprint, FingerprintIndex,
    SearchParams, SimilarityError, BLOCK,
};

/// Batches up to this many molecules get a dense matrix from [`similarity_matrix`].
pub const DENSE_MATRIX_LIMIT: usize = 5_000;

/// Every pairwise similarity of a batch, as the upper triangle without the diagonal.
#[derive(Debug, Clone, PartialEq)]
pub struct DenseSimilarity {
    /// Molecule index of each row and column, ascending.
    pub molecule_indices: Vec<u32>,
    /// Row-major upper triangle: for rows `i < j` (positions in `molecule_indices`),
    /// the similarity is at `i * n - i * (i + 1) / 2 + (j - i - 1)`; `n (n - 1) / 2` values.
    pub values: Vec<f32>,
}

impl DenseSimilarity {
    /// Similarity between the molecules at rows `i` and `j` (1 when `i == j`), or `None`
    /// when a row is out of range.
    pub fn get(&self, i: usize, j: usize) -> Option<f32> {
        let n = self.molecule_indices.len();
        if i >= n || j >= n {
            return None;
        }
        if i == j {
            return Some(1.0);
        }
        let (i, j) = (i.min(j), i.max(j));
        self.values
            .get(i * n - i * (i + 1) / 2 + (j - i - 1))
            .copied()
    }
}

/// A pair of molecules at or above the sparse matrix's threshold.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SimilarPair {
    /// The lower molecule index of the pair.
    pub i: u32,
    /// The higher molecule index of the pair.
    pub j: u32,
    /// Their Tanimoto similarity.
    pub similarity: f64,
}

/// Every pair with similarity ≥ a threshold.
#[derive(Debug, Clone, PartialEq)]
pub struct SparseSimilarity {
    /// The threshold the pairs reach.
    pub threshold: f64,
    /// Pairs sorted by `i`, then `j`; each unordered pair once, `i < j`.
    pub pairs: Vec<SimilarPair>,
    /// Candidate pairs screened by the per-word popcount bound (in popcount bins that
    /// could reach the threshold).
    pub screened: u64,
    /// Full Tanimoto comparisons computed (pairs that passed the screen).
    pub compared: u64,
}

/// A batch's similarity matrix in the layout its size calls for.
#[derive(Debug, Clone, PartialEq)]
pub enum SimilarityMatrix {
    /// Every pair, for batches up to [`DENSE_MATRIX_LIMIT`] molecules.
    Dense(DenseSimilarity),
    /// Pairs at or above the threshold, for larger batches.
    Sparse(SparseSimilarity),
}

/// The similarity matrix of the batch: dense for up to [`DENSE_MATRIX_LIMIT`] molecules
/// (the threshold is then only validated), sparse with pairs at or above `threshold`
/// beyond. Runs on every thread of the current rayon pool.
pub fn similarity_matrix(
    index: &FingerprintIndex,
    threshold: f64,
) -> Result<SimilarityMatrix, SimilarityError> {
    check_threshold(threshold)?;
    if index.len() <= DENSE_MATRIX_LIMIT {
        Ok(SimilarityMatrix::Dense(dense_similarity_matrix(index)))
    } else {
        sparse_similarity_matrix(index, threshold).map(SimilarityMatrix::Sparse)
    }
}

/// Every pairwise similarity, `n (n - 1) / 2` values as `f32` (4 bytes each: keep `n`
/// to a few tens of thousands). Runs on every thread of the current rayon pool.
pub fn dense_similarity_matrix(index: &FingerprintIndex) -> DenseSimilarity {
    let fps: Vec<Fingerprint> = index
        .positions
        .iter()
        .map(|&(_, at)| index.fps[at as usize])
        .collect();
    let pops: Vec<u32> = fps.iter().map(popcount).collect();
    let n = fps.len();
    let mut values = vec![0f32; n * n.saturating_sub(1) / 2];
    let mut rows: Vec<(usize, &mut [f32])> = Vec::with_capacity(n);
    let mut rest = values.as_mut_slice();
    for i in 0..n {
        let (row, tail) = rest.split_at_mut(n - 1 - i);
        rows.push((i, row));
        rest = tail;
    }
    rows.into_par_iter().for_each_init(
        || vec![0u32; BLOCK],
        |counts, (i, row)| {
            let mut j = i + 1;
            for (chunk, out) in fps[i + 1..].chunks(BLOCK).zip(row.chunks_mut(BLOCK)) {
                index.kernel.intersections(&fps[i], chunk, counts);
                for (value, &c) in out.iter_mut().zip(counts.iter()) {
                    *value = ratio(c, pops[i] + pops[j] - c) as f32;
                    j += 1;
                }
            }
        },
    );
    DenseSimilarity {
        molecule_indices: index.molecule_indices().collect(),
        values,
    }
}

/// Every pair with similarity ≥ `threshold` (in `[0, 1]`). Each fingerprint is compared
/// only with later ones (in popcount order) whose popcount bin can reach the threshold.
/// A low threshold on a large batch yields up to `n (n - 1) / 2` pairs. Runs on every
/// thread of the current rayon pool.
pub fn sparse_similarity_matrix(
    index: &FingerprintIndex,
    threshold: f64,
) -> Result<SparseSimilarity, SimilarityError> {
    let threshold = check_threshold(threshold)?;
    let (mut pairs, screened, compared) = (0..index.len())
        .into_par_iter()
        .with_min_len(16)
        .fold(
            || (Vec::new(), 0u64, 0u64, Scratch::default()),
            |(mut pairs, mut screened, mut compared, mut scratch), p| {
                let (s, c) = pairs_of(index, p, threshold, &mut scratch, &mut pairs);
                screened += s;
                compared += c;
                (pairs, screened, compared, scratch)
            },
        )
        .map(|(pairs, screened, compared, _)| (pairs, screened, compared))
        .reduce(
            || (Vec::new(), 0, 0),
            |(mut a, sa, na), (b, sb, nb)| {
                a.extend(b);
                (a, sa + sb, na + nb)
            },
        );
    pairs.par_sort_unstable_by_key(|p: &SimilarPair| (p.i, p.j));
    Ok(SparseSimilarity {
        threshold,
        pairs,
        screened,
        compared,
    })
}

/// Per-thread buffers of the sparse matrix.
struct Scratch {
    counts: Vec<u32>,
    survivors: Vec<u32>,
}

impl Default for Scratch {
    fn default() -> Self {
        Self {
            counts: vec![0; BLOCK],
            survivors: Vec::with_capacity(BLOCK),
        }
    }
}

/// Pairs of the fingerprint at position `p` with later positions; returns candidates
/// screened and full comparisons made.
fn pairs_of(
    index: &FingerprintIndex,
    p: usize,
    threshold: f64,
    scratch: &mut Scratch,
    pairs: &mut Vec<SimilarPair>,
) -> (u64, u64) {
    let query = &index.fps[p];
    let query_counts = word_counts(query);
    let a = popcount(query);
    let id = index.ids[p];
    let (mut screened, mut compared) = (0u64, 0u64);
    for b in a..=super::FINGERPRINT_BITS as u32 {
        // b >= a: the bound falls as b grows, so the first bin out of reach ends the scan
        if bound(a, b) < threshold {
            break;
        }
        let start = index.bin_start[b as usize].max(p + 1);
        let end = index.bin_start[b as usize + 1];
        if start >= end {
            continue;
        }
        let Some(need) = min_intersection(a, b, threshold) else {
            continue;
        };
        for s in (start..end).step_by(BLOCK) {
            let e = (s + BLOCK).min(end);
            scratch.survivors.clear();
            screen(
                &query_counts,
                &index.word_counts[s..e],
                need,
                &mut scratch.survivors,
            );
            screened += (e - s) as u64;
            compared += scratch.survivors.len() as u64;
            index.kernel.intersections_at(
                query,
                &index.fps[s..e],
                &scratch.survivors,
                &mut scratch.counts,
            );
            for (&k, &c) in scratch.survivors.iter().zip(&scratch.counts) {
                if c >= need {
                    let other = index.ids[s + k as usize];
                    pairs.push(SimilarPair {
                        i: id.min(other),
                        j: id.max(other),
                        similarity: ratio(c, a + b - c),
                    });
                }
            }
        }
    }
    (screened, compared)
}

/// A molecule's most similar other molecule.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NearestNeighbor {
    /// The molecule.
    pub index: u32,
    /// Its most similar other molecule (the lowest index among equally similar ones).
    pub neighbor: u32,
    /// Their Tanimoto similarity.
    pub similarity: f64,
    /// `1 - similarity`: how far the molecule sits from the rest of the batch.
    pub isolation: f64,
}

/// Each molecule's nearest neighbour, ordered by molecule index. A batch of one molecule
/// has no neighbours and gives an empty list; an empty index too. Molecules are searched
/// in parallel on the current rayon pool, each with the bounded top-1 search.
pub fn nearest_neighbors(index: &FingerprintIndex) -> Vec<NearestNeighbor> {
    if index.len() < 2 {
        return Vec::new();
    }
    let params = SearchParams::top_k(1).on_current_thread();
    index
        .positions
        .par_iter()
        .filter_map(|&(id, at)| {
            let query = index.fps[at as usize];
            let found = index.run_search(&query, &params, Some(id)).ok()?;
            let hit = found.hits.first()?;
            Some(NearestNeighbor {
                index: id,
                neighbor: hit.index,
                similarity: hit.similarity,
                isolation: 1.0 - hit.similarity,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::tests::XorShift;
    use super::super::{tanimoto, Fingerprint};
    use super::*;

    fn batch(seed: u64, n: u32) -> Vec<(u32, Fingerprint)> {
        let mut rng = XorShift(seed);
        let bases = rng.bases(6);
        (0..n)
            .map(|i| (i * 3 + 1, rng.fingerprint(&bases)))
            .collect()
    }

    #[test]
    fn dense_matrix_equals_brute_force() {
        let entries = batch(11, 300);
        let index = FingerprintIndex::new(entries.iter().rev().copied()).unwrap();
        let dense = dense_similarity_matrix(&index);
        let n = entries.len();
        assert_eq!(dense.values.len(), n * (n - 1) / 2);
        assert_eq!(
            dense.molecule_indices,
            entries.iter().map(|e| e.0).collect::<Vec<_>>()
        );
        let mut expected = Vec::new();
        for i in 0..n {
            for j in i + 1..n {
                expected.push(tanimoto(&entries[i].1, &entries[j].1) as f32);
            }
        }
        assert_eq!(dense.values, expected);
        assert_eq!(
            dense.get(7, 3),
            Some(tanimoto(&entries[3].1, &entries[7].1) as f32)
        );
        assert_eq!(dense.get(4, 4), Some(1.0));
        assert_eq!(dense.get(n, 0), None);
    }

    #[test]
    fn sparse_matrix_equals_brute_force() {
        let entries = batch(12, 700);
        let index = FingerprintIndex::new(entries.clone()).unwrap();
        for t in [0.0, 0.4, 0.7, 0.9, 1.0] {
            let sparse = sparse_similarity_matrix(&index, t).unwrap();
            let mut expected = Vec::new();
            for (x, (i, a)) in entries.iter().enumerate() {
                for (j, b) in &entries[x + 1..] {
                    let similarity = tanimoto(a, b);
                    if similarity >= t {
                        expected.push(SimilarPair {
                            i: *i,
                            j: *j,
                            similarity,
                        });
                    }
                }
            }
            assert_eq!(sparse.pairs, expected, "threshold {t}");
        }
        let auto = similarity_matrix(&index, 0.7).unwrap();
        assert!(matches!(auto, SimilarityMatrix::Dense(_)));
        assert!(similarity_matrix(&index, -0.1).is_err());
    }

    #[test]
    fn nearest_neighbors_equal_brute_force() {
        let mut entries = batch(13, 400);
        entries[9].1 = entries[200].1;
        let index = FingerprintIndex::new(entries.clone()).unwrap();
        let found = nearest_neighbors(&index);
        assert_eq!(found.len(), entries.len());
        for (got, (id, fp)) in found.iter().zip(&entries) {
            let mut best: Option<(u32, f64)> = None;
            for (other, ofp) in &entries {
                let s = tanimoto(fp, ofp);
                if other != id && best.is_none_or(|(_, b)| s > b) {
                    best = Some((*other, s));
                }
            }
            let (neighbor, similarity) = best.unwrap();
            assert_eq!(
                *got,
                NearestNeighbor {
                    index: *id,
                    neighbor,
                    similarity,
                    isolation: 1.0 - similarity
                }
            );
        }
        assert_eq!(found[9].similarity, 1.0);
        let one = FingerprintIndex::new([(4, entries[0].1)]).unwrap();
        assert!(nearest_neighbors(&one).is_empty());
    }
}
