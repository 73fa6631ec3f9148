//! The per-molecule pipeline: one input text in, one [`MoleculeOutcome`] out.
//!
//! [`Pipeline`] owns the RDKit state that is expensive to build (filter
//! catalogs, tautomer enumerator, Morgan generator, QED SMARTS) and is shared
//! by reference across threads. [`Pipeline::process`] never panics and never
//! aborts: every failure, including a C++ exception, becomes an
//! [`MoleculeOutcome::Invalid`] with an [`ErrorCode`].

use crate::alert_sets::{self, AlertSets};
use crate::ffi;
use crate::qed::{self, QedProperties};
use crate::{
    Alert, ChemError, Descriptors, ErrorCode, Fingerprint, MoleculeOutcome, MoleculeRecord,
};

/// Input text of one molecule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MolInput<'a> {
    /// A SMILES string (an optional CXSMILES extension or name may follow a
    /// space), or a standard InChI: text starting with [`INCHI_PREFIX`] is
    /// read by the InChI library ([`crate::inchi::to_smiles`]) and its
    /// structure goes through the pipeline as that SMILES.
    Smiles(&'a str),
    /// An MDL Molblock (V2000 or V3000).
    Molblock(&'a str),
}

/// How a standard InChI starts; structure text starting with it is an InChI.
pub const INCHI_PREFIX: &str = "InChI=";

impl<'a> MolInput<'a> {
    /// The raw text.
    pub fn text(&self) -> &'a str {
        match *self {
            Self::Smiles(text) | Self::Molblock(text) => text,
        }
    }

    fn kind(&self) -> ffi::InputKind {
        match self {
            Self::Smiles(_) => ffi::InputKind::Smiles,
            Self::Molblock(_) => ffi::InputKind::Molblock,
        }
    }
}

/// The chemistry pipeline, built once and shared by all worker threads
/// (`Send + Sync`).
///
/// For each molecule it reproduces, call for call, this RDKit 2022.09 Python:
/// parse (`MolFromSmiles` / `MolFromMolBlock`), canonical SMILES,
/// `rdMolStandardize.Cleanup`, `FragmentParent`, `Uncharger().uncharge`,
/// `TautomerEnumerator().Canonicalize`, descriptors and QED of the
/// standardised molecule, `FilterCatalog` matches of the chosen alert sets
/// (PAINS/Brenk/NIH unless [`process_with`](Self::process_with) says) and a
/// Morgan radius-2 2048-bit fingerprint (`scripts/reference_fixtures.py`),
/// then the standard InChI of the standardised SMILES
/// ([`crate::inchi::to_inchi`], `scripts/inchi_fixtures.py`). A call that
/// would repeat an earlier one on an unchanged structure (`FragmentParent`'s
/// own `Cleanup`, QED's `RemoveHs` copy's descriptors) is skipped; the
/// results are the same.
pub struct Pipeline {
    ctx: cxx::UniquePtr<ffi::Context>,
}

impl Pipeline {
    /// Builds the shared RDKit state and silences RDKit's stderr logging.
    pub fn new() -> Result<Self, ChemError> {
        let init = |e: cxx::Exception| ChemError::PipelineInit {
            message: e.what().to_owned(),
        };
        ffi::silence_rdkit_logs().map_err(init)?;
        let rules = alert_sets::rules()?;
        let ctx = ffi::new_context(&rules).map_err(init)?;
        if ctx.is_null() {
            return Err(ChemError::PipelineInit {
                message: "RDKit returned no context".into(),
            });
        }
        Ok(Self { ctx })
    }

    /// Runs the full per-molecule pipeline. Never panics, never aborts: any
    /// failure is an [`MoleculeOutcome::Invalid`].
    ///
    /// ```
    /// use molbatch_chem::{ErrorCode, MolInput, MoleculeOutcome, Pipeline};
    ///
    /// let pipeline = Pipeline::new()?;
    /// match pipeline.process(MolInput::Smiles("CC(=O)Oc1ccccc1C(=O)[O-].[Na+]")) {
    ///     MoleculeOutcome::Valid(record) => {
    ///         assert_eq!(record.standardized_smiles, "CC(=O)Oc1ccccc1C(=O)O");
    ///         assert_eq!(record.descriptors.hbd, 1);
    ///     }
    ///     MoleculeOutcome::Invalid(invalid) => panic!("{invalid:?}"),
    /// }
    /// let bad = pipeline.process(MolInput::Smiles("C(C)(C)(C)(C)C"));
    /// assert_eq!(bad.invalid().map(|i| i.code), Some(ErrorCode::Valence));
    /// # Ok::<(), molbatch_chem::ChemError>(())
    /// ```
    pub fn process(&self, input: MolInput<'_>) -> MoleculeOutcome {
        self.process_with(input, AlertSets::DEFAULT)
    }

    /// [`process`](Self::process), looking for the alerts of `alerts`
    /// instead of the default sets; everything else is the same.
    ///
    /// ```
    /// use molbatch_chem::alert_sets::{AlertSet, AlertSets};
    /// use molbatch_chem::{MolInput, Pipeline};
    ///
    /// let pipeline = Pipeline::new()?;
    /// let glaxo = AlertSets::of([AlertSet::Glaxo]);
    /// let outcome = pipeline.process_with(MolInput::Smiles("ClCCCC(=O)Cl"), glaxo);
    /// let alerts = &outcome.valid().unwrap().alerts;
    /// assert!(alerts.iter().all(|a| a.catalog == "GLAXO"));
    /// assert!(alerts.iter().any(|a| a.name == "R2 Acid halides"));
    /// # Ok::<(), molbatch_chem::ChemError>(())
    /// ```
    pub fn process_with(&self, input: MolInput<'_>, alerts: AlertSets) -> MoleculeOutcome {
        let text = input.text();
        if text.trim().is_empty() {
            return MoleculeOutcome::invalid_with(ErrorCode::EmptyInput, "empty input");
        }
        let Some(ctx) = self.ctx.as_ref() else {
            return MoleculeOutcome::invalid_with(
                ErrorCode::Internal,
                "pipeline has no RDKit context",
            );
        };
        let from_inchi;
        let text = match input {
            MolInput::Smiles(text) if text.trim_start().starts_with(INCHI_PREFIX) => {
                match crate::inchi::to_smiles(text.trim()) {
                    Ok(smiles) => {
                        from_inchi = smiles;
                        from_inchi.as_str()
                    }
                    Err(e) => {
                        return MoleculeOutcome::invalid_with(ErrorCode::InchiSyntax, e.to_string())
                    }
                }
            }
            MolInput::Smiles(text) | MolInput::Molblock(text) => text,
        };
        match ffi::process(ctx, input.kind(), text, alerts.catalog_mask()) {
            Ok(raw) => outcome_of(raw),
            Err(e) => MoleculeOutcome::invalid_with(ErrorCode::Internal, e.what()),
        }
    }
}

impl Pipeline {
    /// The canonical tautomer of the molecule [`process`](Self::process) standardises from
    /// `smiles`, twice: as `process` computes it (`molbatch_chem`'s own enumeration, which
    /// skips repeated work) and as RDKit's `TautomerEnumerator::canonicalize` does. They
    /// must be equal; this is how the tests and `examples/tautomer_check.rs` check it.
    ///
    /// ```
    /// let pipeline = molbatch_chem::Pipeline::new()?;
    /// let (ours, rdkits) = pipeline.canonical_tautomers("Oc1ccccn1")?;
    /// assert_eq!((ours.as_str(), rdkits.as_str()), ("O=c1cccc[nH]1", "O=c1cccc[nH]1"));
    /// # Ok::<(), molbatch_chem::ChemError>(())
    /// ```
    pub fn canonical_tautomers(&self, smiles: &str) -> Result<(String, String), ChemError> {
        ffi::non_empty(smiles)?;
        let Some(ctx) = self.ctx.as_ref() else {
            return Err(ChemError::Rejected {
                smiles: smiles.to_owned(),
                code: ErrorCode::Internal,
                message: "pipeline has no RDKit context".into(),
            });
        };
        let pair = ffi::tautomer_pair(ctx, smiles).map_err(|e| ChemError::Rejected {
            smiles: smiles.to_owned(),
            code: ErrorCode::Internal,
            message: e.what().to_owned(),
        })?;
        ffi::accepted(smiles, pair.status, pair.message)?;
        Ok((pair.ours, pair.rdkits))
    }

    /// The bridge's alert matches of `smiles` (see [`crate::alerts::matches`]).
    pub(crate) fn alert_matches_raw(
        &self,
        smiles: &str,
        alerts: AlertSets,
    ) -> Result<ffi::RawAlertMatches, cxx::Exception> {
        match self.ctx.as_ref() {
            Some(ctx) => ffi::alert_matches(ctx, smiles, alerts.catalog_mask()),
            // `new` never keeps a null context; answer like an empty parse.
            None => Ok(ffi::RawAlertMatches {
                status: ffi::Status::Internal,
                message: "pipeline has no RDKit context".into(),
                matches: Vec::new(),
            }),
        }
    }
}

impl std::fmt::Debug for Pipeline {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pipeline").finish_non_exhaustive()
    }
}

/// Turns the bridge's flat record into the public types, computing what is
/// pure arithmetic (QED, Lipinski) on the Rust side.
fn outcome_of(raw: ffi::RawRecord) -> MoleculeOutcome {
    let code = ffi::error_code(raw.status);
    if let Some(code) = code {
        return MoleculeOutcome::invalid_with(code, raw.message);
    }

    let mut alerts = Vec::with_capacity(raw.alert_names.len());
    for (&catalog, name) in raw.alert_catalogs.iter().zip(raw.alert_names) {
        let Some(catalog) = ffi::CATALOG_NAMES.get(usize::from(catalog)) else {
            return MoleculeOutcome::invalid_with(
                ErrorCode::Internal,
                "unknown alert catalog index",
            );
        };
        alerts.push(Alert {
            catalog: (*catalog).to_owned(),
            name,
        });
    }
    alerts.sort_unstable();
    // Two rules of one published set may share a description: one alert.
    alerts.dedup();
    let pains = alerts.iter().any(Alert::is_pains);

    let qed = qed::qed(&QedProperties {
        mw: raw.qed_mw,
        alogp: raw.qed_alogp,
        hba: f64::from(raw.qed_hba),
        hbd: f64::from(raw.qed_hbd),
        psa: raw.qed_psa,
        rotb: f64::from(raw.qed_rotb),
        arom: f64::from(raw.qed_arom),
        alerts: f64::from(raw.qed_alerts),
    });
    let descriptors = Descriptors {
        mol_wt: raw.mol_wt,
        exact_mol_wt: raw.exact_mol_wt,
        logp: raw.logp,
        tpsa: raw.tpsa,
        hbd: raw.hbd,
        hba: raw.hba,
        rotatable_bonds: raw.rotatable_bonds,
        ring_count: raw.ring_count,
        aromatic_rings: raw.aromatic_rings,
        fraction_csp3: raw.fraction_csp3,
        heavy_atoms: raw.heavy_atoms,
        no_count: raw.no_count,
        formal_charge: raw.formal_charge,
        qed,
    };
    let inchi = crate::inchi::to_inchi(&raw.standardized_smiles);
    MoleculeOutcome::Valid(Box::new(MoleculeRecord {
        canonical_smiles: raw.canonical_smiles,
        standardized_smiles: raw.standardized_smiles,
        tautomer_smiles: raw.tautomer_smiles,
        lipinski_violations: descriptors.lipinski_violations(),
        descriptors,
        alerts,
        pains,
        fingerprint: Fingerprint(raw.fingerprint),
        inchi,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pipeline() -> Pipeline {
        Pipeline::new().expect("RDKit context builds")
    }

    fn code_of(p: &Pipeline, input: MolInput<'_>) -> Option<ErrorCode> {
        p.process(input).invalid().map(|i| i.code)
    }

    #[test]
    fn error_codes_name_the_failing_step() {
        let p = pipeline();
        let cases = [
            ("", ErrorCode::EmptyInput),
            (" \t\n", ErrorCode::EmptyInput),
            ("C1CC", ErrorCode::SmilesSyntax),
            ("not a smiles", ErrorCode::SmilesSyntax),
            ("C(C)(C)(C)(C)C", ErrorCode::Valence),
            ("[NH4]", ErrorCode::Valence),
            ("c1cccc1", ErrorCode::Kekulize),
            ("c1ccnc1", ErrorCode::Kekulize),
        ];
        for (smiles, expected) in cases {
            assert_eq!(
                code_of(&p, MolInput::Smiles(smiles)),
                Some(expected),
                "{smiles:?}"
            );
        }
        assert_eq!(
            code_of(&p, MolInput::Molblock("")),
            Some(ErrorCode::EmptyInput)
        );
        assert_eq!(
            code_of(&p, MolInput::Molblock("not\na\nmolblock\n")),
            Some(ErrorCode::MolblockSyntax)
        );
    }

    #[test]
    fn invalid_outcomes_carry_rdkit_text() {
        let p = pipeline();
        let outcome = p.process(MolInput::Smiles("C(C)(C)(C)(C)C"));
        let invalid = outcome.invalid().expect("pentavalent carbon is invalid");
        assert!(invalid.message.contains("valence"), "{}", invalid.message);
    }

    #[test]
    fn error_code_names_are_stable_and_round_trip() {
        let names: Vec<_> = ErrorCode::ALL.iter().map(|c| c.as_str()).collect();
        assert_eq!(
            names,
            [
                "EMPTY_INPUT",
                "SMILES_SYNTAX",
                "MOLBLOCK_SYNTAX",
                "INCHI_SYNTAX",
                "VALENCE",
                "KEKULIZE",
                "SANITIZATION",
                "STANDARDIZATION",
                "INTERNAL"
            ]
        );
        for code in ErrorCode::ALL {
            assert_eq!(ErrorCode::from_name(code.as_str()), Some(code));
        }
        assert_eq!(ErrorCode::from_name("nope"), None);
    }

    #[test]
    fn salt_is_stripped_and_alerts_are_sorted() {
        let p = pipeline();
        let outcome = p.process(MolInput::Smiles("Oc1ccccc1O.Cl"));
        let record = outcome.valid().expect("catechol is valid");
        assert_eq!(record.standardized_smiles, "Oc1ccccc1O");
        assert!(record.pains);
        let mut sorted = record.alerts.clone();
        sorted.sort();
        assert_eq!(sorted, record.alerts);
        assert!(record.fingerprint.popcount() > 0);
    }

    #[test]
    fn records_carry_the_inchi_of_the_standardised_molecule() {
        let p = pipeline();
        let outcome = p.process(MolInput::Smiles("CC(=O)Oc1ccccc1C(=O)[O-].[Na+]"));
        let record = outcome.valid().expect("aspirin sodium is valid");
        let inchi = record.inchi.as_ref().expect("aspirin has an InChI");
        assert_eq!(inchi.key, "BSYNRYMUTXBXSQ-UHFFFAOYSA-N");
        assert_eq!(
            record.inchi,
            crate::inchi::to_inchi(&record.standardized_smiles)
        );
        // A molecule InChI refuses stays valid, with the refusal in place
        // of its InChI.
        let outcome = p.process(MolInput::Smiles("*c1ccccc1"));
        let record = outcome.valid().expect("a dummy atom is valid for RDKit");
        assert!(
            matches!(record.inchi, Err(ChemError::Inchi { .. })),
            "{:?}",
            record.inchi
        );
    }

    #[test]
    fn a_standard_inchi_is_read_as_its_structure() {
        let p = pipeline();
        let alanine = "InChI=1S/C3H7NO2/c1-2(4)3(5)6/h2H,4H2,1H3,(H,5,6)/t2-/m0/s1";
        let from_inchi = p.process(MolInput::Smiles(alanine));
        let from_smiles = p.process(MolInput::Smiles("C[C@H](N)C(=O)O"));
        assert_eq!(from_inchi, from_smiles);
        assert!(from_inchi.valid().is_some());
        let broken = p.process(MolInput::Smiles("InChI=1S/C3H7NO2/c1-2(4"));
        assert_eq!(
            broken.invalid().map(|i| i.code),
            Some(ErrorCode::InchiSyntax)
        );
    }

    #[test]
    fn pipeline_is_shareable_across_threads() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Pipeline>();
        let p = pipeline();
        let smiles = ["CCO", "c1ccccc1O", "CC(=O)Nc1ccc(O)cc1", "C1CC"];
        std::thread::scope(|s| {
            let handles: Vec<_> = (0..4)
                .map(|_| s.spawn(|| smiles.map(|smi| p.process(MolInput::Smiles(smi)))))
                .collect();
            let first = smiles.map(|smi| p.process(MolInput::Smiles(smi)));
            for h in handles {
                assert_eq!(h.join().expect("worker thread"), first);
            }
        });
    }
}
