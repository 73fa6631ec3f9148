//! `make bench` helper (`scripts/bench_mmp.sh`): the `mmp` analysis at scale as the worker
//! runs it — results gathered page by page (each page fragmented on all cores and spilled to
//! disk by constant), then paired in groups within `--memory-mb`, pairs and transforms cut
//! into the pages the worker stores — on the SMILES of a `.smi` file (first column), with the
//! time and this process's peak resident memory. The pages are counted, not stored; the
//! molecules carry no fingerprints (every Tanimoto is 0) and no activities, so what is timed
//! is fragmentation, indexing and paging, the part mmpdb's `fragment` + `index` do.
//!
//! Usage: `mmp_bench FILE.smi [--memory-mb=1024] [--pairs-tsv=PATH]`; `--pairs-tsv` also
//! writes every pair as `a, b, constant, transform` (tab-separated, molecules by line number
//! from 0), to compare the pair set with mmpdb's `index --out csv`.
#![allow(clippy::unwrap_used)]

use std::io::{BufRead, Write};
use std::time::Instant;

use molbatch_analytics::outcome::AnalysisError;
use molbatch_analytics::sar::MmpGathering;
use molbatch_proto::analysis::MmpParams;
use molbatch_proto::pages::{self, PageSeries};
use molbatch_proto::v1 as pb;
use prost::Message;

/// Results per gathered page, as the worker reads them.
const PAGE: usize = 1_000;

/// This process's peak resident memory in MiB (`VmHWM`).
fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

/// Writes the pairs of an encoded pairs page as TSV rows.
fn write_pairs(out: &mut impl Write, page: &[u8]) -> anyhow::Result<()> {
    for p in pb::ListMatchedPairsResponse::decode(pages::unpack(page)?.as_slice())?.pairs {
        writeln!(out, "{}\t{}\t{}\t{}", p.a, p.b, p.constant, p.transform)?;
    }
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let mut path = None;
    let mut memory_mb: u64 = 1_024;
    let mut pairs_tsv = None;
    for arg in std::env::args().skip(1) {
        if let Some(v) = arg.strip_prefix("--memory-mb=") {
            memory_mb = v.parse()?;
        } else if let Some(v) = arg.strip_prefix("--pairs-tsv=") {
            pairs_tsv = Some(std::io::BufWriter::new(std::fs::File::create(v)?));
        } else {
            path = Some(arg);
        }
    }
    let path = path.ok_or_else(|| {
        anyhow::anyhow!("usage: mmp_bench FILE.smi [--memory-mb=N] [--pairs-tsv=PATH]")
    })?;
    let input = std::io::BufReader::new(std::fs::File::open(&path)?);
    let started = Instant::now();
    let mut gathering = MmpGathering::new(&MmpParams::default())?;
    let mut page = Vec::with_capacity(PAGE);
    let mut molecules = 0u64;
    for line in input.lines() {
        let line = line?;
        let Some(smiles) = line.split_whitespace().next() else {
            continue;
        };
        page.push(pb::MoleculeResult {
            index: molecules,
            valid: true,
            standardized_smiles: smiles.to_owned(),
            ..pb::MoleculeResult::default()
        });
        molecules += 1;
        if page.len() == PAGE {
            gathering.add(std::mem::take(&mut page))?;
        }
    }
    gathering.add(page)?;
    let spilled = gathering.spilled_bytes()?;
    let fragmented = started.elapsed().as_secs_f64();
    let (mut pair_pages, mut transform_pages, mut bytes) = (0u64, 0u64, 0u64);
    let result = gathering.finish(memory_mb << 20, &mut |p| {
        if p.series == PageSeries::MmpPairs {
            pair_pages += 1;
            if let Some(out) = pairs_tsv.as_mut() {
                write_pairs(out, &p.data).map_err(|e| AnalysisError::Compute(e.to_string()))?;
            }
        } else {
            transform_pages += 1;
        }
        bytes += p.data.len() as u64;
        Ok(())
    })?;
    if let Some(mut out) = pairs_tsv {
        out.flush()?;
    }
    let total = started.elapsed().as_secs_f64();
    println!(
        "mmp of {molecules} molecules (memory {memory_mb} MiB): fragment {fragmented:.1} s, pair + page {:.1} s, total {total:.1} s; {} fragmentations, {} pairs, {} transforms; {pair_pages} pair pages + {transform_pages} transform pages, {:.1} MiB packed; index spilled {:.0} MiB ({:.1} KB per molecule); peak RSS {:.0} MiB",
        total - fragmented,
        result.fragmentations,
        result.pair_count,
        result.transform_count,
        bytes as f64 / (1 << 20) as f64,
        spilled as f64 / (1 << 20) as f64,
        spilled as f64 / 1000.0 / molecules.max(1) as f64,
        peak_rss_mib()
    );
    Ok(())
}
