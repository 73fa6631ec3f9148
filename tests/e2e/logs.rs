//! Logs as an operator collects them: `molbatch serve` with stderr going to
//! a file, as text (no colour codes, since a file is not a terminal) and
//! with `--log-format json` (every line one JSON object, the start-up
//! banner included), while a batch runs through it.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_molbatch");

/// `molbatch serve` with `extra` arguments, its stderr written to `log`.
fn serve(dir: &Path, log: &Path, extra: &[&str]) -> Child {
    Command::new(BIN)
        .args([
            "serve",
            "--data-dir",
            dir.to_str().unwrap(),
            "--http",
            "127.0.0.1:0",
        ])
        .args(extra)
        .env("RUST_LOG", "info")
        .env_remove("MOLBATCH_LOG_FORMAT")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log).unwrap())
        .spawn()
        .unwrap()
}

/// The `http://127.0.0.1:PORT` the log announces, once it does.
fn announced_url(log: &Path, child: &mut Child) -> String {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let text = std::fs::read_to_string(log).unwrap_or_default();
        if let Some(at) = text.find("molbatch serving on http://") {
            let rest = &text[at + "molbatch serving on ".len()..];
            return rest.split_whitespace().next().unwrap().to_owned();
        }
        assert!(
            child.try_wait().unwrap().is_none(),
            "serve exited early:\n{text}"
        );
        assert!(Instant::now() < deadline, "serve did not start:\n{text}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Submits a small batch and waits for it, so the services log their work;
/// then stops the server as Kubernetes would and returns its log.
fn run_a_batch_and_stop(dir: &Path, log: &Path, mut child: Child) -> String {
    let url = announced_url(log, &mut child);
    let batch = dir.join("batch.smi");
    std::fs::write(&batch, "CCO ethanol\nC1CC broken\nc1ccccc1O phenol\n").unwrap();
    let submit = Command::new(BIN)
        .args(["submit", batch.to_str().unwrap(), "--wait"])
        .env("MOLBATCH_SERVER", &url)
        .env("MOLBATCH_API_KEY_FILE", dir.join("admin.key"))
        .env_remove("MOLBATCH_API_KEY")
        .output()
        .unwrap();
    assert!(
        submit.status.success(),
        "{}",
        String::from_utf8_lossy(&submit.stderr)
    );
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    assert!(
        child.wait().unwrap().success(),
        "serve exits cleanly on SIGTERM"
    );
    std::fs::read_to_string(log).unwrap()
}

#[test]
fn json_logs_in_a_file_are_one_object_per_line() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("serve.log");
    let child = serve(dir.path(), &log, &["--log-format", "json"]);
    let text = run_a_batch_and_stop(dir.path(), &log, child);
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    assert!(lines.len() >= 3, "too few log lines:\n{text}");
    for line in &lines {
        let event: serde_json::Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("not a JSON object ({e}): {line}"));
        assert!(event["timestamp"].is_string(), "{line}");
        assert!(event["level"].is_string(), "{line}");
        assert!(event["fields"].is_object(), "{line}");
    }
    assert!(
        lines.iter().any(|l| l.contains("molbatch serving on")),
        "the banner is a JSON event too"
    );
    assert!(!text.contains('\u{1b}'), "no colour codes in JSON");
}

#[test]
fn text_logs_in_a_file_have_no_colour_codes() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("serve.log");
    let child = serve(dir.path(), &log, &[]);
    let text = run_a_batch_and_stop(dir.path(), &log, child);
    assert!(
        text.lines().any(|l| l.starts_with("molbatch serving on")),
        "{text}"
    );
    assert!(
        text.lines().any(|l| l.contains(" INFO ")),
        "the services log at info:\n{text}"
    );
    assert!(!text.contains('\u{1b}'), "colour codes in a file:\n{text}");
}

#[test]
fn an_unknown_log_format_is_refused_naming_the_choices() {
    let out = Command::new(BIN)
        .args(["--log-format", "yaml", "jobs"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("--log-format") && stderr.contains("text") && stderr.contains("json"),
        "{stderr}"
    );
}
