//! The batch report through the public API and the CLI, on a slice of a ChEMBL activity set:
//! `report` is one HTML file that names nothing outside itself, with every section and the
//! analyses' own numbers (analyses the job had not run are computed for it, and agree with
//! the same analyses run afterwards); `report_pdf` is a PDF whose pages poppler renders, none
//! of them blank.

use std::collections::HashMap;
use std::process::Command;

use molbatch_analytics::report::content::{fixed, top_cliffs, top_scaffolds};
use molbatch_proto::v1 as pb;
use pb::analysis::Result as AnalysisResult;

use crate::support::Molbatch;

const BIN: &str = env!("CARGO_BIN_EXE_molbatch");
/// Molecules of the slice.
const MOLECULES: usize = 120;

/// The first molecules of the ChEMBL 214 set the web app's tests use.
fn slice() -> String {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../web/tests/fixtures/chembl214_2000.csv"
    );
    let text = std::fs::read_to_string(path).unwrap();
    text.lines()
        .take(MOLECULES + 1)
        .map(|l| format!("{l}\n"))
        .collect()
}

/// Runs (unless `run` is false) and waits for an analysis with default parameters.
async fn analysis(mb: &mut Molbatch, job: &str, kind: &str, run: bool) -> AnalysisResult {
    if run {
        let request = pb::RunAnalysisRequest {
            job_id: job.to_owned(),
            r#type: kind.to_owned(),
            params: HashMap::new(),
        };
        mb.client.raw().run_analysis(request).await.unwrap();
    }
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(180);
    loop {
        let a = mb
            .client
            .raw()
            .get_analysis(pb::GetAnalysisRequest {
                job_id: job.to_owned(),
                r#type: kind.to_owned(),
            })
            .await
            .unwrap()
            .into_inner();
        if a.status == pb::AnalysisStatus::Complete as i32 {
            return a.result.unwrap();
        }
        assert_ne!(a.status, pb::AnalysisStatus::Failed as i32, "{a:?}");
        assert!(
            tokio::time::Instant::now() < deadline,
            "{kind} did not finish"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// Columns without a histogram in the stored statistics (drawn as a table row only).
fn histograms_missing(stats: &pb::StatisticsResult) -> usize {
    stats
        .columns
        .iter()
        .filter(|c| c.count > 0 && molbatch_analytics::report::content::histogram_of(c).is_empty())
        .count()
}

/// Creates an export of `format`, waits for it and downloads it.
async fn create_and_download(mb: &mut Molbatch, job: &str, format: &str) -> (pb::Export, Vec<u8>) {
    let created = mb
        .client
        .create_export(pb::CreateExportRequest {
            job_id: job.to_owned(),
            format: format.to_owned(),
            filter: String::new(),
            include_fingerprint: false,
            ..Default::default()
        })
        .await
        .unwrap();
    let export = mb
        .client
        .wait_export(
            &created.export_id,
            std::time::Duration::from_millis(100),
            |_| {},
        )
        .await
        .unwrap();
    assert_eq!(
        export.state,
        pb::ExportState::Complete as i32,
        "{}",
        export.error
    );
    let mut file = Vec::new();
    mb.client
        .download_export(&export.export_id, &mut file)
        .await
        .unwrap();
    (export, file)
}

/// Gray pixels of each page of `pdf` rendered by poppler at 30 dpi.
fn rendered_pages(pdf: &[u8]) -> Vec<Vec<u8>> {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("report.pdf");
    std::fs::write(&file, pdf).unwrap();
    let out = Command::new("pdftoppm")
        .args(["-gray", "-r", "30"])
        .arg(&file)
        .arg(dir.path().join("page"))
        .output()
        .expect("pdftoppm (poppler-utils) is installed");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut pages: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "pgm"))
        .collect();
    pages.sort();
    pages
        .iter()
        .map(|p| {
            // Binary PGM: "P5", width, height, maxval, then one byte per pixel.
            let data = std::fs::read(p).unwrap();
            let mut fields = 0;
            let mut i = 0;
            while fields < 4 {
                while data[i].is_ascii_whitespace() {
                    i += 1;
                }
                while !data[i].is_ascii_whitespace() {
                    i += 1;
                }
                fields += 1;
            }
            data[i + 1..].to_vec()
        })
        .collect()
}

// Several threads: the CLI runs as a blocking child process while the services answer it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_batch_report_as_html_and_pdf() {
    let mut mb = Molbatch::start().await;
    let options = pb::UploadOptions {
        display_name: "chembl214-slice.csv".into(),
        smiles_column: "smiles".into(),
        activity_columns: vec![pb::ActivityColumn {
            column: "exp_mean [nM]".into(),
            unit: "nM".into(),
        }],
        ..Default::default()
    };
    let job = mb
        .client
        .upload(std::io::Cursor::new(slice().into_bytes()), options)
        .await
        .unwrap();
    let job = mb.client.wait(&job.job_id, |_| {}).await.unwrap();
    assert_eq!(job.state, pb::JobState::Completed as i32, "{job:?}");
    let id = job.job_id.clone();
    // Statistics (automatic) and scaffolds are stored; chemical space and mmp are not run,
    // so the report computes them.
    let AnalysisResult::Statistics(stats) = analysis(&mut mb, &id, "statistics", false).await
    else {
        panic!("not statistics")
    };
    let AnalysisResult::Scaffolds(scaffolds) = analysis(&mut mb, &id, "scaffolds", true).await
    else {
        panic!("not scaffolds")
    };

    // The CLI downloads the HTML report.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("report.html");
    let key = mb.admin_key();
    let cli = Command::new(BIN)
        .args([
            "export",
            &id,
            "--format",
            "report",
            "-o",
            path.to_str().unwrap(),
        ])
        .env("MOLBATCH_SERVER", mb.url())
        .env("MOLBATCH_API_KEY", &key)
        .env_remove("MOLBATCH_API_KEY_FILE")
        .output()
        .unwrap();
    assert!(
        cli.status.success(),
        "{}",
        String::from_utf8_lossy(&cli.stderr)
    );
    let cli_html = std::fs::read_to_string(&path).unwrap();

    let (export, html) = create_and_download(&mut mb, &id, "report").await;
    assert_eq!(export.content_type, "text/html; charset=utf-8");
    assert_eq!(export.file_name, format!("{id}.html"));
    assert_eq!(export.bytes, html.len() as u64);
    let html = String::from_utf8(html).unwrap();
    for report in [&html, &cli_html] {
        assert!(report.starts_with("<!DOCTYPE html>"));
        // Nothing outside the file: no links, scripts, sources or remote references.
        for banned in [
            "<link",
            "<script",
            "<img",
            "<iframe",
            "src=",
            "href=\"http",
            "url(",
            "@import",
        ] {
            assert!(!report.contains(banned), "{banned} in the report");
        }
        for id in [
            "summary",
            "distributions",
            "alerts",
            "scaffolds",
            "chemical-space",
            "cliffs",
            "efficiency",
        ] {
            assert!(
                report.contains(&format!("<section id=\"{id}\"")),
                "no section {id}"
            );
        }
    }

    // The analyses' numbers: stored ones as stored, computed ones as the analyses compute them.
    let q = stats.quality.unwrap();
    assert!(html.contains(&format!(
        "<dt>Quality score</dt><dd>{}</dd>",
        fixed(q.score, 1)
    )));
    assert!(html.contains(&format!("<dd>{} (", job.valid_molecules)));
    let entropy = format!(
        "<dt>Scaffold entropy</dt><dd>{}</dd>",
        fixed(scaffolds.entropy, 3)
    );
    assert!(html.contains(&entropy), "{entropy}");
    assert!(html.contains("Computed for this report"));
    assert!(html.contains("chemical_space, mmp"));
    let AnalysisResult::Mmp(mmp) = analysis(&mut mb, &id, "mmp", true).await else {
        panic!("not mmp")
    };
    let cliffs = top_cliffs(&mmp);
    assert!(!cliffs.is_empty(), "the slice has activity cliffs");
    for c in &cliffs {
        assert!(
            html.contains(&format!("SALI {}", fixed(c.sali, 1))),
            "cliff {c:?}"
        );
    }
    assert!(html.contains(&format!(
        "{} activity cliffs on exp_mean [nM]",
        mmp.cliffs.len()
    )));
    let AnalysisResult::ChemicalSpace(space) = analysis(&mut mb, &id, "chemical_space", true).await
    else {
        panic!("not chemical space")
    };
    let explained: f64 = space.explained_variance_ratio.iter().take(2).sum();
    assert!(html.contains(&format!(
        "The two components explain {}% of the variance.",
        fixed(100.0 * explained, 1)
    )));
    // Scaffold and cliff structures and the plots are inline SVG.
    let drawn = top_scaffolds(&scaffolds)
        .iter()
        .filter(|g| !g.key.is_empty())
        .count();
    let plots = 2 + stats.columns.iter().filter(|c| c.count > 0).count();
    let pictures = html.matches("<svg ").count();
    assert_eq!(
        pictures,
        drawn + 2 * cliffs.len() + plots - histograms_missing(&stats)
    );

    let (export, pdf) = create_and_download(&mut mb, &id, "report_pdf").await;
    assert_eq!(export.content_type, "application/pdf");
    assert_eq!(export.file_name, format!("{id}.pdf"));
    assert!(pdf.starts_with(b"%PDF-"));
    let pages = rendered_pages(&pdf);
    // Each of the seven sections starts a page; the alert table may take more.
    assert!((7..=12).contains(&pages.len()), "{} pages", pages.len());
    let count =
        String::from_utf8_lossy(&pdf).contains(&format!("/Type/Pages/Count {}/", pages.len()));
    assert!(count, "the page tree counts the rendered pages");
    for (i, page) in pages.iter().enumerate() {
        assert!(!page.is_empty());
        let ink = page.iter().filter(|&&v| v < 200).count();
        assert!(ink > 100, "page {} is blank ({ink} dark pixels)", i + 1);
    }
    mb.stop().await;
}
