//! Uploads that skip bad records (`molbatch submit --skip-bad-records`,
//! REST `onBadRecord=skip`): a CSV with a broken line is refused by default,
//! naming the line; with the option the job completes, the broken row is an
//! invalid RECORD_SYNTAX result in its place, and every other row is what the
//! same file without the broken line gives.

use serde_json::Value;

use crate::cli::{molbatch, text};
use crate::rest::{get, http, wait_until_ended, Payload};
use crate::support::ServeProcess;

/// A CSV with one invalid SMILES (a chemistry error, not a bad record).
const ROWS: [&str; 5] = [
    "smiles,id,pKi",
    "CCO,ethanol,5.1",
    "c1ccccc1O,phenol,6",
    "C1CC,unclosed-ring,7",
    "CC(=O)Oc1ccccc1C(=O)O,aspirin,4.2",
];

/// The CSV text of `rows`, with `broken` inserted as line `line` if given.
fn csv(broken: Option<(usize, &str)>) -> String {
    let mut lines: Vec<&str> = ROWS.to_vec();
    if let Some((line, text)) = broken {
        lines.insert(line - 1, text);
    }
    lines.iter().map(|l| format!("{l}\n")).collect()
}

/// Submits `file` with `extra` flags, waits, and returns every result.
fn submit_and_read(serve: &ServeProcess, file: &std::path::Path, extra: &[&str]) -> Vec<Value> {
    let mut args = vec![
        "submit",
        file.to_str().unwrap(),
        "--id-column",
        "id",
        "--wait",
    ];
    args.extend_from_slice(extra);
    let out = molbatch(serve, &args);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let job = text(&out.stdout).trim().to_owned();
    let results = molbatch(serve, &["results", &job, "--format", "jsonl"]);
    assert!(results.status.success(), "{}", text(&results.stderr));
    text(&results.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// `results` without the bad one at `at`, indices dropped: what must equal
/// the results of the file without the broken line.
fn without(mut results: Vec<Value>, at: usize) -> Vec<Value> {
    results.remove(at);
    without_index(results)
}

fn without_index(results: Vec<Value>) -> Vec<Value> {
    results
        .into_iter()
        .map(|mut r| {
            r.as_object_mut().unwrap().remove("index");
            r
        })
        .collect()
}

/// Checks the kept bad record: in its place, invalid, RECORD_SYNTAX, its
/// line in the message.
fn assert_bad(result: &Value, index: usize, line: usize, id: Option<&str>) {
    assert_eq!(result["index"], index, "{result}");
    assert_eq!(result["valid"], false, "{result}");
    assert_eq!(result["errorCode"], "RECORD_SYNTAX", "{result}");
    let message = result["errorMessage"].as_str().unwrap();
    assert!(message.starts_with(&format!("line {line}: ")), "{message}");
    match id {
        Some(id) => assert_eq!(result["inputId"], id, "{result}"),
        None => assert!(
            result["inputId"].as_str().unwrap_or("").is_empty(),
            "{result}"
        ),
    }
}

#[test]
fn cli_skip_bad_records_processes_the_rest_of_a_csv_with_a_broken_line() {
    let serve = ServeProcess::start();
    let dir = tempfile::tempdir().unwrap();
    let clean = dir.path().join("clean.csv");
    std::fs::write(&clean, csv(None)).unwrap();
    // Line 4: one field too many.
    let broken = dir.path().join("broken.csv");
    std::fs::write(&broken, csv(Some((4, "CCN,ethylamine,6,7")))).unwrap();

    // By default the file is refused, naming the line, and the exit code says so.
    let out = molbatch(&serve, &["submit", broken.to_str().unwrap(), "--wait"]);
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(
        err.contains("line 4: CSV row has 4 fields, header has 3"),
        "{err}"
    );

    let expected = submit_and_read(&serve, &clean, &[]);
    assert_eq!(expected.len(), 4);
    let results = submit_and_read(&serve, &broken, &["--skip-bad-records"]);
    assert_eq!(results.len(), 5);
    assert_bad(&results[2], 2, 4, Some("ethylamine"));
    assert_eq!(
        results[2]["errorMessage"],
        "line 4: CSV row has 4 fields, header has 3"
    );
    for (i, result) in results.iter().enumerate() {
        assert_eq!(result["index"], i, "results in input order");
    }
    assert_eq!(
        results[3]["errorCode"], "SMILES_SYNTAX",
        "chemistry as usual"
    );
    assert_eq!(without(results, 2), without_index(expected));
}

#[tokio::test]
async fn rest_on_bad_record_skip_keeps_an_unclosed_quote_in_place() {
    let serve = ServeProcess::start();
    // Line 3 opens a quote that never closes: the rows after it are read again.
    let body = csv(Some((3, "CCC,\"propane,3")));
    let upload = |query: &'static str| {
        let serve = &serve;
        let body = body.clone();
        async move {
            http(
                serve,
                "POST",
                &format!("/v1/jobs:upload?format=csv&idColumn=id{query}"),
                &[("Content-Type", "text/csv")],
                Payload::Bytes(body.as_bytes()),
            )
            .await
        }
    };

    let refused = upload("").await;
    assert_eq!(refused.status, 400);
    let (field, description) = refused.violation();
    assert_eq!(field, "file");
    assert_eq!(
        description,
        "line 3: truncated record: a quoted field is not closed before the end of the file"
    );

    let skipped = upload("&onBadRecord=skip").await.expect(200);
    assert_eq!(skipped["totalMolecules"], 5);
    let job = skipped["jobId"].as_str().unwrap().to_owned();
    let clean = http(
        &serve,
        "POST",
        "/v1/jobs:upload?format=csv&idColumn=id&onBadRecord=ON_BAD_RECORD_SKIP",
        &[("Content-Type", "text/csv")],
        Payload::Bytes(csv(None).as_bytes()),
    )
    .await
    .expect(200);
    let clean_job = clean["jobId"].as_str().unwrap().to_owned();

    let done = wait_until_ended(&serve, &job).await;
    assert_eq!(done["state"], "JOB_STATE_COMPLETED", "{done}");
    assert_eq!(done["validMolecules"], 3, "{done}");
    let clean_done = wait_until_ended(&serve, &clean_job).await;
    assert_eq!(clean_done["state"], "JOB_STATE_COMPLETED", "{clean_done}");

    let results = get(&serve, &format!("/v1/jobs/{job}/results"))
        .await
        .expect(200)["results"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(results.len(), 5);
    assert_bad(&results[1], 1, 3, None);
    assert_eq!(
        results[1]["errorMessage"],
        "line 3: truncated record: a quoted field is not closed before the end of the file"
    );
    let expected = get(&serve, &format!("/v1/jobs/{clean_job}/results"))
        .await
        .expect(200)["results"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(without(results, 1), without_index(expected));
}
