//! Depictions for the interactive API: one SVG (`Depict`) or up to a page of
//! them (`BatchDepict`), of SMILES or of a job's molecules, optionally with a
//! structural alert or given atoms (a substructure hit) highlighted.
//!
//! A batch reads each job's molecules with one storage call, then draws every
//! item on the rayon pool inside `spawn_blocking` (RDKit drawing is CPU work
//! and never runs on the async runtime's threads). Items fail one by one: an
//! [`ItemError`] becomes the item's `error` in a batch and INVALID_ARGUMENT
//! naming its field for a single `Depict`. Drawings are deterministic, so the
//! last [`CACHED_DRAWINGS`] are kept ([`DrawingCache`]): paging back through
//! a job's results costs no RDKit call. The gateway has checked the request's
//! shape and that the caller may see every job named.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use molbatch_chem::{alerts, depict, AlertSet, AlertSets, ChemError};
use molbatch_proto::internal::storage_client::StorageClient;
use molbatch_proto::{internal as ipb, v1 as pb};
use molbatch_telemetry::net::Channel;
use rayon::prelude::*;

use crate::error::AnalyticsError;

/// Drawings kept; an SVG of a drug-sized molecule is 5–15 KB.
pub const CACHED_DRAWINGS: usize = 2048;

/// Why one item cannot be drawn: the molecule's problem, not the request's.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ItemError {
    /// RDKit cannot read or draw the SMILES, or it is empty.
    #[error("{0}")]
    Chem(#[from] ChemError),
    /// The job's molecule is invalid, so it has no structure.
    #[error("molecule {index} is invalid ({code}): nothing to draw")]
    InvalidMolecule {
        /// Its input index.
        index: u64,
        /// Its error code.
        code: String,
    },
    /// The job has no such molecule.
    #[error("the job has {total} molecules; no index {index}")]
    NoSuchIndex {
        /// The index asked for.
        index: u64,
        /// Molecules in the job.
        total: u64,
    },
    /// The highlighted atoms are not all the molecule's.
    #[error("{0}")]
    Atoms(ChemError),
    /// The molecule has no alert of the name given.
    #[error("the molecule has no alert {name:?}; {have}")]
    NoSuchAlert {
        /// The name asked for.
        name: String,
        /// The alerts it has, worded for the message.
        have: String,
    },
}

impl ItemError {
    /// The request field the error is about.
    pub fn field(&self) -> &'static str {
        match self {
            Self::Chem(_) => "smiles",
            Self::InvalidMolecule { .. } | Self::NoSuchIndex { .. } => "index",
            Self::NoSuchAlert { .. } => "highlight_alert",
            Self::Atoms(_) => "highlight_atoms",
        }
    }
}

/// A drawing and the atoms highlighted in it.
#[derive(Debug)]
pub struct Drawing {
    /// The SVG document.
    pub svg: String,
    /// Highlighted atoms, ascending.
    pub atoms: Vec<u32>,
}

/// What one item draws.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct DrawKey {
    smiles: String,
    width: u32,
    height: u32,
    highlight: String,
    /// Atoms to highlight, ascending, without repeats.
    atoms: Vec<u32>,
}

/// A small, approximately least-recently-used cache of drawings: two
/// generations; a hit in the old one moves to the new one, and when the new
/// one is full the old one is dropped. O(1) per call, at most `capacity`
/// drawings.
pub struct DrawingCache {
    generations: Mutex<[HashMap<DrawKey, Arc<Drawing>>; 2]>,
    capacity: usize,
}

impl DrawingCache {
    /// A cache of at most `capacity` drawings.
    pub fn new(capacity: usize) -> Self {
        Self {
            generations: Mutex::new([HashMap::new(), HashMap::new()]),
            capacity: capacity.max(2),
        }
    }

    fn get(&self, key: &DrawKey) -> Option<Arc<Drawing>> {
        let mut g = self.generations.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(hit) = g[0].get(key) {
            return Some(hit.clone());
        }
        let hit = g[1].remove(key)?;
        Self::insert_into(&mut g, self.capacity, key.clone(), hit.clone());
        Some(hit)
    }

    fn put(&self, key: DrawKey, drawing: Arc<Drawing>) {
        let mut g = self.generations.lock().unwrap_or_else(|e| e.into_inner());
        Self::insert_into(&mut g, self.capacity, key, drawing);
    }

    fn insert_into(
        g: &mut [HashMap<DrawKey, Arc<Drawing>>; 2],
        capacity: usize,
        key: DrawKey,
        drawing: Arc<Drawing>,
    ) {
        if g[0].len() >= capacity / 2 {
            g[1] = std::mem::take(&mut g[0]);
        }
        g[0].insert(key, drawing);
    }
}

/// Draws `key`, highlighting every match of the alert it names, or its atoms.
fn draw(key: &DrawKey) -> Result<Drawing, ItemError> {
    let DrawKey {
        smiles,
        width,
        height,
        highlight,
        atoms,
    } = key;
    if highlight.is_empty() && !atoms.is_empty() {
        // RDKit throws (a Depiction error) on an index the molecule lacks; a
        // SMILES it cannot read stays the SMILES' error.
        let svg = depict::svg_highlighted(smiles, *width, *height, atoms).map_err(|e| {
            if matches!(e, ChemError::Depiction { .. }) {
                ItemError::Atoms(e)
            } else {
                ItemError::Chem(e)
            }
        })?;
        return Ok(Drawing {
            svg,
            atoms: atoms.clone(),
        });
    }
    if highlight.is_empty() {
        let svg = depict::svg(smiles, *width, *height)?;
        return Ok(Drawing {
            svg,
            atoms: Vec::new(),
        });
    }
    // A `CATALOG:name` highlight may name an alert of a set the job chose
    // besides the default ones.
    let sets = highlight
        .split_once(':')
        .and_then(|(catalog, _)| AlertSet::of_catalog(catalog))
        .map_or(AlertSets::DEFAULT, |set| AlertSets::DEFAULT.with(set));
    let found = alerts::matches_in(smiles, sets)?;
    let wanted = |m: &alerts::AlertMatch| {
        m.alert.name == *highlight
            || highlight
                .split_once(':')
                .is_some_and(|(catalog, name)| m.alert.catalog == catalog && m.alert.name == name)
    };
    let mut atoms: Vec<u32> = found
        .iter()
        .filter(|m| wanted(m))
        .flat_map(alerts::AlertMatch::atoms)
        .collect();
    if !found.iter().any(wanted) {
        let have = if found.is_empty() {
            "it has no alerts".to_owned()
        } else {
            let names: Vec<String> = found
                .iter()
                .map(|m| format!("{}:{}", m.alert.catalog, m.alert.name))
                .collect();
            format!("its alerts: {}", names.join(", "))
        };
        return Err(ItemError::NoSuchAlert {
            name: highlight.clone(),
            have,
        });
    }
    atoms.sort_unstable();
    atoms.dedup();
    let svg = depict::svg_highlighted(smiles, *width, *height, &atoms)?;
    Ok(Drawing { svg, atoms })
}

/// One item, ready to draw or already answered.
enum Planned {
    Draw {
        key: DrawKey,
        index: Option<u64>,
    },
    Failed {
        smiles: String,
        index: Option<u64>,
        error: ItemError,
    },
}

/// Depictions of a checked batch, in request order.
pub struct Depicter {
    storage: StorageClient<Channel>,
    cache: Arc<DrawingCache>,
}

impl Depicter {
    /// Reads job molecules through `storage`, remembering recent drawings.
    pub fn new(storage: StorageClient<Channel>) -> Self {
        Self {
            storage,
            cache: Arc::new(DrawingCache::new(CACHED_DRAWINGS)),
        }
    }

    /// Draws every request; `Err` only when storage fails or RDKit's pool
    /// cannot run. Each answer is a drawing or the item's error.
    pub async fn depict_all(
        &self,
        requests: Vec<pb::DepictRequest>,
        total_molecules: &HashMap<String, u64>,
    ) -> Result<Vec<(pb::Depiction, Option<ItemError>)>, AnalyticsError> {
        let molecules = self.job_molecules(&requests, total_molecules).await?;
        let planned: Vec<Planned> = requests
            .into_iter()
            .map(|request| plan(request, total_molecules, &molecules))
            .collect();
        let cache = self.cache.clone();
        tokio::task::spawn_blocking(move || {
            planned
                .into_par_iter()
                .map(|item| answer(item, &cache))
                .collect()
        })
        .await
        .map_err(|e| AnalyticsError::internal("drawing", e))
    }

    /// The stored results of every job molecule the requests name (valid or
    /// not), one storage call per job, by (job id, index).
    async fn job_molecules(
        &self,
        requests: &[pb::DepictRequest],
        total_molecules: &HashMap<String, u64>,
    ) -> Result<HashMap<(String, u64), pb::MoleculeResult>, AnalyticsError> {
        let mut wanted: BTreeMap<&str, Vec<u64>> = BTreeMap::new();
        for request in requests {
            let (Some(index), false) = (request.index, request.job_id.is_empty()) else {
                continue;
            };
            let total = total_molecules.get(&request.job_id).copied().unwrap_or(0);
            if index < total {
                wanted
                    .entry(request.job_id.as_str())
                    .or_default()
                    .push(index);
            }
        }
        let mut found = HashMap::new();
        for (job_id, mut indices) in wanted {
            indices.sort_unstable();
            indices.dedup();
            let results = self
                .storage
                .clone()
                .get_results(ipb::GetResultsRequest {
                    job_id: job_id.to_owned(),
                    indices,
                    include_fingerprint: false,
                })
                .await?
                .into_inner()
                .results;
            for result in results {
                found.insert((job_id.to_owned(), result.index), result);
            }
        }
        Ok(found)
    }
}

/// What to draw for one request, or why nothing can be.
fn plan(
    request: pb::DepictRequest,
    total_molecules: &HashMap<String, u64>,
    molecules: &HashMap<(String, u64), pb::MoleculeResult>,
) -> Planned {
    let pb::DepictRequest {
        smiles,
        job_id,
        index,
        width,
        height,
        highlight_alert,
        mut highlight_atoms,
    } = request;
    highlight_atoms.sort_unstable();
    highlight_atoms.dedup();
    let job_index = index.filter(|_| !job_id.is_empty());
    let smiles = match job_index {
        Some(index) => {
            let total = total_molecules.get(&job_id).copied().unwrap_or(0);
            let failed = |error| Planned::Failed {
                smiles: String::new(),
                index: Some(index),
                error,
            };
            match molecules.get(&(job_id, index)) {
                None => return failed(ItemError::NoSuchIndex { index, total }),
                Some(r) if !r.valid => {
                    return failed(ItemError::InvalidMolecule {
                        index,
                        code: r.error_code.clone(),
                    })
                }
                Some(r) => r.standardized_smiles.clone(),
            }
        }
        None => smiles.trim().to_owned(),
    };
    Planned::Draw {
        key: DrawKey {
            smiles,
            width,
            height,
            highlight: highlight_alert.trim().to_owned(),
            atoms: highlight_atoms,
        },
        index: job_index,
    }
}

/// Draws one planned item (from the cache when it can).
fn answer(item: Planned, cache: &DrawingCache) -> (pb::Depiction, Option<ItemError>) {
    let (key, index) = match item {
        Planned::Failed {
            smiles,
            index,
            error,
        } => {
            let depiction = pb::Depiction {
                smiles,
                index,
                error: error.to_string(),
                ..Default::default()
            };
            return (depiction, Some(error));
        }
        Planned::Draw { key, index } => (key, index),
    };
    let drawn = match cache.get(&key) {
        Some(hit) => Ok(hit),
        None => draw(&key).map(|d| {
            let d = Arc::new(d);
            cache.put(key.clone(), d.clone());
            d
        }),
    };
    match drawn {
        Ok(d) => (
            pb::Depiction {
                smiles: key.smiles,
                svg: d.svg.clone(),
                highlight_atoms: d.atoms.clone(),
                error: String::new(),
                index,
            },
            None,
        ),
        Err(error) => (
            pb::Depiction {
                smiles: key.smiles,
                index,
                error: error.to_string(),
                ..Default::default()
            },
            Some(error),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(smiles: &str, highlight: &str) -> DrawKey {
        DrawKey {
            smiles: smiles.into(),
            width: 200,
            height: 150,
            highlight: highlight.into(),
            atoms: Vec::new(),
        }
    }

    #[test]
    fn given_atoms_are_highlighted_and_checked() {
        let indole = "c1ccc2[nH]ccc2c1";
        let ring = DrawKey {
            atoms: vec![3, 4, 5, 6, 7],
            ..key(indole, "")
        };
        let drawn = draw(&ring).unwrap();
        assert_eq!(drawn.atoms, [3, 4, 5, 6, 7]);
        assert_ne!(drawn.svg, draw(&key(indole, "")).unwrap().svg);
        let beyond = DrawKey {
            atoms: vec![9],
            ..key(indole, "")
        };
        assert_eq!(draw(&beyond).unwrap_err().field(), "highlight_atoms");
        let unreadable = DrawKey {
            atoms: vec![0],
            ..key("C1CC", "")
        };
        assert_eq!(draw(&unreadable).unwrap_err().field(), "smiles");
    }

    #[test]
    fn an_alert_is_found_by_name_or_catalog_and_name() {
        let rhodanine = "O=C1NC(=S)SC1=Cc1ccccc1";
        let by_name = draw(&key(rhodanine, "ene_rhod_A(235)")).unwrap();
        assert_eq!(by_name.atoms, [0, 1, 2, 3, 4, 5, 6, 7]);
        let by_both = draw(&key(rhodanine, "PAINS_A:ene_rhod_A(235)")).unwrap();
        assert_eq!(by_both.svg, by_name.svg);
        let plain = draw(&key(rhodanine, "")).unwrap();
        assert!(plain.atoms.is_empty());
        assert_ne!(plain.svg, by_name.svg);
    }

    #[test]
    fn an_alert_of_a_chosen_set_is_found_by_its_catalog() {
        // ClC(=O)CCCCl: atoms 0-2 are the acyl chloride (Glaxo R2).
        let acid = draw(&key("ClC(=O)CCCCl", "GLAXO:R2 Acid halides")).unwrap();
        assert_eq!(acid.atoms, [0, 1, 2]);
        // Without the catalog only the default sets are searched.
        let err = draw(&key("ClC(=O)CCCCl", "R2 Acid halides")).unwrap_err();
        assert_eq!(err.field(), "highlight_alert");
    }

    #[test]
    fn a_missing_alert_names_the_ones_the_molecule_has() {
        let err = draw(&key("Oc1ccccc1O", "ene_rhod_A(235)")).unwrap_err();
        assert_eq!(err.field(), "highlight_alert");
        let text = err.to_string();
        assert!(text.contains("PAINS_B:catechol_A(92)"), "{text}");
        let none = draw(&key("CCO", "catechol")).unwrap_err().to_string();
        assert!(none.contains("it has no alerts"), "{none}");
        let wrong_catalog = draw(&key("Oc1ccccc1O", "NIH:catechol_A(92)")).unwrap_err();
        assert_eq!(wrong_catalog.field(), "highlight_alert");
    }

    #[test]
    fn the_cache_keeps_recent_drawings_and_forgets_old_ones() {
        let cache = DrawingCache::new(4);
        let drawing = || {
            Arc::new(Drawing {
                svg: String::new(),
                atoms: Vec::new(),
            })
        };
        for smiles in ["C", "CC", "CCC"] {
            cache.put(key(smiles, ""), drawing());
        }
        // "C" is in the old generation; a hit moves it to the new one.
        assert!(cache.get(&key("C", "")).is_some());
        for smiles in ["CCCC", "CCCCC"] {
            cache.put(key(smiles, ""), drawing());
        }
        assert!(cache.get(&key("C", "")).is_some());
        assert!(cache.get(&key("CC", "")).is_none());
    }
}
