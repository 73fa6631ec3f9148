//! Results by input index: the chunks holding a set of indices, read once
//! each, and only the asked results decoded from them.
//!
//! A stored result chunk is an encoded `ResultChunk` of about 1,000 results.
//! Decoding a whole chunk to return one result costs far more than reading
//! it, so [`pick_results`] walks the protobuf wire format, reads each
//! result's `index` (field 1, written first) and decodes only the results
//! asked for. This module reads through [`BatchStore`] only; it owns no
//! table.

use std::collections::HashMap;

use molbatch_proto::{internal as ipb, v1 as pb, JobId};
use prost::Message;

use crate::error::StorageError;
use crate::store::{BatchStore, StoredChunk};

/// Most indices one GetResults request may ask for.
pub const MAX_INDICES: usize = 1000;

/// The results at `indices` of `job_id`, in the order asked. Each chunk
/// holding an asked index is read once; an index with no stored result is
/// [`StorageError::ResultNotFound`] naming its position in `indices`.
pub async fn results_by_index(
    store: &dyn BatchStore,
    job_id: JobId,
    indices: &[u64],
    include_fingerprint: bool,
) -> Result<Vec<pb::MoleculeResult>, StorageError> {
    let mut wanted: Vec<u64> = indices.to_vec();
    wanted.sort_unstable();
    wanted.dedup();
    let mut found: HashMap<u64, pb::MoleculeResult> = HashMap::with_capacity(wanted.len());
    let mut pending = wanted.as_slice();
    while let Some(&first) = pending.first() {
        // The first chunk ending after `first`: it holds `first` unless that
        // index has no stored chunk.
        let Some(chunk) = store
            .result_chunks_from(job_id, first, 1)
            .await?
            .into_iter()
            .next()
        else {
            break;
        };
        let end = chunk.first_index + u64::from(chunk.molecule_count);
        let here = pending.partition_point(|&i| i < end);
        let (in_chunk, rest) = pending.split_at(here);
        let in_chunk: Vec<u64> = in_chunk
            .iter()
            .copied()
            .filter(|&i| i >= chunk.first_index)
            .collect();
        pending = rest;
        if in_chunk.is_empty() {
            continue;
        }
        let picked = tokio::task::spawn_blocking(move || pick_results(job_id, &chunk, &in_chunk))
            .await
            .map_err(|e| StorageError::Blocking(e.to_string()))??;
        for mut result in picked {
            if !include_fingerprint {
                result.morgan_fingerprint.clear();
            }
            found.insert(result.index, result);
        }
    }
    indices
        .iter()
        .enumerate()
        .map(|(position, index)| {
            found
                .get(index)
                .cloned()
                .ok_or(StorageError::ResultNotFound {
                    job_id,
                    index: *index,
                    position,
                })
        })
        .collect()
}

/// Decodes the results of `chunk` whose index is in `wanted` (ascending),
/// skipping the others without decoding them.
pub(crate) fn pick_results(
    job_id: JobId,
    chunk: &StoredChunk,
    wanted: &[u64],
) -> Result<Vec<pb::MoleculeResult>, StorageError> {
    let corrupt = |source| StorageError::Corrupt {
        job_id,
        chunk_index: chunk.chunk_index,
        source,
    };
    let mut picked = Vec::with_capacity(wanted.len());
    let walked = for_each_result(&chunk.payload, |index, bytes| {
        if wanted.binary_search(&index).is_ok() {
            picked.push(pb::MoleculeResult::decode(bytes).map_err(WalkError::Decode)?);
        }
        Ok(())
    });
    match walked {
        Ok(()) => Ok(picked),
        Err(WalkError::Decode(source)) => Err(corrupt(source)),
        // The walk found bytes it cannot read: the full decoder says why
        // (or, if it reads them after all, answers).
        Err(WalkError::Malformed) => {
            let chunk = ipb::ResultChunk::decode(chunk.payload.as_slice()).map_err(corrupt)?;
            Ok(chunk
                .results
                .into_iter()
                .filter(|r| wanted.binary_search(&r.index).is_ok())
                .collect())
        }
    }
}

/// Why a walk over encoded results stopped.
#[derive(Debug)]
pub(crate) enum WalkError {
    /// The wire format is broken (truncated, unknown wire type).
    Malformed,
    /// A result could not be decoded.
    Decode(prost::DecodeError),
}

impl From<prost::DecodeError> for WalkError {
    fn from(e: prost::DecodeError) -> Self {
        Self::Decode(e)
    }
}

/// Calls `visit` with the index and encoded bytes of every result in an
/// encoded `ResultChunk`, in stored order.
pub(crate) fn for_each_result(
    payload: &[u8],
    mut visit: impl FnMut(u64, &[u8]) -> Result<(), WalkError>,
) -> Result<(), WalkError> {
    let mut buf = payload;
    while !buf.is_empty() {
        let (field, value) = next_field(&mut buf)?;
        // ResultChunk.results = 2
        if let (2, Field::Bytes(bytes)) = (field, value) {
            visit(result_index(bytes)?, bytes)?;
        }
    }
    Ok(())
}

/// The `index` (field 1) of an encoded MoleculeResult; absent means 0.
fn result_index(mut bytes: &[u8]) -> Result<u64, WalkError> {
    while !bytes.is_empty() {
        if let (1, Field::Varint(index)) = next_field(&mut bytes)? {
            return Ok(index);
        }
    }
    Ok(0)
}

/// One field's value as the wire format carries it.
enum Field<'a> {
    Varint(u64),
    Bytes(&'a [u8]),
    Fixed,
}

/// Reads one field (number and value) off the front of `buf`.
fn next_field<'a>(buf: &mut &'a [u8]) -> Result<(u32, Field<'a>), WalkError> {
    let key = prost::encoding::decode_varint(buf).map_err(|_| WalkError::Malformed)?;
    let field = u32::try_from(key >> 3).map_err(|_| WalkError::Malformed)?;
    let value = match key & 7 {
        0 => Field::Varint(prost::encoding::decode_varint(buf).map_err(|_| WalkError::Malformed)?),
        1 => advance(buf, 8).map(|_| Field::Fixed)?,
        2 => {
            let len = prost::encoding::decode_varint(buf).map_err(|_| WalkError::Malformed)?;
            let len = usize::try_from(len).map_err(|_| WalkError::Malformed)?;
            Field::Bytes(advance(buf, len)?)
        }
        5 => advance(buf, 4).map(|_| Field::Fixed)?,
        _ => return Err(WalkError::Malformed),
    };
    Ok((field, value))
}

/// Takes `len` bytes off the front of `buf`.
fn advance<'a>(buf: &mut &'a [u8], len: usize) -> Result<&'a [u8], WalkError> {
    if buf.len() < len {
        return Err(WalkError::Malformed);
    }
    let (head, tail) = buf.split_at(len);
    *buf = tail;
    Ok(head)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(index: u64) -> pb::MoleculeResult {
        pb::MoleculeResult {
            index,
            input_smiles: format!("C{index}"),
            valid: !index.is_multiple_of(3),
            morgan_fingerprint: vec![1, 2, 3],
            ..Default::default()
        }
    }

    fn chunk(chunk_index: u32, indices: std::ops::Range<u64>) -> StoredChunk {
        let first_index = indices.start;
        let results: Vec<_> = indices.map(result).collect();
        StoredChunk {
            chunk_index,
            first_index,
            molecule_count: results.len() as u32,
            payload: ipb::ResultChunk {
                chunk: Some(ipb::ChunkRef {
                    job_id: "j".into(),
                    chunk_index,
                }),
                results,
                substructure_keys: vec![],
            }
            .encode_to_vec(),
        }
    }

    #[test]
    fn picks_only_the_wanted_results_including_index_zero() {
        let c = chunk(0, 0..10);
        let picked = pick_results(JobId::new(), &c, &[0, 4, 9]).unwrap();
        assert_eq!(picked, vec![result(0), result(4), result(9)]);
        assert!(pick_results(JobId::new(), &c, &[11]).unwrap().is_empty());
    }

    #[test]
    fn a_truncated_chunk_is_corrupt() {
        let mut c = chunk(2, 20..30);
        c.payload.truncate(c.payload.len() - 3);
        assert!(matches!(
            pick_results(JobId::new(), &c, &[21]),
            Err(StorageError::Corrupt { chunk_index: 2, .. })
        ));
    }

    async fn answers_in_the_order_asked(store: &dyn BatchStore) {
        let job = JobId::new();
        // Chunks 0..3 of 10 molecules; chunk 2 is missing (not computed).
        for (i, range) in [(0, 0..10), (1, 10..20), (3, 30..40)] {
            store.put_result_chunk(job, chunk(i, range)).await.unwrap();
        }
        let got = results_by_index(store, job, &[35, 3, 17, 3, 0], false)
            .await
            .unwrap();
        let want: Vec<_> = [35, 3, 17, 3, 0]
            .into_iter()
            .map(|i| pb::MoleculeResult {
                morgan_fingerprint: vec![],
                ..result(i)
            })
            .collect();
        assert_eq!(got, want);
        let with_fp = results_by_index(store, job, &[12], true).await.unwrap();
        assert_eq!(with_fp, vec![result(12)]);
        assert!(results_by_index(store, job, &[], false)
            .await
            .unwrap()
            .is_empty());

        for (asked, position) in [
            (vec![1, 25, 2], 1),
            (vec![1, 2, 40], 2),
            (vec![7, 9, 99], 2),
        ] {
            let err = results_by_index(store, job, &asked, false)
                .await
                .unwrap_err();
            let status = tonic::Status::from(err);
            assert_eq!(status.code(), tonic::Code::NotFound, "{asked:?}");
            assert!(
                status.message().contains(&format!("indices[{position}]")),
                "{}",
                status.message()
            );
        }
    }

    #[tokio::test]
    async fn sqlite_answers_in_the_order_asked() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("storage.db").display());
        let store = crate::store::SqlBatchStore::sqlite(&url).await.unwrap();
        answers_in_the_order_asked(&store).await;
    }

    #[tokio::test]
    async fn postgres_answers_in_the_order_asked() {
        crate::store::with_fresh_database(|url| async move {
            let store = crate::store::SqlBatchStore::postgres(&url).await.unwrap();
            answers_in_the_order_asked(&store).await;
        })
        .await;
    }
}
