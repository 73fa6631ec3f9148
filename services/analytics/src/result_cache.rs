//! The result cache across jobs. A molecule's chemistry depends only on its
//! input record's structure (SMILES, InChI or molfile), the job's alert sets
//! and the pipeline's version, so a chunk looks its records up in storage
//! under the SHA-256 of those ([`KeyMaker::key`]) before computing, computes
//! only the misses and stores them for later jobs ([`compute_chunk_cached`]).
//! Ids, properties and activities always come from the job's own records
//! ([`record_result`]), so a result served from the cache equals the one
//! computed.
//!
//! Entries live under a scope: the job's tenant's own by default (a shared
//! cache would let one tenant learn, by timing, that another submitted a
//! structure), or one scope for all when the operator shares it
//! ([`CacheScope`]).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};

use molbatch_chem::{AlertSets, Descriptors};
use molbatch_proto::{internal as ipb, v1 as pb};
use rayon::prelude::*;
use sha2::{Digest, Sha256};

use crate::compute::{chemistry, counted, record_input, record_result, Abandoned, Chemistry};
use crate::substructure::molecule_key;

/// Whose results a job may reuse.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum CacheScope {
    /// A tenant's jobs reuse that tenant's results only.
    #[default]
    Tenant,
    /// Every tenant's jobs reuse every tenant's results (one organisation's
    /// tenants, say); lets a tenant tell by timing that a structure was
    /// submitted before.
    Shared,
    /// Nothing is reused or stored: every molecule is computed.
    Off,
}

impl CacheScope {
    /// The storage scope of a job of `tenant`; `None` when off.
    pub fn of(self, tenant: &str) -> Option<String> {
        match self {
            Self::Tenant => Some(format!("tenant:{tenant}")),
            Self::Shared => Some("shared".to_owned()),
            Self::Off => None,
        }
    }
}

/// Makes the cache keys of one job's records.
#[derive(Clone)]
pub struct KeyMaker(Sha256);

impl KeyMaker {
    /// Keys for a job looking for `alerts`, computed by the pipeline of
    /// `version` ([`molbatch_chem::pipeline_version`]).
    pub fn new(version: &str, alerts: AlertSets) -> Self {
        let mut hash = Sha256::new();
        for part in [version.as_bytes(), alerts.names().join(",").as_bytes()] {
            hash.update((part.len() as u64).to_le_bytes());
            hash.update(part);
        }
        Self(hash)
    }

    /// The key of `record`'s result; `None` for a record the upload could
    /// not read (its error needs no chemistry).
    pub fn key(&self, record: &ipb::InputRecord) -> Option<Vec<u8>> {
        let (kind, text) = match record_input(record)? {
            molbatch_chem::MolInput::Smiles(text) => (b"smiles", text),
            molbatch_chem::MolInput::Molblock(text) => (b"molblk", text),
        };
        let mut hash = self.0.clone();
        hash.update(kind);
        hash.update(text.as_bytes());
        Some(hash.finalize().to_vec())
    }
}

/// A chunk's results with what the cache learnt from it.
#[derive(Debug, Default)]
pub struct CachedChunk {
    /// Results in input order.
    pub results: Vec<pb::MoleculeResult>,
    /// Valid molecules.
    pub valid: u32,
    /// Invalid molecules.
    pub invalid: u32,
    /// Substructure-search keys of the valid results, in input order.
    pub substructure_keys: Vec<ipb::SubstructureKey>,
    /// Results served from the cache.
    pub hits: u32,
    /// New entries for the cache: the results computed here.
    pub entries: Vec<ipb::CachedResult>,
}

/// The results of `records` (their cache keys `keys`, `None` when not
/// cacheable), taking those in `cached` (by key) and computing the rest on
/// all cores, with the substructure keys of the valid ones. Stops early with
/// [`Abandoned`] once `stop` is set. `test_abort_on_smiles`: see
/// [`crate::compute::compute_chunk`].
pub fn compute_chunk_cached(
    pipeline: &molbatch_chem::Pipeline,
    records: &[ipb::InputRecord],
    keys: &[Option<Vec<u8>>],
    cached: &HashMap<Vec<u8>, ipb::CachedResult>,
    alerts: AlertSets,
    stop: &AtomicBool,
    test_abort_on_smiles: Option<&str>,
) -> Result<CachedChunk, Abandoned> {
    #[cfg(not(feature = "test-hooks"))]
    let _ = test_abort_on_smiles;
    let computed: Vec<(
        pb::MoleculeResult,
        Option<ipb::SubstructureKey>,
        bool,
        Option<ipb::CachedResult>,
    )> = records
        .par_iter()
        .zip(keys)
        // One molecule per rayon job, as in compute::compute_chunk_with.
        .with_max_len(1)
        .map(|(record, key)| {
            if stop.load(Ordering::Relaxed) {
                return Err(Abandoned);
            }
            let Some(input) = record_input(record) else {
                let result = crate::compute::compute_one_with(pipeline, record, alerts);
                return Ok((result, None, false, None));
            };
            if let Some(entry) = key.as_ref().and_then(|k| cached.get(k)) {
                let (result, substructure_key) = restore(entry, record);
                return Ok((result, substructure_key, true, None));
            }
            #[cfg(feature = "test-hooks")]
            if let (Some(poison), Some(molecule)) = (test_abort_on_smiles, &record.molecule) {
                if molecule.smiles == poison {
                    std::process::abort();
                }
            }
            let chemistry = chemistry(pipeline, input, alerts);
            let substructure_key = chemistry
                .result
                .valid
                .then(|| molecule_key(&chemistry.result.standardized_smiles))
                .flatten();
            let entry = key
                .clone()
                .map(|key| entry(key, &chemistry, substructure_key.clone()));
            let result = record_result(chemistry, record);
            let substructure_key = substructure_key.map(|k| ipb::SubstructureKey {
                index: record.index,
                ..k
            });
            Ok((result, substructure_key, false, entry))
        })
        .collect::<Result<_, _>>()?;
    let mut chunk = CachedChunk::default();
    let mut results = Vec::with_capacity(computed.len());
    for (result, substructure_key, hit, entry) in computed {
        results.push(result);
        chunk.substructure_keys.extend(substructure_key);
        chunk.hits += u32::from(hit);
        chunk.entries.extend(entry);
    }
    (chunk.results, chunk.valid, chunk.invalid) = counted(results);
    Ok(chunk)
}

/// The cache entry of a computed molecule.
fn entry(
    key: Vec<u8>,
    chemistry: &Chemistry,
    substructure_key: Option<ipb::SubstructureKey>,
) -> ipb::CachedResult {
    ipb::CachedResult {
        key,
        result: Some(chemistry.result.clone()),
        substructure_key,
        no_count: chemistry.descriptors.map_or(0, |d| d.no_count),
    }
}

/// `record`'s result and substructure key from a cache entry.
fn restore(
    entry: &ipb::CachedResult,
    record: &ipb::InputRecord,
) -> (pb::MoleculeResult, Option<ipb::SubstructureKey>) {
    let result = entry.result.clone().unwrap_or_default();
    let descriptors = descriptors(&result, entry.no_count);
    let result = record_result(
        Chemistry {
            result,
            descriptors,
        },
        record,
    );
    let substructure_key = entry
        .substructure_key
        .clone()
        .map(|k| ipb::SubstructureKey {
            index: record.index,
            ..k
        });
    (result, substructure_key)
}

/// The descriptors a valid cached result was computed with (it holds every
/// one but the N+O count, kept beside it).
fn descriptors(result: &pb::MoleculeResult, no_count: u32) -> Option<Descriptors> {
    if !result.valid {
        return None;
    }
    Some(Descriptors {
        mol_wt: result.mol_wt?,
        exact_mol_wt: result.exact_mol_wt?,
        logp: result.logp?,
        tpsa: result.tpsa?,
        hbd: result.hbd?,
        hba: result.hba?,
        rotatable_bonds: result.rotatable_bonds?,
        ring_count: result.ring_count?,
        aromatic_rings: result.aromatic_rings?,
        fraction_csp3: result.fraction_csp3?,
        heavy_atoms: result.heavy_atoms?,
        no_count,
        formal_charge: result.formal_charge?,
        qed: result.qed?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compute::compute_one_with;
    use crate::substructure::molecule_key;

    const MOLBLOCK: &str = "
  molbatch

  3  2  0  0  0  0  0  0  0  0999 V2000
    0.0000    0.0000    0.0000 C   0  0  0  0  0  0  0  0  0  0  0  0
    1.2990    0.7500    0.0000 C   0  0  0  0  0  0  0  0  0  0  0  0
    2.5981   -0.0000    0.0000 O   0  0  0  0  0  0  0  0  0  0  0  0
  1  2  1  0
  2  3  1  0
M  END
";

    fn record(index: u64, smiles: &str, molblock: &str, id: &str) -> ipb::InputRecord {
        ipb::InputRecord {
            index,
            molecule: Some(pb::InputMolecule {
                smiles: smiles.to_owned(),
                molblock: molblock.to_owned(),
                id: id.to_owned(),
                properties: [("series".to_owned(), id.to_owned())].into(),
                activities: vec![pb::ActivityValue {
                    column: "IC50".to_owned(),
                    value: "120".to_owned(),
                    unit: "nM".to_owned(),
                }],
            }),
            ..Default::default()
        }
    }

    /// Valid and invalid SMILES, an InChI, an SDF record (no input SMILES)
    /// and a record the upload could not read.
    fn records() -> Vec<ipb::InputRecord> {
        let mut unreadable = record(5, "", "", "broken");
        unreadable.syntax_error = "line 7: unterminated quote".to_owned();
        vec![
            record(0, "c1ccccc1C(=O)Nc1ccc(O)cc1", "", "a"),
            record(1, "C1CC", "", "bad"),
            record(2, "InChI=1S/CH4/h1H4", "", "inchi"),
            record(3, "", MOLBLOCK, "sdf"),
            record(4, "O=C1C=CC(=O)C=C1", "", "quinone"),
            unreadable,
        ]
    }

    fn keys(maker: &KeyMaker, records: &[ipb::InputRecord]) -> Vec<Option<Vec<u8>>> {
        records.iter().map(|r| maker.key(r)).collect()
    }

    /// A chunk served from the cache gives exactly the results (and search
    /// keys) of computing it, with the job's own ids, properties and
    /// activities, though the entries came from records with other ones.
    #[test]
    fn results_from_the_cache_equal_computed_ones() {
        let pipeline = molbatch_chem::Pipeline::new().unwrap();
        let alerts = AlertSets::DEFAULT;
        let maker = KeyMaker::new(&molbatch_chem::pipeline_version(), alerts);
        let never = AtomicBool::new(false);
        let first = records();
        let keys_first = keys(&maker, &first);
        assert_eq!(keys_first.iter().filter(|k| k.is_some()).count(), 5);
        let learnt = compute_chunk_cached(
            &pipeline,
            &first,
            &keys_first,
            &HashMap::new(),
            alerts,
            &never,
            None,
        )
        .unwrap();
        assert_eq!((learnt.hits, learnt.entries.len()), (0, 5));
        assert_eq!((learnt.valid, learnt.invalid), (4, 2));
        let expected: Vec<pb::MoleculeResult> = first
            .iter()
            .map(|r| compute_one_with(&pipeline, r, alerts))
            .collect();
        assert_eq!(learnt.results, expected);

        // Another job: the same structures at other indices, other ids.
        let second: Vec<ipb::InputRecord> = first
            .iter()
            .map(|r| {
                let mut r = r.clone();
                r.index += 100;
                let molecule = r.molecule.as_mut().unwrap();
                molecule.id.push_str("-again");
                molecule
                    .properties
                    .insert("batch".to_owned(), "2".to_owned());
                molecule.activities[0].value = "7.5".to_owned();
                molecule.activities[0].unit = "uM".to_owned();
                r
            })
            .collect();
        let cached: HashMap<Vec<u8>, ipb::CachedResult> = learnt
            .entries
            .into_iter()
            .map(|e| (e.key.clone(), e))
            .collect();
        let served = compute_chunk_cached(
            &pipeline,
            &second,
            &keys(&maker, &second),
            &cached,
            alerts,
            &never,
            None,
        )
        .unwrap();
        assert_eq!((served.hits, served.entries.len()), (5, 0));
        let expected: Vec<pb::MoleculeResult> = second
            .iter()
            .map(|r| compute_one_with(&pipeline, r, alerts))
            .collect();
        assert_eq!(served.results, expected);
        assert!(served.results[0].activities[0].le.is_some());
        let expected_keys: Vec<ipb::SubstructureKey> = expected
            .iter()
            .filter(|r| r.valid)
            .filter_map(|r| {
                let key = molecule_key(&r.standardized_smiles)?;
                Some(ipb::SubstructureKey {
                    index: r.index,
                    ..key
                })
            })
            .collect();
        assert_eq!(served.substructure_keys, expected_keys);
        assert_eq!(learnt.substructure_keys.len(), expected_keys.len());
    }

    /// The key is the structure's text, its kind, the alert sets and the
    /// pipeline's version; nothing else of the record.
    #[test]
    fn keys_name_the_structure_the_alert_sets_and_the_version() {
        let version = molbatch_chem::pipeline_version();
        assert!(version.contains("RDKit 20"), "{version}");
        let maker = KeyMaker::new(&version, AlertSets::DEFAULT);
        let a = record(0, "CCO", "", "a");
        let mut b = record(9, "CCO", "", "b");
        b.molecule.as_mut().unwrap().activities.clear();
        assert_eq!(maker.key(&a), maker.key(&b));
        assert_ne!(maker.key(&a), maker.key(&record(0, "OCC", "", "a")));
        assert_ne!(maker.key(&a), maker.key(&record(0, "", "CCO", "a")));
        let all = KeyMaker::new(&version, AlertSets::all());
        assert_ne!(maker.key(&a), all.key(&a));
        let older = KeyMaker::new("molbatch-chem 0; RDKit 2022.09.3", AlertSets::DEFAULT);
        assert_ne!(maker.key(&a), older.key(&a));
        let mut broken = a.clone();
        broken.syntax_error = "line 3: bad".to_owned();
        assert_eq!(maker.key(&broken), None);
        assert_eq!(CacheScope::Off.of("t"), None);
        assert_ne!(CacheScope::Tenant.of(""), CacheScope::Shared.of(""));
    }
}
