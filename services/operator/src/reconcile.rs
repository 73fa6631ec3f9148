//! The controller: one reconcile per MoleculeBatch change (and every poll
//! interval while its job runs).
//!
//! - A new resource gets the finalizer [`FINALIZER`] first, so that deleting
//!   it can never lose track of a running job.
//! - Without a job id in its status, its molecules are read and submitted
//!   through the gateway's public API (molbatch.v1.MolBatch, with the API key
//!   as `authorization: Bearer`), and the job id is written to the status.
//!   The job's display name carries the resource's uid, so a submit whose
//!   status write was lost (operator restart) is found again in ListJobs
//!   rather than submitted twice.
//! - With a job id, the job is read and its state and counts written to the
//!   status; a running job is looked at again after the poll interval.
//! - Deleting the resource cancels its job unless it already ended; the
//!   finalizer is removed once the gateway answered.

use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::core::v1::Secret;
use kube::api::{Patch, PatchParams};
use kube::runtime::controller::Action;
use kube::runtime::finalizer::{finalizer, Event};
use kube::{Api, ResourceExt as _};
use molbatch_client::{Client as Gateway, ClientError};
use molbatch_proto::v1 as pb;
use tonic::Code;

use crate::crd::{MoleculeBatch, MoleculeBatchStatus};
use crate::source::{self, BatchInput};

/// The finalizer that makes deleting a MoleculeBatch cancel its job.
pub const FINALIZER: &str = "molbatch.io/cancel-job";
/// The Secret key read when `apiKeySecret.key` is empty.
pub const DEFAULT_SECRET_KEY: &str = "api-key";

/// What every reconcile shares.
pub struct Context {
    /// The Kubernetes API.
    pub kube: kube::Client,
    /// The gateway's gRPC URL.
    pub gateway_url: String,
    /// The API key used when a resource names no Secret.
    pub api_key: Option<String>,
    /// How often a running job is looked at.
    pub poll_interval: Duration,
}

/// Why a reconcile failed; the controller retries it after a backoff.
#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    /// The Kubernetes API failed.
    #[error("Kubernetes API: {0}")]
    Kube(#[from] kube::Error),
    /// Adding or removing the finalizer failed.
    #[error("finalizer: {0}")]
    Finalizer(#[source] Box<kube::runtime::finalizer::Error<ReconcileError>>),
    /// The gateway could not be reached or failed.
    #[error("gateway: {0}")]
    Gateway(#[from] ClientError),
    /// The API key Secret is missing or has no such key.
    #[error("API key Secret {name} has no key {key:?}")]
    ApiKey {
        /// The Secret.
        name: String,
        /// The key.
        key: String,
    },
    /// The resource has no namespace (the CRD is namespaced, so it always
    /// has one when it comes from the API server).
    #[error("MoleculeBatch {0} has no namespace")]
    NoNamespace(String),
}

/// Reconciles one MoleculeBatch.
pub async fn reconcile(
    batch: Arc<MoleculeBatch>,
    ctx: Arc<Context>,
) -> Result<Action, ReconcileError> {
    let namespace = batch
        .namespace()
        .ok_or_else(|| ReconcileError::NoNamespace(batch.name_any()))?;
    let api: Api<MoleculeBatch> = Api::namespaced(ctx.kube.clone(), &namespace);
    finalizer(&api, FINALIZER, batch, |event| async {
        match event {
            Event::Apply(batch) => apply(&batch, &namespace, &api, &ctx).await,
            Event::Cleanup(batch) => cleanup(&batch, &namespace, &ctx).await,
        }
    })
    .await
    .map_err(|e| ReconcileError::Finalizer(Box::new(e)))
}

/// After a failed reconcile: try again soon, not in a tight loop.
pub fn error_policy(batch: Arc<MoleculeBatch>, error: &ReconcileError, _: Arc<Context>) -> Action {
    tracing::warn!(name = %batch.name_any(), error = %error, "reconcile failed; retrying");
    Action::requeue(Duration::from_secs(15))
}

/// Submits the batch if it has no job yet, then mirrors the job in the status.
async fn apply(
    batch: &MoleculeBatch,
    namespace: &str,
    api: &Api<MoleculeBatch>,
    ctx: &Context,
) -> Result<Action, ReconcileError> {
    let status = batch.status.clone().unwrap_or_default();
    if status.state == "InputError" && status.observed_generation == generation(batch) {
        return Ok(Action::await_change());
    }
    let mut gateway = connect(batch, namespace, ctx).await?;
    let job = if status.job_id.is_empty() {
        match find_submitted(&mut gateway, batch).await? {
            Some(job) => job,
            None => match source::resolve(
                &batch.spec,
                &ctx.kube,
                namespace,
                &job_name(batch, namespace),
            )
            .await
            {
                Ok(input) => match submit(&mut gateway, input, batch, namespace).await {
                    Ok(job) => job,
                    Err(ClientError::Status(status)) if status.code() == Code::InvalidArgument => {
                        let message = molbatch_client::describe(&status);
                        return refused(api, batch, message, false).await;
                    }
                    Err(e) => return Err(e.into()),
                },
                Err(e) => {
                    let retry = e.is_retryable();
                    return refused(api, batch, e.to_string(), retry).await;
                }
            },
        }
    } else {
        gateway.job(&status.job_id).await?
    };
    let status = status_of(&job, generation(batch));
    write_status(api, batch, &status).await?;
    Ok(if status.is_final() {
        Action::await_change()
    } else {
        Action::requeue(ctx.poll_interval)
    })
}

/// Cancels the batch's job unless it already ended.
async fn cleanup(
    batch: &MoleculeBatch,
    namespace: &str,
    ctx: &Context,
) -> Result<Action, ReconcileError> {
    let status = batch.status.clone().unwrap_or_default();
    if status.is_final() && status.state != "InputError" {
        return Ok(Action::await_change());
    }
    let mut gateway = connect(batch, namespace, ctx).await?;
    let job_id = if status.job_id.is_empty() {
        // Submitted, perhaps, with the status write lost.
        match find_submitted(&mut gateway, batch).await? {
            Some(job) => job.job_id,
            None => return Ok(Action::await_change()),
        }
    } else {
        status.job_id
    };
    match gateway.cancel(&job_id).await {
        Ok(_) => tracing::info!(name = %batch.name_any(), job_id = %job_id, "job cancelled"),
        // Already ended, or gone (expired, or deleted with its tenant).
        Err(ClientError::Status(s))
            if matches!(s.code(), Code::FailedPrecondition | Code::NotFound) => {}
        Err(e) => return Err(e.into()),
    }
    Ok(Action::await_change())
}

fn generation(batch: &MoleculeBatch) -> i64 {
    batch.metadata.generation.unwrap_or_default()
}

/// The job's display name: the spec's, or `<namespace>/<name>`, with the
/// resource's uid, which [`find_submitted`] looks for.
fn job_name(batch: &MoleculeBatch, namespace: &str) -> String {
    let base = if batch.spec.display_name.is_empty() {
        format!("{namespace}/{}", batch.name_any())
    } else {
        batch.spec.display_name.clone()
    };
    format!("{base} [{}]", batch.uid().unwrap_or_default())
}

/// A gateway client with the resource's API key (its Secret's, or the
/// operator's own).
async fn connect(
    batch: &MoleculeBatch,
    namespace: &str,
    ctx: &Context,
) -> Result<Gateway, ReconcileError> {
    let key = match &batch.spec.api_key_secret {
        Some(secret) => {
            let key = if secret.key.is_empty() {
                DEFAULT_SECRET_KEY
            } else {
                secret.key.as_str()
            };
            let missing = || ReconcileError::ApiKey {
                name: secret.name.clone(),
                key: key.to_owned(),
            };
            let secrets: Api<Secret> = Api::namespaced(ctx.kube.clone(), namespace);
            let found = secrets.get_opt(&secret.name).await?.ok_or_else(missing)?;
            let bytes = found
                .data
                .and_then(|mut data| data.remove(key))
                .ok_or_else(missing)?;
            Some(
                String::from_utf8(bytes.0)
                    .map_err(|_| missing())?
                    .trim()
                    .to_owned(),
            )
        }
        None => ctx.api_key.clone(),
    };
    Ok(Gateway::connect(&ctx.gateway_url, key.as_deref()).await?)
}

/// The job an earlier reconcile submitted for this resource, if any: the
/// newest job whose display name carries the resource's uid.
async fn find_submitted(
    gateway: &mut Gateway,
    batch: &MoleculeBatch,
) -> Result<Option<pb::Job>, ReconcileError> {
    let Some(uid) = batch.uid() else {
        return Ok(None);
    };
    let marker = format!("[{uid}]");
    let page = gateway
        .raw()
        .list_jobs(pb::ListJobsRequest {
            page_size: 10,
            name_contains: marker.clone(),
            ..Default::default()
        })
        .await
        .map_err(ClientError::from)?
        .into_inner();
    Ok(page
        .jobs
        .into_iter()
        .find(|job| job.display_name.ends_with(&marker)))
}

async fn submit(
    gateway: &mut Gateway,
    input: BatchInput,
    batch: &MoleculeBatch,
    namespace: &str,
) -> Result<pb::Job, ClientError> {
    let job = match input {
        BatchInput::Inline(molecules) => gateway
            .raw()
            .submit_batch(pb::SubmitBatchRequest {
                molecules,
                display_name: job_name(batch, namespace),
                priority: batch.spec.priority,
                alert_sets: Vec::new(),
            })
            .await?
            .into_inner(),
        BatchInput::File { content, options } => {
            gateway
                .upload(std::io::Cursor::new(content), options)
                .await?
        }
    };
    tracing::info!(name = %batch.name_any(), namespace, job_id = %job.job_id, "job submitted");
    Ok(job)
}

/// Records that the molecules could not be read or were refused; retried
/// after a minute when `retry` (a ConfigMap not created yet), otherwise left
/// until the spec changes.
async fn refused(
    api: &Api<MoleculeBatch>,
    batch: &MoleculeBatch,
    message: String,
    retry: bool,
) -> Result<Action, ReconcileError> {
    tracing::info!(name = %batch.name_any(), %message, "input refused");
    let status = MoleculeBatchStatus {
        state: "InputError".to_owned(),
        message,
        observed_generation: if retry { 0 } else { generation(batch) },
        ..Default::default()
    };
    write_status(api, batch, &status).await?;
    Ok(if retry {
        Action::requeue(Duration::from_secs(60))
    } else {
        Action::await_change()
    })
}

/// The status that mirrors `job`.
pub fn status_of(job: &pb::Job, observed_generation: i64) -> MoleculeBatchStatus {
    let state = match pb::JobState::try_from(job.state) {
        Ok(pb::JobState::Uploading) => "Uploading",
        Ok(pb::JobState::Queued) => "Queued",
        Ok(pb::JobState::Running) => "Running",
        Ok(pb::JobState::Completed) => "Completed",
        Ok(pb::JobState::Failed) => "Failed",
        Ok(pb::JobState::Cancelled) => "Cancelled",
        Ok(pb::JobState::Unspecified) | Err(_) => "Unknown",
    };
    let percent = (job.processed_molecules.min(job.total_molecules) * 100)
        .checked_div(job.total_molecules)
        .unwrap_or(0);
    let progress = format!("{percent}%");
    MoleculeBatchStatus {
        job_id: job.job_id.clone(),
        state: state.to_owned(),
        progress,
        total_molecules: job.total_molecules,
        processed_molecules: job.processed_molecules,
        valid_molecules: job.valid_molecules,
        invalid_molecules: job.invalid_molecules,
        message: job.error.clone(),
        observed_generation,
    }
}

async fn write_status(
    api: &Api<MoleculeBatch>,
    batch: &MoleculeBatch,
    status: &MoleculeBatchStatus,
) -> Result<(), ReconcileError> {
    if batch.status.as_ref() == Some(status) {
        return Ok(());
    }
    let patch = serde_json::json!({ "status": status });
    api.patch_status(
        &batch.name_any(),
        &PatchParams::default(),
        &Patch::Merge(&patch),
    )
    .await?;
    Ok(())
}
