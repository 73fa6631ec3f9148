//! Substructure search inside a job: the job's search keys (made by the
//! worker when the job ran, [`molecule_key`], stored with each result chunk)
//! loaded once into a [`KeyIndex`], and a page of hits in input order,
//! screened by pattern fingerprint and confirmed by RDKit's matcher on all
//! cores ([`KeyIndex::page`]).

use molbatch_chem::substructure::{search_key, SearchKey, SubstructureQuery};
use molbatch_chem::{ChemError, Fingerprint};
use molbatch_proto::internal as ipb;
use molbatch_proto::internal::storage_client::StorageClient;
use molbatch_telemetry::net::Channel;
use rayon::prelude::*;

use crate::error::AnalyticsError;

/// Molecules matched per parallel round at first; each round doubles it,
/// up to [`MAX_BLOCK`], so a page of early hits stops early and a page of
/// rare hits still keeps both cores busy.
const FIRST_BLOCK: usize = 256;
/// The largest round.
const MAX_BLOCK: usize = 16_384;

/// The search key of a valid result's standardised SMILES (its index
/// unset). A SMILES RDKit cannot read back gets no key, as
/// `Chem.MolFromSmiles` gives no molecule to search either.
pub fn molecule_key(standardized_smiles: &str) -> Option<ipb::SubstructureKey> {
    let key = search_key(standardized_smiles).ok()?;
    Some(ipb::SubstructureKey {
        index: 0,
        pattern: key.pattern.to_bytes(),
        molecule: key.molecule,
    })
}

/// A job's search keys, valid molecules in input order.
#[derive(Debug, Default)]
pub struct KeyIndex {
    /// Input index of each key.
    indices: Vec<u64>,
    keys: Vec<SearchKey>,
    /// Valid molecules in the job.
    valid: u64,
}

/// One page of hits.
#[derive(Debug, PartialEq)]
pub struct Page {
    /// Input index and matched atoms of each hit, in input order.
    pub hits: Vec<(u64, Vec<u32>)>,
    /// Input index to start the next page at; `None` after the last.
    pub next: Option<u64>,
    /// Keys looked at.
    pub scanned: u64,
    /// Of those, the ones the screen passed.
    pub candidates: u64,
}

impl KeyIndex {
    /// Reads `job_id`'s keys from storage. A chunk stored without keys (by
    /// a version before substructure search) is FAILED_PRECONDITION.
    pub async fn load(
        storage: &mut StorageClient<Channel>,
        job_id: &str,
    ) -> Result<Self, AnalyticsError> {
        let mut chunks = storage
            .read_substructure_keys(ipb::ReadSubstructureKeysRequest {
                job_id: job_id.to_owned(),
            })
            .await?
            .into_inner();
        let mut index = Self::default();
        while let Some(chunk) = chunks.message().await? {
            if chunk.keys_missing {
                return Err(AnalyticsError::Precondition(format!(
                    "job {job_id} was computed before substructure search existed and its \
                     molecules have no search keys; submit it again to search it"
                )));
            }
            index.valid += u64::from(chunk.valid_molecules);
            for key in chunk.keys {
                let pattern = Fingerprint::from_bytes(&key.pattern).ok_or_else(|| {
                    AnalyticsError::internal("reading search keys", "pattern is not 256 bytes")
                })?;
                index.indices.push(key.index);
                index.keys.push(SearchKey {
                    pattern,
                    molecule: key.molecule,
                });
            }
        }
        Ok(index)
    }

    /// An index of `keys` (input index and key, in input order) of a job
    /// with `valid` valid molecules.
    pub fn new(keys: Vec<(u64, SearchKey)>, valid: u64) -> Self {
        let (indices, keys) = keys.into_iter().unzip();
        Self {
            indices,
            keys,
            valid,
        }
    }

    /// Valid molecules in the job.
    pub fn valid(&self) -> u64 {
        self.valid
    }

    /// The memory the keys hold, roughly: fingerprints, pickles and indices.
    pub fn bytes(&self) -> usize {
        let per_key = std::mem::size_of::<SearchKey>() + std::mem::size_of::<u64>();
        self.keys.iter().map(|k| per_key + k.molecule.len()).sum()
    }

    /// Up to `page_size` hits of `query` from input index `from` on, in
    /// input order. CPU-bound: call it on a blocking thread.
    pub fn page(
        &self,
        query: &SubstructureQuery,
        from: u64,
        page_size: usize,
    ) -> Result<Page, ChemError> {
        let first = self.indices.partition_point(|&i| i < from);
        let mut at = first;
        let mut hits = Vec::new();
        let mut candidates = 0;
        let mut block = FIRST_BLOCK;
        while at < self.keys.len() && hits.len() < page_size {
            let end = (at + block).min(self.keys.len());
            let found: Vec<(usize, Option<Vec<u32>>)> = (at..end)
                .into_par_iter()
                .filter(|&i| query.may_match(&self.keys[i].pattern))
                .map(|i| Ok((i, query.first_match(&self.keys[i].molecule)?)))
                .collect::<Result<_, ChemError>>()?;
            at = end;
            for (i, atoms) in found {
                candidates += 1;
                if let Some(atoms) = atoms {
                    hits.push((self.indices[i], atoms));
                    if hits.len() == page_size {
                        at = i + 1;
                        break;
                    }
                }
            }
            block = (block * 2).min(MAX_BLOCK);
        }
        Ok(Page {
            hits,
            next: self.indices.get(at).copied(),
            scanned: (at - first) as u64,
            candidates,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use molbatch_chem::QuerySyntax;

    fn index(smiles: &[&str]) -> KeyIndex {
        // Every other input index, as if the odd ones were invalid.
        let keys = smiles
            .iter()
            .zip(0u64..)
            .map(|(s, i)| (2 * i, search_key(s).expect("key")))
            .collect();
        KeyIndex::new(keys, smiles.len() as u64)
    }

    #[test]
    fn pages_follow_input_order_and_resume_at_the_token() {
        let molecules = ["c1ccccc1O", "CCCC", "Oc1ccncc1", "CCO", "Oc1ccc(O)cc1"];
        let index = index(&molecules);
        let phenol = SubstructureQuery::parse("c[OH]", QuerySyntax::Smarts, false).unwrap();
        let first = index.page(&phenol, 0, 2).unwrap();
        assert_eq!(first.hits.iter().map(|h| h.0).collect::<Vec<_>>(), [0, 4]);
        assert_eq!(first.hits[0].1, vec![5, 6]);
        assert_eq!(first.next, Some(6));
        assert_eq!(first.scanned, 3);
        let second = index.page(&phenol, first.next.unwrap(), 2).unwrap();
        assert_eq!(second.hits.iter().map(|h| h.0).collect::<Vec<_>>(), [8]);
        assert_eq!(second.next, None);
        assert_eq!(second.scanned, 2);
        // The screen keeps the aliphatic molecules away from the matcher.
        assert!(first.candidates + second.candidates < molecules.len() as u64);
    }

    #[test]
    fn every_molecule_is_matched_once_across_pages() {
        let molecules: Vec<String> = (1..600).map(|n| "C".repeat(n % 7 + 1) + "O").collect();
        let refs: Vec<&str> = molecules.iter().map(String::as_str).collect();
        let index = index(&refs);
        let ethanol = SubstructureQuery::parse("CCO", QuerySyntax::Smiles, false).unwrap();
        let mut from = 0;
        let mut hits = Vec::new();
        loop {
            let page = index.page(&ethanol, from, 37).unwrap();
            hits.extend(page.hits.into_iter().map(|h| h.0));
            match page.next {
                Some(next) => from = next,
                None => break,
            }
        }
        let want: Vec<u64> = (0u64..)
            .zip(&refs)
            .filter(|(_, s)| s.len() >= 3)
            .map(|(i, _)| 2 * i)
            .collect();
        assert_eq!(hits, want);
    }
}
