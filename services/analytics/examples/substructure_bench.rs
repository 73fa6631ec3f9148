//! Substructure search beside RDKit's `SubstructLibrary` on the same
//! molecules and queries, both cores each (`make bench`).
//!
//! Usage: `substructure_bench MOLECULES.smi QUERIES.tsv [RUNS]`
//!
//! Standardises the molecules with the pipeline (as a job would), makes
//! their search keys, then times every query of QUERIES.tsv (the table of
//! `crates/chem/tests/fixtures/substructure_queries.tsv`) through
//! [`KeyIndex::page`] asking for every hit, best of RUNS (default 3). Then
//! runs `scripts/substructure_bench.py` (Debian's python3-rdkit) on the same
//! standardised SMILES, checks that every query has the same hits there, and
//! prints per-query times, the screen-out rate and the ratio to the faster
//! of RDKit's two libraries (cached trusted SMILES, pickles).

use std::io::Write as _;
use std::process::Command;
use std::time::Instant;

use molbatch_analytics::substructure::KeyIndex;
use molbatch_chem::substructure::search_key;
use molbatch_chem::{MolInput, Pipeline, QuerySyntax, SubstructureQuery};
use rayon::prelude::*;

/// One query of the table.
struct Query {
    syntax: QuerySyntax,
    chirality: bool,
    text: String,
}

fn queries(path: &str) -> anyhow::Result<Vec<Query>> {
    let text = std::fs::read_to_string(path)?;
    text.lines()
        .skip(1)
        .filter(|l| !l.trim().is_empty())
        .map(|line| {
            let fields: Vec<&str> = line.split('\t').collect();
            anyhow::ensure!(fields.len() >= 3, "bad query line {line:?}");
            Ok(Query {
                syntax: if fields[0] == "smarts" {
                    QuerySyntax::Smarts
                } else {
                    QuerySyntax::Smiles
                },
                chirality: fields[1] == "true",
                text: fields[2].to_owned(),
            })
        })
        .collect()
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    anyhow::ensure!(
        args.len() >= 3,
        "usage: substructure_bench MOLECULES.smi QUERIES.tsv [RUNS]"
    );
    let runs: usize = args.get(3).map_or(Ok(3), |r| r.parse())?;
    let queries = queries(&args[2])?;
    let input = std::fs::read_to_string(&args[1])?;
    let pipeline = Pipeline::new()?;
    let standardized: Vec<String> = input
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .collect::<Vec<_>>()
        .par_iter()
        .filter_map(|s| {
            let outcome = pipeline.process(MolInput::Smiles(s));
            outcome.valid().map(|r| r.standardized_smiles.clone())
        })
        .collect();
    let n = standardized.len();

    let start = Instant::now();
    let keys: Vec<(u64, _)> = standardized
        .par_iter()
        .enumerate()
        .map(|(i, s)| Ok((i as u64, search_key(s)?)))
        .collect::<Result<_, molbatch_chem::ChemError>>()?;
    let key_seconds = start.elapsed().as_secs_f64();
    let key_bytes: usize = keys.iter().map(|(_, k)| 256 + k.molecule.len()).sum();
    let index = KeyIndex::new(keys, n as u64);
    println!(
        "{n} molecules, {} queries, {} threads; search keys made in {key_seconds:.2} s \
         ({:.0} µs and {} bytes per molecule)",
        queries.len(),
        rayon::current_num_threads(),
        key_seconds * 1e6 / n as f64,
        key_bytes / n.max(1)
    );

    // Ours: every hit of each query, best of `runs`.
    let mut ours = Vec::new();
    for query in &queries {
        let parsed = SubstructureQuery::parse(&query.text, query.syntax, query.chirality)?;
        let mut best = f64::INFINITY;
        let mut page = None;
        for _ in 0..runs {
            let start = Instant::now();
            let found = index.page(&parsed, 0, usize::MAX)?;
            best = best.min(start.elapsed().as_secs_f64());
            page = Some(found);
        }
        let page = page.ok_or_else(|| anyhow::anyhow!("no run"))?;
        ours.push((best, page));
    }

    // RDKit's SubstructLibrary on the same standardised SMILES.
    let dir = tempfile_dir()?;
    let smi = dir.join("standardized.smi");
    let mut file = std::fs::File::create(&smi)?;
    for s in &standardized {
        writeln!(file, "{s}")?;
    }
    drop(file);
    let out = Command::new("/usr/bin/python3")
        .arg("scripts/substructure_bench.py")
        .arg(&smi)
        .arg(&args[2])
        .args(["--threads", "2"])
        .output()?;
    std::fs::remove_dir_all(&dir)?;
    anyhow::ensure!(
        out.status.success(),
        "the RDKit peer failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let peer: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    let libraries = ["trusted_smiles", "pickles"];
    let mut totals = [0.0f64; 2];
    println!(
        "{:<34} {:>6} {:>7} {:>10} {:>12} {:>10}",
        "query", "hits", "screen", "molbatch", "rdkit smiles", "rdkit pkl"
    );
    let mut ours_total = 0.0;
    let (mut scanned, mut candidates) = (0u64, 0u64);
    for (i, (query, (seconds, page))) in queries.iter().zip(&ours).enumerate() {
        let hits: Vec<u64> = page.hits.iter().map(|(index, _)| *index).collect();
        let mut peer_seconds = [0.0; 2];
        for (l, library) in libraries.iter().enumerate() {
            let result = &peer["libraries"][library]["queries"][i];
            anyhow::ensure!(
                result["query"] == query.text.as_str(),
                "query order differs"
            );
            let theirs: Vec<u64> = result["indices"]
                .as_array()
                .map(|a| a.iter().filter_map(serde_json::Value::as_u64).collect())
                .unwrap_or_default();
            anyhow::ensure!(
                theirs == hits,
                "{library}: {:?} gives {} hits, molbatch {}",
                query.text,
                theirs.len(),
                hits.len()
            );
            peer_seconds[l] = result["seconds"].as_f64().unwrap_or(f64::NAN);
            totals[l] += peer_seconds[l];
        }
        ours_total += seconds;
        scanned += page.scanned;
        candidates += page.candidates;
        let label = format!(
            "{}{} {}",
            if query.syntax == QuerySyntax::Smarts {
                "sma"
            } else {
                "smi"
            },
            if query.chirality { "@" } else { " " },
            query.text
        );
        println!(
            "{:<34} {:>6} {:>6.1}% {:>8.1}ms {:>10.1}ms {:>8.1}ms",
            label.chars().take(34).collect::<String>(),
            hits.len(),
            100.0 * (page.scanned - page.candidates) as f64 / page.scanned.max(1) as f64,
            seconds * 1e3,
            peer_seconds[0] * 1e3,
            peer_seconds[1] * 1e3
        );
    }
    let faster = totals[0].min(totals[1]);
    println!(
        "substructure_all_queries_s molbatch {ours_total:.3} rdkit_trusted_smiles {:.3} rdkit_pickles {:.3}",
        totals[0], totals[1]
    );
    println!(
        "substructure_screened_out {:.1}% of {scanned} molecule-query pairs (identical hits for all {} queries)",
        100.0 * (scanned - candidates) as f64 / scanned.max(1) as f64,
        queries.len()
    );
    println!(
        "substructure molbatch / fastest RDKit SubstructLibrary: {:.2}x the speed",
        faster / ours_total
    );
    Ok(())
}

/// A fresh scratch directory under the system's temporary directory.
fn tempfile_dir() -> anyhow::Result<std::path::PathBuf> {
    let dir = std::env::temp_dir().join(format!("substructure-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}
