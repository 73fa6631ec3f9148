//! Structure–activity through the public API: an uploaded CSV with an activity column gets
//! pActivity and ligand efficiency per molecule (a bad value stays a molecule with an error on
//! its activity), an unknown unit is refused before any job exists, the `mmp` analysis
//! returns matched pairs, transform statistics and activity cliffs, and the `rgroups` analysis
//! decomposes the molecules against a given core or a proposed one (a malformed core is refused
//! at RunAnalysis, one RDKit cannot read fails the analysis naming `core`).

use molbatch_client::ClientError;
use molbatch_proto::v1 as pb;
use molbatch_proto::Violations;
use pb::analysis::Result as AnalysisResult;

use crate::support::{Molbatch, TestDatabase};

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
    let analysis = run_until_ended(&mut mb, request).await;
    let Some(AnalysisResult::Mmp(m)) = analysis.result else {
        panic!("no mmp result: {analysis:?}");
    };
    assert_eq!(m.activity_column, "Ki");
    // Every pair and transform, paged; five molecules fit one page, which
    // the result holds too.
    let mut paged = Vec::new();
    mb.client
        .for_each_matched_pair_page(&job.job_id, |page| {
            paged.extend(page);
            Ok(())
        })
        .await
        .unwrap();
    assert_eq!(paged, m.pairs);
    assert_eq!(m.pair_count, m.pairs.len() as u64);
    let transforms = mb
        .client
        .raw()
        .list_transforms(pb::ListTransformsRequest {
            job_id: job.job_id.clone(),
            page_token: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(transforms.transforms, m.transforms);
    assert!(transforms.next_page_token.is_empty());
    assert_eq!(m.transform_count, m.transforms.len() as u64);
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

/// Arylpiperazines, ethanol (acyclic) and naphthalene (another scaffold).
const ARYLPIPERAZINES: &str = "smiles,id\n\
                               c1ccccc1N1CCNCC1,p0\n\
                               Cc1ccccc1N1CCNCC1,p1\n\
                               COc1ccccc1N1CCN(C)CC1,p2\n\
                               Clc1cccc(N2CCNCC2)c1,p3\n\
                               CCO,e4\n\
                               c1ccc2ccccc2c1,n5\n";

/// Runs `rgroups` with `params` and waits until it is no longer pending or computing.
async fn run_rgroups(mb: &mut Molbatch, job: &str, params: &[(&str, &str)]) -> pb::Analysis {
    let request = pb::RunAnalysisRequest {
        job_id: job.to_owned(),
        r#type: "rgroups".into(),
        params: params
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
    };
    run_until_ended(mb, request).await
}

/// Runs the analysis `request` asks for and polls it until it has ended.
async fn run_until_ended(mb: &mut Molbatch, request: pb::RunAnalysisRequest) -> pb::Analysis {
    let get = pb::GetAnalysisRequest {
        job_id: request.job_id.clone(),
        r#type: request.r#type.clone(),
    };
    mb.client.raw().run_analysis(request).await.unwrap();
    loop {
        let a = mb
            .client
            .raw()
            .get_analysis(get.clone())
            .await
            .unwrap()
            .into_inner();
        if a.status != pb::AnalysisStatus::Pending as i32
            && a.status != pb::AnalysisStatus::Computing as i32
        {
            return a;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

fn rgroups_of(a: pb::Analysis) -> pb::RGroupsResult {
    match a.result {
        Some(AnalysisResult::Rgroups(r)) => r,
        other => panic!("no rgroups result ({}): {other:?}", a.reason),
    }
}

#[tokio::test]
async fn rgroups_with_a_core_without_one_and_with_bad_ones() {
    let mut mb = Molbatch::start().await;
    let job = mb
        .client
        .upload(
            std::io::Cursor::new(ARYLPIPERAZINES.as_bytes().to_vec()),
            pb::UploadOptions {
                display_name: "arylpiperazines.csv".into(),
                id_column: "id".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let job = mb.client.wait(&job.job_id, |_| {}).await.unwrap();
    assert_eq!(job.state, pb::JobState::Completed as i32, "{job:?}");

    // A SMARTS core (RDKit's SMILES parser rejects `[c;R1]`) with the piperazine N labelled.
    let core = "[c;R1]1ccccc1N1CCN([*:1])CC1";
    let r = rgroups_of(run_rgroups(&mut mb, &job.job_id, &[("core", core)]).await);
    assert_eq!((r.core.as_str(), r.core_syntax.as_str()), (core, "smarts"));
    assert!(!r.core_proposed);
    assert_eq!(
        (r.molecules, r.matched, r.unmatched, r.over_budget),
        (6, 4, 2, 0)
    );
    assert_eq!(r.labels, ["R1", "R2", "R3"]);
    assert_eq!(r.matching, "symmetrized");
    let substituted: Vec<(u64, Vec<&str>)> = r
        .rows
        .iter()
        .map(|row| {
            let mut groups: Vec<&str> = row
                .rgroups
                .iter()
                .filter(|g| !g.smiles.starts_with("[H]"))
                .map(|g| g.smiles.split('[').next().unwrap())
                .collect();
            groups.sort_unstable();
            (row.index, groups)
        })
        .collect();
    assert_eq!(
        substituted,
        [
            (0, vec![]),
            (1, vec!["C"]),
            (2, vec!["C", "CO"]),
            (3, vec!["Cl"])
        ]
    );
    // The labelled position is R1: only the N-methyl of p2 sits there.
    let r1 = &r.substituents[0];
    assert_eq!(r1.label, "R1");
    let r1: Vec<(&str, u64)> = r1
        .substituents
        .iter()
        .map(|s| (s.smiles.as_str(), s.count))
        .collect();
    assert_eq!(r1, [("[H][*:1]", 3), ("C[*:1]", 1)]);
    let unmatched: Vec<(u64, i32)> = r
        .unmatched_molecules
        .iter()
        .map(|u| (u.index, u.reason))
        .collect();
    let no_core = pb::RGroupUnmatchedReason::NoCore as i32;
    assert_eq!(unmatched, [(4, no_core), (5, no_core)]);

    // Without a core: the most frequent Murcko scaffold, the phenylpiperazine of p0..p3.
    let r = rgroups_of(run_rgroups(&mut mb, &job.job_id, &[]).await);
    assert!(r.core_proposed);
    assert_eq!(
        (
            r.core.as_str(),
            r.core_syntax.as_str(),
            r.core_scaffold_count
        ),
        ("c1ccc(N2CCNCC2)cc1", "smiles", 4)
    );
    assert_eq!((r.matched, r.unmatched), (4, 2));
    let rows: Vec<u64> = r.rows.iter().map(|row| row.index).collect();
    assert_eq!(rows, [0, 1, 2, 3]);

    // A malformed core is refused before anything is queued...
    let refused = mb
        .client
        .raw()
        .run_analysis(pb::RunAnalysisRequest {
            job_id: job.job_id.clone(),
            r#type: "rgroups".into(),
            params: [("core".to_owned(), "c1ccc(N2CCNCC2".to_owned())].into(),
        })
        .await
        .unwrap_err();
    assert_eq!(refused.code(), tonic::Code::InvalidArgument);
    let violations = Violations::from_status(&refused);
    assert_eq!(violations.fields()[0].0, "params.core", "{refused:?}");
    // ...and one only RDKit can tell is no molecule fails the analysis, naming the core.
    let failed = run_rgroups(&mut mb, &job.job_id, &[("core", "C1CC")]).await;
    assert_eq!(
        failed.status,
        pb::AnalysisStatus::Failed as i32,
        "{failed:?}"
    );
    assert!(failed.reason.contains("core \"C1CC\""), "{}", failed.reason);
    mb.stop().await;
}

/// Runs `mmp` on `csv` (activity column `exp_mean [nM]`) and reads back its result, every
/// pair page and every transform page.
async fn mmp_of(
    mb: &mut Molbatch,
    csv: &str,
) -> (pb::MmpResult, Vec<pb::MatchedPair>, Vec<pb::TransformStats>) {
    let options = pb::UploadOptions {
        display_name: "parts.csv".into(),
        activity_columns: vec![pb::ActivityColumn {
            column: "exp_mean [nM]".into(),
            unit: "nM".into(),
        }],
        ..Default::default()
    };
    let job = mb
        .client
        .upload(std::io::Cursor::new(csv.as_bytes().to_vec()), options)
        .await
        .unwrap();
    let job = mb.client.wait(&job.job_id, |_| {}).await.unwrap();
    assert_eq!(job.state, pb::JobState::Completed as i32, "{job:?}");
    let request = pb::RunAnalysisRequest {
        job_id: job.job_id.clone(),
        r#type: "mmp".into(),
        params: [("activity_column".to_owned(), "exp_mean [nM]".to_owned())].into(),
    };
    let analysis = run_until_ended(mb, request).await;
    let Some(AnalysisResult::Mmp(result)) = analysis.result else {
        panic!("no mmp result: {analysis:?}");
    };
    let mut pairs = Vec::new();
    mb.client
        .for_each_matched_pair_page(&job.job_id, |page| {
            pairs.extend(page);
            Ok(())
        })
        .await
        .unwrap();
    let mut transforms = Vec::new();
    let mut page_token = String::new();
    loop {
        let page = mb
            .client
            .raw()
            .list_transforms(pb::ListTransformsRequest {
                job_id: job.job_id.clone(),
                page_token,
            })
            .await
            .unwrap()
            .into_inner();
        transforms.extend(page.transforms);
        if page.next_page_token.is_empty() {
            break;
        }
        page_token = page.next_page_token;
    }
    (result, pairs, transforms)
}

/// `mmp` fragments in parts that the workers share and joins them in one task: on Postgres and
/// Redis in parts of 25 molecules (five parts), 120 ChEMBL molecules give exactly the result,
/// pairs and transforms of one part on embedded storage.
#[tokio::test]
async fn mmp_in_parts_on_postgres_equals_mmp_in_one_part() {
    let fixture = include_str!("../../services/analytics/tests/fixtures/cliffs_CHEMBL1862_Ki.csv");
    let csv: String = fixture
        .lines()
        .take(121)
        .map(|l| format!("{l}\n"))
        .collect();

    let mut whole = Molbatch::start().await;
    let (one_part, one_part_pairs, one_part_transforms) = mmp_of(&mut whole, &csv).await;
    whole.stop().await;
    assert!(one_part.pair_count > 100, "{}", one_part.pair_count);

    let redis_url = std::env::var("MOLBATCH_TEST_REDIS_URL")
        .unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned());
    let db = TestDatabase::create().await;
    let mut parted = Molbatch::start_in_parts(Some(db.url.clone()), Some(redis_url), 25).await;
    let (in_parts, pairs, transforms) = mmp_of(&mut parted, &csv).await;
    parted.stop().await;
    db.drop_now().await;

    assert_eq!(in_parts, one_part);
    assert_eq!(pairs, one_part_pairs);
    assert_eq!(transforms, one_part_transforms);
    assert_eq!(pairs.len() as u64, in_parts.pair_count);
}
