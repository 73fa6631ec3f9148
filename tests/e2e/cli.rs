//! The `molbatch` command as a user runs it: `serve` in the background,
//! `submit --wait`, `status`, `results` in CSV, JSONL and SDF, a broken
//! file, and the structure-activity analyses (`rgroups` with a core given as
//! a parameter, `mmp` with its pairs written as CSV).

use std::process::{Command, Output};

use crate::support::ServeProcess;

const BIN: &str = env!("CARGO_BIN_EXE_molbatch");

/// Runs the CLI against `serve` with its admin key.
pub(crate) fn molbatch(serve: &ServeProcess, args: &[&str]) -> Output {
    molbatch_as(serve, &serve.api_key, args)
}

/// Runs the CLI against `serve` with `key`.
fn molbatch_as(serve: &ServeProcess, key: &str, args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .env("MOLBATCH_SERVER", &serve.url)
        .env("MOLBATCH_API_KEY", key)
        .env_remove("MOLBATCH_API_KEY_FILE")
        .output()
        .unwrap()
}

/// Command output as text.
pub(crate) fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn a_chemist_submits_waits_and_reads_results() {
    let serve = ServeProcess::start();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("batch.smi");
    std::fs::write(
        &file,
        "CCO ethanol\nC1CC broken\nc1ccccc1C(=O)O.[Na+] benzoate\n",
    )
    .unwrap();

    let out = molbatch(&serve, &["submit", file.to_str().unwrap(), "--wait"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let job = text(&out.stdout).trim().to_owned();
    assert!(
        text(&out.stderr).contains("COMPLETED"),
        "{}",
        text(&out.stderr)
    );

    let status = molbatch(&serve, &["status", &job, "--output", "json"]);
    let status: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(status["state"], "JOB_STATE_COMPLETED");
    assert_eq!(status["totalMolecules"], 3);

    let jsonl = molbatch(&serve, &["results", &job, "--format", "jsonl"]);
    let lines: Vec<serde_json::Value> = text(&jsonl.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3);
    assert_eq!(lines[0]["canonicalSmiles"], "CCO");
    assert_eq!(lines[0]["inputId"], "ethanol");
    assert_eq!(lines[0]["inchi"], "InChI=1S/C2H6O/c1-2-3/h3H,2H2,1H3");
    assert_eq!(lines[0]["inchiKey"], "LFQSCWFLJHTTHZ-UHFFFAOYSA-N");
    assert_eq!(lines[1]["valid"], false);
    assert_eq!(lines[1]["inchiKey"], "", "no InChI for an invalid molecule");
    assert_eq!(lines[1]["errorCode"], "SMILES_SYNTAX");
    assert_eq!(lines[2]["standardizedSmiles"], "O=C(O)c1ccccc1");

    // Sorted and filtered on the server: the valid molecules, heaviest first.
    let sorted = molbatch(
        &serve,
        &[
            "results",
            &job,
            "--format",
            "jsonl",
            "--order-by",
            "molWt desc",
            "--filter",
            "valid",
        ],
    );
    assert!(sorted.status.success(), "{}", text(&sorted.stderr));
    let inputs: Vec<String> = text(&sorted.stdout)
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["inputId"].to_string())
        .collect();
    assert_eq!(inputs, ["\"benzoate\"", "\"ethanol\""]);

    let csv_path = dir.path().join("out.csv");
    let csv = molbatch(
        &serve,
        &[
            "results",
            &job,
            "--format",
            "csv",
            "-o",
            csv_path.to_str().unwrap(),
        ],
    );
    assert!(csv.status.success(), "{}", text(&csv.stderr));
    let csv = std::fs::read_to_string(&csv_path).unwrap();
    assert_eq!(csv.lines().count(), 4);
    assert!(csv.starts_with("index,inputId,inputSmiles,valid,errorCode"));
    assert!(csv.contains(",tautomerSmiles,inchi,inchiKey,"), "{csv}");
    assert!(csv.contains(",LFQSCWFLJHTTHZ-UHFFFAOYSA-N,"), "{csv}");

    let sdf_path = dir.path().join("out.sdf");
    let sdf = molbatch(
        &serve,
        &[
            "results",
            &job,
            "--format",
            "sdf",
            "-o",
            sdf_path.to_str().unwrap(),
        ],
    );
    assert!(sdf.status.success(), "{}", text(&sdf.stderr));
    let sdf = std::fs::read_to_string(&sdf_path).unwrap();
    assert_eq!(sdf.lines().filter(|l| *l == "$$$$").count(), 3, "{sdf}");
    let records: Vec<&str> = sdf.split_terminator("$$$$\n").collect();
    assert_eq!(records.len(), 3, "{sdf}");
    assert!(records[0].starts_with("ethanol\n"), "{}", records[0]);
    assert!(records[0].contains("\n> <canonicalSmiles>\nCCO\n\n"));
    assert!(records[0].contains("\n> <inchiKey>\nLFQSCWFLJHTTHZ-UHFFFAOYSA-N\n\n"));
    assert!(records[1].starts_with("broken\n"), "{}", records[1]);
    assert!(records[1].contains("\n> <errorCode>\nSMILES_SYNTAX\n\n"));
    assert!(records[2].contains("\n> <standardizedSmiles>\nO=C(O)c1ccccc1\n\n"));
    // Each structure is what RDKit reads back as the standardised molecule;
    // the invalid molecule's record has a structure without atoms.
    let pipeline = molbatch_chem::Pipeline::new().unwrap();
    let structures: Vec<&str> = records
        .iter()
        .map(|r| &r[..r.find("M  END\n").unwrap() + "M  END\n".len()])
        .collect();
    for (structure, expected) in [(structures[0], "CCO"), (structures[2], "O=C(O)c1ccccc1")] {
        let outcome = pipeline.process(molbatch_chem::MolInput::Molblock(structure));
        assert_eq!(outcome.valid().unwrap().canonical_smiles, expected);
    }
    assert!(structures[1].lines().nth(3).unwrap().starts_with("  0  0"));
}

#[test]
fn inchi_input_gives_the_results_of_the_same_structures_as_smiles() {
    let serve = ServeProcess::start();
    let dir = tempfile::tempdir().unwrap();
    let alanine = "InChI=1S/C3H7NO2/c1-2(4)3(5)6/h2H,4H2,1H3,(H,5,6)/t2-/m0/s1";
    let aspirin = "InChI=1S/C9H8O4/c1-6(10)13-8-5-3-2-4-7(8)9(11)12/h2-5H,1H3,(H,11,12)";
    let inchi = dir.path().join("inchi.csv");
    std::fs::write(
        &inchi,
        format!("id,InChI\nala,\"{alanine}\"\nasp,\"{aspirin}\"\nbad,InChI=1S/C3H7NO2/c1-2(4\n"),
    )
    .unwrap();
    let smiles = dir.path().join("same.smi");
    std::fs::write(&smiles, "C[C@H](N)C(=O)O ala\nCC(=O)Oc1ccccc1C(=O)O asp\n").unwrap();
    let rows = |file: &std::path::Path| -> Vec<serde_json::Value> {
        let out = molbatch(&serve, &["submit", file.to_str().unwrap(), "--wait"]);
        assert!(out.status.success(), "{}", text(&out.stderr));
        let job = text(&out.stdout).trim().to_owned();
        let out = molbatch(&serve, &["results", &job, "--format", "jsonl"]);
        text(&out.stdout)
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    };
    let from_inchi = rows(&inchi);
    let from_smiles = rows(&smiles);
    assert_eq!(from_inchi.len(), 3);
    for (a, b) in from_inchi.iter().zip(&from_smiles) {
        assert_eq!(a["valid"], true, "{a}");
        for field in ["standardizedSmiles", "inchiKey", "molWt", "qed", "alerts"] {
            assert_eq!(a[field], b[field], "{field} of {}", a["inputId"]);
        }
    }
    assert_eq!(from_inchi[0]["inputSmiles"], alanine);
    assert_eq!(
        from_inchi[2]["errorCode"], "INCHI_SYNTAX",
        "{}",
        from_inchi[2]
    );

    let analyzed = molbatch(&serve, &["analyze", aspirin, "--format", "jsonl"]);
    assert!(analyzed.status.success(), "{}", text(&analyzed.stderr));
    let row: serde_json::Value = serde_json::from_str(text(&analyzed.stdout).trim()).unwrap();
    assert_eq!(
        row["standardizedSmiles"],
        from_smiles[1]["standardizedSmiles"]
    );
}

#[test]
fn a_broken_file_fails_with_its_line_and_a_nonzero_exit() {
    let serve = ServeProcess::start();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("broken.csv");
    std::fs::write(&file, "smiles,pKi\nCCO,5\nCCN,6,7\n").unwrap();
    let out = molbatch(&serve, &["submit", file.to_str().unwrap(), "--wait"]);
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(
        err.contains("line 3") && err.contains("InvalidArgument"),
        "{err}"
    );
    let stdin = Command::new(BIN)
        .args(["submit", "-"])
        .env("MOLBATCH_SERVER", &serve.url)
        .output()
        .unwrap();
    assert!(
        text(&stdin.stderr).contains("--format"),
        "stdin needs a format"
    );
}

#[test]
fn a_cancelled_job_is_retried_then_both_are_deleted() {
    let serve = ServeProcess::start();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("library.smi");
    let lines: String = (0..3_000)
        .map(|i| format!("{}O m{i}\n", "C".repeat(1 + i % 10)))
        .collect();
    std::fs::write(&file, lines).unwrap();
    let out = molbatch(&serve, &["submit", file.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let job = text(&out.stdout).trim().to_owned();
    let cancel = molbatch(&serve, &["cancel", &job]);
    assert!(cancel.status.success(), "{}", text(&cancel.stderr));

    let retry = molbatch(&serve, &["retry", &job, "--wait"]);
    assert!(retry.status.success(), "{}", text(&retry.stderr));
    let retried = text(&retry.stdout).trim().to_owned();
    assert_ne!(retried, job);
    assert!(
        text(&retry.stderr).contains("COMPLETED"),
        "{}",
        text(&retry.stderr)
    );
    let status = molbatch(&serve, &["status", &retried, "--output", "json"]);
    let status: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(status["retryOf"], job.as_str());
    assert_eq!(status["validMolecules"], 3000);
    assert_eq!(status["displayName"], "library.smi");
    let completed = molbatch(&serve, &["retry", &retried]);
    assert!(!completed.status.success());
    assert!(
        text(&completed.stderr).contains("only a failed or cancelled job"),
        "{}",
        text(&completed.stderr)
    );

    let delete = molbatch(&serve, &["delete", &job, &retried]);
    assert!(delete.status.success(), "{}", text(&delete.stderr));
    assert_eq!(text(&delete.stdout).matches("deleted").count(), 2);
    for id in [&job, &retried] {
        let gone = molbatch(&serve, &["status", id]);
        assert!(!gone.status.success());
        assert!(
            text(&gone.stderr).contains("deleted"),
            "{}",
            text(&gone.stderr)
        );
    }
}

#[test]
fn watch_shows_the_servers_estimates_and_rides_out_a_server_restart() {
    use std::io::BufRead;
    let mut serve = ServeProcess::start();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("library.smi");
    let lines: String = (0..6_000)
        .map(|i| format!("{}N m{i}\n", "C".repeat(1 + i % 14)))
        .collect();
    std::fs::write(&file, lines).unwrap();
    let out = molbatch(&serve, &["submit", file.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let job = text(&out.stdout).trim().to_owned();

    let mut watch = Command::new(BIN)
        .args(["watch", &job])
        .env("MOLBATCH_SERVER", &serve.url)
        .env("MOLBATCH_API_KEY", &serve.api_key)
        .env_remove("MOLBATCH_API_KEY_FILE")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    let stderr = std::io::BufReader::new(watch.stderr.take().unwrap());
    std::thread::spawn(move || {
        for line in stderr.lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    // Its first line says it is watching: the server goes down under it.
    let first = rx.recv_timeout(std::time::Duration::from_secs(60)).unwrap();
    assert!(first.contains("molecules"), "{first}");
    serve.restart();
    let status = watch.wait().unwrap();
    let seen: Vec<String> = std::iter::once(first).chain(rx.try_iter()).collect();
    let seen = seen.join("\n");
    assert!(status.success(), "{seen}");
    assert!(seen.contains("watching again"), "{seen}");
    assert!(seen.contains("COMPLETED"), "{seen}");
    // While it ran, the server's estimates, not a guess of the CLI's.
    assert!(
        seen.lines()
            .any(|l| l.contains("RUNNING") && l.contains('%')),
        "{seen}"
    );
    let status = molbatch(&serve, &["status", &job, "--output", "json"]);
    let status: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(status["processedMolecules"], 6000);
}

#[test]
fn an_admin_makes_keys_with_the_cli_and_roles_hold() {
    let serve = ServeProcess::start();
    let text_of = |out: &Output| format!("{}{}", text(&out.stdout), text(&out.stderr));
    let me = molbatch(&serve, &["admin", "whoami"]);
    assert!(
        text(&me.stdout).contains("tenant default, role admin"),
        "{}",
        text_of(&me)
    );
    let created = molbatch(
        &serve,
        &[
            "admin",
            "tenants",
            "create",
            "lab",
            "--max-concurrent-jobs",
            "3",
        ],
    );
    assert!(created.status.success(), "{}", text_of(&created));
    let key = molbatch(
        &serve,
        &[
            "admin", "keys", "create", "--tenant", "lab", "--role", "viewer",
        ],
    );
    assert!(text(&key.stderr).contains("only time"), "{}", text_of(&key));
    let viewer = text(&key.stdout).trim().to_owned();
    assert!(viewer.starts_with("mbk_"), "{viewer}");

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("one.smi");
    std::fs::write(&file, "CCO\n").unwrap();
    let refused = molbatch_as(&serve, &viewer, &["submit", file.to_str().unwrap()]);
    assert!(!refused.status.success());
    assert!(
        text(&refused.stderr).contains("PermissionDenied"),
        "{}",
        text_of(&refused)
    );
    let listed = molbatch_as(&serve, &viewer, &["jobs"]);
    assert!(
        listed.status.success(),
        "a viewer reads: {}",
        text_of(&listed)
    );

    let keys = molbatch(
        &serve,
        &[
            "admin", "keys", "list", "--tenant", "lab", "--output", "json",
        ],
    );
    let keys: serde_json::Value = serde_json::from_slice(&keys.stdout).unwrap();
    let key_id = keys["keys"][0]["keyId"].as_str().unwrap().to_owned();
    let secret = keys["keys"][0].get("secret").and_then(|s| s.as_str());
    assert!(secret.unwrap_or("").is_empty(), "secrets are never listed");
    let revoked = molbatch(&serve, &["admin", "keys", "revoke", &key_id]);
    assert!(
        text(&revoked.stdout).contains("revoked"),
        "{}",
        text_of(&revoked)
    );
    let after = molbatch_as(&serve, &viewer, &["jobs"]);
    assert!(
        !after.status.success() && text(&after.stderr).contains("revoked"),
        "{}",
        text_of(&after)
    );
    let audit = molbatch(&serve, &["admin", "audit", "--tenant", "lab"]);
    let audit = text(&audit.stdout);
    assert!(
        audit.contains("RevokeApiKey") && audit.contains("CreateTenant"),
        "{audit}"
    );
}

#[test]
fn a_chemist_decomposes_r_groups_and_exports_matched_pairs() {
    let serve = ServeProcess::start();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("phenols.csv");
    std::fs::write(
        &file,
        "smiles,id,Ki\nCc1ccc(O)cc1,m0,10\nClc1ccc(O)cc1,m1,1000\nOc1ccccc1,m2,50\nCCO,m3,5\n",
    )
    .unwrap();
    let out = molbatch(
        &serve,
        &[
            "submit",
            file.to_str().unwrap(),
            "--id-column",
            "id",
            "--activity-column",
            "Ki",
            "--activity-unit",
            "nM",
            "--wait",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let job = text(&out.stdout).trim().to_owned();

    // rgroups with a core given on the command line, shown as a table.
    let out = molbatch(
        &serve,
        &[
            "analytics",
            &job,
            "--run",
            "rgroups",
            "--param",
            "core=Oc1ccc([*:1])cc1",
            "--wait",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let table = text(&out.stdout);
    assert!(table.starts_with("rgroups"), "{table}");
    assert!(
        table.contains("core Oc1ccc([*:1])cc1 (smiles, given)"),
        "{table}"
    );
    assert!(
        table.contains("3 of 4 molecules matched; 1 without the core"),
        "{table}"
    );
    assert!(table.contains("C[*:1] 1"), "{table}");
    // The same result as proto3 JSON.
    let out = molbatch(&serve, &["analytics", &job, "rgroups", "--output", "json"]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["rgroups"]["labels"], serde_json::json!(["R1"]));
    assert_eq!(
        json["rgroups"]["rows"][1]["rgroups"][0]["smiles"],
        "Cl[*:1]"
    );

    // mmp, then every pair as CSV next to the JSON result.
    let out = molbatch(&serve, &["analytics", &job, "--run", "mmp", "--wait"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let csv_path = dir.path().join("pairs.csv");
    let out = molbatch(
        &serve,
        &[
            "analytics",
            &job,
            "mmp",
            "--pairs-csv",
            csv_path.to_str().unwrap(),
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("matched pairs"));
    let out = molbatch(&serve, &["analytics", &job, "mmp", "--output", "json"]);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let pairs = json["mmp"]["pairs"].as_array().unwrap();
    let mut reader = csv::Reader::from_path(&csv_path).unwrap();
    assert_eq!(
        reader.headers().unwrap().iter().collect::<Vec<_>>(),
        [
            "a",
            "b",
            "constant",
            "variable_a",
            "variable_b",
            "transform",
            "tanimoto",
            "delta_p_activity"
        ]
    );
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), pairs.len());
    assert!(!rows.is_empty());
    for (row, pair) in rows.iter().zip(pairs) {
        // proto3 JSON leaves zero out.
        let index = |field: &str| match &pair[field] {
            serde_json::Value::String(s) => s.clone(),
            serde_json::Value::Number(n) => n.to_string(),
            _ => "0".to_owned(),
        };
        assert_eq!(
            (&row[0], &row[1]),
            (index("a").as_str(), index("b").as_str())
        );
        assert_eq!(&row[5], pair["transform"].as_str().unwrap());
        let tanimoto: f64 = row[6].parse().unwrap();
        assert!((tanimoto - pair["tanimoto"].as_f64().unwrap_or(0.0)).abs() < 1e-12);
        match pair["deltaPActivity"].as_f64() {
            Some(d) => assert!((row[7].parse::<f64>().unwrap() - d).abs() < 1e-12),
            None => assert_eq!(&row[7], ""),
        }
    }
    // p-cresol and 4-chlorophenol, 100-fold apart.
    assert!(rows.iter().any(|r| {
        (&r[0], &r[1], &r[5]) == ("0", "1", "[*:1]C>>[*:1]Cl")
            && (r[7].parse::<f64>().unwrap() + 2.0).abs() < 1e-12
    }));
    // --pairs-csv without the mmp result is refused.
    let out = molbatch(
        &serve,
        &["analytics", &job, "rgroups", "--pairs-csv", "x.csv"],
    );
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("--pairs-csv"),
        "{}",
        text(&out.stderr)
    );
}
