//! Batch intake: a file streamed by a client (or inline molecules) becomes a
//! job whose input chunks are in storage, sealed only when every chunk is
//! stored. The file is parsed as it arrives on a blocking thread, so memory
//! stays bounded by a few chunks whatever the file's size; a malformed record
//! or an empty file fails the job with its reason and leaves no task, unless
//! the upload skips bad records (`on_bad_record: SKIP`): then each is stored
//! in its place with its reason, and becomes a RECORD_SYNTAX result.

use std::collections::HashMap;
use std::io::Read;

use bytes::Bytes;
use molbatch_formats::{
    read_records, ActivityUnit, Format, FormatError, MolText, OnBadRecord, ReaderOptions, Record,
};
use molbatch_proto::internal::identity_client::IdentityClient;
use molbatch_proto::internal::scheduler_client::SchedulerClient;
use molbatch_proto::internal::storage_client::StorageClient;
use molbatch_proto::time::now_ms;
use molbatch_proto::{internal as ipb, v1 as pb, Priority, TenantId, Violations};
use molbatch_telemetry::net::Channel;
use tokio::sync::mpsc;
use tonic::Status;

use crate::auth::Caller;
use crate::error::GatewayError;
use crate::limits::exhausted;

/// Upload bytes buffered between the network and the parser.
const BYTE_BUFFER: usize = 16;
/// Parsed chunks buffered between the parser and storage.
const CHUNK_BUFFER: usize = 2;

/// A `Read` over byte pieces arriving on a channel (from the async side).
struct ChannelReader {
    pieces: mpsc::Receiver<Result<Bytes, std::io::Error>>,
    current: Bytes,
}

impl Read for ChannelReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.current.is_empty() {
            match self.pieces.blocking_recv() {
                Some(Ok(piece)) => self.current = piece,
                Some(Err(e)) => return Err(e),
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.current.len());
        buf[..n].copy_from_slice(&self.current.split_to(n));
        Ok(n)
    }
}

/// Reader settings from the client's upload options, or every bad field.
pub(crate) fn reader_options(options: &pb::UploadOptions) -> Result<ReaderOptions, Violations> {
    let pb::UploadOptions {
        format,
        smiles_column,
        id_column,
        delimiter,
        display_name,
        priority,
        activity_columns,
        on_bad_record,
        alert_sets,
    } = options;
    let mut v = Violations::default();
    if let Err(e) = molbatch_proto::alert_sets::checked("options.alert_sets", alert_sets) {
        v.extend(e);
    }
    let mut activities = Vec::with_capacity(activity_columns.len());
    for (i, pb::ActivityColumn { column, unit }) in activity_columns.iter().enumerate() {
        if column.trim().is_empty() {
            v.field(
                format!("options.activity_columns[{i}].column"),
                "must name a column",
            );
        }
        match unit.parse::<ActivityUnit>() {
            Ok(unit) => activities.push((column.clone(), unit)),
            Err(e) => v.field(format!("options.activity_columns[{i}].unit"), e.to_string()),
        }
    }
    if let Err(e) = Priority::new(*priority) {
        v.field("options.priority", e.to_string());
    }
    let format = match pb::InputFormat::try_from(*format) {
        Ok(pb::InputFormat::Smiles) => Some(Format::Smiles),
        Ok(pb::InputFormat::Csv) => Some(Format::Csv),
        Ok(pb::InputFormat::Sdf) => Some(Format::Sdf),
        Ok(pb::InputFormat::Unspecified) => {
            let found = Format::from_path(display_name);
            if found.is_none() {
                v.field(
                    "options.format",
                    format!("cannot tell the format of {display_name:?} from its name; give smi, csv or sdf"),
                );
            }
            found
        }
        Err(_) => {
            v.field("options.format", format!("unknown format value {format}"));
            None
        }
    };
    let on_bad_record = match pb::OnBadRecord::try_from(*on_bad_record) {
        Ok(pb::OnBadRecord::Fail) => OnBadRecord::Fail,
        Ok(pb::OnBadRecord::Skip) => OnBadRecord::Skip,
        Err(_) => {
            v.field(
                "options.on_bad_record",
                format!("unknown value {on_bad_record}; give fail or skip"),
            );
            OnBadRecord::Fail
        }
    };
    let delimiter = match delimiter.as_bytes() {
        [] => None,
        [d] => Some(*d),
        _ => {
            v.field("options.delimiter", "must be a single ASCII character");
            None
        }
    };
    v.check()?;
    let mut reader = ReaderOptions::new(format.unwrap_or(Format::Smiles));
    reader.smiles_column = Some(smiles_column.clone()).filter(|c| !c.is_empty());
    reader.id_column = Some(id_column.clone()).filter(|c| !c.is_empty());
    reader.delimiter = delimiter;
    reader.activity_columns = activities;
    reader.on_bad_record = on_bad_record;
    Ok(reader)
}

/// The stored form of the record at `index`; an unreadable one keeps its id
/// and its reason (with the line) in `syntax_error`.
fn input_record(index: u64, record: Record) -> ipb::InputRecord {
    let syntax_error = record.unreadable_reason().unwrap_or_default();
    let Record {
        line: _,
        id,
        molecule,
        properties,
        activities,
    } = record;
    let (smiles, molblock) = match molecule {
        MolText::Smiles(s) => (s, String::new()),
        MolText::Molblock(m) => (String::new(), m),
        // No structure: `syntax_error` says why.
        MolText::Unreadable(_) => (String::new(), String::new()),
    };
    let properties: HashMap<String, String> = properties.into_iter().collect();
    ipb::InputRecord {
        index,
        molecule: Some(pb::InputMolecule {
            smiles,
            molblock,
            id: id.unwrap_or_default(),
            properties,
            activities: activities
                .into_iter()
                .map(|(column, value, unit)| pb::ActivityValue {
                    column,
                    value,
                    unit: unit.as_str().to_owned(),
                })
                .collect(),
        }),
        syntax_error,
    }
}

fn format_violation(e: &FormatError) -> Violations {
    Violations::one(
        if e.field == "file" {
            "file".to_owned()
        } else {
            format!("options.{}", e.field)
        },
        e.to_string(),
    )
}

/// The gateway's side of batch intake.
#[derive(Clone)]
pub(crate) struct Intake {
    pub(crate) scheduler: SchedulerClient<Channel>,
    pub(crate) storage: StorageClient<Channel>,
    pub(crate) identity: IdentityClient<Channel>,
    pub(crate) chunk_size: usize,
}

/// Why an intake did not produce a sealed job.
enum IntakeError {
    /// The client's input is wrong: the job fails with this reason.
    Input(Violations),
    /// A service failed: the job fails, the client may retry.
    Service(GatewayError),
    /// A quota refused the batch: the job fails with this error.
    Refused(GatewayError),
}

/// What admitting a submit gave.
enum Admission {
    /// A new job in UPLOADING that may hold up to `budget` molecules.
    New { job: pb::Job, budget: u64 },
    /// The tenant's earlier job with the same idempotency key.
    Replay(pb::Job),
}

/// How long a client over its concurrent-jobs quota should wait.
const CONCURRENCY_RETRY: std::time::Duration = std::time::Duration::from_secs(30);
/// How long a client over its daily quota should wait.
const DAILY_RETRY: std::time::Duration = std::time::Duration::from_secs(3600);
/// The window of the daily molecule quota.
const DAY_MS: i64 = 24 * 3600 * 1000;

/// The status refusing a batch over `budget` molecules.
fn over_budget(caller: &Caller, budget: u64) -> GatewayError {
    let limits = &caller.limits;
    exhausted(
        format!(
            "the batch holds more than {budget} molecules, the most tenant {} may submit now \
             ({} per job, {} per 24 hours)",
            caller.tenant, limits.max_molecules_per_job, limits.max_molecules_per_day
        ),
        DAILY_RETRY,
    )
}

impl Intake {
    /// Creates a job from an upload: `data` yields the file's bytes.
    pub(crate) async fn upload(
        &self,
        caller: &Caller,
        idempotency_key: Option<String>,
        options: pb::UploadOptions,
        mut data: tonic::Streaming<pb::UploadBatchRequest>,
    ) -> Result<pb::Job, GatewayError> {
        let tenant = &caller.tenant;
        let reader_options = reader_options(&options)?;
        let alert_sets =
            molbatch_proto::alert_sets::checked("options.alert_sets", &options.alert_sets)?;
        let admission = self
            .admit(
                caller,
                &options.display_name,
                options.priority,
                alert_sets,
                idempotency_key,
            )
            .await?;
        let (job, budget) = match admission {
            Admission::New { job, budget } => (job, budget),
            Admission::Replay(job) => return Ok(job),
        };
        let (byte_tx, byte_rx) = mpsc::channel(BYTE_BUFFER);
        let forward = async move {
            loop {
                let piece = match data.message().await {
                    Ok(Some(pb::UploadBatchRequest {
                        part: Some(pb::upload_batch_request::Part::Data(bytes)),
                    })) => Ok(Bytes::from(bytes)),
                    Ok(Some(_)) => Err(std::io::Error::other(
                        "only the first upload message may carry options",
                    )),
                    Ok(None) => return,
                    Err(status) => Err(std::io::Error::other(format!(
                        "upload interrupted: {}",
                        status.message()
                    ))),
                };
                let failed = piece.is_err();
                if byte_tx.send(piece).await.is_err() || failed {
                    return; // the parser stopped (bad record) or the stream broke
                }
            }
        };
        let reader = ChannelReader {
            pieces: byte_rx,
            current: Bytes::new(),
        };
        let (parsed, ()) = tokio::join!(
            self.store_parsed(&job, reader, reader_options, budget, caller),
            forward
        );
        self.finish(tenant, job, parsed).await
    }

    /// Creates a job from inline molecules.
    pub(crate) async fn submit(
        &self,
        caller: &Caller,
        idempotency_key: Option<String>,
        display_name: &str,
        priority: i32,
        alert_sets: Vec<String>,
        molecules: Vec<pb::InputMolecule>,
    ) -> Result<pb::Job, GatewayError> {
        let tenant = &caller.tenant;
        let admission = self
            .admit(caller, display_name, priority, alert_sets, idempotency_key)
            .await?;
        let (job, budget) = match admission {
            Admission::New { job, budget } => (job, budget),
            Admission::Replay(job) => return Ok(job),
        };
        if molecules.len() as u64 > budget {
            let refused = Err(IntakeError::Refused(over_budget(caller, budget)));
            return self.finish(tenant, job, refused).await;
        }
        let mut chunk_sizes = Vec::new();
        let mut stored = Ok(());
        let mut index = 0u64;
        let mut molecules = molecules.into_iter().peekable();
        while molecules.peek().is_some() {
            let records: Vec<ipb::InputRecord> = molecules
                .by_ref()
                .take(self.chunk_size)
                .map(|molecule| {
                    index += 1;
                    ipb::InputRecord {
                        index: index - 1,
                        molecule: Some(molecule),
                        syntax_error: String::new(),
                    }
                })
                .collect();
            let size = records.len() as u32;
            if let Err(status) = self
                .put_chunk(&job, chunk_sizes.len() as u32, records)
                .await
            {
                stored = Err(IntakeError::Service(status));
                break;
            }
            chunk_sizes.push(size);
        }
        self.finish(tenant, job, stored.map(|()| chunk_sizes)).await
    }

    /// Creates the job (`priority` and the `alert_sets` names were checked
    /// with the request's fields),
    /// or finds the earlier one with the same idempotency key; then checks
    /// the tenant's concurrent-jobs and daily quotas, counting the new job,
    /// and fails it (FAILED with the reason, no tasks) when they refuse.
    /// Checking after creating makes two racing submits count each other.
    async fn admit(
        &self,
        caller: &Caller,
        display_name: &str,
        priority: i32,
        alert_sets: Vec<String>,
        idempotency_key: Option<String>,
    ) -> Result<Admission, GatewayError> {
        let tenant = &caller.tenant;
        let request = ipb::CreateJobRequest {
            tenant_id: tenant.to_string(),
            display_name: display_name.to_owned(),
            priority,
            idempotency_key: idempotency_key.unwrap_or_default(),
            alert_sets,
        };
        let job = self
            .scheduler
            .clone()
            .create_job(request)
            .await?
            .into_inner();
        if job.idempotent_replay {
            return Ok(Admission::Replay(job));
        }
        let usage = self
            .identity
            .clone()
            .tenant_usage(ipb::TenantUsageRequest {
                tenant_id: tenant.to_string(),
                since_ms: now_ms() - DAY_MS,
            })
            .await;
        let limits = &caller.limits;
        let refusal = match usage {
            Err(status) => Some(status.into()),
            Ok(usage) => {
                let usage = usage.into_inner();
                if usage.active_jobs > limits.max_concurrent_jobs {
                    Some(exhausted(
                        format!(
                            "tenant {tenant} already has {} unfinished jobs; its quota is {} at once",
                            usage.active_jobs - 1,
                            limits.max_concurrent_jobs
                        ),
                        CONCURRENCY_RETRY,
                    ))
                } else if usage.molecules_since >= limits.max_molecules_per_day {
                    Some(exhausted(
                        format!(
                            "tenant {tenant} submitted {} molecules in the last 24 hours; its quota is {}",
                            usage.molecules_since, limits.max_molecules_per_day
                        ),
                        DAILY_RETRY,
                    ))
                } else {
                    let left = limits.max_molecules_per_day - usage.molecules_since;
                    return Ok(Admission::New {
                        job,
                        budget: left.min(limits.max_molecules_per_job),
                    });
                }
            }
        };
        let refusal = refusal
            .unwrap_or_else(|| GatewayError::internal("admitting a batch", "no quota decision"));
        self.finish(tenant, job, Err(IntakeError::Refused(refusal)))
            .await
            .map(Admission::Replay)
    }

    async fn put_chunk(
        &self,
        job: &pb::Job,
        chunk_index: u32,
        records: Vec<ipb::InputRecord>,
    ) -> Result<(), GatewayError> {
        let chunk = ipb::InputChunk {
            chunk: Some(ipb::ChunkRef {
                job_id: job.job_id.clone(),
                chunk_index,
            }),
            records,
        };
        self.storage.clone().put_input_chunk(chunk).await?;
        Ok(())
    }

    /// Parses on a blocking thread and stores chunks as they come; returns
    /// the chunk sizes.
    async fn store_parsed(
        &self,
        job: &pb::Job,
        reader: ChannelReader,
        options: ReaderOptions,
        budget: u64,
        caller: &Caller,
    ) -> Result<Vec<u32>, IntakeError> {
        let (chunk_tx, mut chunk_rx) = mpsc::channel::<Vec<ipb::InputRecord>>(CHUNK_BUFFER);
        let chunk_size = self.chunk_size;
        let parser = tokio::task::spawn_blocking(move || -> Result<(), FormatError> {
            let mut chunk = Vec::with_capacity(chunk_size);
            for (index, record) in read_records(reader, &options)?.enumerate() {
                chunk.push(input_record(index as u64, record?));
                if chunk.len() == chunk_size
                    && chunk_tx.blocking_send(std::mem::take(&mut chunk)).is_err()
                {
                    return Ok(()); // storing failed; that error is reported
                }
            }
            if !chunk.is_empty() {
                let _ = chunk_tx.blocking_send(chunk);
            }
            Ok(())
        });
        let mut chunk_sizes = Vec::new();
        let mut stored = Ok(());
        let mut total = 0u64;
        while let Some(records) = chunk_rx.recv().await {
            let size = records.len() as u32;
            total += u64::from(size);
            if total > budget {
                stored = Err(IntakeError::Refused(over_budget(caller, budget)));
                break;
            }
            if let Err(status) = self.put_chunk(job, chunk_sizes.len() as u32, records).await {
                stored = Err(IntakeError::Service(status));
                break;
            }
            chunk_sizes.push(size);
        }
        drop(chunk_rx);
        match parser.await {
            Ok(Ok(())) => stored.map(|()| chunk_sizes),
            Ok(Err(e)) => Err(IntakeError::Input(format_violation(&e))),
            Err(e) => Err(IntakeError::Service(GatewayError::internal(
                "parsing an upload",
                e,
            ))),
        }
    }

    /// Seals the job, or fails it with the reason and returns the error.
    async fn finish(
        &self,
        tenant: &TenantId,
        job: pb::Job,
        stored: Result<Vec<u32>, IntakeError>,
    ) -> Result<pb::Job, GatewayError> {
        let job_ref = ipb::JobRef {
            tenant_id: tenant.to_string(),
            job_id: job.job_id.clone(),
        };
        let outcome = match stored {
            Ok(sizes) if sizes.is_empty() => Err(IntakeError::Input(Violations::one(
                "file",
                "no molecules in the input",
            ))),
            other => other,
        };
        match outcome {
            Ok(chunk_sizes) => {
                let total_molecules = chunk_sizes.iter().map(|&s| u64::from(s)).sum();
                let seal = ipb::SealJobRequest {
                    job: Some(job_ref),
                    total_molecules,
                    chunk_sizes,
                };
                Ok(self.scheduler.clone().seal_job(seal).await?.into_inner())
            }
            Err(error) => {
                // The reason is shown to the client, so it is the answer's
                // message: an internal cause is logged, not stored.
                let (what, error) = match error {
                    IntakeError::Input(v) => ("rejected", GatewayError::Invalid(v)),
                    IntakeError::Service(e) => ("failed", e),
                    IntakeError::Refused(e) => ("refused", e),
                };
                let status = Status::from(error);
                let reason = format!("upload {what}: {}", status.message());
                let abort = ipb::AbortJobRequest {
                    job: Some(job_ref),
                    reason,
                };
                if let Err(e) = self.scheduler.clone().abort_job(abort).await {
                    tracing::warn!(job_id = %job.job_id, status = %e, "could not mark the rejected upload failed");
                }
                Err(status.into())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_comes_from_the_name_through_gz() {
        let options = pb::UploadOptions {
            display_name: "batch.csv.gz".into(),
            ..Default::default()
        };
        assert_eq!(reader_options(&options).unwrap().format, Format::Csv);
    }

    #[test]
    fn unknown_format_and_long_delimiter_are_both_reported() {
        let options = pb::UploadOptions {
            display_name: "batch.xyz".into(),
            delimiter: ";;".into(),
            ..Default::default()
        };
        let v = reader_options(&options).unwrap_err();
        let fields: Vec<&str> = v.fields().iter().map(|(f, _)| f.as_str()).collect();
        assert_eq!(fields, vec!["options.format", "options.delimiter"]);
    }

    #[test]
    fn skipping_bad_records_is_an_option_and_unknown_values_are_named() {
        let mut options = pb::UploadOptions {
            display_name: "batch.csv".into(),
            on_bad_record: pb::OnBadRecord::Skip as i32,
            ..Default::default()
        };
        let reader = reader_options(&options).unwrap();
        assert_eq!(reader.on_bad_record, OnBadRecord::Skip);
        options.on_bad_record = pb::OnBadRecord::Fail as i32;
        let reader = reader_options(&options).unwrap();
        assert_eq!(reader.on_bad_record, OnBadRecord::Fail);
        options.on_bad_record = 7;
        let v = reader_options(&options).unwrap_err();
        assert_eq!(v.fields()[0].0, "options.on_bad_record");
    }

    #[test]
    fn an_unreadable_record_is_stored_with_its_reason_and_id() {
        let mut options = ReaderOptions::new(Format::Csv);
        options.on_bad_record = OnBadRecord::Skip;
        options.id_column = Some("id".into());
        let file = b"smiles,id\nCC,a\nCCO,b,extra\n".to_vec();
        let records: Vec<Record> = read_records(std::io::Cursor::new(file), &options)
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let good = input_record(0, records[0].clone());
        assert!(good.syntax_error.is_empty());
        assert_eq!(good.molecule.unwrap().smiles, "CC");
        let bad = input_record(1, records[1].clone());
        assert_eq!(
            (bad.index, bad.syntax_error.as_str()),
            (1, "line 3: CSV row has 3 fields, header has 2")
        );
        let molecule = bad.molecule.unwrap();
        assert_eq!((molecule.id.as_str(), molecule.smiles.as_str()), ("b", ""));
    }

    #[test]
    fn channel_reader_reassembles_pieces() {
        let (tx, rx) = mpsc::channel(4);
        tx.try_send(Ok(Bytes::from_static(b"CC"))).unwrap();
        tx.try_send(Ok(Bytes::from_static(b"O\n"))).unwrap();
        drop(tx);
        let mut text = String::new();
        ChannelReader {
            pieces: rx,
            current: Bytes::new(),
        }
        .read_to_string(&mut text)
        .unwrap();
        assert_eq!(text, "CCO\n");
    }
}
