//! Substructure search in a job, as users reach it: over gRPC on Postgres
//! and Redis, where every query of the chemistry fixture
//! (`scripts/substructure_fixtures.py`, RDKit's Python on the same 2,000
//! molecules) must give RDKit's hits and atoms page by page; its field
//! errors; REST; and `molbatch search --substructure` against `serve`.

use molbatch_client::Client;
use molbatch_proto::v1 as pb;
use molbatch_proto::Violations;
use serde_json::{json, Value};
use tonic::Code;

use crate::cli::{molbatch, text};
use crate::rest::post_json;
use crate::support::{Molbatch, ServeProcess, TestDatabase};

const FIXTURE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../crates/chem/tests/fixtures/substructure.json.gz"
);

pub(crate) fn fixture() -> Value {
    let file = std::fs::File::open(FIXTURE).unwrap();
    serde_json::from_reader(flate2::read::GzDecoder::new(file)).unwrap()
}

pub(crate) fn query_of(
    job_id: &str,
    query: &str,
    syntax: pb::QuerySyntax,
) -> pb::SearchSubstructureRequest {
    pb::SearchSubstructureRequest {
        job_id: job_id.to_owned(),
        query: query.to_owned(),
        syntax: syntax as i32,
        ..Default::default()
    }
}

/// Every hit of `request`, page by page; checks that the pages' scans add
/// up to the job's valid molecules.
pub(crate) async fn all_hits(
    client: &mut Client,
    mut request: pb::SearchSubstructureRequest,
) -> Vec<pb::SubstructureHit> {
    let mut hits = Vec::new();
    let mut scanned = 0;
    loop {
        let page = client
            .raw()
            .search_substructure(request.clone())
            .await
            .unwrap()
            .into_inner();
        assert!(page.hits.len() <= request.page_size.max(100) as usize);
        assert!(page.candidates <= page.scanned);
        scanned += page.scanned;
        hits.extend(page.hits);
        if page.next_page_token.is_empty() {
            assert_eq!(scanned, page.searched, "{request:?}");
            return hits;
        }
        request.page_token = page.next_page_token;
    }
}

#[tokio::test]
async fn hits_equal_rdkit_for_every_fixture_query_on_postgres_and_redis() {
    let redis_url = std::env::var("MOLBATCH_TEST_REDIS_URL")
        .unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned());
    let db = TestDatabase::create().await;
    let mut mb = Molbatch::start_on(Some(db.url.clone()), Some(redis_url)).await;
    let fixture = fixture();
    let molecules: Vec<pb::InputMolecule> = fixture["molecules"]
        .as_array()
        .unwrap()
        .iter()
        .enumerate()
        .map(|(i, m)| pb::InputMolecule {
            smiles: m["input"].as_str().unwrap().to_owned(),
            id: format!("m{i}"),
            ..Default::default()
        })
        .collect();
    let job = mb.client.submit(molecules, "substructure").await.unwrap();
    let job = mb.client.wait(&job.job_id, |_| {}).await.unwrap();
    assert_eq!(job.state, pb::JobState::Completed as i32, "{job:?}");

    for (n, query) in fixture["queries"].as_array().unwrap().iter().enumerate() {
        let syntax = match query["syntax"].as_str().unwrap() {
            "smarts" => pb::QuerySyntax::Smarts,
            _ => pb::QuerySyntax::Smiles,
        };
        let request = pb::SearchSubstructureRequest {
            use_chirality: query["chirality"].as_bool().unwrap(),
            // Pages of several sizes, so page boundaries fall everywhere.
            page_size: [1000, 250, 97][n % 3],
            ..query_of(&job.job_id, query["query"].as_str().unwrap(), syntax)
        };
        let got: Vec<(u64, Vec<u32>)> = all_hits(&mut mb.client, request.clone())
            .await
            .into_iter()
            .map(|h| {
                assert_eq!(h.input_id, format!("m{}", h.index));
                (h.index, h.atoms)
            })
            .collect();
        let want: Vec<(u64, Vec<u32>)> = query["hits"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| {
                let atoms = h[1].as_array().unwrap();
                (
                    h[0].as_u64().unwrap(),
                    atoms.iter().map(|a| a.as_u64().unwrap() as u32).collect(),
                )
            })
            .collect();
        assert_eq!(got, want, "{request:?}");
    }

    // A hit's SMILES is the job's standardised SMILES.
    let page = mb
        .client
        .raw()
        .search_substructure(query_of(
            &job.job_id,
            "[N+](=O)[O-]",
            pb::QuerySyntax::Smarts,
        ))
        .await
        .unwrap()
        .into_inner();
    let first = &page.hits[0];
    let result = mb.client.raw().get_result(pb::GetResultRequest {
        job_id: job.job_id.clone(),
        index: first.index,
        ..Default::default()
    });
    let result = result.await.unwrap().into_inner();
    assert_eq!(first.smiles, result.standardized_smiles);
    assert_eq!(page.searched, 2000);
    mb.stop().await;
    db.drop_now().await;
}

#[tokio::test]
async fn bad_queries_and_pages_name_their_field() {
    let mut mb = Molbatch::start().await;
    let job = mb
        .client
        .submit(
            vec![pb::InputMolecule {
                smiles: "c1ccc2[nH]ccc2c1".into(),
                ..Default::default()
            }],
            "indole",
        )
        .await
        .unwrap();
    let job = mb.client.wait(&job.job_id, |_| {}).await.unwrap();
    let id = job.job_id.as_str();
    let cases = [
        (query_of(id, "C(", pb::QuerySyntax::Smarts), "query"),
        (query_of(id, "C1CC", pb::QuerySyntax::Smiles), "query"),
        (
            query_of(id, "C(C)(C)(C)(C)C", pb::QuerySyntax::Smiles),
            "query",
        ),
        (query_of(id, " ", pb::QuerySyntax::Smarts), "query"),
        (
            pb::SearchSubstructureRequest {
                page_size: 1001,
                ..query_of(id, "c", pb::QuerySyntax::Smarts)
            },
            "page_size",
        ),
        (
            pb::SearchSubstructureRequest {
                page_token: "x".into(),
                ..query_of(id, "c", pb::QuerySyntax::Smarts)
            },
            "page_token",
        ),
        (
            pb::SearchSubstructureRequest {
                syntax: 9,
                ..query_of(id, "c", pb::QuerySyntax::Smarts)
            },
            "syntax",
        ),
    ];
    for (request, field) in cases {
        let err = mb
            .client
            .raw()
            .search_substructure(request)
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument, "{err:?}");
        assert_eq!(
            Violations::from_status(&err).fields()[0].0,
            field,
            "{err:?}"
        );
    }
    let unknown = mb
        .client
        .raw()
        .search_substructure(query_of(
            "00000000-0000-0000-0000-000000000000",
            "c",
            pb::QuerySyntax::Smarts,
        ))
        .await
        .unwrap_err();
    assert_eq!(unknown.code(), Code::NotFound, "{unknown:?}");
    mb.stop().await;
}

#[tokio::test]
async fn rest_and_the_cli_search_a_served_job() {
    let serve = ServeProcess::start();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("indoles.smi");
    std::fs::write(
        &file,
        "c1ccc2[nH]ccc2c1 indole\nCn1ccc2ccccc21 methylindole\nCCO ethanol\nC1CC broken\n\
         C[C@H](N)C(=O)O L-alanine\nC[C@@H](N)C(=O)O D-alanine\n",
    )
    .unwrap();
    let out = molbatch(&serve, &["submit", file.to_str().unwrap(), "--wait"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let job = text(&out.stdout).trim().to_owned();

    // SMARTS asks for the N-H; a SMILES query ignores hydrogen counts.
    let smarts = molbatch(
        &serve,
        &[
            "search",
            &job,
            "--substructure",
            "c1ccc2[nH]ccc2c1",
            "--smarts",
        ],
    );
    assert!(smarts.status.success(), "{}", text(&smarts.stderr));
    let table = text(&smarts.stdout);
    assert!(table.starts_with("1 hits; 5 of 5 molecules"), "{table}");
    assert!(
        table.contains("indole") && !table.contains("methylindole"),
        "{table}"
    );
    let smiles = molbatch(
        &serve,
        &[
            "search",
            &job,
            "--substructure",
            "c1ccc2[nH]ccc2c1",
            "--output",
            "json",
        ],
    );
    let answer: Value = serde_json::from_slice(&smiles.stdout).unwrap();
    let ids: Vec<&str> = answer["hits"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["inputId"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["indole", "methylindole"]);
    // Chirality, and every page with --all.
    let chiral = molbatch(
        &serve,
        &[
            "search",
            &job,
            "--substructure",
            "C[C@@H](N)C(=O)O",
            "--chirality",
            "--output",
            "json",
        ],
    );
    let answer: Value = serde_json::from_slice(&chiral.stdout).unwrap();
    assert_eq!(answer["hits"][0]["inputId"], "D-alanine");
    assert_eq!(answer["hits"].as_array().unwrap().len(), 1);
    let all = molbatch(
        &serve,
        &[
            "search",
            &job,
            "--substructure",
            "[#6]",
            "--smarts",
            "--page-size",
            "2",
            "--all",
            "--output",
            "json",
        ],
    );
    let answer: Value = serde_json::from_slice(&all.stdout).unwrap();
    assert_eq!(answer["hits"].as_array().unwrap().len(), 5);
    assert!(
        answer.get("nextPageToken").is_none_or(|t| t == ""),
        "{answer}"
    );
    let bad = molbatch(
        &serve,
        &["search", &job, "--substructure", "C(", "--smarts"],
    );
    assert!(!bad.status.success());
    assert!(text(&bad.stderr).contains("query"), "{}", text(&bad.stderr));

    let path = format!("/v1/jobs/{job}/substructure:search");
    let body = post_json(
        &serve,
        &path,
        &json!({"query": "c1ccc2[nH]ccc2c1", "syntax": "QUERY_SYNTAX_SMARTS"}),
    )
    .await
    .expect(200);
    assert_eq!(body["hits"][0]["inputId"], "indole");
    assert_eq!(body["hits"][0]["atoms"].as_array().unwrap().len(), 9);
    let refused = post_json(
        &serve,
        &path,
        &json!({"query": "[C", "syntax": "QUERY_SYNTAX_SMARTS"}),
    )
    .await;
    assert_eq!(refused.status, 400);
    assert_eq!(refused.violation().0, "query");
}
