//! Descriptive statistics of numeric columns (descriptors, user columns), defined as
//! pandas, numpy and scipy define them so results can be checked against them:
//! quantiles by linear interpolation (numpy's default), sample standard deviation
//! (`ddof = 1`, as pandas), Pearson correlation on pairwise complete observations
//! (pandas `DataFrame.corr()`), Welch's t-test (`scipy.stats.ttest_ind(equal_var=False)`).
//!
//! Missing values are NaN: they are skipped and counted, never an error. Infinite values
//! are values. Indices in results are positions in the slice given.

/// Why a statistic cannot be computed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum StatsError {
    /// A group of a t-test has fewer than two non-NaN values.
    #[error("group {group} has {count} values; a t-test needs at least 2 per group")]
    TooFewValues {
        /// `"a"` or `"b"`.
        group: &'static str,
        /// Its non-NaN values.
        count: usize,
    },
    /// Both groups of a t-test are constant: the statistic is undefined.
    #[error("both groups have zero variance")]
    ZeroVariance,
}

/// Summary of one numeric column.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Summary {
    /// Non-NaN values.
    pub count: usize,
    /// NaN values skipped.
    pub missing: usize,
    /// Arithmetic mean (NaN when `count == 0`).
    pub mean: f64,
    /// Median (NaN when `count == 0`).
    pub median: f64,
    /// Sample standard deviation, `ddof = 1` (NaN when `count < 2`).
    pub std: f64,
    /// First quartile, linear interpolation.
    pub q1: f64,
    /// Third quartile, linear interpolation.
    pub q3: f64,
    /// `q3 - q1`.
    pub iqr: f64,
    /// Smallest value.
    pub min: f64,
    /// Largest value.
    pub max: f64,
}

/// The non-NaN values, sorted ascending.
fn sorted_values(values: &[f64]) -> Vec<f64> {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| !x.is_nan()).collect();
    v.sort_unstable_by(f64::total_cmp);
    v
}

/// numpy's `lerp`: exact at both ends and monotone.
fn lerp(a: f64, b: f64, t: f64) -> f64 {
    let diff = b - a;
    if t >= 0.5 {
        b - diff * (1.0 - t)
    } else {
        a + diff * t
    }
}

/// Quantile `q` in `[0, 1]` of sorted values by linear interpolation (numpy's default,
/// `method="linear"`); NaN for no values.
pub fn quantile_sorted(sorted: &[f64], q: f64) -> f64 {
    let n = sorted.len();
    if n == 0 {
        return f64::NAN;
    }
    let h = (n - 1) as f64 * q.clamp(0.0, 1.0);
    let lo = h.floor();
    let i = lo as usize;
    if i + 1 >= n {
        return sorted[n - 1];
    }
    lerp(sorted[i], sorted[i + 1], h - lo)
}

fn mean_of(values: &[f64]) -> f64 {
    values.iter().sum::<f64>() / values.len() as f64
}

/// Sample variance (`ddof = 1`) by two passes; NaN below two values.
fn variance_of(values: &[f64], mean: f64) -> f64 {
    if values.len() < 2 {
        return f64::NAN;
    }
    values.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>() / (values.len() - 1) as f64
}

/// Count, mean, median, sample standard deviation, quartiles, IQR, min and max of the
/// non-NaN values (as pandas `Series.describe()`), with the NaNs counted in `missing`.
pub fn describe(values: &[f64]) -> Summary {
    let sorted = sorted_values(values);
    let count = sorted.len();
    let mean = if count == 0 {
        f64::NAN
    } else {
        mean_of(&sorted)
    };
    let q1 = quantile_sorted(&sorted, 0.25);
    let q3 = quantile_sorted(&sorted, 0.75);
    Summary {
        count,
        missing: values.len() - count,
        mean,
        median: quantile_sorted(&sorted, 0.5),
        std: variance_of(&sorted, mean).sqrt(),
        q1,
        q3,
        iqr: q3 - q1,
        min: sorted.first().copied().unwrap_or(f64::NAN),
        max: sorted.last().copied().unwrap_or(f64::NAN),
    }
}

/// Bins of a [`histogram`].
pub const HISTOGRAM_BINS: usize = 20;

/// Counts of the non-NaN values in [`HISTOGRAM_BINS`] equal-width bins spanning
/// `[min, max]` of those values: with `w = (max − min) / 20`, bin `i` holds
/// `[min + i·w, min + (i+1)·w)` and the last bin is closed at `max`. A value is
/// placed by comparing it with the bin edges (as numpy's `histogram`), so a value
/// on an edge goes to the bin the edge opens. When `max == min` every value is in
/// one bin (one element); with no values, or an infinite one (no finite range),
/// the result is empty.
pub fn histogram(values: &[f64]) -> Vec<u64> {
    let sorted = sorted_values(values);
    let (Some(&min), Some(&max)) = (sorted.first(), sorted.last()) else {
        return Vec::new();
    };
    if !(min.is_finite() && max.is_finite()) {
        return Vec::new();
    }
    if min == max {
        return vec![sorted.len() as u64];
    }
    let width = (max - min) / HISTOGRAM_BINS as f64;
    let edge = |i: usize| {
        if i == HISTOGRAM_BINS {
            max
        } else {
            min + i as f64 * width
        }
    };
    let mut counts = vec![0u64; HISTOGRAM_BINS];
    for &x in &sorted {
        let mut bin = (((x - min) / width) as usize).min(HISTOGRAM_BINS - 1);
        // The division may land one bin off near an edge; the edges decide.
        if bin > 0 && x < edge(bin) {
            bin -= 1;
        } else if bin + 1 < HISTOGRAM_BINS && x >= edge(bin + 1) {
            bin += 1;
        }
        counts[bin] += 1;
    }
    counts
}

/// Pearson correlation matrix of several columns of equal length, on pairwise complete
/// observations (rows where both columns are non-NaN), as pandas `DataFrame.corr()`.
/// Row-major `k × k`; an entry is NaN when the pair has no complete row or either column
/// is constant over the pair's rows (so a constant column has NaN on the diagonal too).
/// Columns of different lengths are compared over their common prefix.
pub fn correlation_matrix(columns: &[&[f64]]) -> Vec<f64> {
    let k = columns.len();
    let mut out = vec![f64::NAN; k * k];
    for a in 0..k {
        for b in a..k {
            let r = pearson(columns[a], columns[b]);
            out[a * k + b] = r;
            out[b * k + a] = r;
        }
    }
    out
}

/// Pearson correlation of two columns over rows where both are non-NaN; NaN when
/// undefined (no complete row, or zero variance).
pub fn pearson(x: &[f64], y: &[f64]) -> f64 {
    let (xs, ys): (Vec<f64>, Vec<f64>) = x
        .iter()
        .zip(y)
        .filter(|(a, b)| !a.is_nan() && !b.is_nan())
        .map(|(a, b)| (*a, *b))
        .unzip();
    if xs.is_empty() {
        return f64::NAN;
    }
    let (mx, my) = (mean_of(&xs), mean_of(&ys));
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (a, b) in xs.iter().zip(&ys) {
        let (dx, dy) = (a - mx, b - my);
        sxy += dx * dy;
        sxx += dx * dx;
        syy += dy * dy;
    }
    let divisor = (sxx * syy).sqrt();
    if divisor == 0.0 {
        f64::NAN
    } else {
        sxy / divisor
    }
}

/// A flagged value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Outlier {
    /// Position in the input slice.
    pub index: usize,
    /// The value.
    pub value: f64,
}

/// Values outside the Tukey fences.
#[derive(Debug, Clone, PartialEq)]
pub struct IqrOutliers {
    /// `q1 - 1.5 IQR`.
    pub lower_fence: f64,
    /// `q3 + 1.5 IQR`.
    pub upper_fence: f64,
    /// Values strictly below the lower or above the upper fence, in input order.
    pub outliers: Vec<Outlier>,
}

/// Values outside `[q1 − 1.5·IQR, q3 + 1.5·IQR]` (quartiles as in [`describe`]); NaNs
/// are skipped. With no values both fences are NaN and nothing is flagged.
pub fn iqr_outliers(values: &[f64]) -> IqrOutliers {
    let sorted = sorted_values(values);
    let q1 = quantile_sorted(&sorted, 0.25);
    let q3 = quantile_sorted(&sorted, 0.75);
    let iqr = q3 - q1;
    let (lower_fence, upper_fence) = (q1 - 1.5 * iqr, q3 + 1.5 * iqr);
    let outliers = values
        .iter()
        .enumerate()
        .filter(|(_, &v)| v < lower_fence || v > upper_fence)
        .map(|(index, &value)| Outlier { index, value })
        .collect();
    IqrOutliers {
        lower_fence,
        upper_fence,
        outliers,
    }
}

/// Modified z-scores above this magnitude are anomalies (Iglewicz and Hoaglin, 1993).
pub const ROBUST_Z_CUTOFF: f64 = 3.5;

/// How the robust z-scores were scaled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RobustScale {
    /// `z = 0.6745 (x − median) / MAD`, MAD the median absolute deviation.
    Mad,
    /// MAD was 0 (over half the values equal the median):
    /// `z = (x − median) / (1.253314 · MeanAD)`, MeanAD the mean absolute deviation
    /// from the median (1.253314 ≈ √(π/2) makes it consistent with σ for normal data).
    MeanAbsoluteDeviation,
    /// Every value equals the median: every score is 0, nothing is anomalous.
    Constant,
}

/// A value with its robust z-score.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Anomaly {
    /// Position in the input slice.
    pub index: usize,
    /// The value.
    pub value: f64,
    /// Its modified z-score.
    pub z: f64,
}

/// Robust z-score anomalies of a column.
#[derive(Debug, Clone, PartialEq)]
pub struct RobustZ {
    /// Median of the non-NaN values.
    pub median: f64,
    /// Median absolute deviation from the median (unscaled).
    pub mad: f64,
    /// Which scale the scores use.
    pub scale: RobustScale,
    /// Values with `|z| > 3.5`, in input order.
    pub anomalies: Vec<Anomaly>,
}

/// Iglewicz–Hoaglin modified z-scores `0.6745 (x − median) / MAD`, flagging `|z| > 3.5`.
/// When MAD is 0 the mean absolute deviation stands in (see [`RobustScale`]); when that
/// is 0 too, nothing is flagged. NaNs are skipped.
pub fn robust_z_anomalies(values: &[f64]) -> RobustZ {
    let sorted = sorted_values(values);
    let median = quantile_sorted(&sorted, 0.5);
    let deviations: Vec<f64> = sorted_values(
        &sorted
            .iter()
            .map(|x| (x - median).abs())
            .collect::<Vec<_>>(),
    );
    let mad = quantile_sorted(&deviations, 0.5);
    let mean_ad = if deviations.is_empty() {
        0.0
    } else {
        mean_of(&deviations)
    };
    let (scale, factor) = if mad > 0.0 {
        (RobustScale::Mad, 0.6745 / mad)
    } else if mean_ad > 0.0 {
        (
            RobustScale::MeanAbsoluteDeviation,
            1.0 / (1.253314 * mean_ad),
        )
    } else {
        (RobustScale::Constant, 0.0)
    };
    let anomalies = if scale == RobustScale::Constant {
        Vec::new()
    } else {
        values
            .iter()
            .enumerate()
            .filter(|(_, v)| !v.is_nan())
            .map(|(index, &value)| Anomaly {
                index,
                value,
                z: factor * (value - median),
            })
            .filter(|a| a.z.abs() > ROBUST_Z_CUTOFF)
            .collect()
    };
    RobustZ {
        median,
        mad,
        scale,
        anomalies,
    }
}

/// Welch's unequal-variance t-test of two groups.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WelchTest {
    /// `(mean_a − mean_b) / sqrt(var_a / n_a + var_b / n_b)`.
    pub t: f64,
    /// Welch–Satterthwaite degrees of freedom.
    pub df: f64,
    /// Two-sided p-value from Student's t with `df` degrees of freedom.
    pub p_value: f64,
    /// Mean of group a.
    pub mean_a: f64,
    /// Mean of group b.
    pub mean_b: f64,
    /// Non-NaN values in group a.
    pub n_a: usize,
    /// Non-NaN values in group b.
    pub n_b: usize,
}

/// Welch's t-test of group `a` against group `b`, as
/// `scipy.stats.ttest_ind(a, b, equal_var=False)` on the non-NaN values (NaNs skipped).
pub fn welch_t_test(a: &[f64], b: &[f64]) -> Result<WelchTest, StatsError> {
    let xa: Vec<f64> = a.iter().copied().filter(|x| !x.is_nan()).collect();
    let xb: Vec<f64> = b.iter().copied().filter(|x| !x.is_nan()).collect();
    for (group, xs) in [("a", &xa), ("b", &xb)] {
        if xs.len() < 2 {
            return Err(StatsError::TooFewValues {
                group,
                count: xs.len(),
            });
        }
    }
    let (ma, mb) = (mean_of(&xa), mean_of(&xb));
    let (na, nb) = (xa.len() as f64, xb.len() as f64);
    let (va, vb) = (variance_of(&xa, ma) / na, variance_of(&xb, mb) / nb);
    let se2 = va + vb;
    if se2 == 0.0 {
        return Err(StatsError::ZeroVariance);
    }
    let t = (ma - mb) / se2.sqrt();
    let df = se2 * se2 / (va * va / (na - 1.0) + vb * vb / (nb - 1.0));
    Ok(WelchTest {
        t,
        df,
        p_value: student_t_two_sided(t, df),
        mean_a: ma,
        mean_b: mb,
        n_a: xa.len(),
        n_b: xb.len(),
    })
}

/// Two-sided tail probability `P(|T| ≥ |t|)` of Student's t with `df` degrees of
/// freedom: `I_{df / (df + t²)}(df / 2, 1 / 2)`.
pub fn student_t_two_sided(t: f64, df: f64) -> f64 {
    if t.is_nan() || df.is_nan() || df <= 0.0 {
        return f64::NAN;
    }
    if t.is_infinite() {
        return 0.0;
    }
    let x = df / (df + t * t);
    regularized_incomplete_beta(df / 2.0, 0.5, x)
}

/// `ln Γ(x)` for `x > 0` (Lanczos, g = 7, nine coefficients; relative error ~1e-15).
pub fn ln_gamma(x: f64) -> f64 {
    const G: f64 = 7.0;
    const COEF: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        // reflection: Γ(x) Γ(1 − x) = π / sin(πx)
        let pi = std::f64::consts::PI;
        return (pi / (pi * x).sin()).abs().ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let mut sum = COEF[0];
    for (i, c) in COEF.iter().enumerate().skip(1) {
        sum += c / (x + i as f64);
    }
    let t = x + G + 0.5;
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + sum.ln()
}

/// The regularized incomplete beta function `I_x(a, b)` for `a, b > 0`, `x ∈ [0, 1]`,
/// by its continued fraction (modified Lentz), using the symmetry
/// `I_x(a, b) = 1 − I_{1−x}(b, a)` where the fraction converges faster.
pub fn regularized_incomplete_beta(a: f64, b: f64, x: f64) -> f64 {
    if x.is_nan() || a <= 0.0 || b <= 0.0 || !(0.0..=1.0).contains(&x) {
        return f64::NAN;
    }
    if x == 0.0 || x == 1.0 {
        return x;
    }
    let ln_front = ln_gamma(a + b) - ln_gamma(a) - ln_gamma(b) + a * x.ln() + b * (1.0 - x).ln();
    let front = ln_front.exp();
    if x < (a + 1.0) / (a + b + 2.0) {
        front * beta_continued_fraction(a, b, x) / a
    } else {
        1.0 - front * beta_continued_fraction(b, a, 1.0 - x) / b
    }
}

fn beta_continued_fraction(a: f64, b: f64, x: f64) -> f64 {
    const TINY: f64 = 1e-300;
    const EPS: f64 = 1e-16;
    let (qab, qap, qam) = (a + b, a + 1.0, a - 1.0);
    let mut c = 1.0;
    let mut d = 1.0 - qab * x / qap;
    if d.abs() < TINY {
        d = TINY;
    }
    d = 1.0 / d;
    let mut h = d;
    for m in 1..100_000 {
        let m = f64::from(m);
        let m2 = 2.0 * m;
        let aa = m * (b - m) * x / ((qam + m2) * (a + m2));
        d = 1.0 + aa * d;
        if d.abs() < TINY {
            d = TINY;
        }
        c = 1.0 + aa / c;
        if c.abs() < TINY {
            c = TINY;
        }
        d = 1.0 / d;
        h *= d * c;
        let aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
        d = 1.0 + aa * d;
        if d.abs() < TINY {
            d = TINY;
        }
        c = 1.0 + aa / c;
        if c.abs() < TINY {
            c = TINY;
        }
        d = 1.0 / d;
        let del = d * c;
        h *= del;
        if (del - 1.0).abs() < EPS {
            break;
        }
    }
    h
}

/// Shannon entropy of a distribution of group sizes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Entropy {
    /// `H = −Σ p ln p` in nats (natural logarithm), over groups with a non-zero count.
    pub entropy: f64,
    /// `H / ln(groups)`, in `[0, 1]`: 1 when every group is the same size; 0 for a
    /// single group (and for no group).
    pub scaled: f64,
    /// Groups with a non-zero count.
    pub groups: usize,
}

/// Shannon entropy (natural log) and scaled entropy of group counts (e.g. molecules per
/// scaffold). Zero counts are ignored; no group gives entropy 0.
pub fn shannon_entropy(counts: &[u64]) -> Entropy {
    let total: f64 = counts.iter().map(|&c| c as f64).sum();
    let groups = counts.iter().filter(|&&c| c > 0).count();
    let entropy = if total > 0.0 {
        -counts
            .iter()
            .filter(|&&c| c > 0)
            .map(|&c| {
                let p = c as f64 / total;
                p * p.ln()
            })
            .sum::<f64>()
    } else {
        0.0
    };
    let scaled = if groups > 1 {
        entropy / (groups as f64).ln()
    } else {
        0.0
    };
    Entropy {
        entropy: entropy.max(0.0),
        scaled,
        groups,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol * b.abs().max(1.0)
    }

    #[test]
    fn describe_matches_pandas() {
        // pandas.Series([3, 1, nan, 4, 1, 5, 9, 2, 6]).describe()
        let s = describe(&[3.0, 1.0, f64::NAN, 4.0, 1.0, 5.0, 9.0, 2.0, 6.0]);
        assert_eq!((s.count, s.missing), (8, 1));
        assert_eq!(s.mean, 3.875);
        assert!(close(s.std, 2.748_376_143_938_713, 1e-12));
        assert_eq!(
            (s.min, s.q1, s.median, s.q3, s.max),
            (1.0, 1.75, 3.5, 5.25, 9.0)
        );
        assert_eq!(s.iqr, 3.5);
        let empty = describe(&[f64::NAN]);
        assert_eq!((empty.count, empty.missing), (0, 1));
        assert!(empty.mean.is_nan() && empty.q1.is_nan() && empty.std.is_nan());
        assert!(describe(&[2.0]).std.is_nan());
    }

    #[test]
    fn histogram_bins_by_hand() {
        // 0..=20: w = 1, the last bin [19, 20] closed.
        let mut counts = vec![1; 19];
        counts.push(2);
        let mut values: Vec<f64> = (0..=20).map(f64::from).collect();
        values.push(f64::NAN);
        assert_eq!(histogram(&values), counts);
        // min 0, max 5: w = 0.25 (exact), so values on edges open their bin.
        let h = histogram(&[0.0, 0.25, 0.5, 1.2, 2.5, 4.75, 4.9, 5.0, f64::NAN]);
        let mut want = vec![0; HISTOGRAM_BINS];
        for (bin, count) in [(0, 1), (1, 1), (2, 1), (4, 1), (10, 1), (19, 3)] {
            want[bin] = count;
        }
        assert_eq!(h, want);
        // Negative values: [-10, 10], w = 1.
        let h = histogram(&[-10.0, -0.5, 0.0, 3.99, 10.0]);
        let mut want = vec![0; HISTOGRAM_BINS];
        for (bin, count) in [(0, 1), (9, 1), (10, 1), (13, 1), (19, 1)] {
            want[bin] = count;
        }
        assert_eq!(h, want);
        // One distinct value: one bin; no values: none.
        assert_eq!(histogram(&[2.0, 2.0, f64::NAN]), [2]);
        assert!(histogram(&[f64::NAN]).is_empty());
        assert!(histogram(&[1.0, f64::INFINITY]).is_empty());
        // Every present value is counted once.
        let many: Vec<f64> = (0..1000).map(|i| (f64::from(i) * 0.37).sin()).collect();
        assert_eq!(histogram(&many).iter().sum::<u64>(), 1000);
    }

    #[test]
    fn correlation_uses_pairwise_complete_rows() {
        let x = [1.0, 2.0, 3.0, 4.0, f64::NAN];
        let y = [2.0, 4.0, 6.0, f64::NAN, 1.0];
        let c = [5.0, 5.0, 5.0, 5.0, 5.0];
        let m = correlation_matrix(&[&x, &y, &c]);
        assert!(close(m[1], 1.0, 1e-15) && close(m[3], 1.0, 1e-15));
        assert!(m[2].is_nan() && m[8].is_nan());
        assert!(close(
            pearson(&[1.0, 2.0, 3.0], &[3.0, 1.0, 2.0]),
            -0.5,
            1e-15
        ));
    }

    #[test]
    fn iqr_and_robust_z_flag_the_extremes() {
        let v = [1.0, 2.0, 2.0, 3.0, 2.5, 40.0, f64::NAN, -30.0];
        let o = iqr_outliers(&v);
        let flagged: Vec<usize> = o.outliers.iter().map(|x| x.index).collect();
        assert_eq!(flagged, vec![5, 7]);
        let z = robust_z_anomalies(&v);
        assert_eq!(z.scale, RobustScale::Mad);
        assert_eq!(z.median, 2.0);
        let flagged: Vec<usize> = z.anomalies.iter().map(|x| x.index).collect();
        assert_eq!(flagged, vec![5, 7]);
        // MAD 0: the mean absolute deviation stands in
        let z = robust_z_anomalies(&[1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 9.0]);
        assert_eq!((z.mad, z.scale), (0.0, RobustScale::MeanAbsoluteDeviation));
        assert_eq!(z.anomalies.len(), 1);
        let z = robust_z_anomalies(&[4.0; 5]);
        assert_eq!(z.scale, RobustScale::Constant);
        assert!(z.anomalies.is_empty());
    }

    #[test]
    fn welch_matches_scipy() {
        // scipy.stats.ttest_ind([1,2,3,4,5.5], [2,4,6,8,10,12.5], equal_var=False)
        let w = welch_t_test(
            &[1.0, 2.0, 3.0, 4.0, 5.5],
            &[2.0, 4.0, 6.0, 8.0, 10.0, 12.5],
        )
        .unwrap();
        assert!(close(w.t, -2.256_223_507_268_092_3, 1e-12), "{}", w.t);
        assert!(close(w.df, 7.196_661_596_667_393, 1e-12), "{}", w.df);
        assert!(
            close(w.p_value, 0.057_643_492_809_429_52, 1e-9),
            "{}",
            w.p_value
        );
        assert!(matches!(
            welch_t_test(&[1.0], &[1.0, 2.0]),
            Err(StatsError::TooFewValues {
                group: "a",
                count: 1
            })
        ));
        assert_eq!(
            welch_t_test(&[1.0, 1.0], &[2.0, 2.0]),
            Err(StatsError::ZeroVariance)
        );
    }

    #[test]
    fn incomplete_beta_known_values() {
        // scipy.special.betainc
        assert!(close(
            regularized_incomplete_beta(2.0, 3.0, 0.4),
            0.5248,
            1e-13
        ));
        assert!(close(
            regularized_incomplete_beta(0.5, 0.5, 0.25),
            1.0 / 3.0,
            1e-13
        ));
        assert!(close(ln_gamma(10.0), 362_880f64.ln(), 1e-14));
        assert!(close(
            ln_gamma(0.5),
            std::f64::consts::PI.sqrt().ln(),
            1e-14
        ));
    }

    #[test]
    fn entropy_in_nats() {
        let e = shannon_entropy(&[5, 5, 0, 5, 5]);
        assert!(close(e.entropy, 4f64.ln(), 1e-15));
        assert!(close(e.scaled, 1.0, 1e-15));
        assert_eq!(e.groups, 4);
        assert_eq!(shannon_entropy(&[7]).scaled, 0.0);
        assert_eq!(shannon_entropy(&[]).entropy, 0.0);
    }
}
