//! `AnalyzeMolecules`, the synchronous call: exactly a batch's results for
//! the same molecules, without a job; its limits and errors over gRPC, REST
//! and the CLI.

use molbatch_proto::v1 as pb;
use molbatch_proto::Violations;
use serde_json::json;
use tonic::Code;

use crate::cli::molbatch;
use crate::rest::post_json;
use crate::support::{head_of_gzip, shared_data, Molbatch, ServeProcess};

fn smiles(text: &str) -> pb::InputMolecule {
    pb::InputMolecule {
        smiles: text.into(),
        ..Default::default()
    }
}

/// Molecules of every kind a batch holds: valid, invalid, salts, a
/// molblock, properties and activities; then MOSES molecules if the shared
/// data is there.
fn mixed_molecules() -> Vec<pb::InputMolecule> {
    let mut molecules = vec![
        pb::InputMolecule {
            smiles: "CC(=O)Oc1ccccc1C(=O)O.[Na+].[Cl-]".into(),
            id: "aspirin-salt".into(),
            properties: [("series".to_owned(), "A".to_owned())].into(),
            activities: vec![pb::ActivityValue {
                column: "IC50".into(),
                value: "250".into(),
                unit: "nM".into(),
            }],
            ..Default::default()
        },
        smiles("C1CC"),
        smiles(""),
        smiles("C(C)(C)(C)(C)C"),
        smiles("O=C1NC(=S)SC1=Cc1ccccc1"),
        smiles("Oc1ccc(cc1)C(=O)[O-]"),
        smiles("ClCCc1ccccc1C(=O)Cl"),
        pb::InputMolecule {
            molblock: "\n  test\n\n  2  1  0  0  0  0  0  0  0  0999 V2000\n    0.0000    0.0000    0.0000 C   0  0\n    1.2990    0.7500    0.0000 O   0  0\n  1  2  1  0\nM  END".into(),
            id: "methanol-block".into(),
            ..Default::default()
        },
    ];
    if let Some(data) = shared_data() {
        let text = head_of_gzip(&data.join("moses/test.csv.gz"), 301);
        molecules.extend(text.lines().skip(1).map(smiles));
    }
    molecules
}

#[tokio::test]
async fn analyze_molecules_equals_the_batch_result_and_creates_no_job() {
    let mut mb = Molbatch::start().await;
    let molecules = mixed_molecules();
    let job = mb
        .client
        .raw()
        .submit_batch(pb::SubmitBatchRequest {
            molecules: molecules.clone(),
            display_name: "the same molecules as a batch".into(),
            priority: 0,
            alert_sets: vec!["pains,glaxo".into()],
        })
        .await
        .unwrap()
        .into_inner();
    let job = mb.client.wait(&job.job_id, |_| {}).await.unwrap();
    assert_eq!(job.state, pb::JobState::Completed as i32, "{job:?}");
    let mut batch = Vec::new();
    mb.client
        .for_each_result_page(&job.job_id, "", true, |page| {
            batch.extend(page);
            Ok(())
        })
        .await
        .unwrap();

    let answer = mb
        .client
        .raw()
        .analyze_molecules(pb::AnalyzeMoleculesRequest {
            molecules: molecules.clone(),
            include_fingerprint: true,
            alert_sets: vec!["pains,glaxo".into()],
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(answer.results.len(), molecules.len());
    for (sync, batched) in answer.results.iter().zip(&batch) {
        assert_eq!(sync, batched, "molecule {}", batched.index);
    }
    assert_eq!(
        (u64::from(answer.valid), u64::from(answer.invalid)),
        (job.valid_molecules, job.invalid_molecules)
    );
    assert!(answer.results[0].activities[0].p_activity.is_some());
    assert_eq!(answer.results[1].error_code, "SMILES_SYNTAX");
    let catalogs: std::collections::BTreeSet<&str> = answer
        .results
        .iter()
        .flat_map(|r| r.alerts.iter().map(|a| a.catalog.as_str()))
        .collect();
    assert!(catalogs.contains("GLAXO"), "the chosen sets: {catalogs:?}");
    assert!(
        !catalogs.contains("BRENK"),
        "not a chosen set: {catalogs:?}"
    );

    let without = mb
        .client
        .raw()
        .analyze_molecules(pb::AnalyzeMoleculesRequest {
            molecules: vec![smiles("CCO")],
            include_fingerprint: false,
            alert_sets: Vec::new(),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(without.results[0].valid && without.results[0].morgan_fingerprint.is_empty());

    let jobs = mb
        .client
        .raw()
        .list_jobs(pb::ListJobsRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(jobs.jobs.len(), 1, "only the batch is a job");
    mb.stop().await;
}

async fn raw_analyze(
    mb: &mut Molbatch,
    molecules: Vec<pb::InputMolecule>,
    alert_sets: Vec<String>,
) -> Result<pb::AnalyzeMoleculesResponse, tonic::Status> {
    mb.client
        .raw()
        .analyze_molecules(pb::AnalyzeMoleculesRequest {
            molecules,
            include_fingerprint: false,
            alert_sets,
        })
        .await
        .map(tonic::Response::into_inner)
}

fn violations(err: tonic::Status) -> Vec<(String, String)> {
    assert_eq!(err.code(), Code::InvalidArgument, "{err:?}");
    let fields = Violations::from_status(&err).fields().to_vec();
    assert!(!fields.is_empty(), "no field violations in {err:?}");
    fields
}

#[tokio::test]
async fn analyze_molecules_refuses_what_it_cannot_answer_naming_the_field() {
    let mut mb = Molbatch::start().await;
    let none = violations(
        raw_analyze(&mut mb, Vec::new(), Vec::new())
            .await
            .unwrap_err(),
    );
    assert_eq!(none[0].0, "molecules");
    assert!(none[0].1.contains("at least one"), "{none:?}");

    let too_many = violations(
        raw_analyze(&mut mb, vec![smiles("C"); 1_001], Vec::new())
            .await
            .unwrap_err(),
    );
    assert_eq!(too_many[0].0, "molecules");
    assert!(too_many[0].1.contains("at most 1000"), "{too_many:?}");
    // The limit itself is accepted.
    let at_limit = raw_analyze(&mut mb, vec![smiles("C"); 1_000], Vec::new())
        .await
        .unwrap();
    assert_eq!((at_limit.valid, at_limit.invalid), (1_000, 0));

    let both = pb::InputMolecule {
        smiles: "CCO".into(),
        molblock: "x".into(),
        ..Default::default()
    };
    let both = violations(
        raw_analyze(&mut mb, vec![smiles("C"), both], Vec::new())
            .await
            .unwrap_err(),
    );
    assert_eq!(both[0].0, "molecules[1]");

    let unknown = raw_analyze(&mut mb, vec![smiles("C")], vec!["pains,painz".into()])
        .await
        .unwrap_err();
    let unknown = violations(unknown);
    assert_eq!(unknown[0].0, "alert_sets[0]");
    assert!(unknown[0].1.contains("painz"), "{unknown:?}");
    // Who may call it (users, not viewers) is in auth.rs's role matrix.
    mb.stop().await;
}

#[tokio::test]
async fn analyze_molecules_over_rest_and_the_cli() {
    let serve = ServeProcess::start();
    let reply = post_json(
        &serve,
        "/v1/molecules:analyze",
        &json!({"molecules": [{"smiles": "CCO", "id": "ethanol"}, {"smiles": "C1CC"}]}),
    )
    .await;
    let body = reply.expect(200);
    assert_eq!(body["valid"], 1);
    assert_eq!(body["invalid"], 1);
    assert_eq!(body["results"][0]["inputId"], "ethanol");
    assert_eq!(body["results"][0]["standardizedSmiles"], "CCO");
    assert_eq!(body["results"][1]["errorCode"], "SMILES_SYNTAX");

    let reply = post_json(&serve, "/v1/molecules:analyze", &json!({"molecules": []})).await;
    assert_eq!(reply.status, 400);
    assert_eq!(reply.violation().0, "molecules");
    let reply = post_json(
        &serve,
        "/v1/molecules:analyze",
        &json!({"molecules": [{"smiles": 5}]}),
    )
    .await;
    assert_eq!(reply.status, 400, "a number is not a SMILES");

    let out = molbatch(
        &serve,
        &[
            "analyze",
            "CCO",
            "c1ccccc1O phenol",
            "C1CC",
            "--format",
            "csv",
        ],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut rows = csv::Reader::from_reader(stdout.as_bytes());
    let header = rows.headers().unwrap().clone();
    let column = |name: &str| header.iter().position(|h| h == name).unwrap();
    let rows: Vec<csv::StringRecord> = rows.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), 3);
    assert_eq!(&rows[1][column("inputId")], "phenol");
    assert_eq!(&rows[0][column("inputId")], "0");
    assert_eq!(&rows[2][column("errorCode")], "SMILES_SYNTAX");

    let refused = molbatch(&serve, &["analyze"]);
    assert!(!refused.status.success(), "no SMILES is a usage error");
}

/// More one-molecule calls at once than the analytics service computes at
/// once (four turns per core): the others wait for a turn, and every call
/// answers what the same molecule answers alone.
#[tokio::test]
async fn concurrent_one_molecule_calls_wait_for_a_turn_and_all_answer() {
    let mut mb = Molbatch::start().await;
    let molecules: Vec<_> = mixed_molecules().into_iter().cycle().take(64).collect();
    let mut alone = Vec::new();
    for molecule in &molecules {
        let answer = raw_analyze(&mut mb, vec![molecule.clone()], Vec::new()).await;
        alone.push(answer.unwrap());
    }
    let mut calls = tokio::task::JoinSet::new();
    for (i, molecule) in molecules.into_iter().enumerate() {
        let mut client = mb.client.raw().clone();
        calls.spawn(async move {
            let request = pb::AnalyzeMoleculesRequest {
                molecules: vec![molecule],
                include_fingerprint: false,
                alert_sets: Vec::new(),
            };
            (i, client.analyze_molecules(request).await)
        });
    }
    let mut answered = 0;
    while let Some(joined) = calls.join_next().await {
        let (i, answer) = joined.unwrap();
        assert_eq!(answer.unwrap().into_inner(), alone[i], "molecule {i}");
        answered += 1;
    }
    assert_eq!(answered, alone.len());
    mb.stop().await;
}
