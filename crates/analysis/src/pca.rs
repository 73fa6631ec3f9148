//! Principal component analysis to a few components, defined as scikit-learn's `PCA`
//! (full SVD) defines it: data centred per column; explained variance `S² / (n − 1)`;
//! explained variance ratio relative to the total variance, the sum of the column
//! variances (`ddof = 1`); coordinates `(x − mean) · component`.
//!
//! Instead of an SVD of the `n × d` data this builds the `d × d` covariance matrix (in
//! parallel; for fingerprints from exact integer co-occurrence counts of on-bits) and
//! takes its top eigenpairs: Jacobi rotations when `d` is small, else block subspace
//! iteration with Rayleigh–Ritz on a block wider than the components asked for (so a
//! near-degenerate pair inside the block is still separated), until every wanted Ritz
//! pair has a residual below `1e-12` of the largest eigenvalue.
//!
//! Sign convention (scikit-learn 1.2's `svd_flip`): each component is oriented so that
//! the coordinate of largest magnitude (the first such molecule on a tie) is positive.

use ndarray::{Array2, ArrayView2};
use rayon::prelude::*;

use crate::similarity::{Fingerprint, FINGERPRINT_BITS};

/// Covariance matrices up to this size are diagonalised completely by Jacobi rotations.
const JACOBI_LIMIT: usize = 64;
/// Relative residual at which the subspace iteration stops.
const TOLERANCE: f64 = 1e-12;
/// Subspace iterations before giving up.
const MAX_ITERATIONS: usize = 1_000;

/// Why a PCA cannot be computed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PcaError {
    /// Fewer than two rows: there is no variance.
    #[error("PCA needs at least 2 rows, got {0}")]
    TooFewRows(usize),
    /// Components asked for outside `1..=min(rows, columns)`.
    #[error("{requested} components requested; between 1 and {max} are possible")]
    InvalidComponents {
        /// Components asked for.
        requested: usize,
        /// `min(rows, columns)`.
        max: usize,
    },
    /// A NaN or infinite value: impute or drop it first.
    #[error("value at row {row}, column {column} is not finite")]
    NonFinite {
        /// Row of the value.
        row: usize,
        /// Column of the value.
        column: usize,
    },
    /// The eigensolver did not reach its tolerance.
    #[error("eigensolver did not converge in {0} iterations")]
    NotConverged(usize),
}

/// What to compute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PcaOptions {
    /// Components to keep (2 or 3 for a chemical-space map).
    pub components: usize,
    /// Scale every column to unit variance first, as scikit-learn's `StandardScaler`
    /// (population standard deviation, `ddof = 0`; a constant column is left unscaled).
    pub standardize: bool,
}

/// A fitted PCA and the coordinates of the rows it was fitted on.
#[derive(Debug, Clone, PartialEq)]
pub struct Pca {
    /// `n × k` coordinates, one row per input row.
    pub coordinates: Array2<f64>,
    /// `k × d` unit principal axes, largest variance first.
    pub components: Array2<f64>,
    /// Variance along each component (`ddof = 1`), descending.
    pub explained_variance: Vec<f64>,
    /// `explained_variance / total_variance` (0 when the total is 0).
    pub explained_variance_ratio: Vec<f64>,
    /// Sum of the column variances (`ddof = 1`) of the (standardised) data.
    pub total_variance: f64,
    /// Column means subtracted before projecting.
    pub mean: Vec<f64>,
    /// Column scales divided by after centring (1 everywhere unless standardised).
    pub scale: Vec<f64>,
}

fn check_shape(n: usize, d: usize, k: usize) -> Result<(), PcaError> {
    if n < 2 {
        return Err(PcaError::TooFewRows(n));
    }
    let max = n.min(d);
    if k == 0 || k > max {
        return Err(PcaError::InvalidComponents { requested: k, max });
    }
    Ok(())
}

/// PCA of a dense matrix, rows = molecules, columns = features (descriptors, or 0/1
/// fingerprint bits; for fingerprints [`pca_fingerprints`] is much faster). The
/// covariance is one `d × n` by `n × d` matrix product (`n d²` multiply-adds, ndarray's
/// blocked kernels on one thread); it copies the data once.
pub fn pca(data: ArrayView2<'_, f64>, options: &PcaOptions) -> Result<Pca, PcaError> {
    let (n, d) = data.dim();
    check_shape(n, d, options.components)?;
    if let Some(((row, column), _)) = data.indexed_iter().find(|(_, v)| !v.is_finite()) {
        return Err(PcaError::NonFinite { row, column });
    }
    // columns as contiguous rows of a d × n matrix, centred and scaled
    let mut columns: Vec<Vec<f64>> = (0..d)
        .into_par_iter()
        .map(|j| data.column(j).to_vec())
        .collect();
    let mut mean = vec![0.0; d];
    let mut scale = vec![1.0; d];
    columns
        .par_iter_mut()
        .zip(mean.par_iter_mut())
        .zip(scale.par_iter_mut())
        .for_each(|((col, m), s)| {
            *m = col.iter().sum::<f64>() / n as f64;
            col.iter_mut().for_each(|x| *x -= *m);
            if options.standardize {
                let sd = (col.iter().map(|x| x * x).sum::<f64>() / n as f64).sqrt();
                if sd > 0.0 {
                    *s = sd;
                    col.iter_mut().for_each(|x| *x /= sd);
                }
            }
        });
    // Xcᵀ Xc / (n − 1) as one matrix product (ndarray's blocked matrixmultiply kernels)
    let centred = Array2::from_shape_fn((n, d), |(r, j)| columns[j][r]);
    let product = centred.t().dot(&centred) / (n - 1) as f64;
    let cov: Vec<f64> = product.iter().copied().collect();
    let (explained_variance, axes) = top_eigenpairs(&cov, d, options.components)?;
    let k = explained_variance.len();
    let mut coordinates = Array2::<f64>::zeros((n, k));
    for (c, axis) in axes.iter().enumerate() {
        let projected: Vec<f64> = (0..n)
            .into_par_iter()
            .map(|r| (0..d).map(|j| columns[j][r] * axis[j]).sum())
            .collect();
        coordinates
            .column_mut(c)
            .iter_mut()
            .zip(projected)
            .for_each(|(x, p)| *x = p);
    }
    let total_variance = (0..d).map(|i| cov[i * d + i]).sum();
    Ok(finish(
        coordinates,
        axes,
        explained_variance,
        total_variance,
        mean,
        scale,
    ))
}

/// PCA of fingerprints as 0/1 columns (2048 of them), the same as [`pca`] on that dense
/// matrix without building it: the covariance comes from exact co-occurrence counts of
/// on-bits (`O(n b²)` for `b` on-bits per molecule) and coordinates from sums over
/// on-bits. Runs on every thread of the current rayon pool.
pub fn pca_fingerprints(fingerprints: &[Fingerprint], components: usize) -> Result<Pca, PcaError> {
    let n = fingerprints.len();
    let d = FINGERPRINT_BITS;
    check_shape(n, d, components)?;
    let threads = rayon::current_num_threads().max(1);
    let per_part = n.div_ceil(threads);
    let counts: Vec<u32> = fingerprints
        .par_chunks(per_part)
        .map(|part| {
            let mut counts = vec![0u32; d * d];
            let mut bits = Vec::with_capacity(256);
            for fp in part {
                on_bits(fp, &mut bits);
                for (x, &i) in bits.iter().enumerate() {
                    let row = &mut counts[i * d..(i + 1) * d];
                    for &j in &bits[x..] {
                        row[j] += 1;
                    }
                }
            }
            counts
        })
        .reduce_with(|mut a, b| {
            a.iter_mut().zip(&b).for_each(|(x, y)| *x += y);
            a
        })
        .unwrap_or_default();
    let nf = n as f64;
    let bit_count: Vec<f64> = (0..d).map(|i| f64::from(counts[i * d + i])).collect();
    let mut cov = vec![0.0; d * d];
    cov.par_chunks_mut(d).enumerate().for_each(|(i, row)| {
        for j in i..d {
            // Σ (x_i − m_i)(x_j − m_j) = C_ij − c_i c_j / n, with exact integer counts
            row[j] = (f64::from(counts[i * d + j]) - bit_count[i] * bit_count[j] / nf) / (nf - 1.0);
        }
    });
    drop(counts);
    mirror_upper(&mut cov, d);
    let (explained_variance, axes) = top_eigenpairs(&cov, d, components)?;
    let mean: Vec<f64> = bit_count.iter().map(|c| c / nf).collect();
    let k = explained_variance.len();
    let offsets: Vec<f64> = axes.iter().map(|a| dot(a, &mean)).collect();
    let rows: Vec<Vec<f64>> = fingerprints
        .par_iter()
        .map_init(Vec::new, |bits, fp| {
            on_bits(fp, bits);
            axes.iter()
                .zip(&offsets)
                .map(|(axis, offset)| bits.iter().map(|&b| axis[b]).sum::<f64>() - offset)
                .collect()
        })
        .collect();
    let mut coordinates = Array2::<f64>::zeros((n, k));
    for (r, row) in rows.iter().enumerate() {
        for (c, v) in row.iter().enumerate() {
            coordinates[[r, c]] = *v;
        }
    }
    let total_variance = (0..d).map(|i| cov[i * d + i]).sum();
    Ok(finish(
        coordinates,
        axes,
        explained_variance,
        total_variance,
        mean,
        vec![1.0; d],
    ))
}

/// Orients each component (sign convention in the module docs) and assembles the result.
fn finish(
    mut coordinates: Array2<f64>,
    mut axes: Vec<Vec<f64>>,
    explained_variance: Vec<f64>,
    total_variance: f64,
    mean: Vec<f64>,
    scale: Vec<f64>,
) -> Pca {
    let d = mean.len();
    for (c, axis) in axes.iter_mut().enumerate() {
        let mut column = coordinates.column_mut(c);
        let mut largest = 0.0f64;
        let mut sign = 1.0;
        for &x in column.iter() {
            if x.abs() > largest {
                largest = x.abs();
                sign = if x < 0.0 { -1.0 } else { 1.0 };
            }
        }
        if sign < 0.0 {
            column.iter_mut().for_each(|x| *x = -*x);
            axis.iter_mut().for_each(|x| *x = -*x);
        }
    }
    let k = axes.len();
    let components = Array2::from_shape_fn((k, d), |(c, j)| axes[c][j]);
    let explained_variance_ratio = explained_variance
        .iter()
        .map(|v| {
            if total_variance > 0.0 {
                v / total_variance
            } else {
                0.0
            }
        })
        .collect();
    Pca {
        coordinates,
        components,
        explained_variance,
        explained_variance_ratio,
        total_variance,
        mean,
        scale,
    }
}

fn on_bits(fp: &Fingerprint, bits: &mut Vec<usize>) {
    bits.clear();
    for (w, &word) in fp.iter().enumerate() {
        let mut word = word;
        while word != 0 {
            bits.push(w * 64 + word.trailing_zeros() as usize);
            word &= word - 1;
        }
    }
}

/// Dot product with four independent accumulators (so it vectorises).
fn dot(a: &[f64], b: &[f64]) -> f64 {
    let mut acc = [0.0f64; 4];
    let (ca, cb) = (a.chunks_exact(4), b.chunks_exact(4));
    let tail: f64 = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in ca.zip(cb) {
        for l in 0..4 {
            acc[l] += x[l] * y[l];
        }
    }
    (acc[0] + acc[1]) + (acc[2] + acc[3]) + tail
}

fn mirror_upper(m: &mut [f64], d: usize) {
    for i in 0..d {
        for j in 0..i {
            m[i * d + j] = m[j * d + i];
        }
    }
}

/// The `k` largest eigenvalues of the symmetric `d × d` matrix `a` (row-major) and their
/// unit eigenvectors, largest first. Eigenvalues below 0 (rounding) are clamped to 0.
fn top_eigenpairs(a: &[f64], d: usize, k: usize) -> Result<(Vec<f64>, Vec<Vec<f64>>), PcaError> {
    // zero-variance columns (fingerprint bits never or always set) have zero rows and
    // columns: solve on the others and put zeros back
    let active: Vec<usize> = (0..d).filter(|&i| a[i * d + i] > 0.0).collect();
    if active.len() < d && active.len() >= k {
        let m = active.len();
        let reduced: Vec<f64> = active
            .iter()
            .flat_map(|&i| active.iter().map(move |&j| a[i * d + j]))
            .collect();
        let (values, vectors) = top_eigenpairs(&reduced, m, k)?;
        let vectors = vectors
            .into_iter()
            .map(|v| {
                let mut full = vec![0.0; d];
                for (&i, x) in active.iter().zip(v) {
                    full[i] = x;
                }
                full
            })
            .collect();
        return Ok((values, vectors));
    }
    let (values, vectors) = if d <= JACOBI_LIMIT {
        let mut m = a.to_vec();
        jacobi(&mut m, d)
    } else {
        subspace_iteration(a, d, k)?
    };
    let values = values.iter().take(k).map(|v| v.max(0.0)).collect();
    Ok((values, vectors.into_iter().take(k).collect()))
}

/// Every eigenpair of the symmetric `n × n` matrix `m` (destroyed), by cyclic Jacobi
/// rotations; eigenvalues descending, eigenvectors as rows.
fn jacobi(m: &mut [f64], n: usize) -> (Vec<f64>, Vec<Vec<f64>>) {
    let mut v = vec![0.0; n * n];
    for i in 0..n {
        v[i * n + i] = 1.0;
    }
    let norm: f64 = m.iter().map(|x| x * x).sum::<f64>().sqrt();
    for _sweep in 0..100 {
        let off: f64 = (0..n)
            .flat_map(|i| (0..n).filter(move |&j| j != i).map(move |j| (i, j)))
            .map(|(i, j)| m[i * n + j] * m[i * n + j])
            .sum::<f64>()
            .sqrt();
        if off <= 1e-15 * norm || off == 0.0 {
            break;
        }
        for p in 0..n {
            for q in p + 1..n {
                let apq = m[p * n + q];
                if apq == 0.0 {
                    continue;
                }
                let (app, aqq) = (m[p * n + p], m[q * n + q]);
                let theta = (aqq - app) / (2.0 * apq);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let t = if theta == 0.0 { 1.0 } else { t };
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                for r in 0..n {
                    let (mrp, mrq) = (m[r * n + p], m[r * n + q]);
                    m[r * n + p] = c * mrp - s * mrq;
                    m[r * n + q] = s * mrp + c * mrq;
                }
                for r in 0..n {
                    let (mpr, mqr) = (m[p * n + r], m[q * n + r]);
                    m[p * n + r] = c * mpr - s * mqr;
                    m[q * n + r] = s * mpr + c * mqr;
                }
                for r in 0..n {
                    let (vrp, vrq) = (v[r * n + p], v[r * n + q]);
                    v[r * n + p] = c * vrp - s * vrq;
                    v[r * n + q] = s * vrp + c * vrq;
                }
            }
        }
    }
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&x, &y| m[y * n + y].total_cmp(&m[x * n + x]));
    let values = order.iter().map(|&i| m[i * n + i]).collect();
    let vectors = order
        .iter()
        .map(|&i| (0..n).map(|r| v[r * n + i]).collect())
        .collect();
    (values, vectors)
}

/// Top `k` eigenpairs of the symmetric `d × d` matrix `a` by block subspace iteration
/// with Rayleigh–Ritz.
fn subspace_iteration(
    a: &[f64],
    d: usize,
    k: usize,
) -> Result<(Vec<f64>, Vec<Vec<f64>>), PcaError> {
    let p = d.min((2 * k).max(k + 12));
    // the block as p column vectors of length d
    let mut seed = 0x2545_F491_4F6C_DD1Du64;
    let mut random = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        (seed >> 11) as f64 / (1u64 << 53) as f64 - 0.5
    };
    let mut q: Vec<Vec<f64>> = (0..p).map(|_| (0..d).map(|_| random()).collect()).collect();
    orthonormalize(&mut q, &mut random);
    let scale = a
        .iter()
        .map(|x| x.abs())
        .fold(0.0, f64::max)
        .max(f64::MIN_POSITIVE);
    for _ in 0..MAX_ITERATIONS {
        let z = multiply(a, d, &q);
        // Rayleigh–Ritz on span(q): H = Qᵀ A Q
        let mut h = vec![0.0; p * p];
        for i in 0..p {
            for j in i..p {
                let x = dot(&q[i], &z[j]);
                h[i * p + j] = x;
                h[j * p + i] = x;
            }
        }
        let (theta, w) = jacobi(&mut h, p);
        // Ritz vectors V = Q W and A V = Z W
        let combine = |basis: &[Vec<f64>], coeffs: &[f64]| -> Vec<f64> {
            let mut out = vec![0.0; d];
            for (b, &c) in basis.iter().zip(coeffs) {
                out.iter_mut().zip(b).for_each(|(o, x)| *o += c * x);
            }
            out
        };
        let v: Vec<Vec<f64>> = w.par_iter().map(|wi| combine(&q, wi)).collect();
        let av: Vec<Vec<f64>> = w.par_iter().map(|wi| combine(&z, wi)).collect();
        let bound = scale.max(theta[0].abs());
        let converged = (0..k).all(|i| {
            let r: f64 = av[i]
                .iter()
                .zip(&v[i])
                .map(|(x, y)| (x - theta[i] * y).powi(2))
                .sum::<f64>()
                .sqrt();
            r <= TOLERANCE * bound
        });
        if converged {
            return Ok((theta, v));
        }
        q = av;
        orthonormalize(&mut q, &mut random);
    }
    Err(PcaError::NotConverged(MAX_ITERATIONS))
}

/// `A · q_j` for every block vector, as one `d × d` by `d × p` product (ndarray's
/// blocked matrixmultiply kernels).
fn multiply(a: &[f64], d: usize, q: &[Vec<f64>]) -> Vec<Vec<f64>> {
    let a = ArrayView2::from_shape((d, d), a).expect("the matrix holds d × d values");
    let block = Array2::from_shape_fn((d, q.len()), |(i, j)| q[j][i]);
    let z = a.dot(&block);
    z.columns().into_iter().map(|c| c.to_vec()).collect()
}

/// Modified Gram–Schmidt, twice for stability; a vector that vanishes (the matrix has
/// lower rank than the block) is replaced by a fresh random one.
fn orthonormalize(q: &mut [Vec<f64>], random: &mut impl FnMut() -> f64) {
    for i in 0..q.len() {
        for _attempt in 0..8 {
            let before = dot(&q[i], &q[i]).sqrt();
            for _pass in 0..2 {
                for j in 0..i {
                    let (done, rest) = q.split_at_mut(i);
                    let proj = dot(&done[j], &rest[0]);
                    rest[0]
                        .iter_mut()
                        .zip(&done[j])
                        .for_each(|(x, y)| *x -= proj * y);
                }
            }
            let norm = dot(&q[i], &q[i]).sqrt();
            if norm > 1e-10 * before && norm > 0.0 {
                q[i].iter_mut().for_each(|x| *x /= norm);
                break;
            }
            q[i].iter_mut().for_each(|x| *x = random());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn small_matrix_matches_sklearn() {
        // sklearn.decomposition.PCA(2).fit(X) for this X
        let x = array![
            [2.5, 2.4, 1.0],
            [0.5, 0.7, 0.0],
            [2.2, 2.9, 1.5],
            [1.9, 2.2, 0.5],
            [3.1, 3.0, 2.0],
            [2.3, 2.7, 1.0],
        ];
        let p = pca(
            x.view(),
            &PcaOptions {
                components: 2,
                standardize: false,
            },
        )
        .unwrap();
        let total: f64 = (0..3)
            .map(|j| {
                let c = x.column(j);
                let m = c.mean().unwrap_or(0.0);
                c.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / 5.0
            })
            .sum();
        assert!((p.total_variance - total).abs() < 1e-12);
        let sum: f64 = p.explained_variance.iter().sum();
        assert!(sum <= total + 1e-12 && p.explained_variance[0] >= p.explained_variance[1]);
        // coordinates are centred data times orthonormal axes
        for r in 0..6 {
            for c in 0..2 {
                let expected: f64 = (0..3)
                    .map(|j| (x[[r, j]] - p.mean[j]) * p.components[[c, j]])
                    .sum();
                assert!((p.coordinates[[r, c]] - expected).abs() < 1e-12);
            }
        }
        assert!(matches!(
            pca(
                x.view(),
                &PcaOptions {
                    components: 4,
                    standardize: false
                }
            ),
            Err(PcaError::InvalidComponents {
                requested: 4,
                max: 3
            })
        ));
    }

    #[test]
    fn subspace_iteration_agrees_with_jacobi() {
        let d = 90;
        let mut s = 42u64;
        let mut next = || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s >> 11) as f64 / (1u64 << 53) as f64
        };
        let b: Vec<f64> = (0..d * d).map(|_| next()).collect();
        let mut a = vec![0.0; d * d];
        for i in 0..d {
            for j in 0..d {
                a[i * d + j] = (0..d).map(|l| b[i * d + l] * b[j * d + l]).sum();
            }
        }
        let (tv, tvec) = subspace_iteration(&a, d, 3).unwrap();
        let (jv, jvec) = jacobi(&mut a.clone(), d);
        for i in 0..3 {
            assert!(
                (tv[i] - jv[i]).abs() < 1e-9 * jv[0],
                "{i}: {} {}",
                tv[i],
                jv[i]
            );
            let cos = dot(&tvec[i], &jvec[i]).abs();
            assert!((cos - 1.0).abs() < 1e-10, "{i}: {cos}");
        }
    }
}
