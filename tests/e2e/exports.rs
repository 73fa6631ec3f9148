//! Exports over gRPC: a file of several stored parts comes back byte for
//! byte as the result writers produce it from the paged results; bad
//! options are refused before anything is queued; another tenant's export
//! is NOT_FOUND; a job that has not completed cannot be exported.

use molbatch_analytics::files::ResultsWriter;
use molbatch_client::Client;
use molbatch_proto::export::ExportFormat;
use molbatch_proto::{v1 as pb, Violations};
use tonic::Code;

use crate::support::Molbatch;

fn molecules(smiles: &[String]) -> Vec<pb::InputMolecule> {
    smiles
        .iter()
        .map(|s| pb::InputMolecule {
            smiles: s.clone(),
            ..Default::default()
        })
        .collect()
}

/// Creates an export, waits for it and downloads it.
async fn run_export(
    client: &mut Client,
    request: pb::CreateExportRequest,
) -> (pb::Export, Vec<u8>) {
    let created = client.create_export(request).await.unwrap();
    assert!(created.export_id.starts_with(&created.job_id));
    let export = tokio::time::timeout(
        std::time::Duration::from_secs(120),
        client.wait_export(
            &created.export_id,
            std::time::Duration::from_millis(100),
            |_| {},
        ),
    )
    .await
    .expect("the export finished within two minutes")
    .unwrap();
    assert_eq!(
        export.state,
        pb::ExportState::Complete as i32,
        "{}",
        export.error
    );
    let mut file = Vec::new();
    let written = client
        .download_export(&export.export_id, &mut file)
        .await
        .unwrap();
    assert_eq!(written, export.bytes);
    (export, file)
}

/// What the result writers make of the job's results read page by page.
async fn expected(
    client: &mut Client,
    job: &str,
    format: ExportFormat,
    filter: &str,
    fingerprints: bool,
) -> Vec<u8> {
    let mut out = Vec::new();
    let mut writer = ResultsWriter::new(format, &mut out, fingerprints).unwrap();
    client
        .for_each_result_page(job, filter, fingerprints, |page| {
            writer.write_page(&page).unwrap();
            Ok(())
        })
        .await
        .unwrap();
    writer.finish().unwrap();
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn a_file_of_many_parts_streams_back_exactly() {
    let mut mb = Molbatch::start().await;
    // 3,000 molecules as JSON with fingerprints: several 1 MiB parts.
    let mut smiles: Vec<String> = (0..3_000)
        .map(|i| format!("{}O{}", "C".repeat(1 + i % 40), "c1ccccc1".repeat(i % 3)))
        .collect();
    smiles[7] = "C1CC".to_owned(); // invalid: kept, filtered out below
    let job = mb
        .client
        .submit(molecules(&smiles), "many.smi")
        .await
        .unwrap();
    let job = mb.client.wait(&job.job_id, |_| {}).await.unwrap();
    assert_eq!(job.state, pb::JobState::Completed as i32);

    let (export, file) = run_export(
        &mut mb.client,
        pb::CreateExportRequest {
            job_id: job.job_id.clone(),
            format: "json".into(),
            filter: "valid".into(),
            include_fingerprint: true,
        },
    )
    .await;
    assert_eq!(export.molecules, 2_999);
    assert!(
        export.bytes > 2 << 20,
        "{} bytes: more than two parts",
        export.bytes
    );
    assert_eq!(export.content_type, "application/json");
    assert_eq!(export.file_name, format!("{}.json", job.job_id));
    assert!(export.expire_time.is_some());
    let want = expected(
        &mut mb.client,
        &job.job_id,
        ExportFormat::Json,
        "valid",
        true,
    )
    .await;
    assert!(file == want, "the downloaded file differs from the results");
    let parsed: serde_json::Value = serde_json::from_slice(&file).unwrap();
    assert_eq!(parsed.as_array().unwrap().len(), 2_999);

    // CSV and SD of every result, invalid ones included.
    for (format, name) in [(ExportFormat::Csv, "csv"), (ExportFormat::Sdf, "sdf")] {
        let (export, file) = run_export(
            &mut mb.client,
            pb::CreateExportRequest {
                job_id: job.job_id.clone(),
                format: name.into(),
                ..Default::default()
            },
        )
        .await;
        assert_eq!(export.molecules, 3_000);
        let want = expected(&mut mb.client, &job.job_id, format, "", false).await;
        assert!(file == want, "{name} export differs from the results");
    }
    mb.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_exports_are_refused_before_anything_is_queued() {
    let mut mb = Molbatch::start().await;
    let job = mb
        .client
        .submit(molecules(&["CCO".into(), "CCN".into()]), "two.smi")
        .await
        .unwrap();
    mb.client.wait(&job.job_id, |_| {}).await.unwrap();

    let refused = mb
        .client
        .raw()
        .create_export(pb::CreateExportRequest {
            job_id: job.job_id.clone(),
            format: "xlsx".into(),
            filter: "heavy".into(),
            include_fingerprint: false,
        })
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::InvalidArgument);
    let fields: Vec<String> = Violations::from_status(&refused)
        .fields()
        .iter()
        .map(|(f, _)| f.clone())
        .collect();
    assert_eq!(fields, ["format", "filter"]);
    let missing = mb
        .client
        .raw()
        .create_export(pb::CreateExportRequest {
            job_id: job.job_id.clone(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(Violations::from_status(&missing).fields()[0].0, "format");
    // Nothing was queued: the job's analyses are the automatic ones only.
    let analyses = mb.client.list_analyses(&job.job_id).await.unwrap();
    assert!(analyses.iter().all(|a| !a.r#type.starts_with("export")));

    // Ids: malformed is INVALID_ARGUMENT, unknown is NOT_FOUND.
    let malformed = mb
        .client
        .raw()
        .get_export(pb::GetExportRequest {
            export_id: "nope".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(malformed.code(), Code::InvalidArgument);
    let unknown = mb
        .client
        .raw()
        .download_export(pb::DownloadExportRequest {
            export_id: format!("{}.0123456789ab", job.job_id),
        })
        .await
        .unwrap_err();
    assert_eq!(unknown.code(), Code::NotFound);

    // Another tenant cannot see or download a real export.
    let (export, _) = run_export(
        &mut mb.client,
        pb::CreateExportRequest {
            job_id: job.job_id.clone(),
            format: "jsonl".into(),
            ..Default::default()
        },
    )
    .await;
    mb.client
        .raw()
        .create_tenant(pb::CreateTenantRequest {
            tenant_id: "rival".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    let key = mb
        .client
        .raw()
        .create_api_key(pb::CreateApiKeyRequest {
            tenant_id: "rival".into(),
            role: pb::Role::Admin as i32,
            name: "rival".into(),
        })
        .await
        .unwrap()
        .into_inner()
        .secret;
    let mut rival = mb.client_with(Some(&key)).await;
    let seen = rival
        .raw()
        .get_export(pb::GetExportRequest {
            export_id: export.export_id.clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(seen.code(), Code::NotFound, "{seen:?}");
    let downloaded = rival
        .raw()
        .download_export(pb::DownloadExportRequest {
            export_id: export.export_id.clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(downloaded.code(), Code::NotFound);

    // A job that did not complete cannot be exported.
    let big: Vec<String> = (0..5_000)
        .map(|i| format!("C{}O", "C".repeat(i % 30)))
        .collect();
    let cancelled = mb.client.submit(molecules(&big), "big.smi").await.unwrap();
    let cancelled = mb.client.cancel(&cancelled.job_id).await.unwrap();
    assert_eq!(cancelled.state, pb::JobState::Cancelled as i32);
    let early = mb
        .client
        .raw()
        .create_export(pb::CreateExportRequest {
            job_id: cancelled.job_id.clone(),
            format: "csv".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(early.code(), Code::FailedPrecondition, "{early:?}");
    assert!(
        early.message().contains("once it is COMPLETED"),
        "{early:?}"
    );
    mb.stop().await;
}
