//! The analysis algorithms against reference values from RDKit, numpy, pandas, scipy and
//! scikit-learn (`scripts/analysis_reference.py`) on MOSES molecules: search, matrices
//! and neighbours identical to brute force; statistics within 1e-9 (relative); PCA
//! within 1e-6, coordinates up to the sign of each component.
#![allow(clippy::unwrap_used)]

use molbatch_analysis::groups::group_by_key;
use molbatch_analysis::pca::{pca, pca_fingerprints, PcaOptions};
use molbatch_analysis::similarity::{
    dense_similarity_matrix, nearest_neighbors, similarity_matrix, sparse_similarity_matrix,
    Fingerprint, FingerprintIndex, Hit, SearchParams, SimilarityMatrix, Threads,
};
use molbatch_analysis::stats::{
    correlation_matrix, describe, iqr_outliers, robust_z_anomalies, shannon_entropy, welch_t_test,
    RobustScale,
};
use ndarray::Array2;
use serde_json::Value;

fn fixture(name: &str) -> Value {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn unpack(hex: &str) -> Fingerprint {
    let mut fp = [0u64; 32];
    for i in (0..hex.len()).step_by(3) {
        let bit = usize::from_str_radix(&hex[i..i + 3], 16).unwrap();
        fp[bit / 64] |= 1 << (bit % 64);
    }
    fp
}

fn fingerprints() -> (Vec<Fingerprint>, Vec<Fingerprint>) {
    let f = fixture("fingerprints.json");
    let list = |key: &str| {
        f[key]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| unpack(v.as_str().unwrap()))
            .collect()
    };
    (list("fingerprints"), list("queries"))
}

fn float(v: &Value) -> f64 {
    v.as_f64().unwrap_or(f64::NAN)
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array().unwrap().iter().map(float).collect()
}

fn hits(v: &Value) -> Vec<Hit> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|h| Hit {
            index: h[0].as_u64().unwrap() as u32,
            similarity: h[1].as_f64().unwrap(),
        })
        .collect()
}

/// `|a - b| <= tol * max(|b|, 1)`, and NaN only against NaN.
fn assert_close(a: f64, b: f64, tol: f64, what: &str) {
    if b.is_nan() {
        assert!(a.is_nan(), "{what}: {a} vs NaN");
    } else {
        assert!(
            (a - b).abs() <= tol * b.abs().max(1.0),
            "{what}: {a} vs {b}"
        );
    }
}

#[test]
fn search_is_identical_to_brute_force() {
    let (fps, queries) = fingerprints();
    let index = FingerprintIndex::from_fingerprints(&fps).unwrap();
    let reference = fixture("similarity.json");
    let cases = reference["queries"].as_array().unwrap();
    assert!(cases.len() > 200);
    for case in cases {
        let params = SearchParams {
            top_k: case["top_k"].as_u64().map(|k| k as usize),
            threshold: case["threshold"].as_f64(),
            threads: Threads::Pool,
        };
        let expected = hits(&case["hits"]);
        let (serial, parallel) = if let Some(m) = case["molecule"].as_u64() {
            let include_self = case["include_self"].as_bool().unwrap();
            let m = m as u32;
            (
                index.search_molecule(m, &params.on_current_thread(), include_self),
                index.search_molecule(m, &params, include_self),
            )
        } else {
            let q = &queries[case["query"].as_u64().unwrap() as usize];
            (
                index.search(q, &params.on_current_thread()),
                index.search(q, &params),
            )
        };
        assert_eq!(serial.unwrap().hits, expected, "{case}");
        assert_eq!(parallel.unwrap().hits, expected, "{case}");
    }
}

#[test]
fn sparse_matrix_and_neighbours_are_identical_to_brute_force() {
    let (fps, _) = fingerprints();
    let index = FingerprintIndex::from_fingerprints(&fps).unwrap();
    let reference = fixture("similarity.json");
    for t in ["0.7", "0.5"] {
        let sparse = sparse_similarity_matrix(&index, t.parse().unwrap()).unwrap();
        let got: Vec<(u32, u32, f64)> = sparse
            .pairs
            .iter()
            .map(|p| (p.i, p.j, p.similarity))
            .collect();
        let expected: Vec<(u32, u32, f64)> = reference["sparse"][t]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                (
                    p[0].as_u64().unwrap() as u32,
                    p[1].as_u64().unwrap() as u32,
                    float(&p[2]),
                )
            })
            .collect();
        assert_eq!(got, expected, "threshold {t}");
        assert!(sparse.compared < (fps.len() * (fps.len() - 1) / 2) as u64);
    }
    // the dense matrix holds the same pairs above 0.5, as f32
    let SimilarityMatrix::Dense(dense) = similarity_matrix(&index, 0.5).unwrap() else {
        panic!("2,000 molecules give a dense matrix");
    };
    assert_eq!(dense, dense_similarity_matrix(&index));
    let mut above = Vec::new();
    for i in 0..fps.len() {
        for j in i + 1..fps.len() {
            let s = dense.get(i, j).unwrap();
            if f64::from(s) >= 0.5 {
                above.push((i as u32, j as u32, s));
            }
        }
    }
    let expected: Vec<(u32, u32, f32)> = reference["sparse"]["0.5"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p[0].as_u64().unwrap() as u32,
                p[1].as_u64().unwrap() as u32,
                float(&p[2]) as f32,
            )
        })
        .collect();
    assert_eq!(above, expected);

    let nearest = nearest_neighbors(&index);
    let expected = reference["nearest"].as_array().unwrap();
    assert_eq!(nearest.len(), expected.len());
    for (i, (got, want)) in nearest.iter().zip(expected).enumerate() {
        assert_eq!(got.index, i as u32);
        assert_eq!(
            got.neighbor,
            want[0].as_u64().unwrap() as u32,
            "molecule {i}"
        );
        assert_eq!(got.similarity, float(&want[1]), "molecule {i}");
        assert_eq!(got.isolation, 1.0 - float(&want[1]));
    }
}

#[test]
fn statistics_match_pandas_and_scipy() {
    let r = fixture("stats.json");
    let names: Vec<&str> = r["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    let columns: Vec<Vec<f64>> = names.iter().map(|c| floats(&r["values"][*c])).collect();
    for (name, values) in names.iter().zip(&columns) {
        let s = describe(values);
        let want = &r["describe"][*name];
        assert_eq!(s.count as f64, float(&want["count"]), "{name}");
        assert_eq!(
            s.missing as u64,
            want["missing"].as_u64().unwrap(),
            "{name}"
        );
        for (got, key) in [
            (s.mean, "mean"),
            (s.std, "std"),
            (s.min, "min"),
            (s.q1, "q1"),
            (s.median, "median"),
            (s.q3, "q3"),
            (s.max, "max"),
            (s.iqr, "iqr"),
        ] {
            assert_close(got, float(&want[key]), 1e-9, &format!("{name} {key}"));
        }

        let o = iqr_outliers(values);
        let want = &r["iqr_outliers"][*name];
        assert_close(o.lower_fence, float(&want["lower_fence"]), 1e-9, name);
        assert_close(o.upper_fence, float(&want["upper_fence"]), 1e-9, name);
        let got: Vec<(usize, f64)> = o.outliers.iter().map(|x| (x.index, x.value)).collect();
        let expected: Vec<(usize, f64)> = want["outliers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| (x[0].as_u64().unwrap() as usize, float(&x[1])))
            .collect();
        assert_eq!(got, expected, "{name} outliers");

        let z = robust_z_anomalies(values);
        let want = &r["robust_z"][*name];
        assert_close(z.median, float(&want["median"]), 1e-12, name);
        assert_close(z.mad, float(&want["mad"]), 1e-12, name);
        let scale = match want["scale"].as_str().unwrap() {
            "mad" => RobustScale::Mad,
            "mean_ad" => RobustScale::MeanAbsoluteDeviation,
            _ => RobustScale::Constant,
        };
        assert_eq!(z.scale, scale, "{name}");
        let expected = want["anomalies"].as_array().unwrap();
        assert_eq!(z.anomalies.len(), expected.len(), "{name} anomalies");
        for (a, e) in z.anomalies.iter().zip(expected) {
            assert_eq!(a.index as u64, e[0].as_u64().unwrap());
            assert_close(a.z, float(&e[2]), 1e-9, name);
        }
    }

    let refs: Vec<&[f64]> = columns.iter().map(Vec::as_slice).collect();
    let corr = correlation_matrix(&refs);
    let want: Vec<f64> = r["corr"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(floats)
        .collect();
    assert_eq!(corr.len(), want.len());
    for (k, (a, b)) in corr.iter().zip(&want).enumerate() {
        assert_close(*a, *b, 1e-9, &format!("corr {k}"));
    }
    // the formal charge of MOSES molecules is constant: its correlations are NaN
    assert!(corr[names.len() * names.len() - 1].is_nan());

    let ring = &columns[names.iter().position(|c| *c == "ring_count").unwrap()];
    for test in r["welch"].as_array().unwrap() {
        let c = names
            .iter()
            .position(|n| *n == test["column"].as_str().unwrap())
            .unwrap();
        let (a, b): (Vec<f64>, Vec<f64>) = if let Some(n) = test["first"].as_u64() {
            let present: Vec<f64> = columns[c].iter().copied().filter(|x| !x.is_nan()).collect();
            let n = n as usize;
            (present[..n].to_vec(), present[n..2 * n + 3].to_vec())
        } else {
            let pick = |many: bool| {
                columns[c]
                    .iter()
                    .zip(ring)
                    .filter(|(_, r)| (**r >= 3.0) == many)
                    .map(|(x, _)| *x)
                    .collect()
            };
            (pick(true), pick(false))
        };
        let w = welch_t_test(&a, &b).unwrap();
        assert_close(w.t, float(&test["t"]), 1e-9, &format!("t {test}"));
        assert_close(w.df, float(&test["df"]), 1e-9, &format!("df {test}"));
        let p = float(&test["p_value"]);
        assert!((w.p_value - p).abs() <= 1e-9 * p, "p {test}: {}", w.p_value);
    }

    let keys: Vec<&str> = r["scaffold_keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k.as_str().unwrap())
        .collect();
    let grouping = group_by_key(keys.iter().enumerate().map(|(i, k)| (i as u32, *k)));
    let expected = r["scaffold_groups"].as_array().unwrap();
    assert_eq!(grouping.unique_count(), expected.len());
    for (g, e) in grouping.groups.iter().zip(expected) {
        let members: Vec<u32> = e
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m.as_u64().unwrap() as u32)
            .collect();
        assert_eq!(g.members, members);
        assert_eq!(g.representative, members[0]);
        assert_eq!(g.key, keys[members[0] as usize]);
    }
    let dist: Vec<(usize, usize)> = r["scaffold_size_distribution"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p[0].as_u64().unwrap() as usize,
                p[1].as_u64().unwrap() as usize,
            )
        })
        .collect();
    assert_eq!(grouping.size_distribution, dist);
    let e = shannon_entropy(&grouping.sizes());
    assert_close(e.entropy, float(&r["scaffold_entropy"]), 1e-12, "entropy");
    assert_close(
        e.scaled,
        float(&r["scaffold_scaled_entropy"]),
        1e-12,
        "scaled",
    );
}

/// Compares a fitted PCA with scikit-learn's, coordinates up to sign per component.
fn assert_pca_matches(got: &molbatch_analysis::pca::Pca, want: &Value, what: &str) {
    let k = want["components"].as_u64().unwrap() as usize;
    assert_eq!(got.explained_variance.len(), k);
    for (a, b) in got
        .explained_variance
        .iter()
        .zip(floats(&want["explained_variance"]))
    {
        assert_close(*a, b, 1e-6, &format!("{what} variance"));
    }
    for (a, b) in got
        .explained_variance_ratio
        .iter()
        .zip(floats(&want["explained_variance_ratio"]))
    {
        assert!((a - b).abs() <= 1e-6, "{what} ratio {a} vs {b}");
    }
    assert_close(
        got.total_variance,
        float(&want["total_variance"]),
        1e-9,
        what,
    );
    let step = want["row_step"].as_u64().unwrap() as usize;
    let rows = want["coordinates"].as_array().unwrap();
    for c in 0..k {
        let expected: Vec<f64> = rows.iter().map(|row| float(&row[c])).collect();
        let mine: Vec<f64> = (0..expected.len())
            .map(|r| got.coordinates[[r * step, c]])
            .collect();
        let same = mine
            .iter()
            .zip(&expected)
            .all(|(a, b)| (a - b).abs() <= 1e-6);
        let flipped = mine
            .iter()
            .zip(&expected)
            .all(|(a, b)| (a + b).abs() <= 1e-6);
        assert!(same || flipped, "{what} component {c}");
    }
}

#[test]
fn pca_matches_scikit_learn() {
    let (fps, _) = fingerprints();
    let r = fixture("pca.json");
    let fitted = pca_fingerprints(&fps, 3).unwrap();
    assert_pca_matches(&fitted, &r["fingerprints"], "fingerprints");
    // the dense path on the same 0/1 matrix agrees (on a subset: n d² work, unoptimised)
    let subset = &fps[..150];
    let dense = Array2::from_shape_fn((subset.len(), 2048), |(i, b)| {
        ((subset[i][b / 64] >> (b % 64)) & 1) as f64
    });
    let from_bits = pca_fingerprints(subset, 3).unwrap();
    let from_dense = pca(
        dense.view(),
        &PcaOptions {
            components: 3,
            standardize: false,
        },
    )
    .unwrap();
    for c in 0..3 {
        assert!((from_bits.explained_variance[c] - from_dense.explained_variance[c]).abs() < 1e-9);
        for r in 0..subset.len() {
            let (a, b) = (
                from_bits.coordinates[[r, c]],
                from_dense.coordinates[[r, c]],
            );
            assert!((a - b).abs() < 1e-9, "row {r} component {c}: {a} vs {b}");
        }
    }

    let stats = fixture("stats.json");
    let names: Vec<&str> = stats["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap())
        .collect();
    let rows: Vec<usize> = r["descriptor_rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap() as usize)
        .collect();
    let columns: Vec<Vec<f64>> = names.iter().map(|c| floats(&stats["values"][*c])).collect();
    let x = Array2::from_shape_fn((rows.len(), names.len()), |(i, j)| columns[j][rows[i]]);
    for want in r["descriptors_standardized"].as_array().unwrap() {
        let k = want["components"].as_u64().unwrap() as usize;
        let fitted = pca(
            x.view(),
            &PcaOptions {
                components: k,
                standardize: true,
            },
        )
        .unwrap();
        assert_pca_matches(&fitted, want, &format!("standardized descriptors k={k}"));
    }
    let fitted = pca(
        x.view(),
        &PcaOptions {
            components: 3,
            standardize: false,
        },
    )
    .unwrap();
    assert_pca_matches(&fitted, &r["descriptors_raw"], "raw descriptors");
}
