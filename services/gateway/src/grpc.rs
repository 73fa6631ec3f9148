//! The public `molbatch.v1.MolBatch` service: validates requests, scopes them
//! to the caller's tenant and forwards them to the scheduler and storage.

use molbatch_proto::analysis::{AnalysisKind, AnalysisRequest};
use molbatch_proto::internal::analytics_client::AnalyticsClient;
use molbatch_proto::internal::scheduler_client::SchedulerClient;
use molbatch_proto::internal::storage_client::StorageClient;
use molbatch_proto::internal::webhooks_client::WebhooksClient;
use molbatch_proto::pages::{self, PageSeries};
use molbatch_proto::{internal as ipb, v1 as pb, JobId, Priority, TenantId, Violations};
use molbatch_telemetry::net::Channel;
use prost::Message;
use tonic::{Request, Response, Status};

use crate::auth::{Authenticator, Caller};
use crate::error::GatewayError;
use crate::upload::Intake;

/// Most hits a similarity search returns.
pub const MAX_TOP_K: u32 = 10_000;
/// Most hits one page of a substructure search returns.
pub const MAX_SUBSTRUCTURE_PAGE: u32 = 1000;
/// Most atoms one depiction highlights.
const MAX_HIGHLIGHT_ATOMS: usize = 1000;
/// Depiction sizes in pixels: the default and the accepted range.
const DEPICTION_DEFAULT: u32 = 300;
const DEPICTION_SIZES: std::ops::RangeInclusive<u32> = 50..=2000;
/// Most depictions one `BatchDepict` draws (a few pages of results).
const MAX_BATCH_DEPICTIONS: usize = 200;
/// Most molecules one `AnalyzeMolecules` call analyses.
pub const MAX_ANALYZE_MOLECULES: usize = 1_000;
/// Longest `highlight_alert` (catalog entry names are under 64 bytes).
const MAX_ALERT_NAME: usize = 256;

/// The services the gateway forwards to.
#[derive(Clone)]
pub struct Upstreams {
    /// Jobs, the queue and analysis statuses.
    pub scheduler: SchedulerClient<Channel>,
    /// Inputs, results and analysis results.
    pub storage: StorageClient<Channel>,
    /// Similarity search, depictions and synchronous analysis.
    pub analytics: AnalyticsClient<Channel>,
    /// Webhook endpoints (the scheduler's).
    pub webhooks: WebhooksClient<Channel>,
}

/// The public API over internal clients.
#[derive(Clone)]
pub struct GatewayApi {
    pub(crate) auth: Authenticator,
    pub(crate) scheduler: SchedulerClient<Channel>,
    pub(crate) storage: StorageClient<Channel>,
    analytics: AnalyticsClient<Channel>,
    pub(crate) webhooks: WebhooksClient<Channel>,
    intake: Intake,
    max_inline_molecules: usize,
}

impl GatewayApi {
    /// An API forwarding to the given services.
    pub fn new(
        upstreams: Upstreams,
        auth: Authenticator,
        chunk_size: u32,
        max_inline_molecules: u32,
    ) -> Self {
        let Upstreams {
            scheduler,
            storage,
            analytics,
            webhooks,
        } = upstreams;
        let intake = Intake {
            scheduler: scheduler.clone(),
            storage: storage.clone(),
            identity: auth.identity(),
            chunk_size: chunk_size.max(1) as usize,
        };
        Self {
            auth,
            scheduler,
            storage,
            analytics,
            webhooks,
            intake,
            max_inline_molecules: max_inline_molecules as usize,
        }
    }

    /// The molecule count of the caller's job a search names, which must
    /// have COMPLETED.
    async fn searchable_job(&self, tenant: &TenantId, job_id: &str) -> Result<u64, GatewayError> {
        let job = job_ref(tenant, job_id)?;
        let found = self
            .completed_job(job, "its molecules can be searched")
            .await?;
        Ok(found.total_molecules)
    }

    /// The caller's job, which must have COMPLETED (search, depictions and
    /// exports read its results); `what` says what waits for it.
    pub(crate) async fn completed_job(
        &self,
        job: ipb::JobRef,
        what: &str,
    ) -> Result<pb::Job, GatewayError> {
        let found = self.scheduler.clone().get_job(job).await?.into_inner();
        if found.state != pb::JobState::Completed as i32 {
            let state = pb::JobState::try_from(found.state).map_or("UNKNOWN", |s| s.as_str_name());
            return Err(GatewayError::FailedPrecondition(format!(
                "job {} is {state}; {what} once it is COMPLETED",
                found.job_id
            )));
        }
        Ok(found)
    }

    /// Page `page_token` of `series` (pairs or transforms) of the caller's
    /// job's `mmp` analysis, which must have COMPLETED: the stored page, an
    /// encoded public response with its `next_page_token` filled in.
    async fn mmp_page(
        &self,
        tenant: &TenantId,
        job_id: &str,
        series: PageSeries,
        page_token: &str,
    ) -> Result<Vec<u8>, GatewayError> {
        let job = job_ref(tenant, job_id)?;
        let page = PageSeries::page_of_token(page_token)?;
        // The scheduler answers NOT_FOUND for another tenant's job and for
        // an analysis never asked for.
        let analysis = self
            .scheduler
            .clone()
            .get_analysis(ipb::AnalysisRef {
                job: Some(job.clone()),
                r#type: AnalysisKind::Mmp.as_str().to_owned(),
            })
            .await?
            .into_inner();
        check_mmp_complete(&job.job_id, &analysis)?;
        let stored = self
            .storage
            .clone()
            .get_analysis_page(ipb::AnalysisPageRef {
                job_id: job.job_id.clone(),
                series: series.as_str().to_owned(),
                page,
            })
            .await;
        match stored {
            Ok(stored) => pages::unpack(&stored.into_inner().data)
                .map_err(|e| GatewayError::internal("unpacking a stored page", e)),
            Err(status) if status.code() == tonic::Code::NotFound => {
                Err(missing_mmp_page(&job.job_id, page_token))
            }
            Err(status) => Err(status.into()),
        }
    }
}

/// `Ok` when the `mmp` analysis of job `job_id` has COMPLETED, else
/// FAILED_PRECONDITION saying it must run first.
fn check_mmp_complete(job_id: &str, analysis: &pb::Analysis) -> Result<(), GatewayError> {
    if analysis.status == pb::AnalysisStatus::Complete as i32 {
        return Ok(());
    }
    let status = pb::AnalysisStatus::try_from(analysis.status).map_or("UNKNOWN", |s| {
        s.as_str_name().trim_start_matches("ANALYSIS_STATUS_")
    });
    Err(GatewayError::FailedPrecondition(format!(
        "the mmp analysis of job {job_id} has not completed (it is {status}); run it first \
         (RunAnalysis with type mmp) and page its pairs and transforms once it is COMPLETE"
    )))
}

/// What storage's NOT_FOUND for the page `page_token` names, of the
/// completed `mmp` analysis of job `job_id`, tells the client.
fn missing_mmp_page(job_id: &str, page_token: &str) -> GatewayError {
    if page_token.is_empty() {
        // The analysis completed before it stored its output as pages.
        GatewayError::NotFound(format!(
            "the mmp analysis of job {job_id} stored no pages; run it again"
        ))
    } else {
        // A token never handed out, or one from a run with more pages
        // than the analysis's latest.
        Violations::one(
            "page_token",
            "names no page (the mmp analysis may have run again since; start from the first page)",
        )
        .into()
    }
}

/// Checks a similarity query's fields.
fn check_search(query: &pb::SearchSimilarRequest) -> Result<(), Violations> {
    let mut v = Violations::default();
    match (query.smiles.trim().is_empty(), query.index) {
        (true, None) => v.field(
            "smiles",
            "give a query SMILES or the index of a molecule of the job",
        ),
        (false, Some(_)) => v.field("index", "give either smiles or index, not both"),
        (true, Some(_)) | (false, None) => {}
    }
    if query.top_k > MAX_TOP_K {
        v.field("top_k", format!("at most {MAX_TOP_K}"));
    }
    if !(0.0..=1.0).contains(&query.threshold) {
        v.field("threshold", "must be between 0 and 1");
    }
    v.check()
}

/// Checks a substructure query's fields (RDKit reads the query itself in
/// analytics, which names `query` when it cannot).
fn check_substructure(query: &pb::SearchSubstructureRequest) -> Result<(), Violations> {
    let mut v = Violations::default();
    if query.query.trim().is_empty() {
        v.field("query", "required: a SMILES or SMARTS query");
    }
    if pb::QuerySyntax::try_from(query.syntax).is_err() {
        v.field("syntax", "unknown syntax; use SMILES or SMARTS");
    }
    if query.page_size > MAX_SUBSTRUCTURE_PAGE {
        v.field("page_size", format!("at most {MAX_SUBSTRUCTURE_PAGE}"));
    }
    if !query.page_token.is_empty() && query.page_token.parse::<u64>().is_err() {
        v.field("page_token", "not a token of this search");
    }
    v.check()
}

/// Checks a depiction request's fields; returns it with default sizes.
fn check_depict(mut query: pb::DepictRequest) -> Result<pb::DepictRequest, Violations> {
    let mut v = Violations::default();
    check_depict_into(&mut query, "", &mut v);
    v.check()?;
    Ok(query)
}

/// Checks a depiction request's fields into `v`, naming each `{prefix}field`,
/// and fills in default sizes.
fn check_depict_into(query: &mut pb::DepictRequest, prefix: &str, v: &mut Violations) {
    match (
        query.smiles.trim().is_empty(),
        query.job_id.is_empty(),
        query.index,
    ) {
        (false, true, None) | (true, false, Some(_)) => {}
        (true, true, _) => v.field(
            format!("{prefix}smiles"),
            "give a SMILES, or a job_id and an index",
        ),
        (true, false, None) => v.field(format!("{prefix}index"), "required with job_id"),
        (false, false, _) | (false, true, Some(_)) => v.field(
            format!("{prefix}smiles"),
            "give either smiles or job_id and index, not both",
        ),
    }
    for (field, size) in [("width", &mut query.width), ("height", &mut query.height)] {
        if *size == 0 {
            *size = DEPICTION_DEFAULT;
        } else if !DEPICTION_SIZES.contains(size) {
            v.field(
                format!("{prefix}{field}"),
                format!(
                    "must be {} to {} pixels",
                    DEPICTION_SIZES.start(),
                    DEPICTION_SIZES.end()
                ),
            );
        }
    }
    if query.highlight_alert.len() > MAX_ALERT_NAME {
        v.field(
            format!("{prefix}highlight_alert"),
            format!("at most {MAX_ALERT_NAME} bytes: the name of one of the molecule's alerts"),
        );
    }
    if !query.highlight_atoms.is_empty() && !query.highlight_alert.trim().is_empty() {
        v.field(
            format!("{prefix}highlight_atoms"),
            "give highlight_alert or highlight_atoms, not both",
        );
    }
    if query.highlight_atoms.len() > MAX_HIGHLIGHT_ATOMS {
        v.field(
            format!("{prefix}highlight_atoms"),
            format!("at most {MAX_HIGHLIGHT_ATOMS} atoms"),
        );
    }
}

/// Checks a batch of depiction requests; returns them with default sizes.
fn check_batch_depict(
    requests: Vec<pb::DepictRequest>,
) -> Result<Vec<pb::DepictRequest>, Violations> {
    let mut v = Violations::default();
    if requests.is_empty() || requests.len() > MAX_BATCH_DEPICTIONS {
        v.field(
            "requests",
            format!(
                "give 1 to {MAX_BATCH_DEPICTIONS} depictions ({} given)",
                requests.len()
            ),
        );
        return Err(v);
    }
    let mut checked = Vec::with_capacity(requests.len());
    for (i, mut query) in requests.into_iter().enumerate() {
        check_depict_into(&mut query, &format!("requests[{i}]."), &mut v);
        checked.push(query);
    }
    v.check()?;
    Ok(checked)
}

/// The caller the auth middleware admitted (see [`crate::auth`]).
pub(crate) fn caller_of<T>(request: &Request<T>) -> Result<Caller, GatewayError> {
    request
        .extensions()
        .get::<Caller>()
        .cloned()
        .ok_or_else(|| GatewayError::Unauthenticated("no API key".to_owned()))
}

/// The caller's tenant: every query is scoped to it.
pub(crate) fn tenant_of<T>(request: &Request<T>) -> Result<TenantId, GatewayError> {
    Ok(caller_of(request)?.tenant)
}

/// Longest `Idempotency-Key` accepted.
const MAX_IDEMPOTENCY_KEY: usize = 255;

/// The `idempotency-key` metadata (the HTTP header over REST), if any.
fn idempotency_key<T>(request: &Request<T>) -> Result<Option<String>, GatewayError> {
    let Some(value) = request.metadata().get("idempotency-key") else {
        return Ok(None);
    };
    match value.to_str() {
        Ok(key) if !key.is_empty() && key.len() <= MAX_IDEMPOTENCY_KEY => Ok(Some(key.to_owned())),
        _ => Err(Violations::one(
            "Idempotency-Key",
            format!("1 to {MAX_IDEMPOTENCY_KEY} visible ASCII characters"),
        )
        .into()),
    }
}

pub(crate) fn job_ref(tenant: &TenantId, job_id: &str) -> Result<ipb::JobRef, GatewayError> {
    let id: JobId = job_id
        .parse()
        .map_err(|e: molbatch_proto::ids::BadJobId| Violations::one("job_id", e.to_string()))?;
    Ok(ipb::JobRef {
        tenant_id: tenant.to_string(),
        job_id: id.to_string(),
    })
}

fn check_inline(
    molecules: &[pb::InputMolecule],
    priority: i32,
    max: usize,
) -> Result<(), Violations> {
    let mut v = Violations::default();
    if let Err(e) = Priority::new(priority) {
        v.field("priority", e.to_string());
    }
    check_molecules(
        molecules,
        max,
        "upload larger batches with UploadBatch",
        &mut v,
    );
    v.check()
}

/// Checks an AnalyzeMolecules request: 1 to [`MAX_ANALYZE_MOLECULES`]
/// molecules, each well formed.
fn check_analyze(molecules: &[pb::InputMolecule]) -> Result<(), Violations> {
    let mut v = Violations::default();
    check_molecules(
        molecules,
        MAX_ANALYZE_MOLECULES,
        "submit larger batches as a job with SubmitBatch or UploadBatch",
        &mut v,
    );
    v.check()
}

/// Inline molecules: at least one, at most `max` (else `larger` says what
/// to do instead), and each with SMILES or a molblock, not both.
fn check_molecules(molecules: &[pb::InputMolecule], max: usize, larger: &str, v: &mut Violations) {
    if molecules.is_empty() {
        v.field("molecules", "at least one molecule is required");
    }
    if molecules.len() > max {
        v.field(
            "molecules",
            format!("at most {max} molecules inline; {larger}"),
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
}

/// Runs a call's body and turns its error into the client's answer: the one
/// place a public call's [`GatewayError`] becomes a [`Status`].
async fn answer<T>(
    body: impl std::future::Future<Output = Result<T, GatewayError>>,
) -> Result<T, Status> {
    body.await.map_err(Status::from)
}

/// A job's events; an error the scheduler ends the stream with is answered
/// like any upstream error.
pub type WatchStream =
    std::pin::Pin<Box<dyn tokio_stream::Stream<Item = Result<pb::JobEvent, Status>> + Send>>;

#[tonic::async_trait]
impl pb::mol_batch_server::MolBatch for GatewayApi {
    async fn submit_batch(
        &self,
        request: Request<pb::SubmitBatchRequest>,
    ) -> Result<Response<pb::Job>, Status> {
        answer(async move {
            let caller = caller_of(&request)?;
            let key = idempotency_key(&request)?;
            let pb::SubmitBatchRequest {
                molecules,
                display_name,
                priority,
                alert_sets,
            } = request.into_inner();
            check_inline(&molecules, priority, self.max_inline_molecules)?;
            let alert_sets = molbatch_proto::alert_sets::checked("alert_sets", &alert_sets)?;
            Ok(Response::new(
                self.intake
                    .submit(&caller, key, &display_name, priority, alert_sets, molecules)
                    .await?,
            ))
        })
        .await
    }

    async fn upload_batch(
        &self,
        request: Request<tonic::Streaming<pb::UploadBatchRequest>>,
    ) -> Result<Response<pb::Job>, Status> {
        answer(async move {
            let caller = caller_of(&request)?;
            let key = idempotency_key(&request)?;
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
                self.intake.upload(&caller, key, options, stream).await?,
            ))
        })
        .await
    }

    async fn list_jobs(
        &self,
        request: Request<pb::ListJobsRequest>,
    ) -> Result<Response<pb::ListJobsResponse>, Status> {
        answer(async move {
            let tenant = tenant_of(&request)?;
            let pb::ListJobsRequest {
                page_size,
                page_token,
                state,
                name_contains,
                created_after,
                created_before,
            } = request.into_inner();
            let request = ipb::ListJobsRequest {
                tenant_id: tenant.to_string(),
                page_size,
                page_token,
                state,
                name_contains,
                created_after,
                created_before,
            };
            Ok(self.scheduler.clone().list_jobs(request).await?)
        })
        .await
    }

    async fn get_job(
        &self,
        request: Request<pb::GetJobRequest>,
    ) -> Result<Response<pb::Job>, Status> {
        answer(async move {
            let job = job_ref(&tenant_of(&request)?, &request.get_ref().job_id)?;
            Ok(self.scheduler.clone().get_job(job).await?)
        })
        .await
    }

    async fn cancel_job(
        &self,
        request: Request<pb::CancelJobRequest>,
    ) -> Result<Response<pb::Job>, Status> {
        answer(async move {
            let caller = caller_of(&request)?;
            let job = job_ref(&caller.tenant, &request.get_ref().job_id)?;
            let target = job.job_id.clone();
            let cancelled = self.scheduler.clone().cancel_job(job).await?;
            self.audit(&caller, "CancelJob", caller.tenant.as_str(), &target)
                .await;
            Ok(cancelled)
        })
        .await
    }

    async fn delete_job(
        &self,
        request: Request<pb::DeleteJobRequest>,
    ) -> Result<Response<pb::DeleteJobResponse>, Status> {
        answer(async move {
            let caller = caller_of(&request)?;
            let job = job_ref(&caller.tenant, &request.get_ref().job_id)?;
            let target = job.job_id.clone();
            let deleted = self.scheduler.clone().delete_job(job).await?;
            self.audit(&caller, "DeleteJob", caller.tenant.as_str(), &target)
                .await;
            Ok(deleted)
        })
        .await
    }

    async fn retry_job(
        &self,
        request: Request<pb::RetryJobRequest>,
    ) -> Result<Response<pb::Job>, Status> {
        answer(async move {
            let caller = caller_of(&request)?;
            let job = job_ref(&caller.tenant, &request.get_ref().job_id)?;
            let target = job.job_id.clone();
            let retried = self.scheduler.clone().retry_job(job).await?;
            self.audit(&caller, "RetryJob", caller.tenant.as_str(), &target)
                .await;
            Ok(retried)
        })
        .await
    }

    type WatchJobStream = WatchStream;

    async fn watch_job(
        &self,
        request: Request<pb::WatchJobRequest>,
    ) -> Result<Response<Self::WatchJobStream>, Status> {
        answer(async move {
            let job = job_ref(&tenant_of(&request)?, &request.get_ref().job_id)?;
            let events = self.scheduler.clone().watch_job(job).await?.into_inner();
            let events = tokio_stream::StreamExt::map(events, |event| {
                event.map_err(|status| Status::from(GatewayError::Upstream(status)))
            });
            Ok(Response::new(Box::pin(events) as WatchStream))
        })
        .await
    }

    async fn list_results(
        &self,
        request: Request<pb::ListResultsRequest>,
    ) -> Result<Response<pb::ListResultsResponse>, Status> {
        answer(async move {
            let job = job_ref(&tenant_of(&request)?, &request.get_ref().job_id)?;
            // The scheduler answers NOT_FOUND for another tenant's job.
            let found = self.scheduler.clone().get_job(job).await?.into_inner();
            let request = ipb::ListResultsRequest {
                query: Some(request.into_inner()),
                total_molecules: found.total_molecules,
                job_completed: found.state == pb::JobState::Completed as i32,
            };
            Ok(self.storage.clone().list_results(request).await?)
        })
        .await
    }

    async fn get_result_values(
        &self,
        request: Request<pb::GetResultValuesRequest>,
    ) -> Result<Response<pb::ResultValues>, Status> {
        answer(async move {
            let job = job_ref(&tenant_of(&request)?, &request.get_ref().job_id)?;
            // The scheduler answers NOT_FOUND for another tenant's job.
            let found = self.scheduler.clone().get_job(job).await?.into_inner();
            let request = ipb::GetResultValuesRequest {
                query: Some(request.into_inner()),
                total_molecules: found.total_molecules,
                job_completed: found.state == pb::JobState::Completed as i32,
            };
            Ok(self.storage.clone().get_result_values(request).await?)
        })
        .await
    }

    async fn list_analysis_types(
        &self,
        request: Request<pb::ListAnalysisTypesRequest>,
    ) -> Result<Response<pb::ListAnalysisTypesResponse>, Status> {
        answer(async move {
            caller_of(&request)?;
            Ok(Response::new(molbatch_proto::analysis::analysis_types()))
        })
        .await
    }

    async fn get_result(
        &self,
        request: Request<pb::GetResultRequest>,
    ) -> Result<Response<pb::MoleculeResult>, Status> {
        answer(async move {
            let job = job_ref(&tenant_of(&request)?, &request.get_ref().job_id)?;
            // The scheduler answers NOT_FOUND for another tenant's job.
            let found = self.scheduler.clone().get_job(job).await?.into_inner();
            let pb::GetResultRequest {
                job_id,
                index,
                include_fingerprint,
            } = request.into_inner();
            let missing = || {
                GatewayError::NotFound(format!(
                    "job {job_id} has no result at index {index} (it has {} molecules{})",
                    found.total_molecules,
                    if found.state == pb::JobState::Completed as i32 {
                        ""
                    } else {
                        ", not all computed yet"
                    }
                ))
            };
            if index >= found.total_molecules {
                return Err(missing());
            }
            let answer = self
                .storage
                .clone()
                .get_results(ipb::GetResultsRequest {
                    job_id: found.job_id.clone(),
                    indices: vec![index],
                    include_fingerprint,
                })
                .await;
            match answer {
                Ok(response) => response
                    .into_inner()
                    .results
                    .pop()
                    .map(Response::new)
                    .ok_or_else(missing),
                Err(status) if status.code() == tonic::Code::NotFound => Err(missing()),
                Err(status) => Err(status.into()),
            }
        })
        .await
    }

    async fn list_analyses(
        &self,
        request: Request<pb::ListAnalysesRequest>,
    ) -> Result<Response<pb::ListAnalysesResponse>, Status> {
        answer(async move {
            let job = job_ref(&tenant_of(&request)?, &request.get_ref().job_id)?;
            Ok(self.scheduler.clone().list_analyses(job).await?)
        })
        .await
    }

    async fn get_analysis(
        &self,
        request: Request<pb::GetAnalysisRequest>,
    ) -> Result<Response<pb::Analysis>, Status> {
        answer(async move {
            let tenant = tenant_of(&request)?;
            let pb::GetAnalysisRequest { job_id, r#type } = request.into_inner();
            let job = job_ref(&tenant, &job_id)?;
            AnalysisKind::from_request(&r#type)?;
            let mut analysis = self
                .scheduler
                .clone()
                .get_analysis(ipb::AnalysisRef {
                    job: Some(job),
                    r#type: r#type.clone(),
                })
                .await?
                .into_inner();
            if analysis.status == pb::AnalysisStatus::Complete as i32 {
                let stored = self
                    .storage
                    .clone()
                    .get_analysis_result(ipb::AnalysisResultRef { job_id, r#type })
                    .await?
                    .into_inner();
                analysis.result = stored.analysis.and_then(|a| a.result);
            }
            Ok(Response::new(analysis))
        })
        .await
    }

    async fn list_matched_pairs(
        &self,
        request: Request<pb::ListMatchedPairsRequest>,
    ) -> Result<Response<pb::ListMatchedPairsResponse>, Status> {
        answer(async move {
            let tenant = tenant_of(&request)?;
            let pb::ListMatchedPairsRequest { job_id, page_token } = request.into_inner();
            let data = self
                .mmp_page(&tenant, &job_id, PageSeries::MmpPairs, &page_token)
                .await?;
            let page = pb::ListMatchedPairsResponse::decode(data.as_slice()).map_err(|e| {
                GatewayError::internal("decoding a stored page of matched pairs", e)
            })?;
            Ok(Response::new(page))
        })
        .await
    }

    async fn list_transforms(
        &self,
        request: Request<pb::ListTransformsRequest>,
    ) -> Result<Response<pb::ListTransformsResponse>, Status> {
        answer(async move {
            let tenant = tenant_of(&request)?;
            let pb::ListTransformsRequest { job_id, page_token } = request.into_inner();
            let data = self
                .mmp_page(&tenant, &job_id, PageSeries::MmpTransforms, &page_token)
                .await?;
            let page = pb::ListTransformsResponse::decode(data.as_slice())
                .map_err(|e| GatewayError::internal("decoding a stored page of transforms", e))?;
            Ok(Response::new(page))
        })
        .await
    }

    async fn run_analysis(
        &self,
        request: Request<pb::RunAnalysisRequest>,
    ) -> Result<Response<pb::Analysis>, Status> {
        answer(async move {
            let tenant = tenant_of(&request)?;
            let pb::RunAnalysisRequest {
                job_id,
                r#type,
                params,
            } = request.into_inner();
            let job = job_ref(&tenant, &job_id)?;
            AnalysisRequest::parse(&r#type, &params)?;
            Ok(self
                .scheduler
                .clone()
                .run_analysis(ipb::RunAnalysisRequest {
                    job: Some(job),
                    r#type,
                    params,
                })
                .await?)
        })
        .await
    }

    async fn analyze_molecules(
        &self,
        request: Request<pb::AnalyzeMoleculesRequest>,
    ) -> Result<Response<pb::AnalyzeMoleculesResponse>, Status> {
        answer(async move {
            tenant_of(&request)?;
            let mut request = request.into_inner();
            check_analyze(&request.molecules)?;
            request.alert_sets =
                molbatch_proto::alert_sets::checked("alert_sets", &request.alert_sets)?;
            Ok(self.analytics.clone().analyze_molecules(request).await?)
        })
        .await
    }

    async fn search_similar(
        &self,
        request: Request<pb::SearchSimilarRequest>,
    ) -> Result<Response<pb::SearchSimilarResponse>, Status> {
        answer(async move {
            let tenant = tenant_of(&request)?;
            let query = request.into_inner();
            check_search(&query)?;
            let total_molecules = self.searchable_job(&tenant, &query.job_id).await?;
            Ok(self
                .analytics
                .clone()
                .search_similar(ipb::SearchRequest {
                    query: Some(query),
                    total_molecules,
                })
                .await?)
        })
        .await
    }

    async fn search_substructure(
        &self,
        request: Request<pb::SearchSubstructureRequest>,
    ) -> Result<Response<pb::SearchSubstructureResponse>, Status> {
        answer(async move {
            let tenant = tenant_of(&request)?;
            let query = request.into_inner();
            check_substructure(&query)?;
            let total_molecules = self.searchable_job(&tenant, &query.job_id).await?;
            Ok(self
                .analytics
                .clone()
                .search_substructure(ipb::SubstructureSearchRequest {
                    query: Some(query),
                    total_molecules,
                })
                .await?)
        })
        .await
    }

    async fn depict(
        &self,
        request: Request<pb::DepictRequest>,
    ) -> Result<Response<pb::Depiction>, Status> {
        answer(async move {
            let tenant = tenant_of(&request)?;
            let query = check_depict(request.into_inner())?;
            let total_molecules = if query.job_id.is_empty() {
                0
            } else {
                let job = job_ref(&tenant, &query.job_id)?;
                self.completed_job(job, "its molecules can be drawn")
                    .await?
                    .total_molecules
            };
            Ok(self
                .analytics
                .clone()
                .depict(ipb::DepictJobRequest {
                    query: Some(query),
                    total_molecules,
                })
                .await?)
        })
        .await
    }

    async fn batch_depict(
        &self,
        request: Request<pb::BatchDepictRequest>,
    ) -> Result<Response<pb::BatchDepictResponse>, Status> {
        answer(async move {
            let tenant = tenant_of(&request)?;
            let pb::BatchDepictRequest { requests } = request.into_inner();
            let requests = check_batch_depict(requests)?;
            // Every job named must be the caller's and COMPLETED; each is
            // looked up once however many of its molecules are asked for.
            let mut total_molecules = std::collections::HashMap::new();
            for (i, query) in requests.iter().enumerate() {
                if query.job_id.is_empty() || total_molecules.contains_key(&query.job_id) {
                    continue;
                }
                let id: JobId =
                    query
                        .job_id
                        .parse()
                        .map_err(|e: molbatch_proto::ids::BadJobId| {
                            Violations::one(format!("requests[{i}].job_id"), e.to_string())
                        })?;
                let job = ipb::JobRef {
                    tenant_id: tenant.to_string(),
                    job_id: id.to_string(),
                };
                let found = self
                    .completed_job(job, "its molecules can be drawn")
                    .await?;
                total_molecules.insert(query.job_id.clone(), found.total_molecules);
            }
            Ok(self
                .analytics
                .clone()
                .batch_depict(ipb::BatchDepictJobRequest {
                    requests,
                    total_molecules,
                })
                .await?)
        })
        .await
    }

    async fn create_export(
        &self,
        request: Request<pb::CreateExportRequest>,
    ) -> Result<Response<pb::Export>, Status> {
        answer(async move {
            let tenant = tenant_of(&request)?;
            self.create_export_as(&tenant, request.into_inner())
                .await
                .map(Response::new)
        })
        .await
    }

    async fn get_export(
        &self,
        request: Request<pb::GetExportRequest>,
    ) -> Result<Response<pb::Export>, Status> {
        answer(async move {
            let tenant = tenant_of(&request)?;
            self.get_export_as(&tenant, &request.get_ref().export_id)
                .await
                .map(Response::new)
        })
        .await
    }

    type DownloadExportStream = crate::export::DownloadStream;

    async fn download_export(
        &self,
        request: Request<pb::DownloadExportRequest>,
    ) -> Result<Response<Self::DownloadExportStream>, Status> {
        answer(async move {
            let tenant = tenant_of(&request)?;
            self.download_export_as(&tenant, &request.get_ref().export_id)
                .await
                .map(Response::new)
        })
        .await
    }

    async fn who_am_i(
        &self,
        request: Request<pb::WhoAmIRequest>,
    ) -> Result<Response<pb::WhoAmIResponse>, Status> {
        answer(async move {
            let caller = caller_of(&request)?;
            Ok(Response::new(pb::WhoAmIResponse {
                key_id: caller.key_id,
                tenant_id: caller.tenant.to_string(),
                role: caller.role as i32,
            }))
        })
        .await
    }

    async fn create_tenant(
        &self,
        request: Request<pb::CreateTenantRequest>,
    ) -> Result<Response<pb::Tenant>, Status> {
        answer(async move {
            let caller = caller_of(&request)?;
            self.create_tenant_as(&caller, request.into_inner())
                .await
                .map(Response::new)
        })
        .await
    }

    async fn list_tenants(
        &self,
        request: Request<pb::ListTenantsRequest>,
    ) -> Result<Response<pb::ListTenantsResponse>, Status> {
        answer(async move {
            let caller = caller_of(&request)?;
            self.list_tenants_as(&caller).await.map(Response::new)
        })
        .await
    }

    async fn get_tenant(
        &self,
        request: Request<pb::GetTenantRequest>,
    ) -> Result<Response<pb::Tenant>, Status> {
        answer(async move {
            let caller = caller_of(&request)?;
            self.get_tenant_as(&caller, &request.get_ref().tenant_id)
                .await
                .map(Response::new)
        })
        .await
    }

    async fn update_tenant(
        &self,
        request: Request<pb::UpdateTenantRequest>,
    ) -> Result<Response<pb::Tenant>, Status> {
        answer(async move {
            let caller = caller_of(&request)?;
            self.update_tenant_as(&caller, request.into_inner())
                .await
                .map(Response::new)
        })
        .await
    }

    async fn create_api_key(
        &self,
        request: Request<pb::CreateApiKeyRequest>,
    ) -> Result<Response<pb::ApiKey>, Status> {
        answer(async move {
            let caller = caller_of(&request)?;
            self.create_api_key_as(&caller, request.into_inner())
                .await
                .map(Response::new)
        })
        .await
    }

    async fn list_api_keys(
        &self,
        request: Request<pb::ListApiKeysRequest>,
    ) -> Result<Response<pb::ListApiKeysResponse>, Status> {
        answer(async move {
            let caller = caller_of(&request)?;
            self.list_api_keys_as(&caller, request.into_inner())
                .await
                .map(Response::new)
        })
        .await
    }

    async fn revoke_api_key(
        &self,
        request: Request<pb::RevokeApiKeyRequest>,
    ) -> Result<Response<pb::ApiKey>, Status> {
        answer(async move {
            let caller = caller_of(&request)?;
            self.revoke_api_key_as(&caller, &request.get_ref().key_id)
                .await
                .map(Response::new)
        })
        .await
    }

    async fn create_webhook(
        &self,
        request: Request<pb::CreateWebhookRequest>,
    ) -> Result<Response<pb::Webhook>, Status> {
        answer(async move {
            let caller = caller_of(&request)?;
            self.create_webhook_as(&caller, request.into_inner())
                .await
                .map(Response::new)
        })
        .await
    }

    async fn list_webhooks(
        &self,
        request: Request<pb::ListWebhooksRequest>,
    ) -> Result<Response<pb::ListWebhooksResponse>, Status> {
        answer(async move {
            let tenant = tenant_of(&request)?;
            self.list_webhooks_as(&tenant).await.map(Response::new)
        })
        .await
    }

    async fn delete_webhook(
        &self,
        request: Request<pb::DeleteWebhookRequest>,
    ) -> Result<Response<pb::DeleteWebhookResponse>, Status> {
        answer(async move {
            let caller = caller_of(&request)?;
            self.delete_webhook_as(&caller, &request.get_ref().webhook_id)
                .await
                .map(Response::new)
        })
        .await
    }

    async fn list_webhook_deliveries(
        &self,
        request: Request<pb::ListWebhookDeliveriesRequest>,
    ) -> Result<Response<pb::ListWebhookDeliveriesResponse>, Status> {
        answer(async move {
            let tenant = tenant_of(&request)?;
            self.list_webhook_deliveries_as(&tenant, request.into_inner())
                .await
                .map(Response::new)
        })
        .await
    }

    async fn list_audit_events(
        &self,
        request: Request<pb::ListAuditEventsRequest>,
    ) -> Result<Response<pb::ListAuditEventsResponse>, Status> {
        answer(async move {
            let caller = caller_of(&request)?;
            self.list_audit_events_as(&caller, request.into_inner())
                .await
                .map(Response::new)
        })
        .await
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
        let v = check_inline(&[pb::InputMolecule::default(), both], 0, 10).unwrap_err();
        assert_eq!(v.fields()[0].0, "molecules[1]");
        assert_eq!(
            check_inline(&[], 0, 10).unwrap_err().fields()[0].0,
            "molecules"
        );
        let many = vec![pb::InputMolecule::default(); 3];
        assert!(check_inline(&many, 0, 2).is_err());
        let one = [pb::InputMolecule {
            smiles: "C".into(),
            ..Default::default()
        }];
        assert!(check_inline(&one, 9, 10).is_ok());
        assert_eq!(
            check_inline(&one, 10, 10).unwrap_err().fields()[0].0,
            "priority"
        );
    }

    #[test]
    fn mmp_pages_need_a_complete_analysis_and_a_stored_page() {
        let job = "0190d7a8-7a3e-7000-8000-000000000001";
        let analysis = |status: pb::AnalysisStatus| pb::Analysis {
            status: status as i32,
            ..Default::default()
        };
        assert!(check_mmp_complete(job, &analysis(pb::AnalysisStatus::Complete)).is_ok());
        for status in [
            pb::AnalysisStatus::Pending,
            pb::AnalysisStatus::Computing,
            pb::AnalysisStatus::Failed,
        ] {
            let status = Status::from(check_mmp_complete(job, &analysis(status)).unwrap_err());
            assert_eq!(status.code(), tonic::Code::FailedPrecondition);
            assert!(
                status.message().contains("has not completed") && status.message().contains(job),
                "{status:?}"
            );
        }
        let first = Status::from(missing_mmp_page(job, ""));
        assert_eq!(first.code(), tonic::Code::NotFound);
        assert!(first.message().contains("stored no pages; run it again"));
        let later = Status::from(missing_mmp_page(job, "3"));
        assert_eq!(later.code(), tonic::Code::InvalidArgument);
        let v = Violations::from_status(&later);
        assert_eq!(v.fields()[0].0, "page_token");
        assert!(v.fields()[0].1.starts_with("names no page"), "{v}");
    }

    /// A bad job id or page token is refused before any upstream is asked
    /// (there is none here), naming the field.
    #[tokio::test]
    async fn mmp_page_requests_are_checked_before_any_upstream() {
        use crate::auth::{Authenticator, Caller};
        use crate::limits::{Limits, RateLimiter};
        use molbatch_proto::internal::identity_client::IdentityClient;
        use pb::mol_batch_server::MolBatch as _;

        let nowhere = || molbatch_telemetry::net::lazy_channel("http://127.0.0.1:9", None).unwrap();
        let auth = Authenticator::new(
            IdentityClient::new(nowhere()),
            Limits::default(),
            RateLimiter::local(),
        );
        let api = GatewayApi::new(
            Upstreams {
                scheduler: SchedulerClient::new(nowhere()),
                storage: StorageClient::new(nowhere()),
                analytics: AnalyticsClient::new(nowhere()),
                webhooks: WebhooksClient::new(nowhere()),
            },
            auth,
            1_000,
            1_000,
        );
        let as_viewer = |job_id: &str, page_token: &str| {
            let mut request = Request::new(pb::ListMatchedPairsRequest {
                job_id: job_id.to_owned(),
                page_token: page_token.to_owned(),
            });
            request.extensions_mut().insert(Caller {
                key_id: "000000000000".to_owned(),
                tenant: TenantId::default_tenant(),
                role: pb::Role::Viewer,
                limits: Limits::default(),
            });
            request
        };
        let job = "0190d7a8-7a3e-7000-8000-000000000001";
        let bad_token = api
            .list_matched_pairs(as_viewer(job, "next"))
            .await
            .unwrap_err();
        assert_eq!(bad_token.code(), tonic::Code::InvalidArgument);
        assert_eq!(
            Violations::from_status(&bad_token).fields()[0].0,
            "page_token"
        );
        let bad_job = api
            .list_transforms({
                let (parts, extensions, m) = as_viewer("not-a-job", "").into_parts();
                Request::from_parts(
                    parts,
                    extensions,
                    pb::ListTransformsRequest {
                        job_id: m.job_id,
                        page_token: m.page_token,
                    },
                )
            })
            .await
            .unwrap_err();
        assert_eq!(bad_job.code(), tonic::Code::InvalidArgument);
        assert_eq!(Violations::from_status(&bad_job).fields()[0].0, "job_id");
    }
}
