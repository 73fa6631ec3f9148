//! Substructure-search keys: stored inside each result chunk (field 3 of
//! the encoded `ResultChunk`, written by the analytics worker) and read
//! back, chunk by chunk in input order, without decoding the results
//! themselves. This module reads through [`BatchStore`] only; it owns no
//! table.

use std::sync::Arc;

use molbatch_proto::{internal as ipb, JobId};
use prost::Message;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::Status;

use crate::error::StorageError;
use crate::store::{BatchStore, StoredChunk};

/// Result chunks read per store round trip.
const CHUNKS_PER_READ: u32 = 4;
/// Chunks' keys buffered ahead of the reader.
const BUFFERED_CHUNKS: usize = 2;

/// What a stored `ResultChunk` says about substructure search: each
/// result's validity and the chunk's keys; prost skips everything else.
#[derive(Clone, PartialEq, Message)]
struct KeysView {
    #[prost(message, repeated, tag = "2")]
    results: Vec<ValidityView>,
    #[prost(message, repeated, tag = "3")]
    substructure_keys: Vec<ipb::SubstructureKey>,
}

/// A `MoleculeResult`'s `valid` field alone.
#[derive(Clone, PartialEq, Message)]
struct ValidityView {
    #[prost(bool, tag = "4")]
    valid: bool,
}

/// The keys of one stored result chunk.
pub fn chunk_keys(
    job_id: JobId,
    stored: &StoredChunk,
) -> Result<ipb::SubstructureKeys, StorageError> {
    let view =
        KeysView::decode(stored.payload.as_slice()).map_err(|source| StorageError::Corrupt {
            job_id,
            chunk_index: stored.chunk_index,
            source,
        })?;
    let valid_molecules = view.results.iter().filter(|r| r.valid).count() as u32;
    Ok(ipb::SubstructureKeys {
        keys_missing: valid_molecules > 0 && view.substructure_keys.is_empty(),
        keys: view.substructure_keys,
        valid_molecules,
    })
}

/// A stream of `job_id`'s keys, one message per result chunk in input
/// order; a few chunks are read ahead of the consumer, no more.
pub fn stream_keys(
    store: Arc<dyn BatchStore>,
    job_id: JobId,
) -> ReceiverStream<Result<ipb::SubstructureKeys, Status>> {
    let (sender, receiver) = mpsc::channel(BUFFERED_CHUNKS);
    tokio::spawn(async move {
        let mut cursor = 0;
        loop {
            let chunks = match store
                .result_chunks_from(job_id, cursor, CHUNKS_PER_READ)
                .await
            {
                Ok(chunks) => chunks,
                Err(e) => {
                    let _ = sender.send(Err(StorageError::from(e).into())).await;
                    return;
                }
            };
            if chunks.is_empty() {
                return;
            }
            for stored in chunks {
                cursor = stored.first_index + u64::from(stored.molecule_count);
                let keys = tokio::task::spawn_blocking(move || chunk_keys(job_id, &stored))
                    .await
                    .map_err(|e| StorageError::Blocking(e.to_string()))
                    .and_then(|keys| keys)
                    .map_err(Status::from);
                let failed = keys.is_err();
                if sender.send(keys).await.is_err() || failed {
                    return;
                }
            }
        }
    });
    ReceiverStream::new(receiver)
}

#[cfg(test)]
mod tests {
    use super::*;
    use molbatch_proto::v1 as pb;

    fn stored(chunk: ipb::ResultChunk) -> StoredChunk {
        StoredChunk {
            chunk_index: 0,
            first_index: 0,
            molecule_count: chunk.results.len() as u32,
            payload: chunk.encode_to_vec(),
        }
    }

    fn result(index: u64, valid: bool) -> pb::MoleculeResult {
        pb::MoleculeResult {
            index,
            valid,
            standardized_smiles: "CCO".into(),
            morgan_fingerprint: vec![1, 2, 3],
            ..Default::default()
        }
    }

    #[test]
    fn a_chunks_keys_are_read_without_its_results() {
        let job_id = JobId::new();
        let key = ipb::SubstructureKey {
            index: 1,
            pattern: vec![7; 256],
            molecule: vec![1, 2, 3],
        };
        let chunk = ipb::ResultChunk {
            chunk: None,
            results: vec![result(0, false), result(1, true)],
            substructure_keys: vec![key.clone()],
        };
        let keys = chunk_keys(job_id, &stored(chunk)).unwrap();
        assert_eq!(keys.keys, vec![key]);
        assert_eq!(keys.valid_molecules, 1);
        assert!(!keys.keys_missing);
    }

    #[test]
    fn a_chunk_stored_without_keys_says_so() {
        let job_id = JobId::new();
        let with_valid = ipb::ResultChunk {
            chunk: None,
            results: vec![result(0, true)],
            substructure_keys: vec![],
        };
        assert!(
            chunk_keys(job_id, &stored(with_valid))
                .unwrap()
                .keys_missing
        );
        let all_invalid = ipb::ResultChunk {
            chunk: None,
            results: vec![result(0, false)],
            substructure_keys: vec![],
        };
        assert!(
            !chunk_keys(job_id, &stored(all_invalid))
                .unwrap()
                .keys_missing
        );
    }
}
