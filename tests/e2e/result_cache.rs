//! The result cache across jobs on the production path (Postgres and
//! Redis): a resubmitted library is served from the tenant's cache with
//! results identical to the first job's (substructure search included,
//! against RDKit's hits), an overlapping one computes only what is new, and
//! another tenant's submission of the same molecules is computed, not served.

use molbatch_analytics::result_cache::CacheScope;
use molbatch_client::Client;
use molbatch_proto::v1 as pb;
use serde_json::Value;

use crate::substructure::{all_hits, fixture, query_of};
use crate::support::{Molbatch, TestDatabase};

/// Result-cache look-ups so far: (hits, misses).
fn lookups() -> (f64, f64) {
    let scrape = molbatch_telemetry::metrics::encode();
    let count = |result: &str| {
        scrape
            .lines()
            .filter(|l| l.starts_with("molbatch_cache_requests_total{"))
            .filter(|l| l.contains("cache=\"molecule_results\""))
            .filter(|l| l.contains(&format!("result=\"{result}\"")))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum()
    };
    (count("hit"), count("miss"))
}

fn molecules(fixture: &Value, id_prefix: &str) -> Vec<pb::InputMolecule> {
    fixture["molecules"]
        .as_array()
        .unwrap()
        .iter()
        .enumerate()
        .map(|(i, m)| pb::InputMolecule {
            smiles: m["input"].as_str().unwrap().to_owned(),
            id: format!("{id_prefix}{i}"),
            activities: vec![pb::ActivityValue {
                column: "IC50".into(),
                value: format!("{}", 1 + i % 997),
                unit: "nM".into(),
            }],
            ..Default::default()
        })
        .collect()
}

/// Runs a job of `molecules` to completion; its results in input order.
async fn run(
    client: &mut Client,
    molecules: Vec<pb::InputMolecule>,
) -> (String, Vec<pb::MoleculeResult>) {
    let job = client.submit(molecules, "library.smi").await.unwrap();
    let job = client.wait(&job.job_id, |_| {}).await.unwrap();
    assert_eq!(job.state, pb::JobState::Completed as i32, "{job:?}");
    let mut results = Vec::new();
    client
        .for_each_result_page(&job.job_id, "", true, |page| {
            results.extend(page);
            Ok(())
        })
        .await
        .unwrap();
    (job.job_id, results)
}

/// `results` with the ids a job gave its molecules left out.
fn without_ids(mut results: Vec<pb::MoleculeResult>) -> Vec<pb::MoleculeResult> {
    for r in &mut results {
        r.input_id.clear();
    }
    results
}

#[tokio::test(flavor = "multi_thread")]
async fn a_resubmission_is_served_from_the_tenants_cache_and_no_other_tenants() {
    let redis_url = std::env::var("MOLBATCH_TEST_REDIS_URL")
        .unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned());
    let db = TestDatabase::create().await;
    let mut mb =
        Molbatch::start_caching(Some(db.url.clone()), Some(redis_url), CacheScope::Tenant).await;
    let fixture = fixture();
    let n = fixture["molecules"].as_array().unwrap().len();

    let (first_job, first) = run(&mut mb.client, molecules(&fixture, "m")).await;
    assert_eq!(first.len(), n);
    assert_eq!(lookups(), (0.0, n as f64));

    // The same library again, under other ids: every molecule from the cache.
    let (again_job, again) = run(&mut mb.client, molecules(&fixture, "again-")).await;
    assert_eq!(lookups(), (n as f64, n as f64));
    assert!(again
        .iter()
        .enumerate()
        .all(|(i, r)| r.input_id == format!("again-{i}")));
    assert_eq!(without_ids(again), without_ids(first.clone()));
    // The search keys came from the cache too: the hits are RDKit's.
    for query in fixture["queries"].as_array().unwrap().iter().take(12) {
        let syntax = match query["syntax"].as_str().unwrap() {
            "smarts" => pb::QuerySyntax::Smarts,
            _ => pb::QuerySyntax::Smiles,
        };
        let text = query["query"].as_str().unwrap();
        let want: Vec<u64> = query["hits"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| h[0].as_u64().unwrap())
            .collect();
        for job in [&first_job, &again_job] {
            let request = pb::SearchSubstructureRequest {
                use_chirality: query["chirality"].as_bool().unwrap(),
                ..query_of(job, text, syntax)
            };
            let got: Vec<u64> = all_hits(&mut mb.client, request)
                .await
                .iter()
                .map(|h| h.index)
                .collect();
            assert_eq!(got, want, "{text} in job {job}");
        }
    }

    // 90% overlap: the first 90% again, the rest changed (a salt added).
    let overlap = n * 9 / 10;
    let mut changed = molecules(&fixture, "m");
    for m in &mut changed[overlap..] {
        m.smiles.push_str(".O");
    }
    let (_, mixed) = run(&mut mb.client, changed).await;
    assert_eq!(lookups(), ((n + overlap) as f64, (2 * n - overlap) as f64));
    assert_eq!(mixed[..overlap], first[..overlap]);

    // Another tenant submitting the same library is computed, not served.
    let mut other = mb.admin_of_new_tenant("other-lab").await;
    let (_, theirs) = run(&mut other, molecules(&fixture, "m")).await;
    assert_eq!(
        lookups(),
        ((n + overlap) as f64, (3 * n - overlap) as f64),
        "no molecule of the other tenant came from the first tenant's cache"
    );
    assert_eq!(theirs, first);
    mb.stop().await;
    db.drop_now().await;
}
