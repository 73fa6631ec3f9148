//! Batch analytics algorithms on plain data: no RDKit, no I/O, no async.
//!
//! - [`similarity`]: exact Tanimoto search on Morgan 2048-bit fingerprints with
//!   popcount bounds, the batch similarity matrix and nearest neighbours.
//! - [`stats`]: descriptive statistics, correlations, outliers, Welch's t-test, entropy.
//! - [`pca`]: principal components of descriptors or fingerprints.
//! - [`mmp`]: matched molecular pairs indexed from fragmentations, transform statistics.
//! - [`groups`]: molecules grouped by a string key (duplicates, scaffolds).
//! - [`tsne`]: Barnes–Hut t-SNE maps of fingerprints or descriptors.
//!
//! Everything parallel runs on the current rayon pool: call inside
//! `ThreadPool::install` to bound the threads used.

pub mod groups;
pub mod mmp;
pub mod pca;
pub mod similarity;
pub mod stats;
pub mod tsne;
