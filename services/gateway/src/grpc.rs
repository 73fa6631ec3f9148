//! The public `molbatch.v1.MolBatch` service: validates requests, scopes them
//! to the caller's tenant and forwards them to the scheduler and storage.

use molbatch_proto::internal::scheduler_client::SchedulerClient;
use molbatch_proto::internal::storage_client::StorageClient;
use molbatch_proto::{internal as ipb, v1 as pb, JobId, TenantId, Violations};
use tonic::transport::Channel;
use tonic::{Request, Response, Status};

use crate::upload::Intake;

/// Analysis types a job can have (the contract's names).
pub const ANALYSIS_TYPES: [&str; 8] = [
    "deduplication",
    "statistics",
    "scaffolds",
    "chemical_space",
    "similarity_matrix",
    "nearest_neighbors",
    "mmp",
    "rgroups",
];

/// The public API over internal clients.
#[derive(Clone)]
pub struct GatewayApi {
    scheduler: SchedulerClient<Channel>,
    storage: StorageClient<Channel>,
    intake: Intake,
    max_inline_molecules: usize,
}

impl GatewayApi {
    /// An API forwarding to the given services.
    pub fn new(
        scheduler: SchedulerClient<Channel>,
        storage: StorageClient<Channel>,
        chunk_size: u32,
        max_inline_molecules: u32,
    ) -> Self {
        let intake = Intake {
            scheduler: scheduler.clone(),
            storage: storage.clone(),
            chunk_size: chunk_size.max(1) as usize,
        };
        Self {
            scheduler,
            storage,
            intake,
            max_inline_molecules: max_inline_molecules as usize,
        }
    }
}

/// The caller's tenant. Until API keys exist (issue 7) every caller is the
/// default tenant; every call is already scoped through this one function.
fn tenant_of<T>(_request: &Request<T>) -> TenantId {
    TenantId::default_tenant()
}

fn job_ref(tenant: &TenantId, job_id: &str) -> Result<ipb::JobRef, Status> {
    let id: JobId = job_id
        .parse()
        .map_err(|e: molbatch_proto::ids::BadJobId| Violations::one("job_id", e.to_string()))?;
    Ok(ipb::JobRef {
        tenant_id: tenant.to_string(),
        job_id: id.to_string(),
    })
}

fn check_inline(molecules: &[pb::InputMolecule], max: usize) -> Result<(), Violations> {
    let mut v = Violations::default();
    if molecules.is_empty() {
        v.field("molecules", "at least one molecule is required");
    }
    if molecules.len() > max {
        v.field(
            "molecules",
            format!("at most {max} molecules inline; upload larger batches with UploadBatch"),
        );
    }
    for (i, m) in molecules.iter().enumerate() {
        if !m.smiles.is_empty() && !m.molblock.is_empty() {
            v.field(
                format!("molecules[{i}]"),
                "give smiles or molblock, not both",
            );
        }
    }
    v.check()
}

#[tonic::async_trait]
impl pb::mol_batch_server::MolBatch for GatewayApi {
    async fn submit_batch(
        &self,
        request: Request<pb::SubmitBatchRequest>,
    ) -> Result<Response<pb::Job>, Status> {
        let tenant = tenant_of(&request);
        let pb::SubmitBatchRequest {
            molecules,
            display_name,
        } = request.into_inner();
        check_inline(&molecules, self.max_inline_molecules)?;
        Ok(Response::new(
            self.intake
                .submit(&tenant, &display_name, molecules)
                .await?,
        ))
    }

    async fn upload_batch(
        &self,
        request: Request<tonic::Streaming<pb::UploadBatchRequest>>,
    ) -> Result<Response<pb::Job>, Status> {
        let tenant = tenant_of(&request);
        let mut stream = request.into_inner();
        let options = match stream.message().await? {
            Some(pb::UploadBatchRequest {
                part: Some(pb::upload_batch_request::Part::Options(options)),
            }) => options,
            Some(_) | None => {
                return Err(Violations::one(
                    "options",
                    "the first message of an upload carries its options",
                )
                .into())
            }
        };
        Ok(Response::new(
            self.intake.upload(&tenant, options, stream).await?,
        ))
    }

    async fn list_jobs(
        &self,
        request: Request<pb::ListJobsRequest>,
    ) -> Result<Response<pb::ListJobsResponse>, Status> {
        let tenant = tenant_of(&request);
        let pb::ListJobsRequest {
            page_size,
            page_token,
        } = request.into_inner();
        let request = ipb::ListJobsRequest {
            tenant_id: tenant.to_string(),
            page_size,
            page_token,
        };
        self.scheduler.clone().list_jobs(request).await
    }

    async fn get_job(
        &self,
        request: Request<pb::GetJobRequest>,
    ) -> Result<Response<pb::Job>, Status> {
        let job = job_ref(&tenant_of(&request), &request.get_ref().job_id)?;
        self.scheduler.clone().get_job(job).await
    }

    async fn cancel_job(
        &self,
        request: Request<pb::CancelJobRequest>,
    ) -> Result<Response<pb::Job>, Status> {
        let job = job_ref(&tenant_of(&request), &request.get_ref().job_id)?;
        self.scheduler.clone().cancel_job(job).await
    }

    type WatchJobStream = tonic::Streaming<pb::JobEvent>;

    async fn watch_job(
        &self,
        request: Request<pb::WatchJobRequest>,
    ) -> Result<Response<Self::WatchJobStream>, Status> {
        let job = job_ref(&tenant_of(&request), &request.get_ref().job_id)?;
        self.scheduler.clone().watch_job(job).await
    }

    async fn list_results(
        &self,
        request: Request<pb::ListResultsRequest>,
    ) -> Result<Response<pb::ListResultsResponse>, Status> {
        let job = job_ref(&tenant_of(&request), &request.get_ref().job_id)?;
        // The scheduler answers NOT_FOUND for another tenant's job.
        let total_molecules = self
            .scheduler
            .clone()
            .get_job(job)
            .await?
            .into_inner()
            .total_molecules;
        let request = ipb::ListResultsRequest {
            query: Some(request.into_inner()),
            total_molecules,
        };
        self.storage.clone().list_results(request).await
    }

    async fn list_analyses(
        &self,
        request: Request<pb::ListAnalysesRequest>,
    ) -> Result<Response<pb::ListAnalysesResponse>, Status> {
        let job = job_ref(&tenant_of(&request), &request.get_ref().job_id)?;
        self.scheduler.clone().list_analyses(job).await
    }

    async fn get_analysis(
        &self,
        request: Request<pb::GetAnalysisRequest>,
    ) -> Result<Response<pb::Analysis>, Status> {
        let tenant = tenant_of(&request);
        let pb::GetAnalysisRequest { job_id, r#type } = request.into_inner();
        let job = job_ref(&tenant, &job_id)?;
        if !ANALYSIS_TYPES.contains(&r#type.as_str()) {
            return Err(Violations::one(
                "type",
                format!(
                    "unknown analysis type {:?}; one of {}",
                    r#type,
                    ANALYSIS_TYPES.join(", ")
                ),
            )
            .into());
        }
        let analyses = self
            .scheduler
            .clone()
            .list_analyses(job)
            .await?
            .into_inner()
            .analyses;
        analyses
            .into_iter()
            .find(|a| a.r#type == r#type)
            .map(Response::new)
            .ok_or_else(|| Status::not_found(format!("analysis {type} has not been requested for job {job_id}", type = r#type)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_batches_need_molecules_and_one_form_each() {
        let both = pb::InputMolecule {
            smiles: "C".into(),
            molblock: "x".into(),
            ..Default::default()
        };
        let v = check_inline(&[pb::InputMolecule::default(), both], 10).unwrap_err();
        assert_eq!(v.fields()[0].0, "molecules[1]");
        assert_eq!(
            check_inline(&[], 10).unwrap_err().fields()[0].0,
            "molecules"
        );
        let many = vec![pb::InputMolecule::default(); 3];
        assert!(check_inline(&many, 2).is_err());
    }
}
