//! The life of a batch through all four services: upload, chunk, lease,
//! compute, store, complete, page results; and bad input on the way in.

use std::collections::HashMap;

use molbatch_chem::{MolInput, MoleculeOutcome, Pipeline};
use molbatch_client::ClientError;
use molbatch_proto::v1 as pb;
use molbatch_proto::Violations;
use tonic::Code;

use crate::support::{head_of_gzip, shared_data, Molbatch};

fn options(name: &str) -> pb::UploadOptions {
    pb::UploadOptions {
        display_name: name.into(),
        ..Default::default()
    }
}

async fn upload(
    mb: &mut Molbatch,
    name: &str,
    body: impl Into<Vec<u8>>,
) -> Result<pb::Job, ClientError> {
    mb.client
        .upload(std::io::Cursor::new(body.into()), options(name))
        .await
}

async fn all_results(mb: &mut Molbatch, job: &str, fingerprints: bool) -> Vec<pb::MoleculeResult> {
    let mut all = Vec::new();
    mb.client
        .for_each_result_page(job, "", fingerprints, |page| {
            all.extend(page);
            Ok(())
        })
        .await
        .unwrap();
    all
}

fn status_of(err: ClientError) -> tonic::Status {
    match err {
        ClientError::Status(s) => s,
        other => panic!("expected a status, got {other}"),
    }
}

#[tokio::test]
async fn csv_batch_completes_with_every_molecule_once_in_input_order() {
    let mut mb = Molbatch::start().await;
    let csv = "id;smiles;pKi\n\
               m1;CCO;5.1\n\
               m2;C1CC;6\n\
               m3;CC(=O)Oc1ccccc1C(=O)O.[Na+].[Cl-];7.25\n\
               m4;;8\n\
               m5;C(C)(C)(C)(C)C;4\n\
               m6;\"c1ccccc1O\";3.3\n";
    let mut opts = options("activities.csv");
    opts.id_column = "id".into();
    let job = mb
        .client
        .upload(std::io::Cursor::new(csv.as_bytes().to_vec()), opts)
        .await
        .unwrap();
    assert_eq!(job.state, pb::JobState::Queued as i32);
    let job = mb.client.wait(&job.job_id, |_| {}).await.unwrap();
    assert_eq!(job.state, pb::JobState::Completed as i32, "{job:?}");
    assert_eq!((job.total_molecules, job.processed_molecules), (6, 6));
    assert_eq!((job.valid_molecules, job.invalid_molecules), (3, 3));

    let results = all_results(&mut mb, &job.job_id, false).await;
    let indexes: Vec<u64> = results.iter().map(|r| r.index).collect();
    assert_eq!(indexes, vec![0, 1, 2, 3, 4, 5]);
    let ids: Vec<&str> = results.iter().map(|r| r.input_id.as_str()).collect();
    assert_eq!(ids, vec!["m1", "m2", "m3", "m4", "m5", "m6"]);
    let codes: Vec<&str> = results.iter().map(|r| r.error_code.as_str()).collect();
    assert_eq!(
        codes,
        vec!["", "SMILES_SYNTAX", "", "EMPTY_INPUT", "VALENCE", ""]
    );
    assert_eq!(
        results[2].standardized_smiles, "CC(=O)Oc1ccccc1C(=O)O",
        "salt stripped"
    );
    assert_eq!(results[2].inchi_key, "BSYNRYMUTXBXSQ-UHFFFAOYSA-N");
    assert_eq!(
        results[2].properties.get("pKi").map(String::as_str),
        Some("7.25")
    );
    assert!(results[1].mol_wt.is_none() && !results[1].error_message.is_empty());
    assert!(
        results.iter().all(|r| r.morgan_fingerprint.is_empty()),
        "fingerprints only on request"
    );

    let with_fp = all_results(&mut mb, &job.job_id, true).await;
    assert!(!with_fp[0].morgan_fingerprint.is_empty());

    let mut invalid = Vec::new();
    mb.client
        .for_each_result_page(&job.job_id, "invalid", false, |page| {
            invalid.extend(page.into_iter().map(|r| r.index));
            Ok(())
        })
        .await
        .unwrap();
    assert_eq!(invalid, vec![1, 3, 4]);
    mb.stop().await;
}

#[tokio::test]
async fn moses_molecules_through_the_services_equal_the_core_exactly() {
    let Some(data) = shared_data() else {
        eprintln!("skipped: shared/data/moses not found (set MOLBATCH_SHARED_DATA)");
        return;
    };
    let text = head_of_gzip(&data.join("moses/test.csv.gz"), 2_501);
    // Gzip on the wire too, as users upload it.
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut gz, text.as_bytes()).unwrap();
    let body = gz.finish().unwrap();

    let mut mb = Molbatch::start().await;
    let job = upload(&mut mb, "moses-head.csv.gz", body).await.unwrap();
    let job = mb.client.wait(&job.job_id, |_| {}).await.unwrap();
    assert_eq!(job.state, pb::JobState::Completed as i32, "{job:?}");
    assert_eq!((job.total_molecules, job.total_chunks), (2_500, 3));

    let results = all_results(&mut mb, &job.job_id, true).await;
    assert_eq!(results.len(), 2_500);
    let pipeline = Pipeline::new().unwrap();
    for (i, (smiles, result)) in text.lines().skip(1).zip(&results).enumerate() {
        assert_eq!(result.index, i as u64);
        assert_eq!(result.input_smiles, smiles);
        match pipeline.process(MolInput::Smiles(smiles)) {
            MoleculeOutcome::Valid(m) => {
                assert!(result.valid, "{smiles}");
                assert_eq!(result.canonical_smiles, m.canonical_smiles);
                assert_eq!(result.tautomer_smiles, m.tautomer_smiles);
                let inchi = m.inchi.as_ref().unwrap();
                assert_eq!(
                    (&result.inchi, &result.inchi_key),
                    (&inchi.inchi, &inchi.key)
                );
                assert_eq!(
                    result.qed.map(f64::to_bits),
                    Some(m.descriptors.qed.to_bits())
                );
                assert_eq!(
                    result.morgan_fingerprint,
                    m.fingerprint.on_bits().collect::<Vec<_>>()
                );
            }
            MoleculeOutcome::Invalid(e) => assert_eq!(result.error_code, e.code.as_str()),
        }
    }
    mb.stop().await;
}

#[tokio::test]
async fn malformed_upload_names_the_line_and_leaves_a_failed_job_without_results() {
    let mut mb = Molbatch::start().await;
    let csv = "smiles,name\nCCO,ethanol\nCCN,ethylamine,extra\nCCC,propane\n";
    let status = status_of(upload(&mut mb, "ragged.csv", csv).await.unwrap_err());
    assert_eq!(status.code(), Code::InvalidArgument);
    let violations = Violations::from_status(&status);
    assert_eq!(violations.fields()[0].0, "file");
    assert!(violations.fields()[0].1.contains("line 3"), "{violations}");

    let jobs = mb
        .client
        .raw()
        .list_jobs(pb::ListJobsRequest::default())
        .await
        .unwrap()
        .into_inner()
        .jobs;
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0].state, pb::JobState::Failed as i32);
    assert!(jobs[0].error.contains("line 3"), "{}", jobs[0].error);
    assert_eq!(jobs[0].total_chunks, 0);
    assert!(all_results(&mut mb, &jobs[0].job_id, false)
        .await
        .is_empty());
    mb.stop().await;
}

#[tokio::test]
async fn every_kind_of_bad_upload_gets_its_own_field() {
    let mut mb = Molbatch::start().await;
    let cases: [(&str, Vec<u8>, &str, &str); 5] = [
        ("empty.smi", Vec::new(), "file", "empty"),
        (
            "header-only.csv",
            b"smiles,name\n".to_vec(),
            "file",
            "no molecules",
        ),
        (
            "no-smiles.csv",
            b"a,b\n1,2\n".to_vec(),
            "options.smiles_column",
            "available: a, b",
        ),
        (
            "bad-utf8.smi",
            b"CCO\n\xff\xfe\n".to_vec(),
            "file",
            "line 2",
        ),
        (
            "truncated.sdf",
            b"mol\n  x\n\n  1  0  0  0  0  0  0  0  0  0999 V2000\n".to_vec(),
            "file",
            "line",
        ),
    ];
    for (name, body, field, needle) in cases {
        let status = status_of(upload(&mut mb, name, body).await.unwrap_err());
        assert_eq!(status.code(), Code::InvalidArgument, "{name}");
        let v = Violations::from_status(&status);
        assert_eq!(v.fields()[0].0, field, "{name}: {v}");
        assert!(
            v.fields()[0].1.to_lowercase().contains(needle),
            "{name}: {v}"
        );
    }
    let unknown = status_of(upload(&mut mb, "batch.xyz", "CCO\n").await.unwrap_err());
    assert_eq!(
        Violations::from_status(&unknown).fields()[0].0,
        "options.format"
    );
    mb.stop().await;
}

#[tokio::test]
async fn sdf_upload_keeps_titles_and_data_fields() {
    let mut mb = Molbatch::start().await;
    let sdf = concat!(
        "ethanol\n",
        "  RDKit          2D\n",
        "\n",
        "  3  2  0  0  0  0  0  0  0  0999 V2000\n",
        "    0.0000    0.0000    0.0000 C   0  0  0  0  0  0  0  0  0  0  0  0\n",
        "    1.2990    0.7500    0.0000 C   0  0  0  0  0  0  0  0  0  0  0  0\n",
        "    2.5981   -0.0000    0.0000 O   0  0  0  0  0  0  0  0  0  0  0  0\n",
        "  1  2  1  0\n",
        "  2  3  1  0\n",
        "M  END\n",
        "> <pKi>\n",
        "6.5\n",
        "\n",
        "$$$$\n",
    );
    let job = upload(&mut mb, "one.sdf", sdf).await.unwrap();
    let job = mb.client.wait(&job.job_id, |_| {}).await.unwrap();
    assert_eq!(job.state, pb::JobState::Completed as i32, "{job:?}");
    let results = all_results(&mut mb, &job.job_id, false).await;
    assert_eq!(results.len(), 1);
    assert!(results[0].valid, "{:?}", results[0]);
    assert_eq!(results[0].input_id, "ethanol");
    assert_eq!(results[0].canonical_smiles, "CCO");
    assert_eq!(results[0].input_smiles, "CCO");
    assert_eq!(
        results[0].properties,
        HashMap::from([("pKi".to_owned(), "6.5".to_owned())])
    );
    mb.stop().await;
}

#[tokio::test]
async fn inline_batches_jobs_and_their_errors() {
    let mut mb = Molbatch::start().await;
    let molecules = vec![
        pb::InputMolecule {
            smiles: "CCO".into(),
            id: "a".into(),
            ..Default::default()
        },
        pb::InputMolecule {
            smiles: "c1ccccc1".into(),
            id: "b".into(),
            ..Default::default()
        },
    ];
    let job = mb.client.submit(molecules, "inline").await.unwrap();
    let job = mb.client.wait(&job.job_id, |_| {}).await.unwrap();
    assert_eq!(
        (job.state, job.valid_molecules),
        (pb::JobState::Completed as i32, 2)
    );

    let again = status_of(mb.client.cancel(&job.job_id).await.unwrap_err());
    assert_eq!(
        again.code(),
        Code::FailedPrecondition,
        "a finished job cannot be cancelled"
    );
    let missing = status_of(
        mb.client
            .job(&molbatch_proto::JobId::new().to_string())
            .await
            .unwrap_err(),
    );
    assert_eq!(missing.code(), Code::NotFound);
    let garbage = status_of(mb.client.job("not-a-job").await.unwrap_err());
    assert_eq!(Violations::from_status(&garbage).fields()[0].0, "job_id");
    let empty = status_of(mb.client.submit(Vec::new(), "none").await.unwrap_err());
    assert_eq!(Violations::from_status(&empty).fields()[0].0, "molecules");
    let bad_filter = mb
        .client
        .raw()
        .list_results(pb::ListResultsRequest {
            job_id: job.job_id.clone(),
            filter: "nope".into(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(Violations::from_status(&bad_filter).fields()[0].0, "filter");
    let analyses = mb
        .client
        .raw()
        .get_analysis(pb::GetAnalysisRequest {
            job_id: job.job_id.clone(),
            r#type: "magic".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(Violations::from_status(&analyses).fields()[0].0, "type");
    mb.stop().await;
}

#[tokio::test]
async fn results_page_through_chunks_with_tokens() {
    let mut mb = Molbatch::start().await;
    let molecules: Vec<pb::InputMolecule> = (0..2_345)
        .map(|i| pb::InputMolecule {
            smiles: "C".repeat(1 + i % 7),
            ..Default::default()
        })
        .collect();
    let job = mb.client.submit(molecules, "paging").await.unwrap();
    mb.client.wait(&job.job_id, |_| {}).await.unwrap();
    let mut seen = Vec::new();
    let mut token = String::new();
    loop {
        let request = pb::ListResultsRequest {
            job_id: job.job_id.clone(),
            page_size: 700,
            page_token: token.clone(),
            ..Default::default()
        };
        let page = mb
            .client
            .raw()
            .list_results(request)
            .await
            .unwrap()
            .into_inner();
        assert!(page.results.len() <= 700);
        assert_eq!(page.total_size, 2_345);
        seen.extend(page.results.iter().map(|r| r.index));
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    assert_eq!(seen, (0..2_345).collect::<Vec<u64>>());
    mb.stop().await;
}

#[tokio::test]
async fn jobs_are_listed_by_state_name_and_time_page_by_page() {
    let mut mb = Molbatch::start().await;
    let ragged = "smiles,name\nCCO,ethanol\nCCN,ethylamine,extra\n";
    let mut failed = Vec::new();
    for i in 0..3 {
        upload(&mut mb, &format!("good-{i}.smi"), "CCO\n")
            .await
            .unwrap();
        upload(&mut mb, &format!("ragged-{i}.csv"), ragged)
            .await
            .unwrap_err();
        failed.push(format!("ragged-{i}.csv"));
    }
    failed.reverse(); // newest first
    let list = |page_token: String| pb::ListJobsRequest {
        page_size: 2,
        page_token,
        state: pb::JobState::Failed as i32,
        ..Default::default()
    };
    let first = mb
        .client
        .raw()
        .list_jobs(list(String::new()))
        .await
        .unwrap()
        .into_inner();
    assert!(!first.next_page_token.is_empty());
    let second = mb
        .client
        .raw()
        .list_jobs(list(first.next_page_token))
        .await
        .unwrap()
        .into_inner();
    assert!(second.next_page_token.is_empty());
    let names: Vec<String> = first
        .jobs
        .iter()
        .chain(&second.jobs)
        .map(|j| j.display_name.clone())
        .collect();
    assert_eq!(names, failed);
    assert!(first
        .jobs
        .iter()
        .chain(&second.jobs)
        .all(|j| j.state == pb::JobState::Failed as i32));

    let all = mb
        .client
        .raw()
        .list_jobs(pb::ListJobsRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(all.jobs.len(), 6);
    let names_of = |request: pb::ListJobsRequest| {
        let mut client = mb.client.clone();
        async move {
            let page = client.raw().list_jobs(request).await.unwrap().into_inner();
            page.jobs
                .into_iter()
                .map(|j| j.display_name)
                .collect::<Vec<_>>()
        }
    };
    // By name: a substring, ASCII case ignored; % and _ are plain text.
    let good = names_of(pb::ListJobsRequest {
        name_contains: "GOOD-".into(),
        ..Default::default()
    })
    .await;
    assert_eq!(good, ["good-2.smi", "good-1.smi", "good-0.smi"]);
    for literal in ["%", "_"] {
        let none = names_of(pb::ListJobsRequest {
            name_contains: literal.into(),
            ..Default::default()
        })
        .await;
        assert!(none.is_empty(), "{literal}: {none:?}");
    }
    // By creation time: from (inclusive) and before (exclusive).
    let created: Vec<(String, prost_types::Timestamp)> = all
        .jobs
        .iter()
        .map(|j| (j.display_name.clone(), j.create_time.unwrap()))
        .collect();
    let ms = |t: &prost_types::Timestamp| molbatch_proto::time::millis(t);
    let (from, before) = (created[4].1, created[1].1);
    let expected: Vec<String> = created
        .iter()
        .filter(|(_, t)| ms(t) >= ms(&from) && ms(t) < ms(&before))
        .map(|(name, _)| name.clone())
        .collect();
    assert!(expected.len() >= 3, "{created:?}");
    let window = names_of(pb::ListJobsRequest {
        created_after: Some(from),
        created_before: Some(before),
        ..Default::default()
    })
    .await;
    assert_eq!(window, expected);
    let all_three = names_of(pb::ListJobsRequest {
        state: pb::JobState::Failed as i32,
        name_contains: "RAGGED".into(),
        created_after: Some(from),
        ..Default::default()
    })
    .await;
    assert_eq!(all_three, failed);
    let backwards = mb
        .client
        .raw()
        .list_jobs(pb::ListJobsRequest {
            created_after: Some(before),
            created_before: Some(from),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(
        Violations::from_status(&backwards).fields()[0].0,
        "created_before"
    );

    let status = mb
        .client
        .raw()
        .list_jobs(pb::ListJobsRequest {
            state: 42,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(Violations::from_status(&status).fields()[0].0, "state");
    mb.stop().await;
}
