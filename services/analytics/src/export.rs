//! Export tasks: a job's results written as one file in storage. The worker
//! pages the job's results (with the export's filter, keeping the molecules
//! it names by index and the columns it chose) through a
//! [`ResultsWriter`] and stores the output in parts of about
//! [`PART_BYTES`], so memory holds one page and one part whatever the size
//! of the file; then it records the finished file, which starts its expiry.
//! A retried task rewrites the same parts (upserts) and the record drops
//! parts beyond the last, so a retry never leaves a mixed file.

use std::collections::HashMap;
use std::io::Write;
use std::sync::{Arc, Mutex};

use molbatch_proto::export::{
    ranges_text, tenant_of_params, ExportFormat, ExportId, ExportOptions,
};
use molbatch_proto::internal as ipb;
use molbatch_proto::internal::scheduler_client::SchedulerClient;
use molbatch_proto::internal::storage_client::StorageClient;
use molbatch_proto::v1 as pb;
use molbatch_telemetry::net::Channel;

use crate::analyses::AnalysisError;
use crate::files::ResultsWriter;

/// Size at which the output is cut into a stored part (storage messages
/// stay well under gRPC's 4 MiB default).
pub const PART_BYTES: usize = 1 << 20;
/// A `Write` that collects output into a buffer shared with the task, which
/// takes full parts out between pages.
#[derive(Clone, Default)]
struct Parts(Arc<Mutex<Vec<u8>>>);

impl Parts {
    fn buffer(&self) -> std::sync::MutexGuard<'_, Vec<u8>> {
        // A panic while writing ends the task; the buffer is dropped with it.
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The next full part, if the buffer holds one.
    fn take_full(&self) -> Option<Vec<u8>> {
        let mut buffer = self.buffer();
        (buffer.len() >= PART_BYTES).then(|| {
            let rest = buffer.split_off(PART_BYTES);
            std::mem::replace(&mut *buffer, rest)
        })
    }

    /// Whatever is left.
    fn take_rest(&self) -> Vec<u8> {
        std::mem::take(&mut *self.buffer())
    }
}

impl Write for Parts {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.buffer().extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Writes the export `work` of job `job_id` and records its file:
/// results page by page, or the batch report (see [`crate::report`]).
pub async fn write_export(
    storage: &mut StorageClient<Channel>,
    scheduler: &mut SchedulerClient<Channel>,
    job_id: &str,
    work: &ipb::ExportWork,
) -> Result<(), AnalysisError> {
    let export: ExportId = work
        .export_id
        .parse()
        .map_err(|v: molbatch_proto::Violations| AnalysisError::Params(v.to_string()))?;
    let params: HashMap<String, String> = work.params.clone().into_iter().collect();
    let options =
        ExportOptions::from_params(&params).map_err(|v| AnalysisError::Params(v.to_string()))?;
    let filter = params.get("filter").cloned().unwrap_or_default();
    let export_ref = ipb::ExportRef {
        job_id: job_id.to_owned(),
        export_id: export.to_string(),
    };
    if options.format.is_report() {
        let bytes =
            crate::report::report_bytes(storage, scheduler, job_id, work, options.format).await?;
        let mut file = Stored {
            molecules: work.total_molecules,
            ..Stored::default()
        };
        for part in bytes.chunks(PART_BYTES) {
            file.put(storage, &export_ref, part.to_vec()).await?;
        }
        return file.finish(storage, export_ref, options.format).await;
    }
    let parts = Parts::default();
    let mut writer = ResultsWriter::new(options.format, parts.clone(), options.include_fingerprint)
        .map_err(|e| AnalysisError::Params(e.to_string()))?;
    writer.choose_columns(options.columns.clone());
    if options.format == ExportFormat::Xlsx {
        writer.set_summary(job_summary(scheduler, job_id, &params, &options).await?);
    }
    let wanted = Wanted::new(&options.indices);
    let mut file = Stored::default();
    let mut pages = crate::analyses::ResultPages::new(
        storage,
        job_id,
        work.total_molecules,
        options.include_fingerprint,
        &filter,
    );
    while let Some(page) = pages.next().await? {
        let (page, past_the_last) = wanted.keep(page);
        file.molecules += page.len() as u64;
        // SD pages lay out structures with RDKit: off the async runtime.
        let (returned, written) = tokio::task::spawn_blocking(move || {
            let written = writer.write_page(&page);
            (writer, written)
        })
        .await
        .map_err(|e| AnalysisError::Compute(format!("the export task died: {e}")))?;
        written.map_err(|e| AnalysisError::Compute(e.to_string()))?;
        writer = returned;
        while let Some(data) = parts.take_full() {
            file.put(storage, &export_ref, data).await?;
        }
        if past_the_last {
            break;
        }
    }
    // The writer's end (buffered CSV rows, the JSON array's `]`).
    writer
        .finish()
        .map_err(|e| AnalysisError::Compute(e.to_string()))?;
    while let Some(data) = parts.take_full() {
        file.put(storage, &export_ref, data).await?;
    }
    let rest = parts.take_rest();
    if !rest.is_empty() {
        file.put(storage, &export_ref, rest).await?;
    }
    file.finish(storage, export_ref, options.format).await
}

/// The molecules an export names by index ([`ExportOptions::indices`]).
struct Wanted<'a> {
    /// Ascending; empty for every molecule.
    indices: &'a [u64],
}

impl<'a> Wanted<'a> {
    fn new(indices: &'a [u64]) -> Self {
        Self { indices }
    }

    /// The results of `page` (in input order) that are wanted, and whether
    /// the page went past the last wanted index (no later page can hold one).
    fn keep(&self, mut page: Vec<pb::MoleculeResult>) -> (Vec<pb::MoleculeResult>, bool) {
        let Some(&last) = self.indices.last() else {
            return (page, false);
        };
        let past = page.last().is_some_and(|r| r.index >= last);
        page.retain(|r| self.indices.binary_search(&r.index).is_ok());
        (page, past)
    }
}

/// The job's facts for an xlsx summary sheet: what the export holds and how
/// the job went.
async fn job_summary(
    scheduler: &mut SchedulerClient<Channel>,
    job_id: &str,
    params: &HashMap<String, String>,
    options: &ExportOptions,
) -> Result<Vec<(String, String)>, AnalysisError> {
    let tenant = tenant_of_params(params).ok_or_else(|| {
        AnalysisError::Params("the export does not name the job's tenant; create it again".into())
    })?;
    let job = scheduler
        .get_job(ipb::JobRef {
            tenant_id: tenant.as_str().to_owned(),
            job_id: job_id.to_owned(),
        })
        .await?
        .into_inner();
    let time = |t: Option<&prost_types::Timestamp>| t.map(ToString::to_string).unwrap_or_default();
    let mut facts = vec![
        ("Job".to_owned(), job.display_name.clone()),
        ("Job id".to_owned(), job.job_id.clone()),
        ("Molecules".to_owned(), job.total_molecules.to_string()),
        ("Valid".to_owned(), job.valid_molecules.to_string()),
        ("Invalid".to_owned(), job.invalid_molecules.to_string()),
        ("Submitted".to_owned(), time(job.create_time.as_ref())),
        ("Completed".to_owned(), time(job.end_time.as_ref())),
        (
            "Exported".to_owned(),
            time(Some(&molbatch_proto::time::timestamp(
                molbatch_proto::time::now_ms(),
            ))),
        ),
        ("Filter".to_owned(), options.filter.as_str().to_owned()),
    ];
    if !options.indices.is_empty() {
        facts.push(("Molecule indices".to_owned(), ranges_text(&options.indices)));
    }
    if !options.columns.is_empty() {
        facts.push(("Columns".to_owned(), options.columns.join(", ")));
    }
    Ok(facts)
}

/// What has been stored of a file so far.
#[derive(Default)]
struct Stored {
    molecules: u64,
    bytes: u64,
    parts: u32,
}

impl Stored {
    /// Records the finished file, which starts its expiry.
    async fn finish(
        self,
        storage: &mut StorageClient<Channel>,
        export_ref: ipb::ExportRef,
        format: molbatch_proto::export::ExportFormat,
    ) -> Result<(), AnalysisError> {
        storage
            .put_export_file(ipb::ExportFile {
                r#ref: Some(export_ref.clone()),
                content_type: format.content_type().to_owned(),
                molecules: self.molecules,
                bytes: self.bytes,
                parts: self.parts,
                complete_time_ms: 0,
                expire_time_ms: 0,
            })
            .await?;
        tracing::info!(
            export_id = %export_ref.export_id,
            format = format.as_str(),
            molecules = self.molecules,
            bytes = self.bytes,
            parts = self.parts,
            "export written"
        );
        Ok(())
    }

    /// Stores `data` as the next part.
    async fn put(
        &mut self,
        storage: &mut StorageClient<Channel>,
        export_ref: &ipb::ExportRef,
        data: Vec<u8>,
    ) -> Result<(), tonic::Status> {
        let len = data.len() as u64;
        storage
            .put_export_part(ipb::ExportPart {
                r#ref: Some(export_ref.clone()),
                part: self.parts,
                data,
            })
            .await?;
        self.bytes += len;
        self.parts += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indices_keep_their_molecules_and_end_the_paging() {
        let page = |range: std::ops::Range<u64>| -> Vec<pb::MoleculeResult> {
            range
                .map(|index| pb::MoleculeResult {
                    index,
                    ..Default::default()
                })
                .collect()
        };
        let indices = [3, 7, 12];
        let wanted = Wanted::new(&indices);
        let (kept, past) = wanted.keep(page(0..10));
        assert_eq!(kept.iter().map(|r| r.index).collect::<Vec<_>>(), [3, 7]);
        assert!(!past);
        let (kept, past) = wanted.keep(page(10..20));
        assert_eq!(kept.iter().map(|r| r.index).collect::<Vec<_>>(), [12]);
        assert!(past);
        let every = Wanted::new(&[]);
        assert_eq!(every.keep(page(0..5)), (page(0..5), false));
    }

    #[test]
    fn parts_are_cut_at_the_part_size_and_the_rest_kept() {
        let mut parts = Parts::default();
        parts.write_all(&vec![7u8; PART_BYTES * 2 + 10]).unwrap();
        assert_eq!(parts.take_full().unwrap().len(), PART_BYTES);
        assert_eq!(parts.take_full().unwrap().len(), PART_BYTES);
        assert!(parts.take_full().is_none());
        assert_eq!(parts.take_rest(), vec![7u8; 10]);
        assert!(parts.take_rest().is_empty());
    }
}
