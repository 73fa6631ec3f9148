//! Deleting and retrying jobs on the production backends (Postgres, each test
//! on a database of its own): a deleted job's rows leave storage at once and
//! the job answers "deleted"; a job deleted while it runs leaves nothing
//! behind once its workers stop; a cancelled job retried runs again from its
//! stored input and gives the results a fresh submission gives. And, on
//! embedded storage, a job queued behind another says where it waits and
//! when it should start and end.

use molbatch_client::ClientError;
use molbatch_proto::time::millis;
use molbatch_proto::v1 as pb;
use sqlx::Connection;
use tonic::Code;

use crate::support::{Molbatch, TestDatabase};

/// Rows storage holds for `job_id`, per table.
async fn stored_rows(conn: &mut sqlx::PgConnection, job_id: &str) -> [i64; 5] {
    let mut counts = [0; 5];
    for (count, table) in counts.iter_mut().zip([
        "input_chunk",
        "result_chunk",
        "analysis_result",
        "export_part",
        "export_file",
    ]) {
        *count = sqlx::query_scalar(&format!(
            "select count(*) from storage.{table} where job_id = $1"
        ))
        .bind(job_id)
        .fetch_one(&mut *conn)
        .await
        .unwrap();
    }
    counts
}

/// The status of a call that must fail.
fn status<T: std::fmt::Debug>(outcome: Result<T, ClientError>) -> tonic::Status {
    match outcome {
        Err(ClientError::Status(status)) => status,
        other => panic!("expected an error status, got {other:?}"),
    }
}

/// `n` distinct small molecules, ids `m0`, `m1`, ….
fn molecules(n: usize) -> Vec<pb::InputMolecule> {
    (0..n)
        .map(|i| pb::InputMolecule {
            smiles: format!("{}O", "C".repeat(1 + i % 12)),
            id: format!("m{i}"),
            ..Default::default()
        })
        .collect()
}

/// Every result of a completed job as (index, id, canonical SMILES, valid).
async fn results(mb: &mut Molbatch, job_id: &str) -> Vec<(u64, String, String, bool)> {
    let mut seen = Vec::new();
    mb.client
        .for_each_result_page(job_id, "", false, |page| {
            seen.extend(
                page.into_iter()
                    .map(|r| (r.index, r.input_id, r.canonical_smiles, r.valid)),
            );
            Ok(())
        })
        .await
        .unwrap();
    seen
}

#[tokio::test(flavor = "multi_thread")]
async fn a_deleted_job_leaves_storage_at_once_and_answers_deleted() {
    let db = TestDatabase::create().await;
    let mut mb = Molbatch::start_on(Some(db.url.clone()), None).await;
    let job = mb.client.submit(molecules(300), "doomed").await.unwrap();
    let job = mb.client.wait(&job.job_id, |_| {}).await.unwrap();
    assert_eq!(job.state, pb::JobState::Completed as i32, "{job:?}");
    let export = mb
        .client
        .create_export(pb::CreateExportRequest {
            job_id: job.job_id.clone(),
            format: "csv".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    let export = mb
        .client
        .wait_export(
            &export.export_id,
            std::time::Duration::from_millis(50),
            |_| {},
        )
        .await
        .unwrap();
    assert_eq!(export.state, pb::ExportState::Complete as i32, "{export:?}");
    // The automatic analyses write their results as they finish: wait for
    // them (bounded), so what is stored stops moving.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let analyses = mb.client.list_analyses(&job.job_id).await.unwrap();
        let running =
            [pb::AnalysisStatus::Pending, pb::AnalysisStatus::Computing].map(|s| s as i32);
        if analyses.iter().all(|a| !running.contains(&a.status)) {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{analyses:?}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let mut conn = sqlx::PgConnection::connect(&db.url).await.unwrap();
    let before = stored_rows(&mut conn, &job.job_id).await;
    assert!(
        before.iter().all(|&n| n > 0),
        "inputs, results, analyses and the export are stored: {before:?}"
    );

    let deleted = mb.client.delete(&job.job_id).await.unwrap();
    assert_eq!(deleted.job_id, job.job_id);
    assert_eq!(deleted.deleted_records, before.iter().sum::<i64>() as u64);
    // At once: no retention pass waited for.
    assert_eq!(stored_rows(&mut conn, &job.job_id).await, [0; 5]);

    let gone = status(mb.client.job(&job.job_id).await);
    assert_eq!(gone.code(), Code::NotFound, "{gone:?}");
    assert!(gone.message().contains("deleted"), "{gone:?}");
    let results = mb
        .client
        .for_each_result_page(&job.job_id, "", false, |_| Ok(()))
        .await
        .unwrap_err();
    assert!(results.to_string().contains("deleted"), "{results}");
    let again = status(mb.client.delete(&job.job_id).await);
    assert_eq!(again.code(), Code::NotFound, "{again:?}");
    let listed = mb
        .client
        .raw()
        .list_jobs(pb::ListJobsRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert!(listed.jobs.iter().all(|j| j.job_id != job.job_id));
    let audit = mb
        .client
        .raw()
        .list_audit_events(pb::ListAuditEventsRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert!(
        audit
            .events
            .iter()
            .any(|e| e.action == "DeleteJob" && e.target == job.job_id),
        "{audit:?}"
    );
    conn.close().await.unwrap();
    mb.stop().await;
    db.drop_now().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_job_deleted_while_it_runs_stops_and_leaves_nothing_behind() {
    let db = TestDatabase::create().await;
    let mut mb = Molbatch::start_on(Some(db.url.clone()), None).await;
    let job = mb.client.submit(molecules(6_000), "running").await.unwrap();
    // Delete it once a worker has started on it.
    let mut watch = mb
        .client
        .raw()
        .watch_job(pb::WatchJobRequest {
            job_id: job.job_id.clone(),
        })
        .await
        .unwrap()
        .into_inner();
    while let Some(event) = watch.message().await.unwrap() {
        if event.job.unwrap().state == pb::JobState::Running as i32 {
            break;
        }
    }
    mb.client.delete(&job.job_id).await.unwrap();
    let gone = status(mb.client.job(&job.job_id).await);
    assert!(gone.message().contains("deleted"), "{gone:?}");

    // A worker that was computing a chunk may still store it; the
    // scheduler then purges again. Bounded wait for no task to be leased
    // and nothing to be stored.
    let mut conn = sqlx::PgConnection::connect(&db.url).await.unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let active: i64 = sqlx::query_scalar(
            "select count(*) from scheduler.task where job_id = $1 and state in ('queued', 'leased')",
        )
        .bind(&job.job_id)
        .fetch_one(&mut conn)
        .await
        .unwrap();
        let purged: bool = sqlx::query_scalar("select purged from scheduler.job where id = $1")
            .bind(&job.job_id)
            .fetch_one(&mut conn)
            .await
            .unwrap();
        let stored = stored_rows(&mut conn, &job.job_id).await;
        if active == 0 && purged && stored == [0; 5] {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{active} tasks active, purged {purged}, rows stored {stored:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    conn.close().await.unwrap();
    mb.stop().await;
    db.drop_now().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_cancelled_job_retried_completes_with_the_results_of_a_fresh_submission() {
    let db = TestDatabase::create().await;
    let mut mb = Molbatch::start_on(Some(db.url.clone()), None).await;
    let input = molecules(4_000);
    let job = mb.client.submit(input.clone(), "retried").await.unwrap();
    let cancelled = mb.client.cancel(&job.job_id).await.unwrap();
    assert_eq!(cancelled.state, pb::JobState::Cancelled as i32);

    let retry = mb.client.retry(&job.job_id).await.unwrap();
    assert_ne!(retry.job_id, job.job_id);
    assert_eq!(retry.retry_of, job.job_id);
    assert_eq!(retry.display_name, "retried");
    assert_eq!(retry.total_molecules, 4_000);
    let retry = mb.client.wait(&retry.job_id, |_| {}).await.unwrap();
    assert_eq!(retry.state, pb::JobState::Completed as i32, "{retry:?}");
    assert_eq!(retry.processed_molecules, 4_000);

    let fresh = mb.client.submit(input, "fresh").await.unwrap();
    let fresh = mb.client.wait(&fresh.job_id, |_| {}).await.unwrap();
    let retried_results = results(&mut mb, &retry.job_id).await;
    assert_eq!(retried_results.len(), 4_000);
    assert_eq!(retried_results, results(&mut mb, &fresh.job_id).await);
    // The old job keeps its input: it can be retried again.
    let again = mb.client.retry(&job.job_id).await.unwrap();
    assert_eq!(again.retry_of, job.job_id);

    // Only failed or cancelled jobs whose input is stored.
    let completed = status(mb.client.retry(&fresh.job_id).await);
    assert_eq!(completed.code(), Code::FailedPrecondition, "{completed:?}");
    assert!(
        completed.message().contains("failed or cancelled"),
        "{completed:?}"
    );
    mb.client.delete(&job.job_id).await.unwrap();
    let deleted = status(mb.client.retry(&job.job_id).await);
    assert_eq!(deleted.code(), Code::NotFound, "{deleted:?}");
    mb.stop().await;
    db.drop_now().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_job_queued_behind_another_reports_its_place_and_estimated_times() {
    let mut mb = Molbatch::start().await;
    let ahead = mb.client.submit(molecules(8_000), "ahead").await.unwrap();
    let behind = mb.client.submit(molecules(2_000), "behind").await.unwrap();
    let queued = mb.client.job(&behind.job_id).await.unwrap();
    assert_eq!(queued.state, pb::JobState::Queued as i32, "{queued:?}");
    assert!(queued.queue_position > 0, "{queued:?}");
    assert_eq!(queued.percent_complete, 0.0);

    // Once a chunk is done the workers' throughput is measured, and the
    // job behind gets an expected start and end, in that order.
    let mut estimated = None;
    mb.client
        .wait(&behind.job_id, |job| {
            if estimated.is_none() && job.state == pb::JobState::Queued as i32 {
                if let (Some(start), Some(end)) =
                    (&job.estimated_start_time, &job.estimated_end_time)
                {
                    estimated = Some((job.clone(), millis(start), millis(end)));
                }
            }
        })
        .await
        .unwrap();
    let (job, start, end) = estimated.expect("estimates while it was queued");
    assert!(job.workers_molecules_per_second > 0.0, "{job:?}");
    assert!(start <= end, "{job:?}");
    let done = mb.client.job(&behind.job_id).await.unwrap();
    assert_eq!(done.percent_complete, 100.0);
    assert_eq!(done.queue_position, 0);
    assert!(
        done.estimated_end_time.is_none(),
        "an ended job has no estimate"
    );
    mb.client.wait(&ahead.job_id, |_| {}).await.unwrap();
    mb.stop().await;
}
