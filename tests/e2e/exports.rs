//! Exports over gRPC: a file of several stored parts comes back byte for
//! byte as the result writers produce it from the paged results; bad
//! options are refused before anything is queued; another tenant's export
//! is NOT_FOUND; a job that has not completed cannot be exported.

use molbatch_analytics::files::ResultsWriter;
use molbatch_client::{Client, ClientError};
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
            ..Default::default()
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
            format: "xls".into(),
            filter: "heavy".into(),
            include_fingerprint: false,
            ..Default::default()
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
    let mut rival = mb.admin_of_new_tenant("rival").await;
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

/// A small series with ids, an activity and an input column; `m2` is
/// invalid.
const SERIES: &str = "id,smiles,IC50,series\n\
m0,CCO,100,A\n\
m1,Oc1ccccc1,250,A\n\
m2,C1CC,10,B\n\
m3,CC(=O)Oc1ccccc1C(=O)O,50,B\n\
m4,CCN(CC)CC,1000,A\n";

async fn series_job(mb: &mut Molbatch) -> String {
    let options = pb::UploadOptions {
        display_name: "series.csv".into(),
        id_column: "id".into(),
        activity_columns: vec![pb::ActivityColumn {
            column: "IC50".into(),
            unit: "nM".into(),
        }],
        ..Default::default()
    };
    let job = mb
        .client
        .upload(std::io::Cursor::new(SERIES.as_bytes().to_vec()), options)
        .await
        .unwrap();
    let job = mb.client.wait(&job.job_id, |_| {}).await.unwrap();
    assert_eq!(job.state, pb::JobState::Completed as i32, "{job:?}");
    job.job_id
}

/// Runs LibreOffice headless on `file`, converting it to `to` in `dir`;
/// the converted file's path.
fn libreoffice(file: &std::path::Path, to: &str, dir: &std::path::Path) -> std::path::PathBuf {
    let profile = dir.join("profile");
    let status = std::process::Command::new("soffice")
        .arg(format!(
            "-env:UserInstallation=file://{}",
            profile.display()
        ))
        .args(["--headless", "--convert-to", to, "--outdir"])
        .arg(dir)
        .arg(file)
        .stdout(std::process::Stdio::null())
        .status()
        .expect("LibreOffice (soffice) runs; make deps installs libreoffice-calc-nogui");
    assert!(status.success(), "soffice --convert-to {to}: {status}");
    let extension = to.split(':').next().unwrap();
    let converted = dir
        .join(file.file_stem().unwrap())
        .with_extension(extension);
    assert!(
        converted.exists(),
        "{} was not written",
        converted.display()
    );
    converted
}

/// An xlsx export of chosen molecules and columns, opened by LibreOffice:
/// its first sheet has the header and one row per chosen molecule with the
/// chosen values, a structure picture on every valid row, and a second
/// sheet with the job's summary.
#[tokio::test(flavor = "multi_thread")]
async fn an_xlsx_export_opens_in_libreoffice_with_its_rows_and_structures() {
    let mut mb = Molbatch::start().await;
    let job = series_job(&mut mb).await;
    let (export, file) = run_export(
        &mut mb.client,
        pb::CreateExportRequest {
            job_id: job.clone(),
            format: "xlsx".into(),
            columns: vec![
                "inputId".into(),
                "valid".into(),
                "heavyAtoms".into(),
                "activities.IC50.pActivity".into(),
                "series".into(),
            ],
            indices: vec![4, 0, 2, 3],
            ..Default::default()
        },
    )
    .await;
    assert_eq!(export.molecules, 4);
    assert_eq!(export.file_name, format!("{job}.xlsx"));
    assert_eq!(export.indices, [0, 2, 3, 4]);
    assert_eq!(export.columns.len(), 5);
    assert!(export.content_type.contains("spreadsheetml"));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("series.xlsx");
    std::fs::write(&path, &file).unwrap();

    // The first sheet as CSV: the header and the chosen rows, in input order.
    let csv = std::fs::read_to_string(libreoffice(&path, "csv", dir.path())).unwrap();
    let rows: Vec<&str> = csv.lines().collect();
    assert_eq!(
        rows,
        [
            "structure,inputId,valid,heavyAtoms,activities.IC50.pActivity,series",
            ",m0,TRUE,3,7,A",
            ",m2,FALSE,,8,B",
            ",m3,TRUE,13,7.30102999566398,B",
            ",m4,TRUE,7,6,A",
        ],
        "{csv}"
    );

    // Saved again as ODF, the pictures are there: one per valid row.
    let ods = libreoffice(&path, "ods", dir.path());
    let mut archive = zip::ZipArchive::new(std::fs::File::open(ods).unwrap()).unwrap();
    let names: Vec<String> = archive
        .file_names()
        .map(|n| n.unwrap().into_owned())
        .collect();
    let pictures = names
        .iter()
        .filter(|n| n.starts_with("Pictures/") && n.ends_with(".png"))
        .count();
    assert_eq!(pictures, 3, "{names:?}");
    let mut content = String::new();
    std::io::Read::read_to_string(&mut archive.by_name("content.xml").unwrap(), &mut content)
        .unwrap();
    assert!(
        content.contains("table:name=\"Summary\""),
        "no summary sheet"
    );
    assert!(content.contains(&job), "the summary names the job");
    mb.stop().await;
}

/// Every results format writes only the chosen columns of the chosen
/// molecules; a column the results do not have fails the export, naming it;
/// an xlsx of a job too large for one is refused before anything is queued.
#[tokio::test(flavor = "multi_thread")]
async fn columns_and_indices_choose_what_every_format_writes() {
    let mut mb = Molbatch::start().await;
    let job = series_job(&mut mb).await;
    let chosen = |format: &str| pb::CreateExportRequest {
        job_id: job.clone(),
        format: format.into(),
        columns: vec!["inputId".into(), "molWt".into(), "series".into()],
        indices: vec![1, 3],
        ..Default::default()
    };
    let (_, csv) = run_export(&mut mb.client, chosen("csv")).await;
    let csv = String::from_utf8(csv).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], "inputId,molWt,series");
    assert_eq!(lines.len(), 3, "{csv}");
    assert!(
        lines[1].starts_with("m1,94.") && lines[2].starts_with("m3,180."),
        "{csv}"
    );

    let (_, sdf) = run_export(&mut mb.client, chosen("sdf")).await;
    let sdf = String::from_utf8(sdf).unwrap();
    let items: Vec<&str> = sdf.lines().filter(|l| l.starts_with("> <")).collect();
    assert_eq!(
        items,
        [
            "> <inputId>",
            "> <molWt>",
            "> <series>",
            "> <inputId>",
            "> <molWt>",
            "> <series>"
        ]
    );
    assert_eq!(sdf.matches("$$$$").count(), 2);

    let (_, json) = run_export(&mut mb.client, chosen("jsonl")).await;
    let objects: Vec<serde_json::Value> = String::from_utf8(json)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(objects.len(), 2);
    let mut keys: Vec<&String> = objects[0].as_object().unwrap().keys().collect();
    keys.sort();
    assert_eq!(keys, ["inputId", "molWt", "properties"], "{}", objects[0]);
    assert_eq!(objects[1]["properties"], serde_json::json!({"series": "B"}));

    let mut unknown = chosen("csv");
    unknown.columns.push("molweight".into());
    let created = mb.client.create_export(unknown).await.unwrap();
    let failed = mb
        .client
        .wait_export(
            &created.export_id,
            std::time::Duration::from_millis(100),
            |_| {},
        )
        .await
        .unwrap();
    assert_eq!(failed.state, pb::ExportState::Failed as i32);
    assert!(
        failed.error.contains("no column \"molweight\"") && failed.error.contains("molWt"),
        "{}",
        failed.error
    );

    let mut bad = chosen("csv");
    bad.columns = vec!["molWt".into(), "molWt".into()];
    let refused = mb.client.create_export(bad).await.unwrap_err();
    let ClientError::Status(status) = refused else {
        panic!("{refused}")
    };
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(Violations::from_status(&status).fields()[0].0, "columns[1]");
    mb.stop().await;
}
