//! Export tasks: a job's results written as one file in storage. The worker
//! pages the job's results (with the export's filter) through a
//! [`ResultsWriter`] and stores the output in parts of about
//! [`PART_BYTES`], so memory holds one page and one part whatever the size
//! of the file; then it records the finished file, which starts its expiry.
//! A retried task rewrites the same parts (upserts) and the record drops
//! parts beyond the last, so a retry never leaves a mixed file.

use std::collections::HashMap;
use std::io::Write;
use std::sync::{Arc, Mutex};

use molbatch_proto::export::{ExportId, ExportOptions};
use molbatch_proto::internal as ipb;
use molbatch_proto::internal::scheduler_client::SchedulerClient;
use molbatch_proto::internal::storage_client::StorageClient;
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
    let mut file = Stored::default();
    let mut pages = crate::analyses::ResultPages::new(
        storage,
        job_id,
        work.total_molecules,
        options.include_fingerprint,
        &filter,
    );
    while let Some(page) = pages.next().await? {
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
