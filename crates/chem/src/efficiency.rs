//! Ligand-efficiency metrics of a pActivity (−log10 molar) and the descriptors of the
//! standardised molecule, each with its published definition. Pure arithmetic: a metric whose
//! denominator is zero (no heavy atoms, no polar surface, no N or O atom) is `None`, never an
//! infinity.

use crate::Descriptors;

/// 2.303·R·T in kcal/mol at 300 K, rounded as in the LE literature: it turns a pActivity into
/// a binding free energy (−ΔG ≈ 1.37 · pKd).
pub const KCAL_PER_LOG_UNIT: f64 = 1.37;

/// The ligand-efficiency metrics of one activity of one molecule.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Efficiency {
    /// Ligand efficiency, 1.37 · pActivity / heavy atoms, kcal/mol per heavy atom
    /// (Hopkins, Groom & Alex, *Drug Discov. Today* 2004, 9, 430; after Kuntz et al.,
    /// *PNAS* 1999, 96, 9997).
    pub le: Option<f64>,
    /// Lipophilic ligand efficiency, pActivity − logP (Leeson & Springthorpe,
    /// *Nat. Rev. Drug Discov.* 2007, 6, 881), with Wildman–Crippen logP.
    pub lle: f64,
    /// Binding efficiency index, pActivity / molecular weight in kDa (Abad-Zapatero & Metz,
    /// *Drug Discov. Today* 2005, 10, 464).
    pub bei: Option<f64>,
    /// Surface efficiency index, pActivity / (TPSA / 100 Å²) (Abad-Zapatero & Metz 2005).
    pub sei: Option<f64>,
    /// pActivity / number of N and O atoms (Abad-Zapatero et al., *Drug Discov. Today* 2010,
    /// 15, 804).
    pub nsei: Option<f64>,
    /// pActivity + log10(heavy atoms), i.e. −log10(K / heavy atoms) (Abad-Zapatero et al.
    /// 2010).
    pub nbei: Option<f64>,
    /// Distance of (SEI, BEI) from the origin of the efficiency plane, √(SEI² + BEI²)
    /// (Abad-Zapatero & Metz 2005; Abad-Zapatero, *Expert Opin. Drug Discov.* 2007, 2, 469).
    pub modulus: Option<f64>,
    /// Angle of (SEI, BEI) in the efficiency plane, atan2(BEI, SEI) in degrees (SEI on the
    /// horizontal axis).
    pub angle_degrees: Option<f64>,
}

/// The metrics of `p_activity` for a molecule with descriptors `d`.
///
/// ```
/// use molbatch_chem::efficiency::efficiency;
/// # let d = molbatch_chem::Descriptors { mol_wt: 250.0, exact_mol_wt: 250.0, logp: 2.0,
/// #     tpsa: 50.0, hbd: 1, hba: 3, rotatable_bonds: 2, ring_count: 2, aromatic_rings: 1,
/// #     fraction_csp3: 0.2, heavy_atoms: 18, no_count: 4, formal_charge: 0, qed: 0.7 };
/// let e = efficiency(8.0, &d);
/// assert_eq!(e.lle, 6.0);
/// assert_eq!(e.bei, Some(32.0));
/// assert_eq!(e.sei, Some(16.0));
/// ```
pub fn efficiency(p_activity: f64, d: &Descriptors) -> Efficiency {
    let ratio = |denominator: f64| (denominator > 0.0).then(|| p_activity / denominator);
    let heavy = f64::from(d.heavy_atoms);
    let bei = ratio(d.mol_wt / 1000.0);
    let sei = ratio(d.tpsa / 100.0);
    let (modulus, angle_degrees) = match (sei, bei) {
        (Some(s), Some(b)) => (Some(s.hypot(b)), Some(b.atan2(s).to_degrees())),
        (None, _) | (_, None) => (None, None),
    };
    Efficiency {
        le: ratio(heavy / KCAL_PER_LOG_UNIT),
        lle: p_activity - d.logp,
        bei,
        sei,
        nsei: ratio(f64::from(d.no_count)),
        nbei: (d.heavy_atoms > 0).then(|| p_activity + heavy.log10()),
        modulus,
        angle_degrees,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Aspirin's descriptors as RDKit 2022.09 computes them (MolWt 180.159, MolLogP 1.3101,
    /// TPSA 63.6, 13 heavy atoms, 4 O).
    fn aspirin() -> Descriptors {
        Descriptors {
            mol_wt: 180.159,
            exact_mol_wt: 180.042259,
            logp: 1.3101,
            tpsa: 63.6,
            hbd: 1,
            hba: 3,
            rotatable_bonds: 2,
            ring_count: 1,
            aromatic_rings: 1,
            fraction_csp3: 1.0 / 9.0,
            heavy_atoms: 13,
            no_count: 4,
            formal_charge: 0,
            qed: 0.55,
        }
    }

    #[test]
    fn hand_computed_values() {
        // pIC50 5.0 (10 µM).
        let e = efficiency(5.0, &aspirin());
        let close = |got: Option<f64>, want: f64| {
            let got = got.unwrap();
            assert!((got - want).abs() < 1e-4 * want.abs(), "{got} != {want}");
        };
        close(e.le, 1.37 * 5.0 / 13.0); // 0.526923...
        close(Some(e.lle), 3.6899);
        close(e.bei, 5.0 / 0.180159); // 27.7532...
        close(e.sei, 5.0 / 0.636); // 7.8616...
        close(e.nsei, 1.25);
        close(e.nbei, 5.0 + 13f64.log10()); // 6.11394...
        close(e.modulus, 28.845_257_5);
        close(e.angle_degrees, 74.184_225);
    }

    #[test]
    fn zero_denominators_are_absent() {
        let mut d = aspirin();
        d.tpsa = 0.0;
        d.no_count = 0;
        let e = efficiency(6.0, &d);
        assert_eq!(
            (e.sei, e.nsei, e.modulus, e.angle_degrees),
            (None, None, None, None)
        );
        assert!(e.le.is_some() && e.bei.is_some());
    }
}
