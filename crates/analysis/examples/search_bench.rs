//! Similarity search bench on the 1,584,663 MOSES training molecules.
//!
//! ```sh
//! CARGO_TARGET_DIR=... cargo run --release -p molbatch-analysis --example search_bench -- \
//!     [--cache-dir DIR] [--smiles train.csv.gz] [--queries 200] [--matrix-molecules 50000] \
//!     [--tsne-molecules 0]
//! ```
//!
//! Fingerprints (Morgan r2, 2048 bits) are computed once by
//! `scripts/moses_fingerprints.py` with Debian's `/usr/bin/python3` (RDKit, two
//! processes) into `DIR/moses_fp.bin` (default `$CARGO_TARGET_DIR/bench-data`, else
//! `target/bench-data`) and reused afterwards. Prints search queries per second for
//! top-10 and threshold 0.7 on one core and on every core, Tanimoto comparisons per
//! second (performed, and the full-scan equivalent), the memory-bandwidth floor measured
//! in the same run, index build time and size, the popcount kernels side by side, and the
//! sparse similarity matrix at 0.7 and the nearest neighbours of the first 50,000
//! molecules; with `--tsne-molecules N`, the t-SNE map of the first N.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use molbatch_analysis::similarity::{
    nearest_neighbors, screen, sparse_similarity_matrix, word_counts, Fingerprint,
    FingerprintIndex, PopcountKernel, SearchParams, WordCounts, FINGERPRINT_WORDS,
};
use molbatch_analysis::tsne::{tsne_fingerprints, TsneOptions};
use rayon::prelude::*;

const FP_BYTES: usize = FINGERPRINT_WORDS * 8;

struct Args {
    cache_dir: PathBuf,
    smiles: PathBuf,
    queries: usize,
    matrix_molecules: usize,
    tsne_molecules: usize,
}

fn parse_args() -> Result<Args> {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let workspace = manifest.join("../..");
    let shared = std::env::var_os("MOLBATCH_SHARED_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace.join("../shared/data"));
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace.join("target"));
    let mut args = Args {
        cache_dir: target.join("bench-data"),
        smiles: shared.join("moses/train.csv.gz"),
        queries: 200,
        matrix_molecules: 50_000,
        tsne_molecules: 0,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().with_context(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--cache-dir" => args.cache_dir = value.into(),
            "--smiles" => args.smiles = value.into(),
            "--queries" => args.queries = value.parse()?,
            "--matrix-molecules" => args.matrix_molecules = value.parse()?,
            "--tsne-molecules" => args.tsne_molecules = value.parse()?,
            other => bail!("unknown flag {other}"),
        }
    }
    Ok(args)
}

fn ensure_fingerprints(args: &Args) -> Result<PathBuf> {
    let path = args.cache_dir.join("moses_fp.bin");
    if !path.exists() {
        let script =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/moses_fingerprints.py");
        println!(
            "fingerprints: computing {} with RDKit (once)",
            path.display()
        );
        let status = Command::new("/usr/bin/python3")
            .arg(script)
            .arg(&path)
            .arg(&args.smiles)
            .arg("2")
            .status()?;
        if !status.success() {
            bail!("moses_fingerprints.py failed: {status}");
        }
    }
    Ok(path)
}

fn load(path: &Path) -> Result<Vec<Fingerprint>> {
    let bytes = std::fs::read(path)?;
    if bytes.len() % FP_BYTES != 0 {
        bail!("{} is not a whole number of fingerprints", path.display());
    }
    Ok(bytes
        .par_chunks_exact(FP_BYTES)
        .map(|c| {
            std::array::from_fn(|w| u64::from_le_bytes(c[w * 8..w * 8 + 8].try_into().unwrap()))
        })
        .collect())
}

/// Best of three read bandwidths (bytes/s) summing `data` on `threads` threads.
fn bandwidth(data: &[u64], threads: usize) -> f64 {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap();
    let mut best = Duration::MAX;
    for _ in 0..3 {
        let start = Instant::now();
        let sum: u64 = pool.install(|| {
            data.par_chunks(data.len() / threads + 1)
                .map(|c| c.iter().fold(0u64, |a, &x| a.wrapping_add(x)))
                .reduce(|| 0, u64::wrapping_add)
        });
        best = best.min(start.elapsed());
        std::hint::black_box(sum);
    }
    std::mem::size_of_val(data) as f64 / best.as_secs_f64()
}

struct Run {
    seconds: f64,
    screened: u64,
    compared: u64,
}

fn run_queries(
    index: &FingerprintIndex,
    queries: &[Fingerprint],
    params: &SearchParams,
    pool: &rayon::ThreadPool,
    queries_in_parallel: bool,
) -> Run {
    let start = Instant::now();
    let counts: Vec<(u64, u64)> = pool.install(|| {
        if queries_in_parallel {
            queries
                .par_iter()
                .map(|q| index.search(q, &params.on_current_thread()).unwrap())
                .map(|r| (r.screened, r.compared))
                .collect()
        } else {
            queries
                .iter()
                .map(|q| index.search(q, params).unwrap())
                .map(|r| (r.screened, r.compared))
                .collect()
        }
    });
    Run {
        seconds: start.elapsed().as_secs_f64(),
        screened: counts.iter().map(|c| c.0).sum(),
        compared: counts.iter().map(|c| c.1).sum(),
    }
}

fn main() -> Result<()> {
    let args = parse_args()?;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let path = ensure_fingerprints(&args)?;
    let start = Instant::now();
    let fps = load(&path)?;
    let n = fps.len();
    println!(
        "fingerprints: {n} Morgan r2 2048-bit loaded in {:.2} s from {}",
        start.elapsed().as_secs_f64(),
        path.display()
    );

    let start = Instant::now();
    let index = FingerprintIndex::from_fingerprints(&fps)?;
    println!(
        "index: built in {:.2} s, {:.1} MiB ({:.1} bytes/molecule), popcount kernel {}",
        start.elapsed().as_secs_f64(),
        index.memory_bytes() as f64 / (1 << 20) as f64,
        index.memory_bytes() as f64 / n as f64,
        index.kernel().name()
    );

    let big: Vec<u64> = (0..(n * FINGERPRINT_WORDS) as u64).collect();
    let bw1 = bandwidth(&big, 1);
    let bw_all = bandwidth(&big, cores);
    drop(big);
    println!(
        "memory read bandwidth (sum of a {:.0} MiB u64 array): 1 thread {:.2} GB/s, {cores} threads {:.2} GB/s",
        (n * FP_BYTES) as f64 / (1 << 20) as f64,
        bw1 / 1e9,
        bw_all / 1e9
    );

    // raw kernels over the whole set, one thread: the case for the unsafe multiversioning
    let mut counts = vec![0u32; 1024];
    for kernel in [
        PopcountKernel::Portable,
        PopcountKernel::Popcnt,
        PopcountKernel::Avx512,
    ] {
        if !kernel.is_supported() {
            println!("kernel {}: not supported by this CPU", kernel.name());
            continue;
        }
        let start = Instant::now();
        let mut total = 0u64;
        for chunk in fps.chunks(1024) {
            kernel.intersections(&fps[0], chunk, &mut counts);
            total += counts[..chunk.len()]
                .iter()
                .map(|&c| u64::from(c))
                .sum::<u64>();
        }
        std::hint::black_box(total);
        let s = start.elapsed().as_secs_f64();
        println!(
            "kernel {}: full scan 1 thread {:.1} ms, {:.1} M comparisons/s, {:.2} GB/s",
            kernel.name(),
            s * 1e3,
            n as f64 / s / 1e6,
            (n * FP_BYTES) as f64 / s / 1e9
        );
    }

    let all_counts: Vec<WordCounts> = fps.par_iter().map(word_counts).collect();
    let query_counts = word_counts(&fps[0]);
    let mut survivors = Vec::with_capacity(1024);
    let start = Instant::now();
    let mut kept = 0usize;
    for chunk in all_counts.chunks(1024) {
        survivors.clear();
        screen(&query_counts, chunk, 30, &mut survivors);
        kept += survivors.len();
    }
    std::hint::black_box(kept);
    let s = start.elapsed().as_secs_f64();
    println!(
        "screen (portable, SSE2): word-count bound over the set, 1 thread {:.1} ms, {:.1} M candidates/s",
        s * 1e3,
        n as f64 / s / 1e6
    );
    drop(all_counts);

    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let queries: Vec<Fingerprint> = (0..args.queries)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            fps[(state % n as u64) as usize]
        })
        .collect();
    let one = rayon::ThreadPoolBuilder::new().num_threads(1).build()?;
    let all = rayon::ThreadPoolBuilder::new().num_threads(cores).build()?;
    for (name, params) in [
        ("top-10", SearchParams::top_k(10)),
        ("threshold 0.7", SearchParams::threshold(0.7)),
    ] {
        for (label, pool, parallel_queries, bw, threads) in [
            ("1 core", &one, false, bw1, 1),
            (
                &*format!("{cores} cores, one query at a time"),
                &all,
                false,
                bw_all,
                cores,
            ),
            (
                &*format!("{cores} cores, queries in parallel"),
                &all,
                true,
                bw_all,
                cores,
            ),
        ] {
            let run = run_queries(&index, &queries, &params, pool, parallel_queries);
            let q = queries.len() as f64;
            let per_query = run.seconds / q;
            let screened = run.screened as f64 / q;
            let compared = run.compared as f64 / q;
            // the screen reads 32 bytes of word counts, a full comparison 256 bytes
            let bytes = screened * 32.0 + compared * FP_BYTES as f64;
            let floor = bytes / bw;
            let full_floor = (n * FP_BYTES) as f64 / bw;
            println!("search {name}, {label}:");
            println!(
                "    {:.1} queries/s, {:.2} ms/query",
                q / run.seconds,
                per_query * 1e3
            );
            println!(
                "    per query: {:.0} screened ({:.1}% of the set), {:.0} full Tanimoto ({:.2}%)",
                screened,
                100.0 * screened / n as f64,
                compared,
                100.0 * compared / n as f64,
            );
            println!(
                "    {:.1} M molecules decided/s per core (full-scan equivalent); {:.1} M screened/s, {:.1} M full Tanimoto/s",
                q * n as f64 / run.seconds / 1e6 / threads as f64,
                run.screened as f64 / run.seconds / 1e6,
                run.compared as f64 / run.seconds / 1e6,
            );
            println!(
                "    bandwidth floor of the {:.1} MB read per query: {:.2} ms, measured/floor {:.2}; floor of a full 256-byte scan: {:.2} ms, measured/that {:.2}",
                bytes / 1e6,
                floor * 1e3,
                per_query / floor,
                full_floor * 1e3,
                per_query / full_floor
            );
        }
    }

    let m = args.matrix_molecules.min(n);
    let subset = FingerprintIndex::from_fingerprints(&fps[..m])?;
    let start = Instant::now();
    let sparse = all.install(|| sparse_similarity_matrix(&subset, 0.7))?;
    let s = start.elapsed().as_secs_f64();
    let all_pairs = (m * (m - 1) / 2) as f64;
    println!(
        "sparse matrix at 0.7, first {m} molecules, {cores} cores: {:.2} s, {} pairs; {} pairs screened ({:.1}% of all {all_pairs:.0}), {} full Tanimoto ({:.3}%); {:.1} M pairs decided/s",
        s,
        sparse.pairs.len(),
        sparse.screened,
        100.0 * sparse.screened as f64 / all_pairs,
        sparse.compared,
        100.0 * sparse.compared as f64 / all_pairs,
        all_pairs / s / 1e6
    );
    let start = Instant::now();
    let nearest = all.install(|| nearest_neighbors(&subset));
    println!(
        "nearest neighbours, first {m} molecules, {cores} cores: {:.2} s, mean isolation {:.3}",
        start.elapsed().as_secs_f64(),
        nearest.iter().map(|x| x.isolation).sum::<f64>() / nearest.len().max(1) as f64
    );
    if args.tsne_molecules > 0 {
        let m = args.tsne_molecules.min(n);
        let subset = FingerprintIndex::from_fingerprints(&fps[..m])?;
        let start = Instant::now();
        let map = all.install(|| tsne_fingerprints(&subset, &TsneOptions::default()))?;
        println!(
            "t-SNE (Barnes-Hut, 1,000 iterations), first {m} molecules, {cores} cores: {:.1} s, {} points",
            start.elapsed().as_secs_f64(),
            map.nrows()
        );
    }
    Ok(())
}
