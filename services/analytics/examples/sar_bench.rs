//! `make bench` helper: runs the per-molecule pipeline with the activity column and the `mmp`
//! analysis (fragmentation, pairing, activity cliffs) on ChEMBL activity sets, prints the
//! times, and the agreement of the cliff flags with the sets' MoleculeACE `cliff_mol` labels;
//! for CHEMBL214_Ki (5-HT1A) also the `rgroups` analysis, with the proposed core (the most
//! frequent Murcko scaffold) and with the arylpiperazine core [`ARYLPIPERAZINE`].
//!
//! Usage: `sar_bench [--smi=OUT.smi] SET.csv...` (columns `smiles`, `exp_mean [nM]`,
//! `cliff_mol`); `--smi` writes the standardised SMILES of all sets, the input the bench gives
//! mmpdb for the same fragment + index run.
#![allow(clippy::unwrap_used)]

use std::time::Instant;

use molbatch_analytics::analyses::Outcome;
use molbatch_analytics::compute::compute_one;
use molbatch_analytics::rgroups::rgroups;
use molbatch_analytics::sar::{matched_pairs, mmp};
use molbatch_chem::Pipeline;
use molbatch_proto::analysis::{MmpParams, RgroupsParams};
use molbatch_proto::{internal as ipb, v1 as pb};
use rayon::prelude::*;

/// The 5-HT1A arylpiperazine pharmacophore: about 1,350 of CHEMBL214_Ki's 3,317 molecules.
const ARYLPIPERAZINE: &str = "c1ccc(N2CCNCC2)cc1";

/// Times the `rgroups` analysis of `valid` with `core` (proposed when `None`) and prints it.
fn rgroups_line(
    name: &str,
    valid: &[&pb::MoleculeResult],
    core: Option<&str>,
) -> anyhow::Result<()> {
    let params = RgroupsParams {
        core: core.map(str::to_owned),
        ..RgroupsParams::default()
    };
    let started = Instant::now();
    let outcome = rgroups(valid, &params)?;
    let seconds = started.elapsed().as_secs_f64();
    let Outcome::Complete(pb::analysis::Result::Rgroups(r)) = outcome else {
        println!("{name}: rgroups skipped: {outcome:?}");
        return Ok(());
    };
    println!(
        "{name}: rgroups {seconds:.2} s, core {} ({}), {} of {} matched, {} labels, {} over budget, matching {}",
        r.core,
        if r.core_proposed { "proposed" } else { "given" },
        r.matched,
        r.molecules,
        r.labels.len(),
        r.over_budget,
        r.matching
    );
    Ok(())
}

fn main() -> anyhow::Result<()> {
    let pipeline = Pipeline::new()?;
    let mut all_smiles: Vec<String> = Vec::new();
    let mut smi_out = None;
    for path in std::env::args().skip(1) {
        if let Some(out) = path.strip_prefix("--smi=") {
            smi_out = Some(out.to_owned());
            continue;
        }
        let mut reader = csv::Reader::from_path(&path)?;
        let header = reader.headers()?.clone();
        let col = |name: &str| header.iter().position(|h| h == name).unwrap();
        let (smiles, nm, label) = (col("smiles"), col("exp_mean [nM]"), col("cliff_mol"));
        let mut records = Vec::new();
        let mut labels = Vec::new();
        for (i, row) in reader.records().enumerate() {
            let row = row?;
            records.push(ipb::InputRecord {
                index: i as u64,
                molecule: Some(pb::InputMolecule {
                    smiles: row[smiles].to_owned(),
                    activities: vec![pb::ActivityValue {
                        column: "exp_mean [nM]".to_owned(),
                        value: row[nm].to_owned(),
                        unit: "nM".to_owned(),
                    }],
                    ..Default::default()
                }),
                ..Default::default()
            });
            labels.push(&row[label] == "1");
        }
        let results: Vec<pb::MoleculeResult> = records
            .par_iter()
            .map(|r| compute_one(&pipeline, r))
            .collect();
        let valid: Vec<&pb::MoleculeResult> = results.iter().filter(|r| r.valid).collect();
        all_smiles.extend(valid.iter().map(|r| r.standardized_smiles.clone()));
        let started = Instant::now();
        let result = mmp(&valid, &MmpParams::default())?;
        let seconds = started.elapsed().as_secs_f64();
        let agree = result
            .cliff_molecules
            .iter()
            .filter(|m| m.cliff == labels[m.index as usize])
            .count();
        // The same flags with matched-pair cliffs added (`cliff_matched_pairs=true`).
        let with_mmp = mmp(
            &valid,
            &MmpParams {
                cliff_matched_pairs: true,
                ..MmpParams::default()
            },
        )?;
        let agree_mmp = with_mmp
            .cliff_molecules
            .iter()
            .filter(|m| m.cliff == labels[m.index as usize])
            .count();
        let name = std::path::Path::new(&path)
            .file_stem()
            .unwrap()
            .to_string_lossy();
        println!(
            "{name}: {} molecules, mmp+cliffs {seconds:.2} s, {} pairs, {} cliffs, cliff_mol agreement {}/{} = {:.2}%",
            valid.len(),
            result.pairs.len(),
            result.cliffs.len(),
            agree,
            result.cliff_molecules.len(),
            100.0 * agree as f64 / result.cliff_molecules.len().max(1) as f64
        );
        println!(
            "  labelled cliff molecules {}, flagged {}; with cliff_matched_pairs=true agreement {:.2}%",
            labels.iter().filter(|l| **l).count(),
            result.cliff_molecules.iter().filter(|m| m.cliff).count(),
            100.0 * agree_mmp as f64 / with_mmp.cliff_molecules.len().max(1) as f64
        );
        if name == "CHEMBL214_Ki" {
            rgroups_line(&name, &valid, None)?;
            rgroups_line(&name, &valid, Some(ARYLPIPERAZINE))?;
        }
    }
    if let Some(out) = smi_out {
        let text: String = all_smiles
            .iter()
            .enumerate()
            .map(|(i, s)| format!("{s} m{i}\n"))
            .collect();
        std::fs::write(out, text)?;
    }
    let molecules: Vec<(u32, &str)> = all_smiles
        .iter()
        .enumerate()
        .map(|(i, s)| (i as u32, s.as_str()))
        .collect();
    let started = Instant::now();
    let (pairs, _, fragmentations) = matched_pairs(&molecules, &MmpParams::default())?;
    println!(
        "all sets together: {} molecules, MMP fragment+index {:.2} s ({} fragmentations, {} pairs)",
        molecules.len(),
        started.elapsed().as_secs_f64(),
        fragmentations,
        pairs.len()
    );
    Ok(())
}
