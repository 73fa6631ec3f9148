//! The export resource. An export is queued on the scheduler as the analysis
//! `export/<export id>` of its job (so its status, retries and tenant scope
//! are the analyses'), an analytics worker writes the file into storage,
//! and storage keeps the finished file's record, cached until it expires.
//! An export is shown by joining the two; once expired it is NOT_FOUND
//! saying so.

use std::pin::Pin;

use molbatch_proto::export::{
    ExportFormat, ExportId, ExportOptions, ResultFilter, MAX_XLSX_MOLECULES,
};
use molbatch_proto::google::api::HttpBody;
use molbatch_proto::time::timestamp;
use molbatch_proto::Violations;
use molbatch_proto::{internal as ipb, v1 as pb, TenantId};
use tokio_stream::{Stream, StreamExt};
use tonic::{Code, Status};

use crate::error::GatewayError;

use crate::grpc::{job_ref, GatewayApi};

/// The file of a DownloadExport call, part by part.
pub(crate) type DownloadStream = Pin<Box<dyn Stream<Item = Result<HttpBody, Status>> + Send>>;

/// An export as the public API shows it: the analysis that carries it and,
/// once it is complete, its file.
fn export_of(id: &ExportId, analysis: &pb::Analysis, file: Option<ipb::ExportFile>) -> pb::Export {
    let state = match pb::AnalysisStatus::try_from(analysis.status) {
        Ok(pb::AnalysisStatus::Pending) => pb::ExportState::Pending,
        Ok(pb::AnalysisStatus::Computing) => pb::ExportState::Running,
        Ok(pb::AnalysisStatus::Complete) => pb::ExportState::Complete,
        Ok(pb::AnalysisStatus::Failed | pb::AnalysisStatus::Skipped) => pb::ExportState::Failed,
        Ok(pb::AnalysisStatus::Unspecified) | Err(_) => pb::ExportState::Unspecified,
    };
    let param = |name: &str| analysis.params.get(name).cloned().unwrap_or_default();
    let format = param("format");
    let extension =
        ExportFormat::parse(&format).map_or(format.clone(), |f| f.extension().to_owned());
    let file = file.unwrap_or_default();
    // The options as checked when the export was queued.
    let chosen = ExportOptions::from_params(&analysis.params).ok();
    pb::Export {
        export_id: id.to_string(),
        job_id: id.job.to_string(),
        file_name: format!("{}.{extension}", id.job),
        format,
        filter: param("filter"),
        include_fingerprint: param("include_fingerprint") == "true",
        state: state as i32,
        error: analysis.reason.clone(),
        molecules: file.molecules,
        bytes: file.bytes,
        content_type: file.content_type,
        create_time: analysis.create_time,
        update_time: analysis.update_time,
        expire_time: (file.expire_time_ms > 0).then(|| timestamp(file.expire_time_ms)),
        columns: chosen
            .as_ref()
            .map(|o| o.columns.clone())
            .unwrap_or_default(),
        indices: chosen.map(|o| o.indices).unwrap_or_default(),
    }
}

/// Parses an export id from a request.
fn parse_id(export_id: &str) -> Result<ExportId, GatewayError> {
    Ok(export_id.parse::<ExportId>()?)
}

impl GatewayApi {
    /// CreateExport for a caller of `tenant`: the options are checked, then
    /// the job (it must be the tenant's and COMPLETED), then the export is
    /// queued.
    pub(crate) async fn create_export_as(
        &self,
        tenant: &TenantId,
        request: pb::CreateExportRequest,
    ) -> Result<pb::Export, GatewayError> {
        let job = job_ref(tenant, &request.job_id)?;
        let options = ExportOptions::check(&request)?;
        let found = self
            .completed_job(job.clone(), "its results can be exported")
            .await?;
        let whole_job = options.indices.is_empty() && options.filter == ResultFilter::All;
        if options.format == ExportFormat::Xlsx
            && whole_job
            && found.total_molecules > MAX_XLSX_MOLECULES as u64
        {
            return Err(Violations::one(
                "format",
                format!(
                    "an xlsx export holds at most {MAX_XLSX_MOLECULES} molecules and job {} has {}; \
                     choose molecules with indices or a filter, or export csv",
                    found.job_id, found.total_molecules
                ),
            )
            .into());
        }
        let id = ExportId::new(
            job.job_id
                .parse()
                .map_err(|e| GatewayError::internal("reading the scheduler's job id", e))?,
        );
        let analysis = self
            .scheduler
            .clone()
            .run_analysis(ipb::RunAnalysisRequest {
                job: Some(job),
                r#type: id.analysis_type(),
                params: options.to_params(&request.filter, tenant),
            })
            .await?
            .into_inner();
        tracing::info!(export_id = %id, format = options.format.as_str(), "export queued");
        Ok(export_of(&id, &analysis, None))
    }

    /// The analysis carrying export `id`, as the tenant may see it.
    async fn export_analysis(
        &self,
        tenant: &TenantId,
        id: &ExportId,
    ) -> Result<pb::Analysis, GatewayError> {
        let job = job_ref(tenant, &id.job.to_string())?;
        self.scheduler
            .clone()
            .get_analysis(ipb::AnalysisRef {
                job: Some(job),
                r#type: id.analysis_type(),
            })
            .await
            .map(tonic::Response::into_inner)
            .map_err(|status| {
                // Another tenant's job, an unknown job or export alike.
                if status.code() == Code::NotFound {
                    GatewayError::NotFound(format!("export {id} not found"))
                } else {
                    status.into()
                }
            })
    }

    fn export_ref(id: &ExportId) -> ipb::ExportRef {
        ipb::ExportRef {
            job_id: id.job.to_string(),
            export_id: id.to_string(),
        }
    }

    /// GetExport for a caller of `tenant`.
    pub(crate) async fn get_export_as(
        &self,
        tenant: &TenantId,
        export_id: &str,
    ) -> Result<pb::Export, GatewayError> {
        let id = parse_id(export_id)?;
        let analysis = self.export_analysis(tenant, &id).await?;
        let file = if analysis.status == pb::AnalysisStatus::Complete as i32 {
            // NOT_FOUND saying it expired, once it has.
            let file = self
                .storage
                .clone()
                .get_export_file(Self::export_ref(&id))
                .await?;
            Some(file.into_inner())
        } else {
            None
        };
        Ok(export_of(&id, &analysis, file))
    }

    /// DownloadExport for a caller of `tenant`: the stored parts in order,
    /// each as an HttpBody with the file's content type.
    pub(crate) async fn download_export_as(
        &self,
        tenant: &TenantId,
        export_id: &str,
    ) -> Result<DownloadStream, GatewayError> {
        let id = parse_id(export_id)?;
        let analysis = self.export_analysis(tenant, &id).await?;
        if analysis.status != pb::AnalysisStatus::Complete as i32 {
            let export = export_of(&id, &analysis, None);
            let state = pb::ExportState::try_from(export.state).map_or("UNKNOWN", |s| {
                s.as_str_name().trim_start_matches("EXPORT_STATE_")
            });
            let why = if export.error.is_empty() {
                String::new()
            } else {
                format!(" ({})", export.error)
            };
            return Err(GatewayError::FailedPrecondition(format!(
                "export {id} is {state}{why}; it can be downloaded once it is COMPLETE"
            )));
        }
        let mut storage = self.storage.clone();
        let file = storage
            .get_export_file(Self::export_ref(&id))
            .await?
            .into_inner();
        let parts = storage
            .read_export(Self::export_ref(&id))
            .await?
            .into_inner();
        let content_type = if file.content_type.is_empty() {
            ExportFormat::parse(&export_of(&id, &analysis, None).format)
                .map_or("application/octet-stream", ExportFormat::content_type)
                .to_owned()
        } else {
            file.content_type
        };
        // A part that fails mid-stream is answered like any upstream error.
        let bodies = parts.map(move |part| {
            part.map(|part| HttpBody {
                content_type: content_type.clone(),
                data: part.data,
            })
            .map_err(|status| Status::from(GatewayError::Upstream(status)))
        });
        Ok(Box::pin(bodies))
    }
}
