//! Tanimoto similarity on Morgan radius-2 2048-bit fingerprints: an index for exact
//! top-k and threshold search, the batch similarity matrix and nearest neighbours.
//!
//! A fingerprint is `[u64; 32]`: bit `i` of the 2048-bit vector is bit `i % 64` of word
//! `i / 64`. Tanimoto similarity is `|a ∧ b| / |a ∨ b|`, computed in `f64` from the two
//! integer counts; two empty fingerprints have similarity 0. Because every similarity is
//! a ratio of integers at most 2048, two different ratios never round to the same `f64`,
//! so sorting and comparing on the `f64` is exact, and every answer here is identical to
//! a brute-force scan: hits ordered by similarity descending, then molecule index
//! ascending.
//!
//! [`FingerprintIndex`] keeps the fingerprints contiguous, sorted by popcount, with an
//! offset table per popcount. A candidate with popcount `b` cannot beat
//! `min(a, b) / max(a, b)` against a query of popcount `a` (Swamidass–Baldi), so whole
//! popcount bins are skipped when that bound is below the threshold or the current k-th
//! best, and bins are visited in decreasing order of the bound (outward from the query's
//! popcount) so the k-th best rises fast. Inside a bin each candidate is first screened
//! by a tighter bound from per-word popcounts, `|a ∧ b| ≤ Σ_w min(|a_w|, |b_w|)` over the
//! 32 words (32 bytes per molecule instead of 256): only candidates that pass get the
//! full Tanimoto computation. Both bounds are exact upper bounds, so nothing that belongs
//! in the answer is ever skipped.
//!
//! The index holds 300 bytes per molecule (fingerprint, word counts, molecule index,
//! lookup entry). Full comparisons use the `popcnt` instruction when the CPU has it (see
//! [`PopcountKernel`]); a single search spreads over the current rayon pool or stays on
//! the calling thread ([`Threads`]); many searches at once are best run in parallel,
//! each with [`Threads::Current`].

mod kernel;
mod matrix;

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering as AtomicOrdering};

use rayon::prelude::*;

pub use kernel::{screen, word_counts, PopcountKernel, WordCounts};
pub use matrix::{
    dense_similarity_matrix, nearest_neighbors, similarity_matrix, sparse_similarity_matrix,
    DenseSimilarity, NearestNeighbor, SimilarPair, SimilarityMatrix, SparseSimilarity,
    DENSE_MATRIX_LIMIT,
};

/// Bits in a fingerprint.
pub const FINGERPRINT_BITS: usize = 2048;
/// `u64` words in a fingerprint.
pub const FINGERPRINT_WORDS: usize = FINGERPRINT_BITS / 64;
/// A Morgan 2048-bit fingerprint: bit `i` is bit `i % 64` of word `i / 64`.
pub type Fingerprint = [u64; FINGERPRINT_WORDS];

/// Fingerprints compared per call of the popcount kernel (256 KiB of fingerprints).
const BLOCK: usize = 1024;

/// Why a similarity request cannot be answered.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SimilarityError {
    /// The same molecule index was given twice when building an index.
    #[error("molecule index {0} appears more than once")]
    DuplicateMolecule(u32),
    /// A query named a molecule index the index does not hold.
    #[error("molecule index {0} is not in the index")]
    UnknownMolecule(u32),
    /// A similarity threshold outside `[0, 1]` (or NaN).
    #[error("similarity threshold {0} is not within [0, 1]")]
    InvalidThreshold(f64),
    /// More fingerprints than `u32` molecule indices can name.
    #[error("{0} fingerprints are more than an index can hold")]
    TooManyFingerprints(usize),
}

/// Number of set bits in a fingerprint.
pub fn popcount(fp: &Fingerprint) -> u32 {
    fp.iter().map(|w| w.count_ones()).sum()
}

/// Tanimoto similarity `|a ∧ b| / |a ∨ b|`; 0 when both fingerprints are empty.
pub fn tanimoto(a: &Fingerprint, b: &Fingerprint) -> f64 {
    let both: u32 = a.iter().zip(b).map(|(x, y)| (x & y).count_ones()).sum();
    ratio(both, popcount(a) + popcount(b) - both)
}

/// `intersection / union` as the one shared formula, 0 for an empty union.
fn ratio(intersection: u32, union: u32) -> f64 {
    if union == 0 {
        0.0
    } else {
        f64::from(intersection) / f64::from(union)
    }
}

/// The Swamidass–Baldi bound: the highest similarity popcounts `a` and `b` allow.
fn bound(a: u32, b: u32) -> f64 {
    ratio(a.min(b), a.max(b))
}

/// The smallest intersection `c` for which popcounts `a` and `b` reach similarity
/// `floor` (by the same `f64` formula as the similarity itself), if any does.
fn min_intersection(a: u32, b: u32, floor: f64) -> Option<u32> {
    let reaches = |c: u32| ratio(c, a + b - c) >= floor;
    let (mut lo, mut hi) = (0u32, a.min(b));
    if !reaches(hi) {
        return None;
    }
    // the similarity grows with c: find the first c that reaches the floor
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if reaches(mid) {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    Some(lo)
}

fn check_threshold(threshold: f64) -> Result<f64, SimilarityError> {
    if (0.0..=1.0).contains(&threshold) {
        Ok(threshold)
    } else {
        Err(SimilarityError::InvalidThreshold(threshold))
    }
}

/// One search hit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Hit {
    /// Molecule index of the hit.
    pub index: u32,
    /// Tanimoto similarity to the query.
    pub similarity: f64,
}

impl Hit {
    /// Result order: higher similarity first, then lower molecule index.
    pub fn rank_cmp(&self, other: &Self) -> Ordering {
        other
            .similarity
            .total_cmp(&self.similarity)
            .then(self.index.cmp(&other.index))
    }
}

/// Where a single search runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Threads {
    /// Spread over every thread of the current rayon pool (the global pool, i.e. all
    /// cores, unless called inside `ThreadPool::install`).
    #[default]
    Pool,
    /// Only on the calling thread: for many queries run in parallel, or to measure one core.
    Current,
}

/// What a search returns.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct SearchParams {
    /// At most this many hits (the best ones); `None` for every hit.
    pub top_k: Option<usize>,
    /// Only hits with similarity ≥ this, in `[0, 1]`; `None` for no threshold.
    pub threshold: Option<f64>,
    /// Where the search runs.
    pub threads: Threads,
}

impl SearchParams {
    /// The `k` most similar molecules.
    pub fn top_k(k: usize) -> Self {
        Self {
            top_k: Some(k),
            ..Self::default()
        }
    }

    /// Every molecule with similarity ≥ `threshold`.
    pub fn threshold(threshold: f64) -> Self {
        Self {
            threshold: Some(threshold),
            ..Self::default()
        }
    }

    /// The same request, run only on the calling thread.
    pub fn on_current_thread(self) -> Self {
        Self {
            threads: Threads::Current,
            ..self
        }
    }
}

/// The answer to a search.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SearchResults {
    /// Hits, most similar first, ties by molecule index ascending.
    pub hits: Vec<Hit>,
    /// Candidates screened by the per-word popcount bound (those in popcount bins that
    /// could reach the floor).
    pub screened: u64,
    /// Full Tanimoto comparisons computed (candidates that passed the screen).
    pub compared: u64,
}

/// Fingerprints of one batch, sorted by popcount for bounded exact search.
#[derive(Debug, Clone)]
pub struct FingerprintIndex {
    /// Fingerprints ordered by (popcount, molecule index).
    fps: Vec<Fingerprint>,
    /// Per-word popcounts of each entry of `fps`.
    word_counts: Vec<WordCounts>,
    /// Molecule index of each entry of `fps`.
    ids: Vec<u32>,
    /// Entries with popcount `p` are `bin_start[p]..bin_start[p + 1]`.
    bin_start: Vec<usize>,
    /// Popcounts that have at least one fingerprint, ascending.
    occupied: Vec<u32>,
    /// `(molecule index, position in fps)`, sorted by molecule index.
    positions: Vec<(u32, u32)>,
    kernel: PopcountKernel,
}

impl FingerprintIndex {
    /// Builds the index from `(molecule index, fingerprint)` pairs, in any order.
    pub fn new(
        entries: impl IntoIterator<Item = (u32, Fingerprint)>,
    ) -> Result<Self, SimilarityError> {
        let mut entries: Vec<(u32, Fingerprint)> = entries.into_iter().collect();
        if entries.len() > u32::MAX as usize {
            return Err(SimilarityError::TooManyFingerprints(entries.len()));
        }
        entries.par_sort_unstable_by_key(|(id, _)| *id);
        if let Some(w) = entries.windows(2).find(|w| w[0].0 == w[1].0) {
            return Err(SimilarityError::DuplicateMolecule(w[0].0));
        }
        let pops: Vec<u32> = entries.par_iter().map(|(_, fp)| popcount(fp)).collect();
        // counting sort by popcount; stable, so each bin stays in molecule order
        let mut bin_start = vec![0usize; FINGERPRINT_BITS + 2];
        for &p in &pops {
            bin_start[p as usize + 1] += 1;
        }
        for p in 1..bin_start.len() {
            bin_start[p] += bin_start[p - 1];
        }
        let mut fill = bin_start.clone();
        let mut order = vec![0u32; entries.len()];
        let mut positions = Vec::with_capacity(entries.len());
        for (rank, &p) in pops.iter().enumerate() {
            let at = fill[p as usize];
            fill[p as usize] += 1;
            order[at] = rank as u32;
            positions.push((entries[rank].0, at as u32));
        }
        let fps: Vec<Fingerprint> = order.iter().map(|&r| entries[r as usize].1).collect();
        let word_counts = fps.par_iter().map(word_counts).collect();
        let ids = order.iter().map(|&r| entries[r as usize].0).collect();
        let occupied = (0..=FINGERPRINT_BITS as u32)
            .filter(|&p| bin_start[p as usize + 1] > bin_start[p as usize])
            .collect();
        Ok(Self {
            fps,
            word_counts,
            ids,
            bin_start,
            occupied,
            positions,
            kernel: PopcountKernel::detect(),
        })
    }

    /// Builds the index with molecule index `i` for `fingerprints[i]`.
    pub fn from_fingerprints(fingerprints: &[Fingerprint]) -> Result<Self, SimilarityError> {
        if fingerprints.len() > u32::MAX as usize {
            return Err(SimilarityError::TooManyFingerprints(fingerprints.len()));
        }
        Self::new(
            fingerprints
                .iter()
                .enumerate()
                .map(|(i, fp)| (i as u32, *fp)),
        )
    }

    /// The same index, using `kernel` for popcounts (for benchmarks; an unsupported
    /// kernel falls back to the portable one).
    pub fn with_kernel(mut self, kernel: PopcountKernel) -> Self {
        self.kernel = kernel;
        self
    }

    /// The popcount kernel searches use (detected from the CPU at build time).
    pub fn kernel(&self) -> PopcountKernel {
        self.kernel
    }

    /// Number of molecules.
    pub fn len(&self) -> usize {
        self.fps.len()
    }

    /// Whether the index holds no molecule.
    pub fn is_empty(&self) -> bool {
        self.fps.is_empty()
    }

    /// Bytes held by the index (fingerprints, molecule indices and lookup tables).
    pub fn memory_bytes(&self) -> usize {
        std::mem::size_of_val(self.fps.as_slice())
            + std::mem::size_of_val(self.word_counts.as_slice())
            + std::mem::size_of_val(self.ids.as_slice())
            + std::mem::size_of_val(self.bin_start.as_slice())
            + std::mem::size_of_val(self.occupied.as_slice())
            + std::mem::size_of_val(self.positions.as_slice())
    }

    /// Molecule indices held, ascending.
    pub fn molecule_indices(&self) -> impl ExactSizeIterator<Item = u32> + '_ {
        self.positions.iter().map(|&(id, _)| id)
    }

    /// The fingerprint of a molecule, if the index holds it.
    pub fn fingerprint(&self, index: u32) -> Option<&Fingerprint> {
        self.position(index).map(|p| &self.fps[p])
    }

    fn position(&self, index: u32) -> Option<usize> {
        self.positions
            .binary_search_by_key(&index, |&(id, _)| id)
            .ok()
            .map(|i| self.positions[i].1 as usize)
    }

    /// Molecules most similar to `query`, exactly as a brute-force scan would rank them.
    pub fn search(
        &self,
        query: &Fingerprint,
        params: &SearchParams,
    ) -> Result<SearchResults, SimilarityError> {
        self.run_search(query, params, None)
    }

    /// Molecules most similar to molecule `index` of the index; the molecule itself is
    /// among the hits (similarity 1 unless its fingerprint is empty) only when
    /// `include_self` is set. Other molecules with an identical fingerprint always are.
    pub fn search_molecule(
        &self,
        index: u32,
        params: &SearchParams,
        include_self: bool,
    ) -> Result<SearchResults, SimilarityError> {
        let query = *self
            .fingerprint(index)
            .ok_or(SimilarityError::UnknownMolecule(index))?;
        self.run_search(&query, params, (!include_self).then_some(index))
    }

    fn run_search(
        &self,
        query: &Fingerprint,
        params: &SearchParams,
        exclude: Option<u32>,
    ) -> Result<SearchResults, SimilarityError> {
        let threshold = params.threshold.map(check_threshold).transpose()?;
        if params.top_k == Some(0) || self.is_empty() {
            return Ok(SearchResults::default());
        }
        let scan = Scan::new(self, query, threshold.unwrap_or(0.0), params.top_k, exclude);
        let parts: Vec<(Collector, u64, u64)> = match params.threads {
            Threads::Current => vec![scan.work()],
            Threads::Pool => (0..rayon::current_num_threads())
                .into_par_iter()
                .map(|_| scan.work())
                .collect(),
        };
        let screened = parts.iter().map(|(_, s, _)| s).sum();
        let compared = parts.iter().map(|(_, _, n)| n).sum();
        let mut hits: Vec<Hit> = parts
            .into_iter()
            .flat_map(|(c, _, _)| c.into_hits())
            .collect();
        hits.sort_unstable_by(Hit::rank_cmp);
        if let Some(k) = params.top_k {
            hits.truncate(k);
        }
        Ok(SearchResults {
            hits,
            screened,
            compared,
        })
    }
}

/// A run of fingerprints sharing one popcount, visited as a unit.
#[derive(Debug, Clone, Copy)]
struct Block {
    start: usize,
    end: usize,
    popcount: u32,
    bound: f64,
}

/// One query's scan, shared by the threads that run it. Blocks are handed out in
/// decreasing bound order through `next`; `kth` holds the best lower bound any thread
/// has proved for the final k-th similarity (as `f64` bits: for non-negative floats the
/// bit order is the numeric order, so `fetch_max` works).
struct Scan<'a> {
    index: &'a FingerprintIndex,
    query: &'a Fingerprint,
    query_counts: WordCounts,
    query_popcount: u32,
    blocks: Vec<Block>,
    threshold: f64,
    top_k: Option<usize>,
    exclude: Option<u32>,
    next: AtomicUsize,
    kth: AtomicU64,
}

impl<'a> Scan<'a> {
    fn new(
        index: &'a FingerprintIndex,
        query: &'a Fingerprint,
        threshold: f64,
        top_k: Option<usize>,
        exclude: Option<u32>,
    ) -> Self {
        let a = popcount(query);
        let mut bins: Vec<(u32, f64)> = index
            .occupied
            .iter()
            .map(|&b| (b, bound(a, b)))
            .filter(|&(_, ub)| ub >= threshold)
            .collect();
        // outward from the query's popcount: best bound first, nearer popcount on ties
        bins.sort_by(|x, y| {
            y.1.total_cmp(&x.1)
                .then(x.0.abs_diff(a).cmp(&y.0.abs_diff(a)))
        });
        let mut blocks = Vec::new();
        for (b, ub) in bins {
            let (start, end) = (index.bin_start[b as usize], index.bin_start[b as usize + 1]);
            for s in (start..end).step_by(BLOCK) {
                blocks.push(Block {
                    start: s,
                    end: (s + BLOCK).min(end),
                    popcount: b,
                    bound: ub,
                });
            }
        }
        Self {
            index,
            query,
            query_counts: word_counts(query),
            query_popcount: a,
            blocks,
            threshold,
            top_k,
            exclude,
            next: AtomicUsize::new(0),
            kth: AtomicU64::new(0f64.to_bits()),
        }
    }

    /// One thread's share: takes blocks until none is left or none can reach the floor.
    /// Returns the hits kept, candidates screened and full comparisons made.
    fn work(&self) -> (Collector, u64, u64) {
        let mut local = Collector::new(self.top_k);
        let mut counts = vec![0u32; BLOCK];
        let mut survivors = Vec::with_capacity(BLOCK);
        let (mut screened, mut compared) = (0u64, 0u64);
        let a = self.query_popcount;
        let kernel = self.index.kernel;
        loop {
            let i = self.next.fetch_add(1, AtomicOrdering::Relaxed);
            let Some(block) = self.blocks.get(i) else {
                break;
            };
            let global = f64::from_bits(self.kth.load(AtomicOrdering::Relaxed));
            let mut floor = self.threshold.max(global).max(local.kth());
            if block.bound < floor {
                // blocks come in decreasing bound order: no later block can reach it either
                break;
            }
            let b = block.popcount;
            let Some(mut need) = min_intersection(a, b, floor) else {
                continue;
            };
            let range = block.start..block.end;
            survivors.clear();
            screen(
                &self.query_counts,
                &self.index.word_counts[range.clone()],
                need,
                &mut survivors,
            );
            screened += range.len() as u64;
            compared += survivors.len() as u64;
            let fps = &self.index.fps[range];
            kernel.intersections_at(self.query, fps, &survivors, &mut counts);
            for (&offset, &c) in survivors.iter().zip(&counts) {
                if c < need {
                    continue;
                }
                let id = self.index.ids[block.start + offset as usize];
                if Some(id) == self.exclude {
                    continue;
                }
                let hit = Hit {
                    index: id,
                    similarity: ratio(c, a + b - c),
                };
                if let Some(kth) = local.offer(hit) {
                    self.kth.fetch_max(kth.to_bits(), AtomicOrdering::Relaxed);
                    if kth > floor {
                        floor = kth;
                        need = min_intersection(a, b, floor).unwrap_or(u32::MAX);
                    }
                }
            }
        }
        (local, screened, compared)
    }
}

/// The worst hit first, so a max-heap keeps the k best.
#[derive(Debug, Clone, Copy)]
struct Worst(Hit);

impl PartialEq for Worst {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for Worst {}
impl PartialOrd for Worst {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Worst {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0.rank_cmp(&other.0)
    }
}

/// One thread's hits: the k best so far, or every hit.
enum Collector {
    TopK { k: usize, heap: BinaryHeap<Worst> },
    All(Vec<Hit>),
}

impl Collector {
    fn new(top_k: Option<usize>) -> Self {
        match top_k {
            Some(k) => Self::TopK {
                k,
                heap: BinaryHeap::with_capacity(k.min(1 << 16) + 1),
            },
            None => Self::All(Vec::new()),
        }
    }

    /// The k-th best similarity once k hits are held, else 0.
    fn kth(&self) -> f64 {
        match self {
            Self::TopK { k, heap } if heap.len() >= *k => {
                heap.peek().map_or(0.0, |w| w.0.similarity)
            }
            Self::TopK { .. } | Self::All(_) => 0.0,
        }
    }

    /// Keeps `hit` if it belongs; returns the new k-th best similarity when k hits are held.
    fn offer(&mut self, hit: Hit) -> Option<f64> {
        match self {
            Self::All(hits) => {
                hits.push(hit);
                None
            }
            Self::TopK { k, heap } => {
                if heap.len() < *k {
                    heap.push(Worst(hit));
                } else if heap
                    .peek()
                    .is_some_and(|w| hit.rank_cmp(&w.0) == Ordering::Less)
                {
                    heap.pop();
                    heap.push(Worst(hit));
                } else {
                    return None;
                }
                if heap.len() >= *k {
                    heap.peek().map(|w| w.0.similarity)
                } else {
                    None
                }
            }
        }
    }

    fn into_hits(self) -> Vec<Hit> {
        match self {
            Self::All(hits) => hits,
            Self::TopK { heap, .. } => heap.into_iter().map(|w| w.0).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// xorshift64: reproducible random fingerprints without a dependency.
    pub(super) struct XorShift(pub(super) u64);
    impl XorShift {
        pub(super) fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
        /// A fingerprint with roughly `density` / 8 of its bits set, over a few bases so
        /// that similar pairs, ties and duplicates occur.
        pub(super) fn fingerprint(&mut self, bases: &[Fingerprint]) -> Fingerprint {
            let base = bases[(self.next() % bases.len() as u64) as usize];
            let mut fp = base;
            let flips = self.next() % 24;
            for _ in 0..flips {
                let bit = (self.next() % 2048) as usize;
                fp[bit / 64] ^= 1 << (bit % 64);
            }
            fp
        }
        pub(super) fn bases(&mut self, n: usize) -> Vec<Fingerprint> {
            (0..n)
                .map(|_| {
                    std::array::from_fn(|w| {
                        if w % 3 == 0 {
                            self.next() & self.next() & self.next()
                        } else {
                            0
                        }
                    })
                })
                .collect()
        }
    }

    pub(super) fn brute_force(
        fps: &[(u32, Fingerprint)],
        query: &Fingerprint,
        params: &SearchParams,
        exclude: Option<u32>,
    ) -> Vec<Hit> {
        let t = params.threshold.unwrap_or(0.0);
        let mut hits: Vec<Hit> = fps
            .iter()
            .filter(|(id, _)| Some(*id) != exclude)
            .map(|(id, fp)| Hit {
                index: *id,
                similarity: tanimoto(query, fp),
            })
            .filter(|h| h.similarity >= t)
            .collect();
        hits.sort_by(Hit::rank_cmp);
        if let Some(k) = params.top_k {
            hits.truncate(k);
        }
        hits
    }

    #[test]
    fn tanimoto_of_known_vectors() {
        let mut a = [0u64; 32];
        let mut b = [0u64; 32];
        a[0] = 0b1111;
        b[0] = 0b0011;
        b[31] = 1 << 63;
        assert_eq!(tanimoto(&a, &b), 2.0 / 5.0);
        assert_eq!(tanimoto(&a, &a), 1.0);
        assert_eq!(tanimoto(&[0; 32], &[0; 32]), 0.0);
        assert_eq!(popcount(&b), 3);
    }

    #[test]
    fn min_intersection_agrees_with_the_formula() {
        for a in [0u32, 1, 7, 40, 41, 100] {
            for b in [0u32, 1, 30, 40, 57, 100] {
                for t in [0.0, 0.1, 0.3, 0.5, 0.7, 0.75, 0.9, 1.0] {
                    let expected = (0..=a.min(b)).find(|&c| ratio(c, a + b - c) >= t);
                    assert_eq!(min_intersection(a, b, t), expected, "{a} {b} {t}");
                }
            }
        }
    }

    #[test]
    fn search_equals_brute_force_on_random_fingerprints() {
        let mut rng = XorShift(0x1234_5678_9ABC_DEF1);
        let bases = rng.bases(12);
        // molecule indices deliberately not 0..n and not in order
        let entries: Vec<(u32, Fingerprint)> = (0..3000)
            .map(|i| ((i * 7919 % 3001) as u32 + 5, rng.fingerprint(&bases)))
            .collect();
        let index = FingerprintIndex::new(entries.clone()).unwrap();
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(3)
            .build()
            .unwrap();
        for q in 0..40 {
            let query = if q % 2 == 0 {
                entries[q * 13].1
            } else {
                rng.fingerprint(&bases)
            };
            for params in [
                SearchParams::top_k(1),
                SearchParams::top_k(10),
                SearchParams::top_k(250),
                SearchParams::threshold(0.7),
                SearchParams::threshold(0.45),
                SearchParams {
                    top_k: Some(5),
                    threshold: Some(0.8),
                    threads: Threads::Pool,
                },
                SearchParams::default(),
            ] {
                let expected = brute_force(&entries, &query, &params, None);
                let serial = index.search(&query, &params.on_current_thread()).unwrap();
                let parallel = pool.install(|| index.search(&query, &params)).unwrap();
                assert_eq!(serial.hits, expected, "query {q} {params:?}");
                assert_eq!(parallel.hits, expected, "query {q} {params:?}");
            }
        }
    }

    #[test]
    fn edge_cases_equal_brute_force() {
        let mut rng = XorShift(99);
        let bases = rng.bases(4);
        let mut entries: Vec<(u32, Fingerprint)> = (0..60)
            .map(|i| (1000 - i * 5, rng.fingerprint(&bases)))
            .collect();
        // empty fingerprints, a full one and duplicates
        entries[3].1 = [0; 32];
        entries[4].1 = [0; 32];
        entries[5].1 = [u64::MAX; 32];
        entries[6].1 = entries[7].1;
        let index = FingerprintIndex::new(entries.clone()).unwrap();
        let queries = [[0u64; 32], [u64::MAX; 32], entries[7].1, entries[20].1];
        for query in &queries {
            for params in [
                SearchParams::top_k(1000),
                SearchParams::top_k(2),
                SearchParams::threshold(0.0),
                SearchParams::threshold(1.0),
                SearchParams {
                    top_k: Some(3),
                    threshold: Some(1.0),
                    threads: Threads::Pool,
                },
            ] {
                let expected = brute_force(&entries, query, &params, None);
                assert_eq!(
                    index.search(query, &params).unwrap().hits,
                    expected,
                    "{params:?}"
                );
                assert_eq!(
                    index
                        .search(query, &params.on_current_thread())
                        .unwrap()
                        .hits,
                    expected,
                    "{params:?}"
                );
            }
        }
        assert_eq!(
            index
                .search(&[0; 32], &SearchParams::top_k(1000))
                .unwrap()
                .hits
                .len(),
            60
        );
    }

    #[test]
    fn search_by_molecule_excludes_itself_on_request() {
        let mut rng = XorShift(77);
        let bases = rng.bases(3);
        let mut entries: Vec<(u32, Fingerprint)> =
            (0..200).map(|i| (i, rng.fingerprint(&bases))).collect();
        entries[50].1 = entries[10].1; // a duplicate fingerprint stays a hit
        let index = FingerprintIndex::new(entries.clone()).unwrap();
        let params = SearchParams::top_k(5);
        let with_self = index.search_molecule(10, &params, true).unwrap();
        assert_eq!(
            with_self.hits,
            brute_force(&entries, &entries[10].1, &params, None)
        );
        assert_eq!(
            with_self.hits[0],
            Hit {
                index: 10,
                similarity: 1.0
            }
        );
        let without = index.search_molecule(10, &params, false).unwrap();
        assert_eq!(
            without.hits,
            brute_force(&entries, &entries[10].1, &params, Some(10))
        );
        assert_eq!(
            without.hits[0],
            Hit {
                index: 50,
                similarity: 1.0
            }
        );
        assert_eq!(
            index.search_molecule(999, &params, false),
            Err(SimilarityError::UnknownMolecule(999))
        );
    }

    #[test]
    fn bounds_skip_most_comparisons_at_high_threshold() {
        let mut rng = XorShift(5);
        let bases = rng.bases(20);
        let fps: Vec<Fingerprint> = (0..5000).map(|_| rng.fingerprint(&bases)).collect();
        let index = FingerprintIndex::from_fingerprints(&fps).unwrap();
        let result = index
            .search(&fps[0], &SearchParams::threshold(0.95).on_current_thread())
            .unwrap();
        assert!(result.compared < fps.len() as u64, "{}", result.compared);
    }

    #[test]
    fn rejects_bad_input() {
        let fp = [1u64; 32];
        assert_eq!(
            FingerprintIndex::new([(3, fp), (3, fp)]).unwrap_err(),
            SimilarityError::DuplicateMolecule(3)
        );
        let index = FingerprintIndex::new([(3, fp)]).unwrap();
        assert!(matches!(
            index.search(&fp, &SearchParams::threshold(1.5)),
            Err(SimilarityError::InvalidThreshold(_))
        ));
        assert!(index
            .search(&fp, &SearchParams::top_k(0))
            .unwrap()
            .hits
            .is_empty());
        let empty = FingerprintIndex::new([]).unwrap();
        assert!(empty
            .search(&fp, &SearchParams::top_k(3))
            .unwrap()
            .hits
            .is_empty());
    }
}
