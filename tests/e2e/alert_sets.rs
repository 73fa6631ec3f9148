//! Choosing structural-alert sets per job (`molbatch submit --alerts
//! glaxo,lint`, REST `alertSets`): a job's results carry the alerts of its
//! sets and no others, exactly what the chemistry crate gives for the same
//! sets; a job that chooses none keeps PAINS, Brenk and NIH; an unknown set
//! name is refused before a job exists, naming the field and the valid sets.

use molbatch_chem::{AlertSets, MolInput, Pipeline};
use serde_json::{json, Value};

use crate::cli::{molbatch, text};
use crate::rest::{get, post_json, wait_until_ended};
use crate::support::ServeProcess;

/// A quinone (PAINS, Brenk, NIH, Glaxo, LINT, ALARM NMR), a chelating
/// 8-hydroxyquinoline, an acyl chloride (Glaxo) and ethanol (no alert).
const SMILES: [(&str, &str); 4] = [
    ("O=C1C=CC(=O)C=C1", "quinone"),
    ("Oc1cccc2cccnc12", "oxine"),
    ("ClCCCC(=O)Cl", "acyl-chloride"),
    ("CCO", "ethanol"),
];

/// (catalog, name) pairs of one JSON result.
fn alerts_of(result: &Value) -> Vec<(String, String)> {
    result["alerts"]
        .as_array()
        .map(|alerts| {
            alerts
                .iter()
                .map(|a| {
                    (
                        a["catalog"].as_str().unwrap().to_owned(),
                        a["name"].as_str().unwrap().to_owned(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// What the chemistry crate gives each molecule with `sets`.
fn expected(sets: AlertSets) -> Vec<Vec<(String, String)>> {
    let pipeline = Pipeline::new().unwrap();
    SMILES
        .iter()
        .map(|(smiles, _)| {
            let outcome = pipeline.process_with(MolInput::Smiles(smiles), sets);
            outcome
                .valid()
                .unwrap()
                .alerts
                .iter()
                .map(|a| (a.catalog.clone(), a.name.clone()))
                .collect()
        })
        .collect()
}

/// Submits the molecules with `extra` flags, waits, and reads every result.
fn submit_and_read(serve: &ServeProcess, extra: &[&str]) -> Vec<Value> {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("alerts.smi");
    let body: String = SMILES.iter().map(|(s, id)| format!("{s} {id}\n")).collect();
    std::fs::write(&file, body).unwrap();
    let mut args = vec!["submit", file.to_str().unwrap(), "--wait"];
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

#[test]
fn cli_alerts_choose_the_sets_a_job_reports() {
    let serve = ServeProcess::start();

    let chosen = submit_and_read(&serve, &["--alerts", "glaxo,lint", "--alerts", "chelator"]);
    let sets = AlertSets::parse(["glaxo", "lint", "chelator"]).unwrap();
    let got: Vec<_> = chosen.iter().map(alerts_of).collect();
    assert_eq!(got, expected(sets));
    let catalogs: std::collections::BTreeSet<&str> =
        got.iter().flatten().map(|(c, _)| c.as_str()).collect();
    assert_eq!(
        catalogs.into_iter().collect::<Vec<_>>(),
        ["CHELATOR", "GLAXO", "LINT"]
    );
    assert!(
        chosen.iter().all(|r| r["pains"] != true),
        "no PAINS asked for"
    );

    // No --alerts: the default sets, as before sets could be chosen.
    let default = submit_and_read(&serve, &[]);
    let got: Vec<_> = default.iter().map(alerts_of).collect();
    assert_eq!(got, expected(AlertSets::DEFAULT));
    assert_eq!(default[0]["pains"], true);
    assert!(got
        .iter()
        .flatten()
        .all(|(c, _)| ["PAINS_A", "PAINS_B", "PAINS_C", "BRENK", "NIH"].contains(&c.as_str())));
}

#[test]
fn cli_unknown_alert_set_is_refused_naming_the_field_and_the_valid_sets() {
    let serve = ServeProcess::start();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("one.smi");
    std::fs::write(&file, "CCO\n").unwrap();
    let out = molbatch(
        &serve,
        &["submit", file.to_str().unwrap(), "--alerts", "glaxo,painz"],
    );
    assert!(!out.status.success());
    let err = text(&out.stderr);
    for needle in [
        "InvalidArgument",
        "options.alert_sets[0]",
        "\"painz\"",
        "pains, brenk, nih, zinc, glaxo",
    ] {
        assert!(err.contains(needle), "{needle:?} missing from {err}");
    }
    // Refused before a job was created.
    let jobs = molbatch(&serve, &["jobs", "--output", "json"]);
    assert!(jobs.status.success(), "{}", text(&jobs.stderr));
    assert!(
        !text(&jobs.stdout).contains("one.smi"),
        "{}",
        text(&jobs.stdout)
    );
}

#[tokio::test]
async fn rest_alert_sets_on_inline_molecules() {
    let serve = ServeProcess::start();
    let molecules: Vec<Value> = SMILES
        .iter()
        .map(|(s, id)| json!({"smiles": s, "id": id}))
        .collect();

    let bad = post_json(
        &serve,
        "/v1/jobs",
        &json!({"molecules": molecules, "alertSets": ["zinc", "reos"]}),
    )
    .await;
    assert_eq!(bad.status, 400);
    let (field, description) = bad.violation();
    assert_eq!(field, "alert_sets[1]");
    assert!(description.contains("\"reos\""), "{description}");

    let job = post_json(
        &serve,
        "/v1/jobs",
        &json!({"molecules": molecules, "alertSets": ["ZINC", "alarm_nmr"]}),
    )
    .await
    .expect(200);
    let id = job["jobId"].as_str().unwrap().to_owned();
    let ended = wait_until_ended(&serve, &id).await;
    assert_eq!(ended["state"], "JOB_STATE_COMPLETED");
    let page = get(&serve, &format!("/v1/jobs/{id}/results?pageSize=10"))
        .await
        .expect(200);
    let got: Vec<_> = page["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(alerts_of)
        .collect();
    let sets = AlertSets::parse(["zinc", "alarm_nmr"]).unwrap();
    assert_eq!(got, expected(sets));
    assert!(got.iter().flatten().any(|(c, _)| c == "ZINC"));
    assert!(got.iter().flatten().any(|(c, _)| c == "ALARM_NMR"));
}
