//! Batch analyses, similarity search and depictions through the public API:
//! the automatic analyses of a completed job, analyses started with
//! parameters, and every kind of bad request.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use molbatch_client::ClientError;
use molbatch_proto::v1 as pb;
use molbatch_proto::Violations;
use pb::analysis::Result as AnalysisResult;
use tonic::Code;

use crate::support::Molbatch;

/// A small batch with known duplicates at each level: index 1 repeats 0
/// exactly; 2 is 0 as a salt; 3 and 4 are stereoisomers; 5 is a tautomer of
/// 6; 7 is invalid.
const SMILES: [&str; 12] = [
    "CC(=O)Oc1ccccc1C(=O)O",
    "CC(=O)Oc1ccccc1C(=O)O",
    "CC(=O)Oc1ccccc1C(=O)[O-].[Na+]",
    "C[C@H](N)C(=O)O",
    "C[C@@H](N)C(=O)O",
    "Oc1ccccn1",
    "O=c1cccc[nH]1",
    "C1CC",
    "c1ccc2ccccc2c1",
    "CCN(CC)CCOC(=O)c1ccc(N)cc1",
    "CCCCCCCC",
    "Cc1ccccc1",
];

fn molecules() -> Vec<pb::InputMolecule> {
    SMILES
        .iter()
        .enumerate()
        .map(|(i, s)| pb::InputMolecule {
            smiles: (*s).to_owned(),
            id: format!("m{i}"),
            properties: HashMap::from([("pKi".to_owned(), format!("{}", 5.0 + i as f64 / 4.0))]),
            ..Default::default()
        })
        .collect()
}

fn status(err: ClientError) -> tonic::Status {
    match err {
        ClientError::Status(s) => s,
        other => panic!("expected a status, got {other}"),
    }
}

async fn completed_job(mb: &mut Molbatch) -> pb::Job {
    let job = mb.client.submit(molecules(), "analyses").await.unwrap();
    let job = mb.client.wait(&job.job_id, |_| {}).await.unwrap();
    assert_eq!(job.state, pb::JobState::Completed as i32, "{job:?}");
    job
}

/// Polls an analysis until it ends (bounded: only a guard against a hang).
async fn finished(mb: &mut Molbatch, job_id: &str, kind: &str) -> pb::Analysis {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let request = pb::GetAnalysisRequest {
            job_id: job_id.to_owned(),
            r#type: kind.to_owned(),
        };
        match mb.client.raw().get_analysis(request).await {
            Ok(a) => {
                let a = a.into_inner();
                let running = [
                    pb::AnalysisStatus::Pending as i32,
                    pb::AnalysisStatus::Computing as i32,
                ];
                if !running.contains(&a.status) {
                    assert_eq!(
                        a.status,
                        pb::AnalysisStatus::Complete as i32,
                        "{kind}: {a:?}"
                    );
                    return a;
                }
            }
            // The automatic analyses appear with the job's completion.
            Err(s) if s.code() == Code::NotFound => {}
            Err(s) => panic!("{kind}: {s:?}"),
        }
        assert!(Instant::now() < deadline, "{kind} did not finish");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn run(
    mb: &mut Molbatch,
    job_id: &str,
    kind: &str,
    params: &[(&str, &str)],
) -> Result<pb::Analysis, tonic::Status> {
    let request = pb::RunAnalysisRequest {
        job_id: job_id.to_owned(),
        r#type: kind.to_owned(),
        params: params
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
    };
    Ok(mb.client.raw().run_analysis(request).await?.into_inner())
}

fn members_of(level: &pb::DuplicateLevel) -> Vec<Vec<u64>> {
    let mut groups: Vec<Vec<u64>> = level.groups.iter().map(|g| g.members.clone()).collect();
    groups.sort();
    groups
}

#[tokio::test]
async fn automatic_analyses_find_duplicates_at_each_level_and_describe_the_batch() {
    let mut mb = Molbatch::start().await;
    let job = completed_job(&mut mb).await;

    let dedup = finished(&mut mb, &job.job_id, "deduplication").await;
    let Some(AnalysisResult::Deduplication(d)) = dedup.result else {
        panic!("{dedup:?}")
    };
    let level = |name: &str| {
        d.levels
            .iter()
            .find(|l| l.level == name)
            .unwrap_or_else(|| panic!("no level {name}"))
    };
    assert_eq!(members_of(level("exact")), vec![vec![0, 1]]);
    assert_eq!(members_of(level("salt_form")), vec![vec![0, 1, 2]]);
    assert_eq!(
        members_of(level("stereo_insensitive")),
        vec![vec![0, 1], vec![3, 4]]
    );
    // RDKit's canonical tautomer may also drop the stereo of alanine's
    // alpha carbon (it can tautomerise), so only these groups are certain.
    let tautomers = members_of(level("tautomer"));
    assert!(tautomers.contains(&vec![0, 1, 2]), "{tautomers:?}");
    assert!(tautomers.contains(&vec![5, 6]), "{tautomers:?}");
    // 11 valid molecules; the exact level merges one pair.
    assert_eq!(level("exact").unique_count, 10);

    let stats = finished(&mut mb, &job.job_id, "statistics").await;
    let Some(AnalysisResult::Statistics(s)) = stats.result else {
        panic!("{stats:?}")
    };
    let pki = s.columns.iter().find(|c| c.column == "pKi").unwrap();
    assert_eq!((pki.count, pki.missing), (11, 0));
    let mol_wt = s.columns.iter().find(|c| c.column == "molWt").unwrap();
    assert!(mol_wt.min > 50.0 && mol_wt.max < 300.0, "{mol_wt:?}");
    let n = s.correlation_columns.len();
    assert_eq!(s.correlation.len(), n * n);
    let q = s.quality.unwrap();
    assert!(
        (q.validity_percent - 100.0 * 11.0 / 12.0).abs() < 1e-9,
        "{q:?}"
    );

    // ListAnalyses shows both, without their results.
    let listed = mb.client.list_analyses(&job.job_id).await.unwrap();
    let kinds: Vec<&str> = listed.iter().map(|a| a.r#type.as_str()).collect();
    assert_eq!(kinds, ["deduplication", "statistics"]);
    mb.stop().await;
}

#[tokio::test]
async fn analyses_run_on_request_with_parameters() {
    let mut mb = Molbatch::start().await;
    let job = completed_job(&mut mb).await;
    let id = job.job_id.as_str();

    run(&mut mb, id, "scaffolds", &[]).await.unwrap();
    let scaffolds = finished(&mut mb, id, "scaffolds").await;
    let Some(AnalysisResult::Scaffolds(s)) = scaffolds.result else {
        panic!("{scaffolds:?}")
    };
    let benzene = s.scaffolds.iter().find(|g| g.key == "c1ccccc1").unwrap();
    assert_eq!(benzene.members, vec![0, 1, 2, 9, 11]);
    let acyclic = s.scaffolds.iter().find(|g| g.key.is_empty()).unwrap();
    assert_eq!(acyclic.members, vec![3, 4, 10]);
    assert!(s.entropy > 0.0 && s.scaled_entropy <= 1.0);

    let started = run(
        &mut mb,
        id,
        "chemical_space",
        &[("features", "descriptors"), ("components", "3")],
    )
    .await
    .unwrap();
    assert_eq!(
        started.params.get("components").map(String::as_str),
        Some("3")
    );
    let space = finished(&mut mb, id, "chemical_space").await;
    let Some(AnalysisResult::ChemicalSpace(c)) = space.result else {
        panic!("{space:?}")
    };
    assert_eq!((c.components, c.points.len()), (3, 11));
    assert!(c.points.iter().all(|p| p.coordinates.len() == 3));
    let explained: f64 = c.explained_variance_ratio.iter().sum();
    assert!(explained > 0.0 && explained <= 1.0 + 1e-9, "{explained}");

    // Once ended, it runs again with other parameters: a t-SNE map.
    run(&mut mb, id, "chemical_space", &[("method", "tsne")])
        .await
        .unwrap();
    let map = finished(&mut mb, id, "chemical_space").await;
    let Some(AnalysisResult::ChemicalSpace(t)) = map.result else {
        panic!("{map:?}")
    };
    assert_eq!((t.method.as_str(), t.points.len()), ("tsne", 11));
    assert!(t
        .points
        .iter()
        .all(|p| p.coordinates.len() == 2 && p.coordinates.iter().all(|x| x.is_finite())));

    run(&mut mb, id, "similarity_matrix", &[]).await.unwrap();
    let matrix = finished(&mut mb, id, "similarity_matrix").await;
    let Some(AnalysisResult::SimilarityMatrix(m)) = matrix.result else {
        panic!("{matrix:?}")
    };
    assert!(m.dense);
    assert_eq!(m.upper_triangle.len(), 11 * 10 / 2);
    // Molecules 0 and 1 are identical: the first entry of the triangle.
    assert_eq!(
        (m.indexes[0], m.indexes[1], m.upper_triangle[0]),
        (0, 1, 1.0)
    );

    run(&mut mb, id, "nearest_neighbors", &[]).await.unwrap();
    let nn = finished(&mut mb, id, "nearest_neighbors").await;
    let Some(AnalysisResult::NearestNeighbors(n)) = nn.result else {
        panic!("{nn:?}")
    };
    assert_eq!(n.neighbors.len(), 11);
    assert_eq!(
        (n.neighbors[0].neighbor, n.neighbors[0].isolation),
        (1, 0.0)
    );

    // Bad requests name their field; nothing is queued.
    let bad = run(&mut mb, id, "colour", &[]).await.unwrap_err();
    assert_eq!(bad.code(), Code::InvalidArgument);
    assert_eq!(Violations::from_status(&bad).fields()[0].0, "type");
    let bad = run(&mut mb, id, "similarity_matrix", &[("threshold", "2")])
        .await
        .unwrap_err();
    assert_eq!(
        Violations::from_status(&bad).fields()[0].0,
        "params.threshold"
    );
    let never = mb
        .client
        .raw()
        .get_analysis(pb::GetAnalysisRequest {
            job_id: id.to_owned(),
            r#type: "mmp".to_owned(),
        })
        .await
        .unwrap_err();
    assert_eq!(never.code(), Code::NotFound, "{never:?}");
    assert!(never.message().contains("has not been run"), "{never:?}");
    mb.stop().await;
}

#[tokio::test]
async fn similarity_search_and_depictions_inside_a_job() {
    let mut mb = Molbatch::start().await;
    let job = completed_job(&mut mb).await;
    let search =
        |smiles: &str, index: Option<u64>, top_k: u32, threshold: f64| pb::SearchSimilarRequest {
            job_id: job.job_id.clone(),
            smiles: smiles.to_owned(),
            index,
            top_k,
            threshold,
        };
    // By SMILES: aspirin is molecules 0, 1 and (as a salt, standardised to
    // the same parent) 2.
    let hits = mb
        .client
        .raw()
        .search_similar(search("CC(=O)Oc1ccccc1C(=O)O", None, 3, 0.0))
        .await
        .unwrap()
        .into_inner();
    let found: Vec<(u64, f64)> = hits.hits.iter().map(|h| (h.index, h.similarity)).collect();
    assert_eq!(found, vec![(0, 1.0), (1, 1.0), (2, 1.0)]);
    assert_eq!((hits.searched, hits.hits[0].input_id.as_str()), (11, "m0"));
    // By index, the molecule itself left out; a threshold keeps only close ones.
    let hits = mb
        .client
        .raw()
        .search_similar(search("", Some(3), 0, 0.99))
        .await
        .unwrap()
        .into_inner();
    let found: Vec<u64> = hits.hits.iter().map(|h| h.index).collect();
    assert_eq!(
        found,
        vec![4],
        "stereoisomers share a Morgan fingerprint without chirality"
    );

    for (request, field) in [
        (search("C1CC", None, 5, 0.0), "smiles"),
        (search("", None, 5, 0.0), "smiles"),
        (search("", Some(7), 5, 0.0), "index"),
        (search("", Some(99), 5, 0.0), "index"),
        (search("CCO", None, 5, 1.5), "threshold"),
    ] {
        let err = mb.client.raw().search_similar(request).await.unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument, "{err:?}");
        assert_eq!(
            Violations::from_status(&err).fields()[0].0,
            field,
            "{err:?}"
        );
    }

    let drawn = mb
        .client
        .raw()
        .depict(pb::DepictRequest {
            job_id: job.job_id.clone(),
            index: Some(8),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(drawn.smiles, "c1ccc2ccccc2c1");
    assert!(drawn.svg.contains("</svg>"), "{}", drawn.svg);
    let drawn = mb
        .client
        .raw()
        .depict(pb::DepictRequest {
            smiles: "c1ccccc1".into(),
            width: 120,
            height: 90,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert!(
        drawn.svg.contains("width='120px'"),
        "{}",
        &drawn.svg[..200.min(drawn.svg.len())]
    );
    let err = mb
        .client
        .raw()
        .depict(pb::DepictRequest {
            smiles: "c1ccccc1".into(),
            width: 5,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(Violations::from_status(&err).fields()[0].0, "width");

    // A job that did not complete cannot be searched: an upload without a
    // SMILES column leaves a FAILED job.
    let rejected = mb
        .client
        .upload(
            std::io::Cursor::new(b"name,value\na,1\n".to_vec()),
            pb::UploadOptions {
                display_name: "no-smiles.csv".into(),
                ..Default::default()
            },
        )
        .await;
    assert!(rejected.is_err(), "{rejected:?}");
    let failed = mb
        .client
        .raw()
        .list_jobs(pb::ListJobsRequest::default())
        .await
        .unwrap()
        .into_inner()
        .jobs
        .into_iter()
        .find(|j| j.state == pb::JobState::Failed as i32);
    let failed = failed.expect("the rejected upload's job is FAILED");
    {
        let err = mb
            .client
            .raw()
            .search_similar(pb::SearchSimilarRequest {
                job_id: failed.job_id,
                smiles: "CCO".into(),
                ..Default::default()
            })
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::FailedPrecondition, "{err:?}");
    }
    let err = status(mb.client.job("not-a-job").await.unwrap_err());
    assert_eq!(err.code(), Code::InvalidArgument);
    mb.stop().await;
}
