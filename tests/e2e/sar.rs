//! Structure–activity through the public API: an uploaded CSV with an activity column gets
//! pActivity and ligand efficiency per molecule (a bad value stays a molecule with an error on
//! its activity), an unknown unit is refused before any job exists, and the `mmp` analysis
//! returns matched pairs, transform statistics and activity cliffs.

use molbatch_client::ClientError;
use molbatch_proto::v1 as pb;
use molbatch_proto::Violations;
use pb::analysis::Result as AnalysisResult;

use crate::support::Molbatch;

const CSV: &str = "smiles,id,Ki\n\
                   Cc1ccc(O)cc1,m0,10\n\
                   Clc1ccc(O)cc1,m1,1000\n\
                   Oc1ccccc1,m2,50\n\
                   Cc1ccc(N)cc1,m3,n/a\n\
                   C1CC,m4,5\n";

fn options(unit: &str) -> pb::UploadOptions {
    pb::UploadOptions {
        display_name: "sar.csv".into(),
        id_column: "id".into(),
        activity_columns: vec![pb::ActivityColumn {
            column: "Ki".into(),
            unit: unit.into(),
        }],
        ..Default::default()
    }
}

#[tokio::test]
async fn activity_columns_and_mmp() {
    let mut mb = Molbatch::start().await;

    let refused = mb
        .client
        .upload(std::io::Cursor::new(CSV.as_bytes().to_vec()), options("kM"))
        .await
        .unwrap_err();
    let ClientError::Status(status) = refused else {
        panic!("expected a status, got {refused}");
    };
    assert_eq!(
        Violations::from_status(&status).fields()[0].0,
        "options.activity_columns[0].unit"
    );

    let job = mb
        .client
        .upload(std::io::Cursor::new(CSV.as_bytes().to_vec()), options("nM"))
        .await
        .unwrap();
    let job = mb.client.wait(&job.job_id, |_| {}).await.unwrap();
    assert_eq!(job.state, pb::JobState::Completed as i32, "{job:?}");
    let mut results = Vec::new();
    mb.client
        .for_each_result_page(&job.job_id, "", false, |page| {
            results.extend(page);
            Ok(())
        })
        .await
        .unwrap();
    assert_eq!(results.len(), 5);
    let a0 = &results[0].activities[0];
    assert_eq!((a0.column.as_str(), a0.unit.as_str()), ("Ki", "nM"));
    assert!((a0.p_activity.unwrap() - 8.0).abs() < 1e-12);
    // p-cresol: 8 heavy atoms.
    assert!((a0.le.unwrap() - 1.37 * 8.0 / 8.0).abs() < 1e-9);
    assert!(a0.lle.is_some() && a0.bei.is_some() && a0.sei.is_some());
    let bad = &results[3];
    assert!(bad.valid);
    assert!(bad.activities[0].p_activity.is_none());
    assert!(bad.activities[0].error.contains("not a number"), "{bad:?}");
    let invalid = &results[4];
    assert!(!invalid.valid);
    let p = invalid.activities[0].p_activity.unwrap();
    assert!((p - (9.0 - 5f64.log10())).abs() < 1e-12);
    assert!(invalid.activities[0].le.is_none());

    let request = pb::RunAnalysisRequest {
        job_id: job.job_id.clone(),
        r#type: "mmp".into(),
        params: [("activity_column".to_owned(), "Ki".to_owned())].into(),
    };
    mb.client.raw().run_analysis(request).await.unwrap();
    let analysis = loop {
        let a = mb
            .client
            .raw()
            .get_analysis(pb::GetAnalysisRequest {
                job_id: job.job_id.clone(),
                r#type: "mmp".into(),
            })
            .await
            .unwrap()
            .into_inner();
        if a.status == pb::AnalysisStatus::Complete as i32 {
            break a;
        }
        assert_ne!(a.status, pb::AnalysisStatus::Failed as i32, "{a:?}");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    let Some(AnalysisResult::Mmp(m)) = analysis.result else {
        panic!("no mmp result: {analysis:?}");
    };
    assert_eq!(m.activity_column, "Ki");
    let pair = m
        .pairs
        .iter()
        .find(|p| (p.a, p.b) == (0, 1) && p.transform == "[*:1]C>>[*:1]Cl")
        .unwrap_or_else(|| panic!("no methyl/chloro pair: {:?}", m.pairs));
    assert!((pair.delta_p_activity.unwrap() - -2.0).abs() < 1e-12);
    assert!(m
        .pairs
        .iter()
        .any(|p| (p.a, p.b) == (0, 2) && p.variable_b == "[*:1][H]"));
    let t = m
        .transforms
        .iter()
        .find(|t| t.transform == "[*:1]C>>[*:1]Cl")
        .unwrap();
    assert_eq!((t.count, t.activity_count), (1, 1));
    // p-cresol and 4-chlorophenol: SMILES one edit apart (1 - 1/13 ≥ 0.9), 100-fold apart.
    let cliff = m.cliffs.iter().find(|c| (c.a, c.b) == (0, 1)).unwrap();
    assert!(cliff.matched_pair && cliff.levenshtein >= 0.9);
    assert!((cliff.sali - 2.0 / (1.0 - cliff.tanimoto)).abs() < 1e-9);
    let flags: Vec<(u64, bool)> = m
        .cliff_molecules
        .iter()
        .map(|c| (c.index, c.cliff))
        .collect();
    assert!(
        flags.contains(&(0, true)) && flags.contains(&(1, true)),
        "{flags:?}"
    );
    mb.stop().await;
}
