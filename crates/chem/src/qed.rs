//! QED, the quantitative estimate of drug-likeness.
//!
//! Bickerton, G. R.; Paolini, G. V.; Besnard, J.; Muresan, S.; Hopkins, A. L.
//! "Quantifying the chemical beauty of drugs", *Nature Chemistry* **4**, 90–98
//! (2012), <https://doi.org/10.1038/nchem.1243>.
//!
//! RDKit's C++ library has no QED, so this module reimplements
//! `rdkit/Chem/QED.py` (RDKit 2022.09.3) exactly: the same asymmetric double
//! sigmoid (ADS) parameters, the same weights and the same floating-point
//! expression order, so results agree with Python to the last bits. The eight
//! property counts it needs (on `Chem.RemoveHs` of the molecule: MolWt,
//! MolLogP, SMARTS acceptor count, NumHBD, TPSA, strict rotatable bonds,
//! rings left after deleting aliphatic-ring atoms, structural-alert count)
//! come from the C++ bridge, where the SMARTS are compiled once. This module
//! is pure arithmetic.

/// The eight QED properties of one molecule, in the paper's order.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct QedProperties {
    /// Molecular weight.
    pub mw: f64,
    /// Wildman–Crippen logP.
    pub alogp: f64,
    /// H-bond acceptors (QED's own SMARTS definition).
    pub hba: f64,
    /// H-bond donors.
    pub hbd: f64,
    /// Topological polar surface area.
    pub psa: f64,
    /// Rotatable bonds (strict definition).
    pub rotb: f64,
    /// Aromatic rings (SSSR after deleting aliphatic ring atoms).
    pub arom: f64,
    /// Number of matching structural alerts.
    pub alerts: f64,
}

impl QedProperties {
    fn as_array(&self) -> [f64; 8] {
        [
            self.mw,
            self.alogp,
            self.hba,
            self.hbd,
            self.psa,
            self.rotb,
            self.arom,
            self.alerts,
        ]
    }
}

/// Parameters of one asymmetric double sigmoid desirability function.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AdsParameter {
    /// Baseline.
    pub a: f64,
    /// Amplitude.
    pub b: f64,
    /// Centre.
    pub c: f64,
    /// Width of the plateau.
    pub d: f64,
    /// Steepness of the rising edge.
    pub e: f64,
    /// Steepness of the falling edge.
    pub f: f64,
    /// Maximum, used to scale the function to 0..1.
    pub dmax: f64,
}

const fn ads_parameter(a: f64, b: f64, c: f64, d: f64, e: f64, f: f64, dmax: f64) -> AdsParameter {
    AdsParameter {
        a,
        b,
        c,
        d,
        e,
        f,
        dmax,
    }
}

/// ADS parameters of MW, ALOGP, HBA, HBD, PSA, ROTB, AROM, ALERTS
/// (`adsParameters` in QED.py).
pub const ADS_PARAMETERS: [AdsParameter; 8] = [
    ads_parameter(
        2.817065973,
        392.5754953,
        290.7489764,
        2.419764353,
        49.22325677,
        65.37051707,
        104.9805561,
    ),
    ads_parameter(
        3.172690585,
        137.8624751,
        2.534937431,
        4.581497897,
        0.822739154,
        0.576295591,
        131.3186604,
    ),
    ads_parameter(
        2.948620388,
        160.4605972,
        3.615294657,
        4.435986202,
        0.290141953,
        1.300669958,
        148.7763046,
    ),
    ads_parameter(
        1.618662227,
        1010.051101,
        0.985094388,
        0.000000001,
        0.713820843,
        0.920922555,
        258.1632616,
    ),
    ads_parameter(
        1.876861559,
        125.2232657,
        62.90773554,
        87.83366614,
        12.01999824,
        28.51324732,
        104.5686167,
    ),
    ads_parameter(
        0.010000000,
        272.4121427,
        2.558379970,
        1.565547684,
        1.271567166,
        2.758063707,
        105.4420403,
    ),
    ads_parameter(
        3.217788970,
        957.7374108,
        2.274627939,
        0.000000001,
        1.317690384,
        0.375760881,
        312.3372610,
    ),
    ads_parameter(
        0.010000000,
        1199.094025,
        -0.09002883,
        0.000000001,
        0.185904477,
        0.875193782,
        417.7253140,
    ),
];

/// Weights of the paper's default QED, QED_w,mo (`WEIGHT_MEAN`).
pub const WEIGHT_MEAN: [f64; 8] = [0.66, 0.46, 0.05, 0.61, 0.06, 0.65, 0.48, 0.95];
/// Weights of QED_w,max (`WEIGHT_MAX`).
pub const WEIGHT_MAX: [f64; 8] = [0.50, 0.25, 0.00, 0.50, 0.00, 0.50, 0.25, 1.00];
/// Unit weights, QED_w,u (`WEIGHT_NONE`).
pub const WEIGHT_NONE: [f64; 8] = [1.0; 8];

/// Desirability of value `x` under `p`, scaled by `p.dmax` (QED.py `ads`).
pub fn ads(x: f64, p: &AdsParameter) -> f64 {
    // Same operation order as Python, for bit-identical results; Python's
    // `-1 * (...)` is an exact negation in IEEE arithmetic.
    let exp1 = 1.0 + (-(x - p.c + p.d / 2.0) / p.e).exp();
    let exp2 = 1.0 + (-(x - p.c - p.d / 2.0) / p.f).exp();
    let dx = p.a + p.b / exp1 * (1.0 - 1.0 / exp2);
    dx / p.dmax
}

/// Weighted geometric mean of the eight desirabilities (QED.py `qed` with
/// explicit weights).
pub fn qed_weighted(props: &QedProperties, weights: &[f64; 8]) -> f64 {
    let mut t = 0.0;
    for ((x, p), w) in props.as_array().iter().zip(&ADS_PARAMETERS).zip(weights) {
        t += w * ads(*x, p).ln();
    }
    let total: f64 = weights.iter().fold(0.0, |acc, w| acc + w);
    (t / total).exp()
}

/// QED with the paper's default mean weights, what `QED.qed(mol)` returns.
pub fn qed(props: &QedProperties) -> f64 {
    qed_weighted(props, &WEIGHT_MEAN)
}

#[cfg(test)]
mod tests {
    use super::*;

    // Reference values printed by /usr/bin/python3 with RDKit 2022.09.3's
    // QED.ads / QED.qed(qedProperties=...).
    #[test]
    fn ads_matches_python() {
        let cases = [
            (300.0, 0, 0.9971725861266866),
            (3.0, 1, 0.9974284625392571),
            (0.0, 7, 0.8424675993303875),
            (2.0, 7, 0.2413938814525898),
            (1200.0, 0, 0.02683763759520777),
        ];
        for (x, i, expected) in cases {
            let got = ads(x, &ADS_PARAMETERS[i]);
            assert!(
                (got - expected).abs() < 1e-12,
                "ads({x}, {i}) = {got}, expected {expected}"
            );
        }
    }

    #[test]
    fn qed_of_paper_example_matches_python() {
        // Properties of N=C(CCSCc1csc(N=C(N)N)n1)NS(N)(=O)=O (famotidine),
        // QED.py doctest: 0.253...
        let props = QedProperties {
            mw: 337.456,
            alogp: -0.5583299999999989,
            hba: 6.0,
            hbd: 5.0,
            psa: 173.32999999999998,
            rotb: 7.0,
            arom: 1.0,
            alerts: 3.0,
        };
        let value = qed(&props);
        assert!((value - 0.2531425773300557).abs() < 1e-12, "qed = {value}");
    }

    #[test]
    fn ideal_molecule_scores_high_and_weights_matter() {
        let props = QedProperties {
            mw: 300.0,
            alogp: 2.5,
            hba: 4.0,
            hbd: 1.0,
            psa: 70.0,
            rotb: 3.0,
            arom: 2.0,
            alerts: 0.0,
        };
        let mean = qed(&props);
        assert!(mean > 0.9 && mean <= 1.0, "qed = {mean}");
        let none = qed_weighted(&props, &WEIGHT_NONE);
        let max = qed_weighted(&props, &WEIGHT_MAX);
        assert!(none > 0.0 && none <= 1.0);
        assert!(max > 0.0 && max <= 1.0);
        assert_ne!(none, mean);
    }

    #[test]
    fn desirability_is_scaled_to_at_most_one() {
        for p in &ADS_PARAMETERS {
            for x in 0..=600 {
                let d = ads(f64::from(x), p);
                assert!(d > 0.0 && d <= 1.0 + 1e-9, "ads({x}) = {d} for {p:?}");
            }
        }
    }
}
