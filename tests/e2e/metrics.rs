//! What a platform team scrapes during a batch: the queue depth rises while
//! chunks wait and falls to zero when the job ends, every RPC of the batch's
//! path is counted per service, and molecules and job durations are recorded.
//! All four services run in this test process, so they share the one
//! registry `/metrics` serves (`molbatch_telemetry::metrics::encode`).

use molbatch_proto::v1 as pb;

use crate::support::Molbatch;

/// The sum of every sample of `family` (all label sets) in a scrape.
fn total(scrape: &str, family: &str) -> f64 {
    scrape
        .lines()
        .filter(|l| l.starts_with(family) && l[family.len()..].starts_with(['{', ' ']))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// The value of the sample of `family` whose labels contain all of `labels`.
fn sample(scrape: &str, family: &str, labels: &[&str]) -> Option<f64> {
    scrape
        .lines()
        .filter(|l| l.starts_with(&format!("{family}{{")))
        .find(|l| labels.iter().all(|want| l.contains(want)))
        .and_then(|l| l.rsplit(' ').next()?.parse().ok())
}

#[tokio::test(flavor = "multi_thread")]
async fn a_scrape_during_a_batch_shows_the_queue_rise_and_fall_and_every_rpc() {
    let mut mb = Molbatch::start().await;
    // Four 1,000-molecule chunks: more than one worker pass, so the queue
    // is seen holding work.
    let smiles = [
        "CCO",
        "c1ccccc1O",
        "CC(=O)Nc1ccc(O)cc1",
        "C1CCNCC1",
        "not a smiles",
    ];
    let molecules: Vec<pb::InputMolecule> = (0..4_000)
        .map(|i| pb::InputMolecule {
            smiles: smiles[i % smiles.len()].to_owned(),
            ..Default::default()
        })
        .collect();
    let job = mb.client.submit(molecules, "metrics.smi").await.unwrap();
    let mut deepest = 0.0f64;
    loop {
        let scrape = molbatch_telemetry::metrics::encode();
        deepest = deepest.max(total(&scrape, "molbatch_queue_depth"));
        let state = mb.client.job(&job.job_id).await.unwrap().state;
        if state == pb::JobState::Completed as i32 {
            break;
        }
        assert!(state != pb::JobState::Failed as i32, "the job failed");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert!(
        deepest >= 1.0,
        "the queue depth never showed the waiting chunks"
    );
    // The scheduler's pass (once a second) brings the gauge back to zero.
    let mut drained = false;
    for _ in 0..50 {
        let scrape = molbatch_telemetry::metrics::encode();
        if total(&scrape, "molbatch_queue_depth") == 0.0 {
            drained = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(drained, "the queue depth did not fall back to zero");

    let scrape = molbatch_telemetry::metrics::encode();
    for (service, method) in [
        ("gateway", "molbatch.v1.MolBatch/SubmitBatch"),
        ("gateway", "molbatch.v1.MolBatch/GetJob"),
        ("scheduler", "molbatch.internal.v1.Scheduler/CreateJob"),
        ("scheduler", "molbatch.internal.v1.Scheduler/SealJob"),
        ("scheduler", "molbatch.internal.v1.Scheduler/LeaseTasks"),
        ("scheduler", "molbatch.internal.v1.Scheduler/CompleteTask"),
        ("scheduler", "molbatch.internal.v1.Identity/LookupApiKey"),
        ("storage", "molbatch.internal.v1.Storage/PutInputChunk"),
        ("storage", "molbatch.internal.v1.Storage/GetInputChunk"),
        ("storage", "molbatch.internal.v1.Storage/PutResultChunk"),
    ] {
        let labels = [
            format!("service=\"{service}\""),
            format!("method=\"{method}\""),
            "code=\"OK\"".to_owned(),
        ];
        let labels: Vec<&str> = labels.iter().map(String::as_str).collect();
        let count = sample(&scrape, "molbatch_rpc_requests_total", &labels);
        assert!(
            count.is_some_and(|c| c >= 1.0),
            "{service} {method} not counted:\n{scrape}"
        );
    }
    assert_eq!(
        sample(
            &scrape,
            "molbatch_molecules_processed_total",
            &["outcome=\"invalid\""]
        ),
        Some(800.0)
    );
    assert_eq!(
        sample(
            &scrape,
            "molbatch_molecules_processed_total",
            &["outcome=\"valid\""]
        ),
        Some(3_200.0)
    );
    assert!(total(&scrape, "molbatch_job_duration_seconds_count") >= 1.0);
    mb.stop().await;
}
