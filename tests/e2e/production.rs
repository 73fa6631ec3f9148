//! The same life of a batch on the production backends: Postgres for jobs,
//! the queue and results, Redis for the hot caches, each test on a database
//! of its own. Redis is only a cache: its keys vanish mid-job and nothing is
//! lost.

use molbatch_proto::v1 as pb;

use crate::support::{Molbatch, TestDatabase};

/// Deletes every cache key molbatch wrote (`molbatch:*`) — only keys, never
/// FLUSHALL, so other tests on the shared Redis are untouched.
async fn delete_cache_keys(redis_url: &str) -> usize {
    let client = redis::Client::open(redis_url).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg("molbatch:input:*")
        .query_async(&mut conn)
        .await
        .unwrap();
    if !keys.is_empty() {
        let _: () = redis::cmd("DEL")
            .arg(&keys)
            .query_async(&mut conn)
            .await
            .unwrap();
    }
    keys.len()
}

#[tokio::test]
async fn a_batch_completes_on_postgres_and_redis_while_the_cache_is_emptied() {
    let redis_url = std::env::var("MOLBATCH_TEST_REDIS_URL")
        .unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned());
    let db = TestDatabase::create().await;
    let mut mb = Molbatch::start_on(Some(db.url.clone()), Some(redis_url.clone())).await;

    let molecules: Vec<pb::InputMolecule> = (0..3_000)
        .map(|i| pb::InputMolecule {
            smiles: format!("{}O", "C".repeat(1 + i % 9)),
            id: format!("m{i}"),
            ..Default::default()
        })
        .collect();
    let job = mb.client.submit(molecules, "postgres-redis").await.unwrap();
    // Empty the cache while chunks are still being leased and read.
    let mut deleted = delete_cache_keys(&redis_url).await;
    let mut flushed_while_running = false;
    let job = mb
        .client
        .wait(&job.job_id, |j| {
            flushed_while_running |= j.state == pb::JobState::Running as i32;
        })
        .await
        .unwrap();
    deleted += delete_cache_keys(&redis_url).await;
    assert_eq!(job.state, pb::JobState::Completed as i32, "{job:?}");
    assert_eq!(
        (job.processed_molecules, job.valid_molecules),
        (3_000, 3_000)
    );

    let mut seen = Vec::new();
    mb.client
        .for_each_result_page(&job.job_id, "", false, |page| {
            seen.extend(page.into_iter().map(|r| (r.index, r.input_id)));
            Ok(())
        })
        .await
        .unwrap();
    assert_eq!(seen.len(), 3_000);
    for (i, (index, id)) in seen.iter().enumerate() {
        assert_eq!((*index, id.as_str()), (i as u64, format!("m{i}").as_str()));
    }
    eprintln!("deleted {deleted} cache keys; saw the job running: {flushed_while_running}");
    assert!(deleted > 0, "the inputs went through Redis");
    // And the durable copy is in Postgres, each service in its own schema.
    use sqlx::Connection;
    let mut conn = sqlx::PgConnection::connect(&db.url).await.unwrap();
    let jobs: i64 = sqlx::query_scalar("select count(*) from scheduler.job")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    let chunks: i64 = sqlx::query_scalar("select count(*) from storage.result_chunk")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!((jobs, chunks), (1, 3));
    conn.close().await.unwrap();
    mb.stop().await;
    db.drop_now().await;
}

#[tokio::test]
async fn an_ended_job_expires_with_not_found_saying_so_and_its_data_is_deleted() {
    let db = TestDatabase::create().await;
    let retention = std::time::Duration::from_secs(1);
    let mut mb = Molbatch::start_with(Some(db.url.clone()), None, retention).await;
    let molecules = vec![pb::InputMolecule {
        smiles: "CCO".into(),
        ..Default::default()
    }];
    let job = mb.client.submit(molecules, "short-lived").await.unwrap();
    let job = mb.client.wait(&job.job_id, |_| {}).await.unwrap();
    assert_eq!(job.state, pb::JobState::Completed as i32, "{job:?}");
    let end = job.end_time.unwrap();
    assert_eq!(
        job.expire_time.unwrap(),
        prost_types::Timestamp {
            seconds: end.seconds + 1,
            nanos: end.nanos
        }
    );

    // The retention pass runs every second: wait for it, bounded.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let status = loop {
        match mb.client.job(&job.job_id).await {
            Err(molbatch_client::ClientError::Status(s)) => break s,
            Ok(_) if std::time::Instant::now() < deadline => {
                tokio::time::sleep(std::time::Duration::from_millis(200)).await;
            }
            other => panic!("the job never expired: {other:?}"),
        }
    };
    assert_eq!(status.code(), tonic::Code::NotFound, "{status:?}");
    assert!(status.message().contains("expired"), "{status:?}");
    let results = mb
        .client
        .for_each_result_page(&job.job_id, "", false, |_| Ok(()))
        .await
        .unwrap_err();
    assert!(results.to_string().contains("expired"), "{results}");
    let listed = mb
        .client
        .raw()
        .list_jobs(pb::ListJobsRequest::default())
        .await
        .unwrap();
    assert!(listed
        .into_inner()
        .jobs
        .iter()
        .all(|j| j.job_id != job.job_id));

    // Storage deletes the inputs and results soon after (bounded wait).
    use sqlx::Connection;
    let mut conn = sqlx::PgConnection::connect(&db.url).await.unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let (inputs, results): (i64, i64) = sqlx::query_as(
            "select (select count(*) from storage.input_chunk), (select count(*) from storage.result_chunk)",
        )
        .fetch_one(&mut conn)
        .await
        .unwrap();
        let purged: bool = sqlx::query_scalar("select purged from scheduler.job")
            .fetch_one(&mut conn)
            .await
            .unwrap();
        if (inputs, results, purged) == (0, 0, true) {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "data never deleted: {inputs} inputs, {results} results, purged {purged}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    conn.close().await.unwrap();
    mb.stop().await;
    db.drop_now().await;
}
