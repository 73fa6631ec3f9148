//! Throughput of the chemistry core on all cores: every SMILES of a file
//! (one per line) through `Pipeline::process` on rayon's pool, several runs.
//! Used by `make bench` (scripts/bench.sh); prints a final
//! `core_mol_per_s MEDIAN` line.
//!
//! `cargo run --release -p molbatch-chem --example pipeline_bench -- FILE [RUNS]`

use std::time::Instant;

use molbatch_chem::{MolInput, Pipeline};
use rayon::prelude::*;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let path = args
        .next()
        .ok_or("usage: pipeline_bench SMILES_FILE [RUNS]")?;
    let runs: usize = args.next().map_or(Ok(3), |r| r.parse())?;
    let text = std::fs::read_to_string(&path)?;
    let smiles: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .collect();
    let pipeline = Pipeline::new()?;
    let mut rates = Vec::new();
    for run in 1..=runs {
        let start = Instant::now();
        // One molecule per rayon job, as the analytics service computes a chunk.
        let valid = smiles
            .par_iter()
            .with_max_len(1)
            .filter(|s| pipeline.process(MolInput::Smiles(s)).valid().is_some())
            .count();
        let elapsed = start.elapsed().as_secs_f64();
        rates.push(smiles.len() as f64 / elapsed);
        println!(
            "core run {run}: {} molecules ({valid} valid) in {elapsed:.2} s, {:.0} mol/s on {} threads",
            smiles.len(),
            rates[rates.len() - 1],
            rayon::current_num_threads()
        );
    }
    rates.sort_by(f64::total_cmp);
    println!("core_mol_per_s {:.1}", rates[rates.len() / 2]);
    Ok(())
}
