//! Compares the canonical tautomer `Pipeline::process` reports with RDKit's own
//! `TautomerEnumerator::canonicalize` on every SMILES of a file (one per line, or the first
//! comma-separated field; a header line that does not parse is counted as rejected), on all
//! cores. Prints every difference and a final `compared N differ D rejected R` line; exits
//! non-zero when any differ.
//!
//! `cargo run --release -p molbatch-chem --example tautomer_check -- FILE`

use molbatch_chem::Pipeline;
use rayon::prelude::*;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args()
        .nth(1)
        .ok_or("usage: tautomer_check SMILES_FILE")?;
    let text = std::fs::read_to_string(&path)?;
    let smiles: Vec<&str> = text
        .lines()
        .filter_map(|l| l.split(',').next())
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    let pipeline = Pipeline::new()?;
    let outcomes: Vec<_> = smiles
        .par_iter()
        .map(|s| (s, pipeline.canonical_tautomers(s)))
        .collect();
    let (mut compared, mut differ, mut rejected) = (0usize, 0usize, 0usize);
    for (s, outcome) in outcomes {
        match outcome {
            Ok((ours, rdkits)) => {
                compared += 1;
                if ours != rdkits {
                    differ += 1;
                    println!("differs: {s}\tours {ours}\tRDKit's {rdkits}");
                }
            }
            Err(_) => rejected += 1,
        }
    }
    println!("compared {compared} differ {differ} rejected {rejected}");
    if differ > 0 {
        std::process::exit(1);
    }
    Ok(())
}
