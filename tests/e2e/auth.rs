//! Identity over real gRPC: every public RPC against every role (the matrix
//! covers the service descriptor, so a new RPC without an entry fails), every
//! job RPC across tenants (NOT_FOUND, never FORBIDDEN), revoked and missing
//! keys, per-tenant rate limits and quotas, idempotent submits and the audit
//! log.

use molbatch_client::{Client, ClientError};
use molbatch_proto::v1 as pb;
use tonic::{Code, Status};

use crate::support::Molbatch;

fn molecules(smiles: &[&str]) -> Vec<pb::InputMolecule> {
    smiles
        .iter()
        .map(|s| pb::InputMolecule {
            smiles: (*s).to_owned(),
            ..Default::default()
        })
        .collect()
}

fn status(e: ClientError) -> Status {
    match e {
        ClientError::Status(s) => s,
        other => panic!("expected a status, got {other}"),
    }
}

/// Creates `tenant` (with `quotas`) and a key of each role for it; returns
/// (viewer, user, admin) secrets.
async fn tenant_with_keys(
    operator: &mut Client,
    tenant: &str,
    quotas: pb::Quotas,
) -> (String, String, String) {
    operator
        .raw()
        .create_tenant(pb::CreateTenantRequest {
            tenant_id: tenant.to_owned(),
            display_name: tenant.to_uppercase(),
            quotas: Some(quotas),
        })
        .await
        .unwrap();
    let mut keys = Vec::new();
    for role in [pb::Role::Viewer, pb::Role::User, pb::Role::Admin] {
        let key = operator
            .raw()
            .create_api_key(pb::CreateApiKeyRequest {
                tenant_id: tenant.to_owned(),
                role: role as i32,
                name: format!("{tenant} {role:?}"),
            })
            .await
            .unwrap()
            .into_inner();
        assert!(key.secret.starts_with("mbk_"), "the secret is shown once");
        keys.push(key.secret);
    }
    let admin = keys.pop().unwrap();
    let user = keys.pop().unwrap();
    (keys.pop().unwrap(), user, admin)
}

/// Calls public RPC `rpc` with harmless arguments about `job`; the error
/// if it failed.
async fn call(client: &mut Client, rpc: &str, job: &str) -> Result<(), Status> {
    let raw = client.raw();
    let job_id = job.to_owned();
    let outcome = match rpc {
        "SubmitBatch" => raw
            .submit_batch(pb::SubmitBatchRequest {
                molecules: molecules(&["CCO"]),
                ..Default::default()
            })
            .await
            .map(drop),
        "UploadBatch" => {
            let options = pb::UploadOptions {
                display_name: "one.smi".into(),
                ..Default::default()
            };
            return client
                .upload(&b"CCO\n"[..], options)
                .await
                .map(drop)
                .map_err(status);
        }
        "ListJobs" => raw
            .list_jobs(pb::ListJobsRequest::default())
            .await
            .map(drop),
        "GetJob" => raw.get_job(pb::GetJobRequest { job_id }).await.map(drop),
        "CancelJob" => raw
            .cancel_job(pb::CancelJobRequest { job_id })
            .await
            .map(drop),
        "DeleteJob" => raw
            .delete_job(pb::DeleteJobRequest { job_id })
            .await
            .map(drop),
        "RetryJob" => raw
            .retry_job(pb::RetryJobRequest { job_id })
            .await
            .map(drop),
        "WatchJob" => raw
            .watch_job(pb::WatchJobRequest { job_id })
            .await
            .map(drop),
        "ListResults" => raw
            .list_results(pb::ListResultsRequest {
                job_id,
                ..Default::default()
            })
            .await
            .map(drop),
        "GetResult" => raw
            .get_result(pb::GetResultRequest {
                job_id,
                index: 0,
                include_fingerprint: false,
            })
            .await
            .map(drop),
        "GetResultValues" => raw
            .get_result_values(pb::GetResultValuesRequest {
                job_id,
                fields: vec!["qed".into()],
            })
            .await
            .map(drop),
        "ListAnalysisTypes" => raw
            .list_analysis_types(pb::ListAnalysisTypesRequest {})
            .await
            .map(drop),
        "ListAnalyses" => raw
            .list_analyses(pb::ListAnalysesRequest { job_id })
            .await
            .map(drop),
        "GetAnalysis" => raw
            .get_analysis(pb::GetAnalysisRequest {
                job_id,
                r#type: "statistics".into(),
            })
            .await
            .map(drop),
        // The job's mmp analysis never ran: NOT_FOUND once allowed.
        "ListMatchedPairs" => raw
            .list_matched_pairs(pb::ListMatchedPairsRequest {
                job_id,
                page_token: String::new(),
            })
            .await
            .map(drop),
        "ListTransforms" => raw
            .list_transforms(pb::ListTransformsRequest {
                job_id,
                page_token: String::new(),
            })
            .await
            .map(drop),
        "RunAnalysis" => raw
            .run_analysis(pb::RunAnalysisRequest {
                job_id,
                r#type: "scaffolds".into(),
                params: Default::default(),
            })
            .await
            .map(drop),
        "SearchSimilar" => raw
            .search_similar(pb::SearchSimilarRequest {
                job_id,
                smiles: "CCO".into(),
                top_k: 1,
                ..Default::default()
            })
            .await
            .map(drop),
        "SearchSubstructure" => raw
            .search_substructure(pb::SearchSubstructureRequest {
                job_id,
                query: "C".into(),
                ..Default::default()
            })
            .await
            .map(drop),
        "Depict" => raw
            .depict(pb::DepictRequest {
                job_id,
                index: Some(0),
                ..Default::default()
            })
            .await
            .map(drop),
        "BatchDepict" => raw
            .batch_depict(pb::BatchDepictRequest {
                requests: vec![pb::DepictRequest {
                    job_id,
                    index: Some(0),
                    ..Default::default()
                }],
            })
            .await
            .map(drop),
        "CreateExport" => raw
            .create_export(pb::CreateExportRequest {
                job_id,
                format: "csv".into(),
                ..Default::default()
            })
            .await
            .map(drop),
        // A well-formed id of an export the job does not have.
        "GetExport" => raw
            .get_export(pb::GetExportRequest {
                export_id: format!("{job_id}.000000000000"),
            })
            .await
            .map(drop),
        "DownloadExport" => raw
            .download_export(pb::DownloadExportRequest {
                export_id: format!("{job_id}.000000000000"),
            })
            .await
            .map(drop),
        "WhoAmI" => raw.who_am_i(pb::WhoAmIRequest {}).await.map(drop),
        "CreateTenant" => raw
            .create_tenant(pb::CreateTenantRequest {
                tenant_id: format!("t-{}", &uuid_like(job)),
                ..Default::default()
            })
            .await
            .map(drop),
        "ListTenants" => raw.list_tenants(pb::ListTenantsRequest {}).await.map(drop),
        "GetTenant" => raw
            .get_tenant(pb::GetTenantRequest {
                tenant_id: "lab".into(),
            })
            .await
            .map(drop),
        "UpdateTenant" => raw
            .update_tenant(pb::UpdateTenantRequest {
                tenant_id: "lab".into(),
                display_name: "Lab".into(),
                quotas: None,
            })
            .await
            .map(drop),
        "CreateApiKey" => raw
            .create_api_key(pb::CreateApiKeyRequest {
                tenant_id: "lab".into(),
                role: pb::Role::Viewer as i32,
                name: "matrix".into(),
            })
            .await
            .map(drop),
        "ListApiKeys" => raw
            .list_api_keys(pb::ListApiKeysRequest {
                tenant_id: "lab".into(),
            })
            .await
            .map(drop),
        "RevokeApiKey" => raw
            .revoke_api_key(pb::RevokeApiKeyRequest {
                key_id: "000000000000".into(),
            })
            .await
            .map(drop),
        "AnalyzeMolecules" => raw
            .analyze_molecules(pb::AnalyzeMoleculesRequest {
                molecules: vec![pb::InputMolecule {
                    smiles: "CCO".into(),
                    ..Default::default()
                }],
                include_fingerprint: false,
                alert_sets: Vec::new(),
            })
            .await
            .map(drop),
        "ListAuditEvents" => raw
            .list_audit_events(pb::ListAuditEventsRequest::default())
            .await
            .map(drop),
        "CreateWebhook" => raw
            .create_webhook(pb::CreateWebhookRequest {
                url: "http://127.0.0.1:9/matrix".into(),
                ..Default::default()
            })
            .await
            .map(drop),
        "ListWebhooks" => raw
            .list_webhooks(pb::ListWebhooksRequest {})
            .await
            .map(drop),
        "DeleteWebhook" => raw
            .delete_webhook(pb::DeleteWebhookRequest {
                webhook_id: "wh_0000000000000000".into(),
            })
            .await
            .map(drop),
        "ListWebhookDeliveries" => raw
            .list_webhook_deliveries(pb::ListWebhookDeliveriesRequest {
                webhook_id: "wh_0000000000000000".into(),
                page_size: 0,
            })
            .await
            .map(drop),
        other => panic!("the role matrix has no entry for {other}: add one"),
    };
    outcome
}

/// A short distinct suffix for tenant ids made in the matrix.
fn uuid_like(job: &str) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static NEXT: AtomicU32 = AtomicU32::new(0);
    format!(
        "{}-{}",
        &job[..8.min(job.len())].to_lowercase(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// Every method of the public service, from its descriptor.
fn public_rpcs() -> Vec<String> {
    let pool = prost_reflect::DescriptorPool::decode(molbatch_proto::FILE_DESCRIPTOR_SET).unwrap();
    let service = pool.get_service_by_name("molbatch.v1.MolBatch").unwrap();
    service.methods().map(|m| m.name().to_owned()).collect()
}

/// The job the matrix calls `rpc` about: `job`, except that DeleteJob gets
/// a job id nobody has (NOT_FOUND once allowed), so the job stays for the
/// rest of the matrix.
fn target<'a>(rpc: &str, job: &'a str) -> &'a str {
    const NOBODYS_JOB: &str = "00000000-0000-4000-8000-000000000000";
    if rpc == "DeleteJob" {
        NOBODYS_JOB
    } else {
        job
    }
}

/// Denied for want of a role, or (tenant admins) of being the operator.
fn denied(outcome: &Result<(), Status>) -> bool {
    matches!(outcome, Err(s) if s.code() == Code::PermissionDenied)
}

#[tokio::test(flavor = "multi_thread")]
async fn every_rpc_against_every_role_and_without_a_key() {
    let mut mb = Molbatch::start().await;
    let (viewer, user, admin) =
        tenant_with_keys(&mut mb.client, "lab", pb::Quotas::default()).await;
    let mut as_user = mb.client_with(Some(&user)).await;
    let job = as_user
        .submit(molecules(&["CCO", "c1ccccc1"]), "lab.smi")
        .await
        .unwrap();
    as_user.wait(&job.job_id, |_| {}).await.unwrap();

    let viewer_only = [
        "ListJobs",
        "GetJob",
        "WatchJob",
        "ListResults",
        "GetResult",
        "GetResultValues",
        "ListAnalysisTypes",
        "ListAnalyses",
        "GetAnalysis",
        "ListMatchedPairs",
        "ListTransforms",
        "SearchSimilar",
        "SearchSubstructure",
        "Depict",
        "BatchDepict",
        "WhoAmI",
        "GetExport",
        "DownloadExport",
    ];
    let user_too = [
        "SubmitBatch",
        "AnalyzeMolecules",
        "UploadBatch",
        "CancelJob",
        "DeleteJob",
        "RetryJob",
        "RunAnalysis",
        "CreateExport",
    ];
    // A tenant's admin may not create or change tenants (quotas are the
    // operator's); it may manage its own keys and read its own audit log.
    let operator_only = ["CreateTenant", "UpdateTenant"];
    let mut nobody = mb.client_with(None).await;
    let mut forged = mb
        .client_with(Some(&format!("mbk_{}_{}", "0".repeat(12), "1".repeat(64))))
        .await;
    for rpc in public_rpcs() {
        let needs = if viewer_only.contains(&rpc.as_str()) {
            pb::Role::Viewer
        } else if user_too.contains(&rpc.as_str()) {
            pb::Role::User
        } else {
            pb::Role::Admin
        };
        for (role, key) in [
            (pb::Role::Viewer, &viewer),
            (pb::Role::User, &user),
            (pb::Role::Admin, &admin),
        ] {
            let mut client = mb.client_with(Some(key)).await;
            let outcome = call(&mut client, &rpc, target(&rpc, &job.job_id)).await;
            let allowed = role >= needs && !(operator_only.contains(&rpc.as_str()));
            assert_eq!(!denied(&outcome), allowed, "{rpc} as {role:?}: {outcome:?}");
            if let Err(s) = &outcome {
                assert_ne!(s.code(), Code::Unauthenticated, "{rpc} as {role:?}: {s:?}");
            }
        }
        // The operator's admin key may do everything.
        let outcome = call(&mut mb.client, &rpc, target(&rpc, &job.job_id)).await;
        assert!(!denied(&outcome), "{rpc} as the operator: {outcome:?}");
        for client in [&mut nobody, &mut forged] {
            let outcome = call(client, &rpc, target(&rpc, &job.job_id)).await;
            assert!(
                matches!(&outcome, Err(s) if s.code() == Code::Unauthenticated),
                "{rpc} without a valid key: {outcome:?}"
            );
        }
    }
    mb.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn another_tenants_jobs_keys_and_settings_are_not_found() {
    let mut mb = Molbatch::start().await;
    let (_, lab_user, lab_admin) =
        tenant_with_keys(&mut mb.client, "lab", pb::Quotas::default()).await;
    let (_, rival_user, rival_admin) =
        tenant_with_keys(&mut mb.client, "rival", pb::Quotas::default()).await;
    let mut lab = mb.client_with(Some(&lab_user)).await;
    let job = lab
        .submit(molecules(&["CCO", "CCN"]), "secret.smi")
        .await
        .unwrap();
    lab.wait(&job.job_id, |_| {}).await.unwrap();

    let job_rpcs = [
        "GetJob",
        "CancelJob",
        "DeleteJob",
        "RetryJob",
        "WatchJob",
        "ListResults",
        "GetResult",
        "GetResultValues",
        "ListAnalyses",
        "GetAnalysis",
        "ListMatchedPairs",
        "ListTransforms",
        "RunAnalysis",
        "SearchSimilar",
        "SearchSubstructure",
        "Depict",
        "BatchDepict",
        "CreateExport",
        "GetExport",
        "DownloadExport",
    ];
    for key in [&rival_user, &rival_admin] {
        let mut rival = mb.client_with(Some(key)).await;
        for rpc in job_rpcs {
            let outcome = call(&mut rival, rpc, &job.job_id).await;
            assert!(
                matches!(&outcome, Err(s) if s.code() == Code::NotFound),
                "{rpc} on another tenant's job: {outcome:?}"
            );
        }
        let listed = rival
            .raw()
            .list_jobs(pb::ListJobsRequest::default())
            .await
            .unwrap();
        assert!(
            listed.into_inner().jobs.is_empty(),
            "another tenant's jobs are not listed"
        );
    }
    // A tenant admin sees only its own tenant and keys.
    let mut rival = mb.client_with(Some(&rival_admin)).await;
    for rpc in ["GetTenant", "ListApiKeys", "CreateApiKey"] {
        let outcome = call(&mut rival, rpc, &job.job_id).await;
        assert!(
            matches!(&outcome, Err(s) if s.code() == Code::NotFound),
            "{rpc} about tenant lab as rival's admin: {outcome:?}"
        );
    }
    let lab_key = {
        let mut lab_admin = mb.client_with(Some(&lab_admin)).await;
        let keys = lab_admin
            .raw()
            .list_api_keys(pb::ListApiKeysRequest {
                tenant_id: "lab".into(),
            })
            .await
            .unwrap()
            .into_inner()
            .keys;
        assert_eq!(keys.len(), 3);
        assert!(
            keys.iter().all(|k| k.secret.is_empty()),
            "secrets are never listed"
        );
        keys[0].key_id.clone()
    };
    let revoke = rival
        .raw()
        .revoke_api_key(pb::RevokeApiKeyRequest { key_id: lab_key })
        .await;
    assert_eq!(revoke.unwrap_err().code(), Code::NotFound);
    let tenants = rival
        .raw()
        .list_tenants(pb::ListTenantsRequest {})
        .await
        .unwrap();
    let names: Vec<String> = tenants
        .into_inner()
        .tenants
        .into_iter()
        .map(|t| t.tenant_id)
        .collect();
    assert_eq!(names, ["rival"]);
    // The job is untouched.
    assert_eq!(
        lab.job(&job.job_id).await.unwrap().state,
        pb::JobState::Completed as i32
    );
    mb.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn revoked_keys_stop_and_the_audit_log_says_who_did_what() {
    let mut mb = Molbatch::start().await;
    let (_, user, _) = tenant_with_keys(&mut mb.client, "lab", pb::Quotas::default()).await;
    let mut lab = mb.client_with(Some(&user)).await;
    let me = lab
        .raw()
        .who_am_i(pb::WhoAmIRequest {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (me.tenant_id.as_str(), me.role),
        ("lab", pb::Role::User as i32)
    );
    let job = lab.submit(molecules(&["CCO"]), "").await.unwrap();
    // Audited whatever the job's state (a cancel of a job that already
    // completed is refused, and so not audited: CI saw that race).
    lab.delete(&job.job_id).await.unwrap();
    mb.client
        .raw()
        .revoke_api_key(pb::RevokeApiKeyRequest {
            key_id: me.key_id.clone(),
        })
        .await
        .unwrap();
    let refused = lab
        .job(&job.job_id)
        .await
        .map(drop)
        .map_err(status)
        .unwrap_err();
    assert_eq!(refused.code(), Code::Unauthenticated);
    assert!(
        refused.message().contains("revoked"),
        "{}",
        refused.message()
    );

    let events = mb
        .client
        .raw()
        .list_audit_events(pb::ListAuditEventsRequest {
            tenant_id: "lab".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .events;
    let actions: Vec<&str> = events.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(
        actions,
        [
            "RevokeApiKey",
            "DeleteJob",
            "CreateApiKey",
            "CreateApiKey",
            "CreateApiKey",
            "CreateTenant"
        ],
        "newest first"
    );
    assert_eq!(events[1].actor_key_id, me.key_id);
    assert_eq!(events[1].target, job.job_id);
    assert_eq!(events[0].target, me.key_id);
    mb.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn rate_limits_and_quotas_answer_resource_exhausted_and_fail_nothing_half_made() {
    let mut mb = Molbatch::start().await;
    let quotas = pb::Quotas {
        max_molecules_per_job: 3,
        max_molecules_per_day: 5,
        max_concurrent_jobs: 0,
        requests_per_second: 1,
        burst: 4,
    };
    let (_, user, _) = tenant_with_keys(&mut mb.client, "small", quotas).await;
    let mut small = mb.client_with(Some(&user)).await;

    // Per job: four molecules inline, and an uploaded file of four.
    let over = small
        .submit(molecules(&["C", "CC", "CCC", "CCCC"]), "")
        .await;
    let over = status(over.unwrap_err());
    assert_eq!(over.code(), Code::ResourceExhausted, "{over:?}");
    assert!(over.message().contains("3 per job"), "{}", over.message());
    let options = pb::UploadOptions {
        display_name: "four.smi".into(),
        ..Default::default()
    };
    let over = status(
        small
            .upload(&b"C\nCC\nCCC\nCCCC\n"[..], options)
            .await
            .unwrap_err(),
    );
    assert_eq!(over.code(), Code::ResourceExhausted);
    // Refused jobs are FAILED with the reason and hold no molecules.
    let jobs = small
        .raw()
        .list_jobs(pb::ListJobsRequest::default())
        .await
        .unwrap()
        .into_inner()
        .jobs;
    assert_eq!(jobs.len(), 2);
    for job in &jobs {
        assert_eq!(job.state, pb::JobState::Failed as i32);
        assert!(job.error.contains("refused"), "{}", job.error);
        assert_eq!((job.total_chunks, job.total_molecules), (0, 0));
    }
    // The burst of 4 tokens refills at one a second: quick reads run out.
    let limited = loop_until_limited(&mut small, &jobs[0].job_id).await;
    assert_eq!(limited.code(), Code::ResourceExhausted, "{limited:?}");
    assert!(
        limited.message().contains("rate limit"),
        "{}",
        limited.message()
    );
    let details = tonic_types::StatusExt::get_details_retry_info(&limited);
    assert!(details.and_then(|r| r.retry_delay).is_some(), "retry info");
    // Other tenants are not limited by it.
    assert!(mb
        .client
        .raw()
        .list_jobs(pb::ListJobsRequest::default())
        .await
        .is_ok());

    // Per day: 3 molecules, then 2 more fit the daily 5, a third does not.
    // A tenant of its own with the same quotas, so its burst is full without
    // waiting for the one spent above to refill.
    let (_, user, _) = tenant_with_keys(&mut mb.client, "daily", quotas).await;
    let mut daily = mb.client_with(Some(&user)).await;
    let first = daily
        .submit(molecules(&["C", "CC", "CCC"]), "")
        .await
        .unwrap();
    assert_eq!(first.total_molecules, 3);
    let second = daily.submit(molecules(&["CCO", "CCN"]), "").await.unwrap();
    assert_eq!(second.total_molecules, 2);
    let third = status(daily.submit(molecules(&["O"]), "").await.unwrap_err());
    assert_eq!(third.code(), Code::ResourceExhausted);
    assert!(third.message().contains("24 hours"), "{}", third.message());
    mb.stop().await;
}

/// Reads a job until the rate limit refuses (at most 20 reads).
async fn loop_until_limited(client: &mut Client, job_id: &str) -> Status {
    for _ in 0..20 {
        if let Err(e) = client.job(job_id).await {
            return status(e);
        }
    }
    panic!("20 quick reads were never rate limited");
}

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_jobs_quota_and_idempotent_submits() {
    let mut mb = Molbatch::start().await;
    let quotas = pb::Quotas {
        max_concurrent_jobs: 1,
        ..Default::default()
    };
    let (_, user, _) = tenant_with_keys(&mut mb.client, "one", quotas).await;
    let mut one = mb.client_with(Some(&user)).await;
    let request = |key: &str| {
        let mut request = tonic::Request::new(pb::SubmitBatchRequest {
            molecules: molecules(&["CCO", "CCN", "CCC"]),
            display_name: "idem".into(),
            priority: 0,
            alert_sets: Vec::new(),
        });
        request
            .metadata_mut()
            .insert("idempotency-key", key.parse().unwrap());
        request
    };
    let first = one
        .raw()
        .submit_batch(request("retry-1"))
        .await
        .unwrap()
        .into_inner();
    assert!(!first.idempotent_replay);
    // The retry returns the same job even though a second job would be
    // over the concurrent-jobs quota while the first runs.
    let retry = one
        .raw()
        .submit_batch(request("retry-1"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (retry.job_id.as_str(), retry.idempotent_replay),
        (first.job_id.as_str(), true)
    );
    let done = one.wait(&first.job_id, |_| {}).await.unwrap();
    assert_eq!(done.state, pb::JobState::Completed as i32);
    let after = one
        .raw()
        .submit_batch(request("retry-1"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        after.job_id, first.job_id,
        "a finished job is still the key's job"
    );
    let jobs = one
        .raw()
        .list_jobs(pb::ListJobsRequest::default())
        .await
        .unwrap()
        .into_inner()
        .jobs;
    assert_eq!(jobs.len(), 1, "retries made no job");

    // While an upload holds the quota's one job open, a new key is refused.
    let (mut writer, reader) = tokio::io::duplex(64);
    tokio::io::AsyncWriteExt::write_all(&mut writer, b"CCO\n")
        .await
        .unwrap();
    let mut uploader = mb.client_with(Some(&user)).await;
    let upload = tokio::spawn(async move {
        let options = pb::UploadOptions {
            display_name: "slow.smi".into(),
            ..Default::default()
        };
        uploader.upload(reader, options).await
    });
    let uploading = loop {
        let jobs = one
            .raw()
            .list_jobs(pb::ListJobsRequest::default())
            .await
            .unwrap()
            .into_inner()
            .jobs;
        if let Some(job) = jobs
            .into_iter()
            .find(|j| j.state == pb::JobState::Uploading as i32)
        {
            break job;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    let refused = one
        .raw()
        .submit_batch(request("retry-2"))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::ResourceExhausted, "{refused:?}");
    assert!(
        refused.message().contains("quota is 1 at once"),
        "{}",
        refused.message()
    );
    drop(writer);
    let uploaded = upload.await.unwrap().unwrap();
    assert_eq!(uploaded.job_id, uploading.job_id);
    // The refused key was freed with its failed job: a retry once the
    // upload is sealed and done goes through.
    one.wait(&uploaded.job_id, |_| {}).await.unwrap();
    let retried = one
        .raw()
        .submit_batch(request("retry-2"))
        .await
        .unwrap()
        .into_inner();
    assert!(!retried.idempotent_replay);
    let bad = {
        let mut request = request("x");
        request
            .metadata_mut()
            .insert("idempotency-key", "a".repeat(300).parse().unwrap());
        one.raw().submit_batch(request).await.unwrap_err()
    };
    assert_eq!(bad.code(), Code::InvalidArgument);
    mb.stop().await;
}

/// A flood of wrong secrets for a real key id runs Argon2 only within the
/// per-address budget and is then refused unchecked (RESOURCE_EXHAUSTED
/// with a retry delay), while the key's owner is served throughout.
#[tokio::test(flavor = "multi_thread")]
async fn forged_secrets_for_a_real_key_are_throttled_while_its_owner_is_served() {
    let mut mb = Molbatch::start().await;
    let (_, user, _) = tenant_with_keys(&mut mb.client, "target", pb::Quotas::default()).await;
    let mut owner = mb.client_with(Some(&user)).await;
    let me = owner
        .raw()
        .who_am_i(pb::WhoAmIRequest {})
        .await
        .unwrap()
        .into_inner();
    let mut checked = 0;
    let mut throttled = Vec::new();
    for n in 0..60u32 {
        let forged = format!("mbk_{}_{n:064x}", me.key_id);
        let mut forger = mb.client_with(Some(&forged)).await;
        let refused = forger
            .raw()
            .who_am_i(pb::WhoAmIRequest {})
            .await
            .unwrap_err();
        match refused.code() {
            Code::Unauthenticated => checked += 1,
            Code::ResourceExhausted => throttled.push(refused),
            other => panic!("a forged secret got {other:?}: {refused:?}"),
        }
        let served = owner.raw().who_am_i(pb::WhoAmIRequest {}).await.unwrap();
        assert_eq!(served.into_inner().key_id, me.key_id);
    }
    // The address's burst of ten, plus what refilled at one per second.
    assert!((10..=25).contains(&checked), "{checked} secrets checked");
    let last = throttled.last().expect("the flood was throttled");
    assert!(
        last.message()
            .contains("too many unverified API key secrets"),
        "{last:?}"
    );
    assert!(
        tonic_types::StatusExt::get_details_retry_info(last).is_some(),
        "{last:?}"
    );
    mb.stop().await;
}
