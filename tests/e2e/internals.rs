//! No client ever receives internal error text (issue 17 item 3): storage's
//! Postgres schema is broken under a running molbatch, and every call that
//! reaches it, through the gateway alone or through the gateway and
//! analytics, answers INTERNAL "internal error" while the log keeps the cause.

use std::io::Write;
use std::sync::{Arc, Mutex};

use molbatch_proto::v1 as pb;
use tonic::Code;

use crate::support::{Molbatch, TestDatabase};

/// Every log line written on this thread while it is alive.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Renames one of storage's tables, as a bad migration or an operator might.
async fn break_storage_table(url: &str, table: &str) {
    use sqlx::Connection;
    let mut conn = sqlx::PgConnection::connect(url).await.unwrap();
    sqlx::query(&format!(
        "alter table storage.{table} rename to {table}_gone"
    ))
    .execute(&mut conn)
    .await
    .unwrap();
}

fn assert_bare_internal(status: &tonic::Status, what: &str) {
    assert_eq!(status.code(), Code::Internal, "{what}: {status:?}");
    assert_eq!(status.message(), "internal error", "{what}: {status:?}");
    assert!(status.details().is_empty(), "{what}: {status:?}");
}

/// One thread runs every service, so the thread's log subscriber sees what
/// each of them logs.
#[tokio::test(flavor = "current_thread")]
async fn a_storage_failure_is_answered_without_its_internals() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::WARN)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let db = TestDatabase::create().await;
    let mut mb = Molbatch::start_on(Some(db.url.clone()), None).await;
    let molecules = ["CCO", "c1ccccc1O", "CC(=O)Oc1ccccc1C(=O)O"]
        .into_iter()
        .map(|smiles| pb::InputMolecule {
            smiles: smiles.to_owned(),
            ..Default::default()
        })
        .collect();
    let job = mb.client.submit(molecules, "three.smi").await.unwrap();
    let done = mb.client.wait(&job.job_id, |_| {}).await.unwrap();
    assert_eq!(done.state, pb::JobState::Completed as i32);

    break_storage_table(&db.url, "result_chunk").await;

    // Behind the gateway: GetResult reads the result from storage.
    let status = mb
        .client
        .raw()
        .get_result(pb::GetResultRequest {
            job_id: job.job_id.clone(),
            index: 0,
            include_fingerprint: false,
        })
        .await
        .unwrap_err();
    assert_bare_internal(&status, "GetResult");

    // Behind analytics: Depict of a job molecule reads it from storage.
    let status = mb
        .client
        .raw()
        .depict(pb::DepictRequest {
            job_id: job.job_id.clone(),
            index: Some(1),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_bare_internal(&status, "Depict");
    let status = mb
        .client
        .raw()
        .search_similar(pb::SearchSimilarRequest {
            job_id: job.job_id.clone(),
            smiles: "CCO".to_owned(),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_bare_internal(&status, "SearchSimilar");

    // Behind the gateway's upload: the input cannot be stored.
    break_storage_table(&db.url, "input_chunk").await;
    let status = match mb
        .client
        .submit(
            vec![pb::InputMolecule {
                smiles: "CCN".to_owned(),
                ..Default::default()
            }],
            "one.smi",
        )
        .await
    {
        Err(molbatch_client::ClientError::Status(status)) => status,
        other => panic!("SubmitBatch: {other:?}"),
    };
    assert_bare_internal(&status, "SubmitBatch");

    // REST answers the same, with nothing more in its JSON body.
    let url = format!("{}/v1/jobs/{}/results/0", mb.url(), job.job_id);
    let (code, body) = rest_get(&url, &mb.admin_key()).await;
    assert_eq!(code, 500, "{body}");
    assert_eq!(body["error"]["message"], "internal error", "{body}");
    assert!(!body.to_string().contains("result_chunk"), "{body}");

    // The causes are in the log: Postgres's own words, and each service
    // that saw the failure.
    let log = captured.text();
    assert!(log.contains("result_chunk"), "{log}");
    assert!(log.contains("input_chunk"), "{log}");
    assert!(log.contains("storage failure"), "{log}");
    assert!(log.contains("upstream service failed"), "{log}");
    assert!(
        log.contains("storage failed"),
        "analytics logs storage's failure: {log}"
    );
    mb.stop().await;
    db.drop_now().await;
}

/// A GET over plain HTTP/1.1; the status code and the JSON body.
async fn rest_get(url: &str, key: &str) -> (u16, serde_json::Value) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let rest = url.strip_prefix("http://").unwrap();
    let (host, path) = rest.split_once('/').unwrap();
    let mut stream = tokio::net::TcpStream::connect(host).await.unwrap();
    let request = format!(
        "GET /{path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {key}\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await.unwrap();
    let answer = String::from_utf8_lossy(&answer).into_owned();
    let code = answer[9..12].parse().unwrap();
    let body = answer.split_once("\r\n\r\n").unwrap().1;
    // Chunked or not, the JSON object is the body's first `{` to its last `}`.
    let json = &body[body.find('{').unwrap()..=body.rfind('}').unwrap()];
    (code, serde_json::from_str(json).unwrap())
}
