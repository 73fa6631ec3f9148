//! The per-molecule pipeline of a chunk: the chemistry core's outcomes mapped
//! to `MoleculeResult`s, computed on all cores.

use molbatch_analysis::similarity::Fingerprint;
use molbatch_chem::efficiency::efficiency;
use molbatch_chem::{AlertSets, Descriptors, MolInput, MoleculeOutcome, Pipeline};
use molbatch_formats::{ActivityError, ActivityUnit};
use molbatch_proto::{internal as ipb, v1 as pb};
use rayon::prelude::*;
use std::sync::atomic::{AtomicBool, Ordering};

/// The chunk was abandoned (its lease was lost or its job cancelled).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("chunk abandoned")]
pub struct Abandoned;

/// The error code of a molecule on which workers died repeatedly.
pub const WORKER_CRASH: &str = "WORKER_CRASH";

/// The error code of an upload's record that could not be read and was kept
/// in place (`on_bad_record: SKIP`); its message names the line.
pub const RECORD_SYNTAX: &str = "RECORD_SYNTAX";

/// Results of a chunk's records in input order, with the counts of valid and
/// invalid molecules. Stops early with [`Abandoned`] once `stop` is set.
///
/// `test_abort_on_smiles` is the test-only poison trigger
/// (`--test-abort-on-smiles`, `test-hooks` feature only; ignored without
/// it): the process aborts, as a crash inside RDKit would, before computing
/// a molecule whose input SMILES equals it.
pub fn compute_chunk(
    pipeline: &Pipeline,
    records: &[ipb::InputRecord],
    stop: &AtomicBool,
    test_abort_on_smiles: Option<&str>,
) -> Result<(Vec<pb::MoleculeResult>, u32, u32), Abandoned> {
    compute_chunk_with(
        pipeline,
        records,
        AlertSets::DEFAULT,
        stop,
        test_abort_on_smiles,
    )
}

/// [`compute_chunk`] looking for the alerts of `alerts` (the job's
/// `alert_sets`) instead of the default sets.
pub fn compute_chunk_with(
    pipeline: &Pipeline,
    records: &[ipb::InputRecord],
    alerts: AlertSets,
    stop: &AtomicBool,
    test_abort_on_smiles: Option<&str>,
) -> Result<(Vec<pb::MoleculeResult>, u32, u32), Abandoned> {
    #[cfg(not(feature = "test-hooks"))]
    let _ = test_abort_on_smiles;
    let compute = |record: &ipb::InputRecord| {
        if stop.load(Ordering::Relaxed) {
            return Err(Abandoned);
        }
        #[cfg(feature = "test-hooks")]
        if let (Some(poison), Some(molecule)) = (test_abort_on_smiles, &record.molecule) {
            if molecule.smiles == poison {
                std::process::abort();
            }
        }
        Ok(compute_one_with(pipeline, record, alerts))
    };
    // One record (a synchronous AnalyzeMolecules of one molecule) is computed on the
    // calling thread: handed to rayon's pool it would queue behind what the pool is
    // running, a slow molecule of another call, while this thread only waited.
    let results: Vec<pb::MoleculeResult> = if records.len() == 1 {
        records.iter().map(compute).collect::<Result<_, _>>()?
    } else {
        // One molecule per rayon job: molecules take from under a millisecond to
        // over 100 ms, and rayon cannot share out a run of records a thread has
        // started, so longer runs left a core idle at the end of each chunk.
        records
            .par_iter()
            .with_max_len(1)
            .map(compute)
            .collect::<Result<_, _>>()?
    };
    Ok(counted(results))
}

/// Results of a poisoned task's records: workers died repeatedly on them, so
/// they are reported as WORKER_CRASH errors and the chemistry is not run.
pub fn crashed_chunk(records: &[ipb::InputRecord]) -> (Vec<pb::MoleculeResult>, u32, u32) {
    counted(records.iter().map(worker_crash).collect())
}

/// The WORKER_CRASH error result of `record`.
pub fn worker_crash(record: &ipb::InputRecord) -> pb::MoleculeResult {
    let molecule = record.molecule.clone().unwrap_or_default();
    pb::MoleculeResult {
        index: record.index,
        input_id: molecule.id,
        input_smiles: molecule.smiles,
        properties: molecule.properties,
        valid: false,
        error_code: WORKER_CRASH.to_owned(),
        error_message: "analytics workers died repeatedly while processing this molecule; \
                        it was isolated and not processed again"
            .to_owned(),
        ..Default::default()
    }
}

/// The results with their valid and invalid counts.
pub(crate) fn counted(results: Vec<pb::MoleculeResult>) -> (Vec<pb::MoleculeResult>, u32, u32) {
    let valid = results.iter().filter(|r| r.valid).count() as u32;
    let invalid = results.len() as u32 - valid;
    (results, valid, invalid)
}

/// The result of one input record. A record the upload could not read is a
/// RECORD_SYNTAX error without running the chemistry.
pub fn compute_one(pipeline: &Pipeline, record: &ipb::InputRecord) -> pb::MoleculeResult {
    compute_one_with(pipeline, record, AlertSets::DEFAULT)
}

/// [`compute_one`] looking for the alerts of `alerts` instead of the
/// default sets.
pub fn compute_one_with(
    pipeline: &Pipeline,
    record: &ipb::InputRecord,
    alerts: AlertSets,
) -> pb::MoleculeResult {
    match record_input(record) {
        Some(input) => record_result(chemistry(pipeline, input, alerts), record),
        None => syntax_error(record),
    }
}

/// What the chemistry reads of a record; `None` for a record the upload
/// could not read.
pub fn record_input(record: &ipb::InputRecord) -> Option<MolInput<'_>> {
    if !record.syntax_error.is_empty() {
        return None;
    }
    let molecule = record.molecule.as_ref();
    let molblock = molecule.map_or("", |m| m.molblock.as_str());
    Some(if molblock.is_empty() {
        MolInput::Smiles(molecule.map_or("", |m| m.smiles.as_str()))
    } else {
        MolInput::Molblock(molblock)
    })
}

/// The RECORD_SYNTAX error result of a record the upload could not read.
fn syntax_error(record: &ipb::InputRecord) -> pb::MoleculeResult {
    let molecule = record.molecule.clone().unwrap_or_default();
    pb::MoleculeResult {
        index: record.index,
        input_id: molecule.id,
        properties: molecule.properties,
        valid: false,
        error_code: RECORD_SYNTAX.to_owned(),
        error_message: record.syntax_error.clone(),
        ..Default::default()
    }
}

/// What the chemistry makes of one input, whichever record it came from:
/// the part of a result the result cache keeps across jobs.
#[derive(Debug, Clone, PartialEq)]
pub struct Chemistry {
    /// The result's chemistry fields; index, id, input SMILES, properties
    /// and activities unset.
    pub result: pb::MoleculeResult,
    /// The descriptors the activities' efficiency metrics use (valid
    /// molecules only).
    pub descriptors: Option<Descriptors>,
}

/// Runs the pipeline on `input`.
pub fn chemistry(pipeline: &Pipeline, input: MolInput<'_>, alerts: AlertSets) -> Chemistry {
    let mut result = pb::MoleculeResult::default();
    match pipeline.process_with(input, alerts) {
        MoleculeOutcome::Valid(m) => {
            let d = m.descriptors;
            result.valid = true;
            result.canonical_smiles = m.canonical_smiles;
            result.standardized_smiles = m.standardized_smiles;
            result.tautomer_smiles = m.tautomer_smiles;
            match m.inchi {
                Ok(inchi) => {
                    result.inchi = inchi.inchi;
                    result.inchi_key = inchi.key;
                    result.inchi_message = inchi.warning.unwrap_or_default();
                }
                // The molecule stays valid; the refusal is its InChI message.
                Err(e) => result.inchi_message = e.to_string(),
            }
            result.mol_wt = Some(d.mol_wt);
            result.exact_mol_wt = Some(d.exact_mol_wt);
            result.logp = Some(d.logp);
            result.tpsa = Some(d.tpsa);
            result.hbd = Some(d.hbd);
            result.hba = Some(d.hba);
            result.rotatable_bonds = Some(d.rotatable_bonds);
            result.ring_count = Some(d.ring_count);
            result.aromatic_rings = Some(d.aromatic_rings);
            result.fraction_csp3 = Some(d.fraction_csp3);
            result.heavy_atoms = Some(d.heavy_atoms);
            result.formal_charge = Some(d.formal_charge);
            result.qed = Some(d.qed);
            result.lipinski_violations = Some(m.lipinski_violations);
            result.pains = m.pains;
            result.alerts = m
                .alerts
                .into_iter()
                .map(|a| pb::Alert {
                    catalog: a.catalog,
                    name: a.name,
                })
                .collect();
            result.morgan_fingerprint = m.fingerprint.on_bits().collect();
            Chemistry {
                result,
                descriptors: Some(d),
            }
        }
        MoleculeOutcome::Invalid(e) => {
            result.error_code = e.code.as_str().to_owned();
            result.error_message = e.message;
            Chemistry {
                result,
                descriptors: None,
            }
        }
    }
}

/// `record`'s result from the chemistry of its input: its index, id, input
/// SMILES (the canonical SMILES stands in for an SDF record's), properties
/// and activities with their efficiency metrics.
pub fn record_result(chemistry: Chemistry, record: &ipb::InputRecord) -> pb::MoleculeResult {
    let Chemistry {
        mut result,
        descriptors,
    } = chemistry;
    let molecule = record.molecule.clone().unwrap_or_default();
    result.index = record.index;
    result.input_id = molecule.id;
    result.input_smiles = if molecule.smiles.is_empty() && result.valid {
        result.canonical_smiles.clone()
    } else {
        molecule.smiles
    };
    result.properties = molecule.properties;
    result.activities = molecule
        .activities
        .into_iter()
        .map(|a| activity_result(a, descriptors.as_ref()))
        .collect();
    result
}

/// One activity converted to pActivity with its ligand-efficiency metrics
/// (those need `descriptors`, absent for an invalid molecule). A bad value or
/// unit is reported in the result's `error`; the molecule is kept either way.
pub fn activity_result(
    activity: pb::ActivityValue,
    descriptors: Option<&Descriptors>,
) -> pb::ActivityResult {
    let pb::ActivityValue {
        column,
        value,
        unit,
    } = activity;
    let converted = unit
        .parse::<ActivityUnit>()
        .map_err(ActivityError::from)
        .and_then(|u| u.p_activity(&value));
    let mut result = pb::ActivityResult {
        column,
        unit,
        value,
        ..Default::default()
    };
    match converted {
        Ok(p) => {
            result.p_activity = Some(p);
            if let Some(d) = descriptors {
                let e = efficiency(p, d);
                result.le = e.le;
                result.lle = Some(e.lle);
                result.bei = e.bei;
                result.sei = e.sei;
                result.nsei = e.nsei;
                result.nbei = e.nbei;
                result.efficiency_modulus = e.modulus;
                result.efficiency_angle = e.angle_degrees;
            }
        }
        Err(e) => result.error = e.to_string(),
    }
    result
}

/// A result's fingerprint as packed words (bit i in word i / 64).
pub fn fingerprint(result: &pb::MoleculeResult) -> Fingerprint {
    let mut fp = [0u64; 32];
    for &bit in &result.morgan_fingerprint {
        if let Some(word) = fp.get_mut(bit as usize / 64) {
            *word |= 1 << (bit % 64);
        }
    }
    fp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_gateways_alert_set_names_are_the_chemistry_crates() {
        use molbatch_proto::alert_sets::{ALERT_SET_NAMES, DEFAULT_ALERT_SETS};
        let chem: Vec<&str> = molbatch_chem::AlertSet::ALL
            .iter()
            .map(|s| s.name())
            .collect();
        assert_eq!(chem, ALERT_SET_NAMES);
        assert_eq!(AlertSets::DEFAULT.names(), DEFAULT_ALERT_SETS);
    }

    #[test]
    fn a_chunk_reports_the_alerts_of_the_chosen_sets_only() {
        let pipeline = Pipeline::new().unwrap();
        let record = ipb::InputRecord {
            index: 0,
            molecule: Some(pb::InputMolecule {
                smiles: "O=C1C=CC(=O)C=C1".to_owned(),
                ..Default::default()
            }),
            ..Default::default()
        };
        let catalogs = |sets: AlertSets| {
            let (results, _, _) = compute_chunk_with(
                &pipeline,
                std::slice::from_ref(&record),
                sets,
                &AtomicBool::new(false),
                None,
            )
            .unwrap();
            let mut catalogs: Vec<String> = results[0]
                .alerts
                .iter()
                .map(|a| a.catalog.clone())
                .collect();
            catalogs.dedup();
            catalogs
        };
        assert_eq!(catalogs(AlertSets::DEFAULT), ["BRENK", "NIH", "PAINS_A"]);
        let glaxo_lint = AlertSets::parse(["glaxo", "lint"]).unwrap();
        assert_eq!(catalogs(glaxo_lint), ["GLAXO", "LINT"]);
        // Without a choice a chunk is what it always was.
        let (plain, _, _) = compute_chunk(
            &pipeline,
            std::slice::from_ref(&record),
            &AtomicBool::new(false),
            None,
        )
        .unwrap();
        assert_eq!(plain[0].alerts.len(), 4);
    }

    #[test]
    fn a_poisoned_molecule_is_an_error_result_with_its_input() {
        let record = ipb::InputRecord {
            index: 7,
            molecule: Some(pb::InputMolecule {
                smiles: "C1CC".to_owned(),
                id: "m7".to_owned(),
                ..Default::default()
            }),
            ..Default::default()
        };
        let (results, valid, invalid) = crashed_chunk(std::slice::from_ref(&record));
        assert_eq!((valid, invalid), (0, 1));
        let r = &results[0];
        assert_eq!(
            (
                r.index,
                r.input_id.as_str(),
                r.input_smiles.as_str(),
                r.valid
            ),
            (7, "m7", "C1CC", false)
        );
        assert_eq!(r.error_code, WORKER_CRASH);
        assert!(r.error_message.contains("died repeatedly"));
        assert!(r.canonical_smiles.is_empty());
    }

    #[test]
    fn an_unreadable_record_is_record_syntax_without_chemistry() {
        let pipeline = Pipeline::new().unwrap();
        let record = ipb::InputRecord {
            index: 3,
            molecule: Some(pb::InputMolecule {
                id: "m3".to_owned(),
                ..Default::default()
            }),
            syntax_error: "line 5: CSV row has 3 fields, header has 2".to_owned(),
        };
        let (results, valid, invalid) = compute_chunk(
            &pipeline,
            std::slice::from_ref(&record),
            &AtomicBool::new(false),
            None,
        )
        .unwrap();
        assert_eq!((valid, invalid), (0, 1));
        let r = &results[0];
        assert_eq!((r.index, r.input_id.as_str(), r.valid), (3, "m3", false));
        assert_eq!(r.error_code, RECORD_SYNTAX);
        assert_eq!(
            r.error_message,
            "line 5: CSV row has 3 fields, header has 2"
        );
        assert!(r.input_smiles.is_empty() && r.canonical_smiles.is_empty());
    }

    #[test]
    fn activities_convert_and_bad_ones_keep_the_molecule() {
        let pipeline = Pipeline::new().unwrap();
        let activity = |value: &str, unit: &str| pb::ActivityValue {
            column: "Ki".to_owned(),
            value: value.to_owned(),
            unit: unit.to_owned(),
        };
        let record = |smiles: &str, activities| ipb::InputRecord {
            index: 0,
            molecule: Some(pb::InputMolecule {
                smiles: smiles.to_owned(),
                activities,
                ..Default::default()
            }),
            ..Default::default()
        };
        let r = compute_one(
            &pipeline,
            &record(
                "CC(=O)Oc1ccccc1C(=O)O",
                vec![
                    activity("10", "uM"),
                    activity("n/a", "nM"),
                    activity("5", "kM"),
                ],
            ),
        );
        assert!(r.valid);
        let ok = &r.activities[0];
        assert!((ok.p_activity.unwrap() - 5.0).abs() < 1e-12);
        // 13 heavy atoms, MolLogP 1.3101, MolWt 180.159, TPSA 63.6, 4 N+O.
        assert!((ok.le.unwrap() - 1.37 * 5.0 / 13.0).abs() < 1e-9);
        assert!((ok.lle.unwrap() - 3.6899).abs() < 1e-4);
        assert!((ok.bei.unwrap() - 5.0 / 0.180159).abs() < 1e-3);
        assert!((ok.sei.unwrap() - 5.0 / 0.636).abs() < 1e-9);
        assert!((ok.nsei.unwrap() - 1.25).abs() < 1e-12);
        assert!(ok.error.is_empty());
        assert!(r.activities[1].p_activity.is_none());
        assert!(r.activities[1].error.contains("not a number"));
        assert!(r.activities[2].error.contains("unknown activity unit"));
        let bad = compute_one(&pipeline, &record("C1CC", vec![activity("3", "nM")]));
        assert!(!bad.valid);
        let a = &bad.activities[0];
        assert!((a.p_activity.unwrap() - (9.0 - 3f64.log10())).abs() < 1e-12);
        assert_eq!(a.le, None);
    }

    #[test]
    fn results_carry_the_inchi_or_why_there_is_none() {
        let pipeline = Pipeline::new().unwrap();
        let record = |index, smiles: &str| ipb::InputRecord {
            index,
            molecule: Some(pb::InputMolecule {
                smiles: smiles.to_owned(),
                ..Default::default()
            }),
            ..Default::default()
        };
        let aspirin = compute_one(&pipeline, &record(0, "CC(=O)Oc1ccccc1C(=O)[O-].[Na+]"));
        assert_eq!(aspirin.inchi_key, "BSYNRYMUTXBXSQ-UHFFFAOYSA-N");
        assert!(
            aspirin.inchi.starts_with("InChI=1S/C9H8O4/"),
            "{}",
            aspirin.inchi
        );
        assert_eq!(aspirin.inchi_message, "");
        let alanine = compute_one(&pipeline, &record(1, "CC(N)C(=O)O"));
        assert_eq!(alanine.inchi_message, "Omitted undefined stereo");
        let dummy = compute_one(&pipeline, &record(2, "*c1ccccc1"));
        assert!(dummy.valid);
        assert_eq!((dummy.inchi.as_str(), dummy.inchi_key.as_str()), ("", ""));
        assert!(
            dummy.inchi_message.contains("InChI"),
            "{}",
            dummy.inchi_message
        );
        let invalid = compute_one(&pipeline, &record(3, "C1CC"));
        assert_eq!(
            (invalid.inchi.as_str(), invalid.inchi_message.as_str()),
            ("", "")
        );
    }
}
