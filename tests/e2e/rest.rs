//! The REST API as a client without gRPC sees it: `molbatch serve` started as
//! a user would, and plain HTTP/1.1 over loopback. Submit inline (both field
//! spellings), upload raw CSV and gzip bodies, follow a job, page and filter
//! results, cancel, watch over server-sent events, and the JSON errors of
//! broken requests. Every wait has a deadline, so a hang fails the test.

use std::process::Command;
use std::time::Duration;

use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::ServeProcess;

const BIN: &str = env!("CARGO_BIN_EXE_molbatch");
/// Longest any single request (or SSE stream) may take.
const DEADLINE: Duration = Duration::from_secs(120);

/// An HTTP response, its body de-chunked.
pub(crate) struct Reply {
    pub(crate) status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub(crate) fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "HTTP {} body is not JSON ({e}): {}",
                self.status,
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    /// The JSON body, after checking the status.
    pub(crate) fn expect(&self, status: u16) -> Value {
        assert_eq!(
            self.status,
            status,
            "{}",
            String::from_utf8_lossy(&self.body)
        );
        self.json()
    }

    /// The first field violation of a Google JSON error: (field, description).
    pub(crate) fn violation(&self) -> (String, String) {
        let body = self.json();
        let details = body["error"]["details"].as_array().unwrap();
        let bad = details
            .iter()
            .find(|d| d["@type"] == "type.googleapis.com/google.rpc.BadRequest")
            .unwrap_or_else(|| panic!("no BadRequest in {body}"));
        let first = &bad["fieldViolations"][0];
        (
            first["field"].as_str().unwrap().to_owned(),
            first["description"].as_str().unwrap().to_owned(),
        )
    }
}

/// A request body: none, whole, or sent in chunks (`Transfer-Encoding:
/// chunked`).
pub(crate) enum Payload<'a> {
    None,
    Bytes(&'a [u8]),
    Chunked(Vec<Vec<u8>>),
}

pub(crate) async fn http(
    serve: &ServeProcess,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    payload: Payload<'_>,
) -> Reply {
    let bearer = format!("Bearer {}", serve.api_key);
    let mut headers = headers.to_vec();
    if !headers
        .iter()
        .any(|(name, _)| name.eq_ignore_ascii_case("authorization"))
    {
        headers.push(("Authorization", &bearer));
    }
    tokio::time::timeout(
        DEADLINE,
        exchange(serve.addr(), method, path, &headers, payload),
    )
    .await
    .unwrap_or_else(|_| panic!("{method} {path} took longer than {DEADLINE:?}"))
}

async fn exchange(
    addr: &str,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    payload: Payload<'_>,
) -> Reply {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    match &payload {
        Payload::None => head.push_str("Content-Length: 0\r\n"),
        Payload::Bytes(bytes) => head.push_str(&format!("Content-Length: {}\r\n", bytes.len())),
        Payload::Chunked(_) => head.push_str("Transfer-Encoding: chunked\r\n"),
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).await.unwrap();
    match payload {
        Payload::None => {}
        Payload::Bytes(bytes) => stream.write_all(bytes).await.unwrap(),
        Payload::Chunked(chunks) => {
            for chunk in chunks {
                stream
                    .write_all(format!("{:x}\r\n", chunk.len()).as_bytes())
                    .await
                    .unwrap();
                stream.write_all(&chunk).await.unwrap();
                stream.write_all(b"\r\n").await.unwrap();
                stream.flush().await.unwrap();
            }
            stream.write_all(b"0\r\n\r\n").await.unwrap();
        }
    }
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.unwrap();
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a complete response head");
    let head = String::from_utf8(raw[..end].to_vec()).unwrap();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let mut body = raw[end + 4..].to_vec();
    let chunked = headers
        .iter()
        .any(|(n, v)| n.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked"));
    if chunked {
        body = dechunk(&body);
    }
    Reply {
        status,
        headers,
        body,
    }
}

fn dechunk(mut raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let Some(line_end) = raw.windows(2).position(|w| w == b"\r\n") else {
            return out;
        };
        let size_text = String::from_utf8_lossy(&raw[..line_end]);
        let size = usize::from_str_radix(size_text.split(';').next().unwrap().trim(), 16).unwrap();
        if size == 0 {
            return out;
        }
        let start = line_end + 2;
        out.extend_from_slice(&raw[start..start + size]);
        raw = &raw[start + size + 2..];
    }
}

pub(crate) async fn post_json(serve: &ServeProcess, path: &str, body: &Value) -> Reply {
    let text = body.to_string();
    http(
        serve,
        "POST",
        path,
        &[("Content-Type", "application/json")],
        Payload::Bytes(text.as_bytes()),
    )
    .await
}

pub(crate) async fn get(serve: &ServeProcess, path: &str) -> Reply {
    http(serve, "GET", path, &[], Payload::None).await
}

/// Polls `GET /v1/jobs/{id}` until the job has ended; returns it.
pub(crate) async fn wait_until_ended(serve: &ServeProcess, job_id: &str) -> Value {
    let deadline = tokio::time::Instant::now() + DEADLINE;
    loop {
        let job = get(serve, &format!("/v1/jobs/{job_id}")).await.expect(200);
        let state = job["state"].as_str().unwrap().to_owned();
        if matches!(
            state.as_str(),
            "JOB_STATE_COMPLETED" | "JOB_STATE_FAILED" | "JOB_STATE_CANCELLED"
        ) {
            return job;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "job {job_id} still {state}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn rest_submits_inline_in_both_spellings_and_pages_filtered_results() {
    let serve = ServeProcess::start();
    let camel = post_json(
        &serve,
        "/v1/jobs",
        &json!({
            "displayName": "camel",
            "molecules": [
                {"smiles": "CCO", "id": "ethanol", "properties": {"pKi": "5.1"}},
                {"smiles": "C1CC", "id": "broken"},
                {"smiles": "c1ccccc1C(=O)O.[Na+]", "id": "benzoate"}
            ]
        }),
    )
    .await
    .expect(200);
    let job_id = camel["jobId"].as_str().unwrap().to_owned();
    assert_eq!(camel["displayName"], "camel");
    assert_eq!(camel["totalMolecules"], 3, "64-bit integers are numbers");

    let snake = post_json(
        &serve,
        "/v1/jobs",
        &json!({"display_name": "snake", "molecules": [{"smiles": "CCN"}]}),
    )
    .await
    .expect(200);
    assert_eq!(snake["displayName"], "snake");

    let job = wait_until_ended(&serve, &job_id).await;
    assert_eq!(job["state"], "JOB_STATE_COMPLETED", "{job}");
    assert_eq!(job["validMolecules"], 2);
    assert_eq!(job["invalidMolecules"], 1);
    // REST answers with exactly the JSON `molbatch ... --output json` prints.
    let cli = Command::new(BIN)
        .args(["status", &job_id, "--output", "json"])
        .env("MOLBATCH_SERVER", format!("http://{}", serve.addr()))
        .env("MOLBATCH_API_KEY", &serve.api_key)
        .output()
        .unwrap();
    assert!(
        cli.status.success(),
        "{}",
        String::from_utf8_lossy(&cli.stderr)
    );
    let cli: Value = serde_json::from_slice(&cli.stdout).unwrap();
    assert_eq!(cli, job);

    let page = get(&serve, &format!("/v1/jobs/{job_id}/results?pageSize=2"))
        .await
        .expect(200);
    let results = page["results"].as_array().unwrap();
    assert_eq!(results.len(), 2);
    assert_eq!(results[0]["canonicalSmiles"], "CCO");
    assert_eq!(results[0]["inputId"], "ethanol");
    assert_eq!(results[0]["inchiKey"], "LFQSCWFLJHTTHZ-UHFFFAOYSA-N");
    assert_eq!(results[0]["properties"]["pKi"], "5.1");
    assert_eq!(page["totalSize"], 3);
    let token = page["nextPageToken"].as_str().unwrap();
    assert!(!token.is_empty());
    let rest = get(
        &serve,
        &format!("/v1/jobs/{job_id}/results?page_size=2&pageToken={token}"),
    )
    .await
    .expect(200);
    assert_eq!(rest["results"][0]["index"], 2);
    assert_eq!(rest["results"][0]["standardizedSmiles"], "O=C(O)c1ccccc1");
    assert_eq!(rest["nextPageToken"], "");

    let invalid = get(&serve, &format!("/v1/jobs/{job_id}/results?filter=invalid"))
        .await
        .expect(200);
    let invalid = invalid["results"].as_array().unwrap();
    assert_eq!(invalid.len(), 1);
    assert_eq!(invalid[0]["errorCode"], "SMILES_SYNTAX");
    assert_eq!(invalid[0]["valid"], false);

    let jobs = get(&serve, "/v1/jobs?pageSize=10").await.expect(200);
    let ids: Vec<&str> = jobs["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["jobId"].as_str().unwrap())
        .collect();
    assert!(ids.contains(&job_id.as_str()), "{jobs}");
    assert!(ids.contains(&snake["jobId"].as_str().unwrap()), "{jobs}");
}

#[tokio::test]
async fn rest_uploads_raw_csv_gzip_and_chunked_bodies() {
    use std::io::Write;
    let serve = ServeProcess::start();
    let csv = "name;SMILES;pKi\nethanol;CCO;5\nbroken;C1CC;6\nphenol;c1ccc(O)cc1;7\n";
    let uploaded = http(
        &serve,
        "POST",
        "/v1/jobs:upload?format=csv&smilesColumn=SMILES&id_column=name&displayName=assay.csv",
        &[("Content-Type", "text/csv")],
        Payload::Bytes(csv.as_bytes()),
    )
    .await
    .expect(200);
    assert_eq!(uploaded["displayName"], "assay.csv");
    assert_eq!(uploaded["totalMolecules"], 3);
    let csv_job = uploaded["jobId"].as_str().unwrap().to_owned();

    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(b"CCO one\nCCN two\nCCC three\nC1CC four\n")
        .unwrap();
    let gz = gz.finish().unwrap();
    let gzipped = http(
        &serve,
        "POST",
        "/v1/jobs:upload?displayName=batch.smi.gz",
        &[("Content-Type", "application/octet-stream")],
        Payload::Bytes(&gz),
    )
    .await
    .expect(200);
    assert_eq!(gzipped["totalMolecules"], 4);
    let gz_job = gzipped["jobId"].as_str().unwrap().to_owned();

    // The same SMILES as a gzip stream declared with Content-Encoding, sent in
    // small chunks.
    let chunks: Vec<Vec<u8>> = gz.chunks(7).map(<[u8]>::to_vec).collect();
    let encoded = http(
        &serve,
        "POST",
        "/v1/jobs:upload?format=INPUT_FORMAT_SMILES",
        &[
            ("Content-Type", "chemical/x-daylight-smiles"),
            ("Content-Encoding", "gzip"),
        ],
        Payload::Chunked(chunks),
    )
    .await
    .expect(200);
    assert_eq!(encoded["totalMolecules"], 4);

    let csv_done = wait_until_ended(&serve, &csv_job).await;
    assert_eq!(csv_done["state"], "JOB_STATE_COMPLETED", "{csv_done}");
    let results = get(&serve, &format!("/v1/jobs/{csv_job}/results"))
        .await
        .expect(200);
    let results = results["results"].as_array().unwrap();
    assert_eq!(results[0]["inputId"], "ethanol");
    assert_eq!(results[0]["properties"]["pKi"], "5");
    assert_eq!(results[1]["valid"], false);
    assert_eq!(results[2]["canonicalSmiles"], "Oc1ccccc1");

    let gz_done = wait_until_ended(&serve, &gz_job).await;
    assert_eq!(gz_done["state"], "JOB_STATE_COMPLETED");
    assert_eq!(gz_done["validMolecules"], 3);
}

#[tokio::test]
async fn rest_watch_streams_events_until_the_job_ends() {
    let serve = ServeProcess::start();
    let molecules: Vec<Value> = (0..200).map(|_| json!({"smiles": "c1ccccc1O"})).collect();
    let job = post_json(&serve, "/v1/jobs", &json!({"molecules": molecules}))
        .await
        .expect(200);
    let job_id = job["jobId"].as_str().unwrap();
    let watch = http(
        &serve,
        "GET",
        &format!("/v1/jobs/{job_id}:watch"),
        &[("Accept", "text/event-stream")],
        Payload::None,
    )
    .await;
    assert_eq!(watch.status, 200);
    assert!(watch
        .header("content-type")
        .unwrap()
        .starts_with("text/event-stream"));
    let text = String::from_utf8(watch.body).unwrap();
    let mut events = Vec::new();
    for block in text.split("\n\n").filter(|b| !b.trim().is_empty()) {
        let mut name = None;
        let mut data = String::new();
        for line in block.lines() {
            if let Some(n) = line.strip_prefix("event:") {
                name = Some(n.trim().to_owned());
            } else if let Some(d) = line.strip_prefix("data:") {
                data.push_str(d.trim_start());
            }
        }
        if let Some(name) = name {
            events.push((name, data));
        }
    }
    assert!(!events.is_empty(), "{text}");
    assert!(events.iter().all(|(name, _)| name == "JobEvent"), "{text}");
    let last: Value = serde_json::from_str(&events.last().unwrap().1).unwrap();
    assert_eq!(last["job"]["jobId"], job_id);
    assert_eq!(last["job"]["state"], "JOB_STATE_COMPLETED", "{text}");
    assert_eq!(last["job"]["processedMolecules"], 200);

    // Watching a job that does not exist is a plain 404, not a stream.
    let missing = get(
        &serve,
        "/v1/jobs/00000000-0000-7000-8000-000000000000:watch",
    )
    .await;
    assert_eq!(missing.expect(404)["error"]["status"], "NOT_FOUND");
}

#[tokio::test]
async fn rest_cancel_ends_a_job_and_refuses_an_ended_one() {
    let serve = ServeProcess::start();
    let molecules: Vec<Value> = (0..5_000)
        .map(|i| json!({"smiles": "CCO", "id": i.to_string()}))
        .collect();
    let job = post_json(&serve, "/v1/jobs", &json!({"molecules": molecules}))
        .await
        .expect(200);
    let job_id = job["jobId"].as_str().unwrap();
    let cancel = http(
        &serve,
        "POST",
        &format!("/v1/jobs/{job_id}:cancel"),
        &[],
        Payload::None,
    )
    .await;
    if cancel.status == 200 {
        assert_eq!(cancel.json()["state"], "JOB_STATE_CANCELLED");
    } else {
        // It finished first.
        assert_eq!(cancel.expect(400)["error"]["status"], "FAILED_PRECONDITION");
    }
    let ended = wait_until_ended(&serve, job_id).await;
    assert_ne!(ended["state"], "JOB_STATE_FAILED");
    let again = post_json(&serve, &format!("/v1/jobs/{job_id}:cancel"), &json!({})).await;
    let error = again.expect(400);
    assert_eq!(error["error"]["code"], 400);
    assert_eq!(error["error"]["status"], "FAILED_PRECONDITION");
}

#[tokio::test]
async fn rest_retries_a_cancelled_job_and_deletes_jobs() {
    let serve = ServeProcess::start();
    let molecules: Vec<Value> = (0..2_000)
        .map(|i| json!({"smiles": "CCO", "id": i.to_string()}))
        .collect();
    let job = post_json(
        &serve,
        "/v1/jobs",
        &json!({"molecules": molecules, "displayName": "to retry"}),
    )
    .await
    .expect(200);
    let job_id = job["jobId"].as_str().unwrap();
    let cancel = post_json(&serve, &format!("/v1/jobs/{job_id}:cancel"), &json!({})).await;
    if cancel.status != 200 {
        // It completed first: a completed job is not retried.
        let refused = post_json(&serve, &format!("/v1/jobs/{job_id}:retry"), &json!({})).await;
        assert_eq!(
            refused.expect(400)["error"]["status"],
            "FAILED_PRECONDITION"
        );
        return;
    }
    let retry = post_json(&serve, &format!("/v1/jobs/{job_id}:retry"), &json!({}))
        .await
        .expect(200);
    assert_eq!(retry["retryOf"], job_id, "{retry}");
    assert_eq!(retry["displayName"], "to retry");
    assert_eq!(retry["totalMolecules"], 2000);
    let retry_id = retry["jobId"].as_str().unwrap();
    let ended = wait_until_ended(&serve, retry_id).await;
    assert_eq!(ended["state"], "JOB_STATE_COMPLETED", "{ended}");
    assert_eq!(ended["validMolecules"], 2000);

    for id in [job_id, retry_id] {
        let deleted = http(
            &serve,
            "DELETE",
            &format!("/v1/jobs/{id}"),
            &[],
            Payload::None,
        )
        .await
        .expect(200);
        assert_eq!(deleted["jobId"], id, "{deleted}");
        assert!(deleted["deleteTime"].is_string(), "{deleted}");
        let gone = get(&serve, &format!("/v1/jobs/{id}")).await.expect(404);
        assert_eq!(gone["error"]["status"], "NOT_FOUND");
        let message = gone["error"]["message"].as_str().unwrap();
        assert!(message.contains("deleted"), "{message}");
        let results = get(&serve, &format!("/v1/jobs/{id}/results")).await;
        assert_eq!(results.status, 404);
    }
    let again = http(
        &serve,
        "DELETE",
        &format!("/v1/jobs/{job_id}"),
        &[],
        Payload::None,
    )
    .await;
    assert_eq!(again.status, 404);
    let bad = http(&serve, "DELETE", "/v1/jobs/not-a-job", &[], Payload::None).await;
    assert_eq!(bad.violation().0, "job_id");
}

#[tokio::test]
async fn rest_errors_are_google_json_naming_the_field() {
    let serve = ServeProcess::start();

    let malformed = http(
        &serve,
        "POST",
        "/v1/jobs",
        &[("Content-Type", "application/json")],
        Payload::Bytes(b"{\"molecules\": [{\"smiles\": \"CCO\"}"),
    )
    .await;
    let body = malformed.expect(400);
    assert_eq!(body["error"]["status"], "INVALID_ARGUMENT");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("column"),
        "{body}"
    );

    let unknown = post_json(
        &serve,
        "/v1/jobs",
        &json!({"molecules": [{"smiles": "CCO", "colour": "red"}]}),
    )
    .await;
    assert_eq!(unknown.status, 400);
    let (field, description) = unknown.violation();
    assert_eq!(field, "molecules[0].colour");
    assert!(description.contains("unknown field"), "{description}");

    let empty = post_json(&serve, "/v1/jobs", &json!({"molecules": []})).await;
    assert_eq!(empty.status, 400);
    assert_eq!(empty.violation().0, "molecules");

    let missing = get(&serve, "/v1/jobs/00000000-0000-7000-8000-000000000000").await;
    let body = missing.expect(404);
    assert_eq!(body["error"]["code"], 404);
    assert_eq!(body["error"]["status"], "NOT_FOUND");

    for bad in [
        "/v1/jobs/not-a-job",
        "/v1/jobs/%zz",
        "/v1/jobs/%C3%28/results",
    ] {
        let invalid = get(&serve, bad).await;
        assert_eq!(invalid.status, 400, "{bad}");
        assert_eq!(invalid.violation().0, "job_id", "{bad}");
    }

    let bad_param = get(&serve, "/v1/jobs?pageSize=lots").await;
    assert_eq!(bad_param.status, 400);
    assert_eq!(bad_param.violation().0, "page_size");
    let unknown_param = get(&serve, "/v1/jobs?colour=red").await;
    assert_eq!(unknown_param.status, 400);
    assert_eq!(unknown_param.violation().0, "colour");

    let wrong_method = http(&serve, "DELETE", "/v1/jobs/x:cancel", &[], Payload::None).await;
    assert_eq!(wrong_method.status, 405);
    assert_eq!(wrong_method.header("allow"), Some("POST"));
    assert_eq!(wrong_method.json()["error"]["code"], 405);

    let nowhere = get(&serve, "/v1/nowhere").await;
    assert_eq!(nowhere.expect(404)["error"]["status"], "NOT_FOUND");

    let bad_line = http(
        &serve,
        "POST",
        "/v1/jobs:upload?format=csv",
        &[("Content-Type", "text/csv")],
        Payload::Bytes(b"smiles,pKi\nCCO,5\nCCN,6,7\n"),
    )
    .await;
    assert_eq!(bad_line.status, 400);
    let (field, description) = bad_line.violation();
    assert_eq!(field, "file");
    assert!(description.contains("line 3"), "{description}");

    let no_column = http(
        &serve,
        "POST",
        "/v1/jobs:upload?format=csv&smilesColumn=structure_smiles",
        &[("Content-Type", "text/csv")],
        Payload::Bytes(b"smiles,pKi\nCCO,5\n"),
    )
    .await;
    assert_eq!(no_column.status, 400);
    assert_eq!(no_column.violation().0, "options.smiles_column");

    let no_format = http(
        &serve,
        "POST",
        "/v1/jobs:upload",
        &[("Content-Type", "application/octet-stream")],
        Payload::Bytes(b"CCO\n"),
    )
    .await;
    assert_eq!(no_format.status, 400);
    assert_eq!(no_format.violation().0, "options.format");

    let openapi = get(&serve, "/openapi.json").await.expect(200);
    assert_eq!(openapi["openapi"], "3.0.3");
    assert!(openapi["paths"]["/v1/jobs/{job_id}:cancel"]["post"].is_object());
    assert_eq!(get(&serve, "/healthz").await.status, 200);
}

/// `body` as JSON sent with `key` (and extra headers).
async fn post_as(
    serve: &ServeProcess,
    key: &str,
    path: &str,
    body: &Value,
    extra: &[(&str, &str)],
) -> Reply {
    let text = body.to_string();
    let bearer = format!("Bearer {key}");
    let mut headers = vec![
        ("Content-Type", "application/json"),
        ("Authorization", bearer.as_str()),
    ];
    headers.extend_from_slice(extra);
    http(
        serve,
        "POST",
        path,
        &headers,
        Payload::Bytes(text.as_bytes()),
    )
    .await
}

pub(crate) async fn get_as(serve: &ServeProcess, key: &str, path: &str) -> Reply {
    let bearer = format!("Bearer {key}");
    http(
        serve,
        "GET",
        path,
        &[("Authorization", &bearer)],
        Payload::None,
    )
    .await
}

#[tokio::test]
async fn rest_keys_roles_tenants_idempotency_and_rate_limits() {
    let serve = ServeProcess::start();
    let admin = serve.api_key.clone();
    // The bootstrap key file is private to its owner.
    let tenant = post_as(
        &serve,
        &admin,
        "/v1/tenants",
        &json!({"tenantId": "lab", "quotas": {"requestsPerSecond": 1, "burst": 30}}),
        &[],
    )
    .await
    .expect(200);
    assert_eq!(tenant["quotas"]["burst"], 30);
    let bad_tenant = post_as(
        &serve,
        &admin,
        "/v1/tenants",
        &json!({"tenantId": "Bad Id"}),
        &[],
    )
    .await;
    assert_eq!(bad_tenant.violation().0, "tenant_id");
    let mut keys = Vec::new();
    for role in ["ROLE_VIEWER", "ROLE_USER"] {
        let key = post_as(
            &serve,
            &admin,
            "/v1/tenants/lab/keys",
            &json!({"role": role}),
            &[],
        )
        .await
        .expect(200);
        keys.push(key["secret"].as_str().unwrap().to_owned());
    }
    let (viewer, user) = (&keys[0], &keys[1]);
    let no_role = post_as(&serve, &admin, "/v1/tenants/lab/keys", &json!({}), &[]).await;
    assert_eq!(no_role.violation().0, "role");

    // No key: 401; a viewer submitting: 403; both Google JSON errors.
    let anonymous = http(
        &serve,
        "GET",
        "/v1/jobs",
        &[("Authorization", "")],
        Payload::None,
    )
    .await;
    let error = anonymous.expect(401);
    assert_eq!(error["error"]["status"], "UNAUTHENTICATED");
    let molecules = json!({"molecules": [{"smiles": "CCO"}, {"smiles": "CCN"}]});
    let error = post_as(&serve, viewer, "/v1/jobs", &molecules, &[])
        .await
        .expect(403);
    assert!(
        error["error"]["message"]
            .as_str()
            .unwrap()
            .contains("user role"),
        "{error}"
    );

    // The same Idempotency-Key returns the same job.
    let idem = [("Idempotency-Key", "batch-2026-11-24")];
    let first = post_as(&serve, user, "/v1/jobs", &molecules, &idem)
        .await
        .expect(200);
    let again = post_as(&serve, user, "/v1/jobs", &molecules, &idem)
        .await
        .expect(200);
    assert_eq!(first["jobId"], again["jobId"]);
    assert_eq!(again["idempotentReplay"], true);
    let job_id = first["jobId"].as_str().unwrap().to_owned();

    // Another tenant's job is 404, for the operator's admin too.
    let theirs = get_as(&serve, &admin, &format!("/v1/jobs/{job_id}")).await;
    assert_eq!(theirs.status, 404);
    let whoami = get_as(&serve, viewer, "/v1/whoami").await.expect(200);
    assert_eq!(
        (whoami["tenantId"].as_str(), whoami["role"].as_str()),
        (Some("lab"), Some("ROLE_VIEWER"))
    );

    // Lower the rate to 1 per second with a burst of 2: quick reads get 429
    // with Retry-After.
    let updated = http(
        &serve,
        "PATCH",
        "/v1/tenants/lab",
        &[
            ("Content-Type", "application/json"),
            ("Authorization", &format!("Bearer {admin}")),
        ],
        Payload::Bytes(
            json!({"quotas": {"requestsPerSecond": 1, "burst": 2}})
                .to_string()
                .as_bytes(),
        ),
    )
    .await
    .expect(200);
    assert_eq!(updated["quotas"]["burst"], 2);
    let mut limited = None;
    for _ in 0..10 {
        let reply = get_as(&serve, viewer, &format!("/v1/jobs/{job_id}")).await;
        if reply.status == 429 {
            limited = Some(reply);
            break;
        }
        reply.expect(200);
    }
    let limited = limited.expect("ten quick reads at 1/s with a burst of 2 hit the limit");
    assert!(limited.header("retry-after").is_some());
    assert_eq!(limited.json()["error"]["status"], "RESOURCE_EXHAUSTED");

    // Revoked: 401 naming the revocation.
    let key_id = whoami["keyId"].as_str().unwrap();
    post_as(
        &serve,
        &admin,
        &format!("/v1/keys/{key_id}:revoke"),
        &json!({}),
        &[],
    )
    .await
    .expect(200);
    let revoked = get_as(&serve, viewer, "/v1/jobs").await.expect(401);
    assert!(revoked["error"]["message"]
        .as_str()
        .unwrap()
        .contains("revoked"));
    let audit = get_as(&serve, &admin, "/v1/audit?tenantId=lab")
        .await
        .expect(200);
    assert_eq!(audit["events"][0]["action"], "RevokeApiKey");
}

#[tokio::test]
async fn malformed_uploads_each_get_their_documented_error() {
    let serve = ServeProcess::start();
    let upload = |query: &'static str, content_type: &'static str, body: &'static [u8]| {
        let serve = &serve;
        async move {
            http(
                serve,
                "POST",
                &format!("/v1/jobs:upload?{query}"),
                &[("Content-Type", content_type)],
                Payload::Bytes(body),
            )
            .await
        }
    };
    // Bad UTF-8 on line 2 of a SMILES file.
    let utf8 = upload(
        "format=smiles",
        "text/plain",
        b"CCO ethanol\nCCN \xff\xfe\n",
    )
    .await;
    let (field, description) = utf8.violation();
    assert_eq!((utf8.status, field.as_str()), (400, "file"));
    assert!(
        description.contains("line 2") && description.contains("UTF-8"),
        "{description}"
    );
    // An SD file cut off inside its first record.
    let sdf = upload(
        "format=sdf",
        "chemical/x-mdl-sdfile",
        b"ethanol\n  RDKit\n\n  3  2  0  0  0  0  0  0  0  0999 V2000\n",
    )
    .await;
    let (field, description) = sdf.violation();
    assert_eq!((sdf.status, field.as_str()), (400, "file"));
    assert!(description.contains("M  END"), "{description}");
    // No molecules at all.
    let empty = upload("format=csv", "text/csv", b"smiles,pKi\n").await;
    let (field, description) = empty.violation();
    assert_eq!((empty.status, field.as_str()), (400, "file"));
    assert!(description.contains("no molecules"), "{description}");
    // A CSV without the SMILES column it names.
    let column = upload(
        "format=csv&smilesColumn=smi",
        "text/csv",
        b"structure,pKi\nCCO,5\n",
    )
    .await;
    assert_eq!(
        (column.status, column.violation().0.as_str()),
        (400, "options.smiles_column")
    );
    // A browser form instead of the file: 415 naming the header.
    let form = upload(
        "format=smiles",
        "multipart/form-data; boundary=x",
        b"--x\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\nCCO\r\n--x--\r\n",
    )
    .await;
    let (field, description) = form.violation();
    assert_eq!((form.status, field.as_str()), (415, "Content-Type"));
    assert!(description.contains("the file itself"), "{description}");
    // JSON routes read JSON only.
    let text = http(
        &serve,
        "POST",
        "/v1/jobs",
        &[("Content-Type", "text/plain")],
        Payload::Bytes(b"CCO"),
    )
    .await;
    assert_eq!(
        (text.status, text.violation().0.as_str()),
        (415, "Content-Type")
    );
    // Every rejected upload left a FAILED job with its reason and no tasks,
    // and the refused media types left none.
    let jobs = get(&serve, "/v1/jobs").await.expect(200);
    let jobs = jobs["jobs"].as_array().unwrap();
    assert_eq!(jobs.len(), 4, "{jobs:?}");
    for job in jobs {
        assert_eq!(job["state"], "JOB_STATE_FAILED", "{job}");
        assert!(
            job["error"]
                .as_str()
                .unwrap()
                .starts_with("upload rejected"),
            "{job}"
        );
        assert_eq!(job["totalChunks"], 0, "no tasks: {job}");
    }
}

/// Polls `GET /v1/exports/{id}` until the export has finished; returns it.
async fn wait_for_export(serve: &ServeProcess, export_id: &str) -> Value {
    let deadline = tokio::time::Instant::now() + DEADLINE;
    loop {
        let export = get(serve, &format!("/v1/exports/{export_id}"))
            .await
            .expect(200);
        let state = export["state"].as_str().unwrap().to_owned();
        if matches!(
            state.as_str(),
            "EXPORT_STATE_COMPLETE" | "EXPORT_STATE_FAILED"
        ) {
            return export;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "export {export_id} still {state}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Submits three molecules (one invalid) and waits for the job; its id.
async fn three_molecule_job(serve: &ServeProcess) -> String {
    let job = post_json(
        serve,
        "/v1/jobs",
        &json!({"molecules": [
            {"smiles": "CCO", "id": "ethanol", "properties": {"pKi": "5.1"}},
            {"smiles": "C1CC", "id": "broken"},
            {"smiles": "c1ccccc1O", "id": "phenol", "properties": {"pKi": "6.2"}}
        ]}),
    )
    .await
    .expect(200);
    let job_id = job["jobId"].as_str().unwrap().to_owned();
    assert_eq!(
        wait_until_ended(serve, &job_id).await["state"],
        "JOB_STATE_COMPLETED"
    );
    job_id
}

#[tokio::test]
async fn rest_exports_are_checked_queued_and_downloaded_as_files() {
    let serve = ServeProcess::start();
    let job_id = three_molecule_job(&serve).await;
    let exports = format!("/v1/jobs/{job_id}/exports");

    // Checked before anything is queued: every bad field named.
    let bad = post_json(
        &serve,
        &exports,
        &json!({"format": "xls", "filter": "heavy"}),
    )
    .await;
    assert_eq!(bad.status, 400, "{}", String::from_utf8_lossy(&bad.body));
    let body = bad.json();
    let fields: Vec<&str> = body["error"]["details"][0]["fieldViolations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["format", "filter"], "{body}");
    let (field, _) = post_json(&serve, &exports, &json!({})).await.violation();
    assert_eq!(field, "format");
    let (field, _) = get(&serve, "/v1/exports/not-an-id").await.violation();
    assert_eq!(field, "export_id");
    let unknown = get(&serve, &format!("/v1/exports/{job_id}.0123456789ab")).await;
    assert_eq!(unknown.status, 404);

    // CSV of the valid molecules: the same bytes `molbatch results` writes.
    let created = post_json(
        &serve,
        &exports,
        &json!({"format": "csv", "filter": "valid"}),
    )
    .await
    .expect(200);
    let export_id = created["exportId"].as_str().unwrap().to_owned();
    assert!(export_id.starts_with(&job_id), "{created}");
    let export = wait_for_export(&serve, &export_id).await;
    assert_eq!(export["state"], "EXPORT_STATE_COMPLETE", "{export}");
    assert_eq!(export["molecules"], 2);
    assert_eq!(export["filter"], "valid");
    assert_eq!(export["fileName"], format!("{job_id}.csv"));
    assert!(export["expireTime"].is_string(), "{export}");
    let file = get(&serve, &format!("/v1/exports/{export_id}:download")).await;
    assert_eq!(file.status, 200);
    assert_eq!(file.header("content-type"), Some("text/csv; charset=utf-8"));
    assert_eq!(export["bytes"], file.body.len());
    let cli = Command::new(BIN)
        .args(["results", &job_id, "--format", "csv", "--filter", "valid"])
        .env("MOLBATCH_SERVER", format!("http://{}", serve.addr()))
        .env("MOLBATCH_API_KEY", &serve.api_key)
        .output()
        .unwrap();
    assert!(cli.status.success());
    assert_eq!(
        String::from_utf8(file.body.clone()).unwrap(),
        String::from_utf8(cli.stdout).unwrap()
    );

    // `molbatch export` goes through the same resource: an SD file.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("job.sdf");
    let cli = Command::new(BIN)
        .args([
            "export",
            &job_id,
            "--format",
            "sdf",
            "-o",
            path.to_str().unwrap(),
        ])
        .env("MOLBATCH_SERVER", format!("http://{}", serve.addr()))
        .env("MOLBATCH_API_KEY", &serve.api_key)
        .output()
        .unwrap();
    assert!(
        cli.status.success(),
        "{}",
        String::from_utf8_lossy(&cli.stderr)
    );
    let sdf = std::fs::read_to_string(&path).unwrap();
    assert_eq!(sdf.matches("$$$$\n").count(), 3);
    assert!(sdf.starts_with("ethanol\n"), "{sdf}");
    assert!(sdf.contains("> <pKi>\n6.2\n"));

    // JSON: one array of results as ListResults shows them.
    let created = post_json(&serve, &exports, &json!({"format": "json"}))
        .await
        .expect(200);
    let export_id = created["exportId"].as_str().unwrap();
    wait_for_export(&serve, export_id).await;
    let file = get(&serve, &format!("/v1/exports/{export_id}:download")).await;
    assert_eq!(file.header("content-type"), Some("application/json"));
    let results = file.json();
    let listed = get(&serve, &format!("/v1/jobs/{job_id}/results"))
        .await
        .expect(200);
    assert_eq!(results, listed["results"]);
}

/// The `qed` of a result as JSON gives it; `None` when absent.
fn qed(result: &Value) -> Option<f64> {
    result["qed"].as_f64()
}

#[tokio::test]
async fn rest_sorts_and_filters_results_on_the_server_and_gets_one_by_index() {
    let serve = ServeProcess::start();
    let smiles = [
        "CCO",
        "O=C1NC(=S)SC1=Cc1ccccc1",
        "C1CC",
        "NCCc1ccc(O)c(O)c1",
        "CC(=O)Oc1ccccc1C(=O)O",
        "c1ccc2ccccc2c1",
        "O=C1C=CC(=O)C=C1",
        "CN1CCC[C@H]1c1cccnc1",
        "Oc1ccc(C=Cc2ccc(O)c(O)c2)cc1",
    ];
    let molecules: Vec<Value> = smiles.iter().map(|s| json!({"smiles": s})).collect();
    let job = post_json(&serve, "/v1/jobs", &json!({"molecules": molecules}))
        .await
        .expect(200);
    let job_id = job["jobId"].as_str().unwrap().to_owned();
    let done = wait_until_ended(&serve, &job_id).await;
    assert_eq!(done["state"], "JOB_STATE_COMPLETED", "{done}");

    let all = get(&serve, &format!("/v1/jobs/{job_id}/results?pageSize=100"))
        .await
        .expect(200);
    let all = all["results"].as_array().unwrap().clone();
    assert_eq!(all.len(), smiles.len());
    let index = |r: &Value| r["index"].as_u64().unwrap_or(0);

    // qed desc: largest first, ties by index, molecules without one last.
    let mut want: Vec<u64> = all.iter().map(index).collect();
    want.sort_by(|&a, &b| {
        let (qa, qb) = (qed(&all[a as usize]), qed(&all[b as usize]));
        match (qa, qb) {
            (Some(x), Some(y)) => y.partial_cmp(&x).unwrap(),
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (None, None) => std::cmp::Ordering::Equal,
        }
        .then(a.cmp(&b))
    });
    let (mut got, mut token) = (Vec::new(), String::new());
    loop {
        let page = get(
            &serve,
            &format!("/v1/jobs/{job_id}/results?orderBy=qed%20desc&pageSize=4&pageToken={token}"),
        )
        .await
        .expect(200);
        assert_eq!(page["totalSize"], smiles.len() as u64);
        assert_eq!(page["matchedSize"], smiles.len() as u64);
        got.extend(page["results"].as_array().unwrap().iter().map(index));
        token = page["nextPageToken"].as_str().unwrap().to_owned();
        if token.is_empty() {
            break;
        }
    }
    assert_eq!(got, want);
    assert_eq!(
        all[*got.last().unwrap() as usize]["valid"],
        false,
        "the invalid molecule (no qed) comes last"
    );

    // PAINS only, sorted, with the count the UI shows.
    let pains: Vec<u64> = want
        .iter()
        .copied()
        .filter(|&i| all[i as usize]["pains"] == true)
        .collect();
    assert!(
        pains.len() >= 2,
        "the rhodanine and the catechols are PAINS"
    );
    let page = get(
        &serve,
        &format!("/v1/jobs/{job_id}/results?order_by=qed+desc&filter=pains"),
    )
    .await
    .expect(200);
    let page_indices: Vec<u64> = page["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(index)
        .collect();
    assert_eq!(page_indices, pains);
    assert_eq!(page["matchedSize"], pains.len() as u64);
    assert_eq!(page["nextPageToken"], "");

    // A token of one query is refused by another.
    let first = get(
        &serve,
        &format!("/v1/jobs/{job_id}/results?orderBy=qed%20desc&pageSize=2"),
    )
    .await
    .expect(200);
    let token = first["nextPageToken"].as_str().unwrap();
    let other = get(
        &serve,
        &format!("/v1/jobs/{job_id}/results?orderBy=logp&pageSize=2&pageToken={token}"),
    )
    .await;
    assert_eq!(other.status, 400);
    assert_eq!(other.violation().0, "page_token");
    let bad = get(&serve, &format!("/v1/jobs/{job_id}/results?orderBy=colour")).await;
    assert_eq!(bad.status, 400);
    let (field, description) = bad.violation();
    assert_eq!(field, "order_by");
    assert!(description.contains("qed"), "{description}");

    // One result by index, as the listing shows it.
    let one = get(&serve, &format!("/v1/jobs/{job_id}/results/3"))
        .await
        .expect(200);
    assert_eq!(one, all[3]);
    let outside = get(
        &serve,
        &format!("/v1/jobs/{job_id}/results/{}", smiles.len()),
    )
    .await;
    assert_eq!(
        outside.status,
        404,
        "{}",
        String::from_utf8_lossy(&outside.body)
    );
    let openapi = get(&serve, "/openapi.json").await.expect(200);
    let route = &openapi["paths"]["/v1/jobs/{job_id}/results/{index}"]["get"];
    assert_eq!(route["operationId"], "GetResult", "{route}");
}

/// `text` with every byte but ASCII letters and digits percent-encoded.
fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

#[tokio::test]
async fn rest_upload_takes_activity_columns_as_proto3_json_parameters() {
    let serve = ServeProcess::start();
    let csv = "smiles,exp_mean [nM]\nCCO,100\nc1ccccc1O,1000\nCCN,\n";
    let column = percent_encode(r#"{"column":"exp_mean [nM]","unit":"nM"}"#);
    let uploaded = http(
        &serve,
        "POST",
        &format!("/v1/jobs:upload?format=csv&smilesColumn=smiles&activityColumns={column}"),
        &[("Content-Type", "text/csv")],
        Payload::Bytes(csv.as_bytes()),
    )
    .await
    .expect(200);
    let job_id = uploaded["jobId"].as_str().unwrap().to_owned();
    let done = wait_until_ended(&serve, &job_id).await;
    assert_eq!(done["state"], "JOB_STATE_COMPLETED", "{done}");
    let page = get(&serve, &format!("/v1/jobs/{job_id}/results"))
        .await
        .expect(200);
    let results = page["results"].as_array().unwrap();
    let p = |i: usize| results[i]["activities"][0]["pActivity"].as_f64();
    assert_eq!(results[0]["activities"][0]["column"], "exp_mean [nM]");
    assert!((p(0).unwrap() - 7.0).abs() < 1e-9, "{}", results[0]);
    assert!((p(1).unwrap() - 6.0).abs() < 1e-9, "{}", results[1]);
    assert_eq!(p(2), None, "a missing value has no pActivity");

    // Sorted by that activity, largest first; the missing value last.
    let order = percent_encode("activities.exp_mean [nM].pActivity desc");
    let sorted = get(
        &serve,
        &format!("/v1/jobs/{job_id}/results?orderBy={order}"),
    )
    .await
    .expect(200);
    let indices: Vec<u64> = sorted["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["index"].as_u64().unwrap_or(0))
        .collect();
    assert_eq!(indices, [0, 1, 2]);

    let bad = http(
        &serve,
        "POST",
        "/v1/jobs:upload?format=csv&activityColumns=exp_mean",
        &[("Content-Type", "text/csv")],
        Payload::Bytes(csv.as_bytes()),
    )
    .await;
    assert_eq!(bad.status, 400, "{}", String::from_utf8_lossy(&bad.body));
    let (field, description) = bad.violation();
    assert_eq!(field, "options.activity_columns");
    assert!(description.contains("JSON"), "{description}");
}

/// The `mmp` analysis's matched pairs and transforms are paged at
/// `…/analyses/mmp/pairs` and `…/mmp/transforms` (not GetAnalysis of a type
/// `mmp/pairs`): 404 before the analysis ran, then the pages its result
/// begins with; a page token that is not one, or names no page, is a 400
/// naming `page_token`.
#[tokio::test]
async fn rest_pages_the_matched_pairs_and_transforms_of_mmp() {
    let serve = ServeProcess::start();
    let job = post_json(
        &serve,
        "/v1/jobs",
        &json!({"molecules": [
            {"smiles": "Cc1ccc(O)cc1", "id": "m0"},
            {"smiles": "Clc1ccc(O)cc1", "id": "m1"},
            {"smiles": "Oc1ccccc1", "id": "m2"},
            {"smiles": "CCO", "id": "m3"}
        ]}),
    )
    .await
    .expect(200);
    let job_id = job["jobId"].as_str().unwrap().to_owned();
    let done = wait_until_ended(&serve, &job_id).await;
    assert_eq!(done["state"], "JOB_STATE_COMPLETED", "{done}");
    let pairs_path = format!("/v1/jobs/{job_id}/analyses/mmp/pairs");
    let transforms_path = format!("/v1/jobs/{job_id}/analyses/mmp/transforms");

    let never_ran = get(&serve, &pairs_path).await.expect(404);
    assert_eq!(never_ran["error"]["status"], "NOT_FOUND", "{never_ran}");

    post_json(
        &serve,
        &format!("/v1/jobs/{job_id}/analyses/mmp"),
        &json!({}),
    )
    .await
    .expect(200);
    let deadline = tokio::time::Instant::now() + DEADLINE;
    let analysis = loop {
        let analysis = get(&serve, &format!("/v1/jobs/{job_id}/analyses/mmp"))
            .await
            .expect(200);
        match analysis["status"].as_str().unwrap() {
            "ANALYSIS_STATUS_COMPLETE" => break analysis,
            "ANALYSIS_STATUS_PENDING" | "ANALYSIS_STATUS_COMPUTING" => {}
            other => panic!("the mmp analysis is {other}: {analysis}"),
        }
        assert!(tokio::time::Instant::now() < deadline, "{analysis}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };

    // Four molecules: the first page holds every pair and transform, as
    // the result does.
    let page = get(&serve, &pairs_path).await.expect(200);
    let pairs = page["pairs"].as_array().unwrap();
    assert!(!pairs.is_empty(), "{page}");
    assert_eq!(page["pairs"], analysis["mmp"]["pairs"]);
    assert_eq!(page["nextPageToken"].as_str().unwrap_or(""), "", "{page}");
    assert!(
        pairs.iter().any(|p| p["transform"] == "[*:1]C>>[*:1]Cl"),
        "{page}"
    );
    let page = get(&serve, &transforms_path).await.expect(200);
    assert_eq!(page["transforms"], analysis["mmp"]["transforms"]);
    assert_eq!(page["nextPageToken"].as_str().unwrap_or(""), "", "{page}");

    for path in [&pairs_path, &transforms_path] {
        let not_a_token = get(&serve, &format!("{path}?pageToken=next")).await;
        assert_eq!(
            not_a_token.expect(400)["error"]["status"],
            "INVALID_ARGUMENT"
        );
        assert_eq!(not_a_token.violation().0, "page_token", "{path}");
        let no_such_page = get(&serve, &format!("{path}?pageToken=7")).await;
        assert_eq!(no_such_page.status, 400, "{path}");
        let (field, description) = no_such_page.violation();
        assert_eq!(field, "page_token");
        assert!(description.starts_with("names no page"), "{description}");
    }
}
