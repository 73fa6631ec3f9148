//! Activity metrics in every output (issue 18 item 6): a CSV with two
//! activity columns submitted with the `molbatch` command; its CSV, SD and
//! JSON exports, and `molbatch results`, carry each activity's pActivity,
//! LE, LLE, BEI, SEI, NSEI, NBEI, efficiency modulus and angle (and the
//! reason a pActivity is missing) under `activities.<column>.<metric>`, with
//! exactly the values GetResult answers over REST for the same molecule, and
//! nothing where a metric is undefined.

use std::process::Output;

use serde_json::Value;

use crate::cli;
use crate::rest::get;
use crate::support::ServeProcess;

/// The first eight molecules of ChEMBL target CHEMBL1862's Ki set (MoleculeACE,
/// `/work/shared/data/chembl-activity/CHEMBL1862_Ki.csv`, Ki in nM), with a
/// second activity `IC50_uM` of our own, then: benzene (no polar surface and
/// no N or O, so no SEI, NSEI, modulus or angle), an invalid SMILES (a
/// pActivity but no metrics), a missing Ki and an IC50 that is not a number.
const FIXTURE: &str = "\
smiles,id,exp_mean [nM],IC50_uM
Nc1[nH]cnc2nnc(-c3ccc(Cl)cc3)c1-2,c0,500.0,1.5
Cc1ccc(N2NC(=O)/C(=C/c3ccc(-c4ccc(C)c(Cl)c4)o3)C2=O)cc1C,c1,5000.0,12
O=C1NN(c2ccc(Cl)c(Cl)c2)C(=O)/C1=C\\c1cccc(OCc2ccccc2)c1,c2,1000.0,0.3
O=C1NN(c2ccc(I)cc2)C(=O)/C1=C\\c1cc2c(cc1Br)OCO2,c3,2500.0,7
O=C1NN(c2ccc(I)cc2)C(=O)/C1=C\\c1ccc(N2CCOCC2)cc1,c4,20000.0,40
O=C1NN(c2ccc(I)cc2)C(=O)/C1=C\\c1ccc(I)cc1,c5,800.0,2
O=C1NN(c2ccc(I)cc2)C(=O)/C1=C\\c1ccccc1,c6,600.0,0.9
O=C(Nc1ccccc1)Nc1nnc(Cc2ccccc2)s1,c7,58000.0,100
c1ccccc1,benzene,1000,10
C1CC,broken,100,1
CCO,no_ki,,5
CCN,bad_ic50,250,n/a
";

const ACTIVITIES: [&str; 2] = ["exp_mean [nM]", "IC50_uM"];

/// The fields written per activity, in order, as GetResult's JSON names them.
const FIELDS: [&str; 10] = [
    "pActivity",
    "le",
    "lle",
    "bei",
    "sei",
    "nsei",
    "nbei",
    "efficiencyModulus",
    "efficiencyAngle",
    "error",
];

/// Runs the CLI, which must succeed.
fn molbatch(serve: &ServeProcess, args: &[&str]) -> Output {
    let out = cli::molbatch(serve, args);
    assert!(
        out.status.success(),
        "molbatch {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// What GetResult says of `field` of `activity` in `result`, as the text a
/// CSV cell or SD data item holds ("" for no value), with the number it is
/// when it is one.
fn expected(result: &Value, activity: &str, field: &str) -> (String, Option<f64>) {
    let a = result["activities"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["column"] == activity);
    match a.map(|a| &a[field]) {
        Some(Value::Number(n)) => (n.to_string(), n.as_f64()),
        Some(Value::String(s)) => (s.clone(), None),
        Some(Value::Null) | None => (String::new(), None),
        Some(other) => panic!("{field} of {activity} is {other}"),
    }
}

/// Asserts that `got` (a cell or data item) holds what GetResult answered.
fn assert_same(got: &str, result: &Value, activity: &str, field: &str) {
    let (text, number) = expected(result, activity, field);
    let what = format!("molecule {} {activity} {field}", result["index"]);
    match number {
        // The same number, whichever spelling each writer chose. The cell is
        // read by the parser that read the JSON: serde_json without
        // `float_roundtrip` may land one ulp off the exact double, and does
        // so for both or neither.
        Some(n) => assert_eq!(
            serde_json::from_str::<f64>(got).ok(),
            Some(n),
            "{what}: {got:?}"
        ),
        None => assert_eq!(got, text, "{what}"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn exports_carry_every_activity_metric_as_get_result_gives_it() {
    let serve = ServeProcess::start();
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("chembl1862.csv");
    std::fs::write(&input, FIXTURE).unwrap();
    let submitted = molbatch(
        &serve,
        &[
            "submit",
            input.to_str().unwrap(),
            "--id-column",
            "id",
            "--activity-column",
            ACTIVITIES[0],
            "--activity-unit",
            "nM",
            "--activity-column",
            ACTIVITIES[1],
            "--activity-unit",
            "uM",
            "--wait",
        ],
    );
    let job = String::from_utf8(submitted.stdout)
        .unwrap()
        .trim()
        .to_owned();
    let molecules = FIXTURE.lines().count() - 1;

    let mut results = Vec::new();
    for index in 0..molecules {
        let path = format!("/v1/jobs/{job}/results/{index}");
        results.push(get(&serve, &path).await.expect(200));
    }
    // The fixture reaches every kind of cell: a defined metric, an undefined
    // one, a missing activity and a bad value.
    let ki = ACTIVITIES[0];
    let (p, _) = expected(&results[0], ki, "pActivity");
    assert!((p.parse::<f64>().unwrap() - (9.0 - 500f64.log10())).abs() < 1e-12);
    assert!(!expected(&results[0], ki, "efficiencyAngle").0.is_empty());
    assert!(expected(&results[8], ki, "sei").0.is_empty(), "benzene");
    assert_eq!(results[9]["valid"], false);
    assert!(!expected(&results[9], ki, "pActivity").0.is_empty());
    assert!(expected(&results[9], ki, "le").0.is_empty());
    assert!(expected(&results[10], ki, "pActivity").0.is_empty());
    assert!(!expected(&results[11], ACTIVITIES[1], "error").0.is_empty());

    let names: Vec<String> = ACTIVITIES
        .iter()
        .flat_map(|a| FIELDS.map(|f| format!("activities.{a}.{f}")))
        .collect();

    // CSV: one column per activity and field, in that order, after the
    // contract columns; each cell what GetResult gives.
    let csv_path = dir.path().join("export.csv");
    let csv_file = csv_path.to_str().unwrap();
    molbatch(&serve, &["export", &job, "--format", "csv", "-o", csv_file]);
    let mut reader = csv::Reader::from_path(&csv_path).unwrap();
    let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    let first = header.iter().position(|h| *h == names[0]).unwrap();
    assert_eq!(header[first..first + names.len()], names[..], "{header:?}");
    assert_eq!(
        header[first - 1],
        "alerts",
        "right after the contract columns"
    );
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), molecules);
    for (row, result) in rows.iter().zip(&results) {
        for (i, name) in names.iter().enumerate() {
            let (activity, field) = (ACTIVITIES[i / FIELDS.len()], FIELDS[i % FIELDS.len()]);
            assert_same(&row[first + i], result, activity, field);
            assert!(name.ends_with(field));
        }
    }
    // `molbatch results` writes the same file.
    let cli_csv = molbatch(&serve, &["results", &job, "--format", "csv"]).stdout;
    assert_eq!(
        String::from_utf8(cli_csv).unwrap(),
        std::fs::read_to_string(&csv_path).unwrap()
    );

    // SD file: a data item per metric with a value, none where it has none.
    let sdf_path = dir.path().join("export.sdf");
    let sdf_file = sdf_path.to_str().unwrap();
    molbatch(&serve, &["export", &job, "--format", "sdf", "-o", sdf_file]);
    let sdf = std::fs::read_to_string(&sdf_path).unwrap();
    let records: Vec<&str> = sdf.split_terminator("$$$$\n").collect();
    assert_eq!(records.len(), molecules);
    for (record, result) in records.iter().zip(&results) {
        for activity in ACTIVITIES {
            for field in FIELDS {
                let tag = format!("> <activities.{activity}.{field}>\n");
                let item = record
                    .split_once(&tag)
                    .map(|(_, rest)| rest.split_once("\n\n").unwrap().0);
                assert_same(item.unwrap_or(""), result, activity, field);
                let (text, _) = expected(result, activity, field);
                assert_eq!(item.is_some(), !text.is_empty(), "{tag} in {record}");
            }
        }
    }

    // JSON: each result's activities exactly as GetResult gives them.
    let json_path = dir.path().join("export.json");
    let json_file = json_path.to_str().unwrap();
    molbatch(
        &serve,
        &["export", &job, "--format", "json", "-o", json_file],
    );
    let exported: Vec<Value> =
        serde_json::from_str(&std::fs::read_to_string(&json_path).unwrap()).unwrap();
    assert_eq!(exported.len(), molecules);
    for (e, result) in exported.iter().zip(&results) {
        assert_eq!(e["activities"], result["activities"], "{}", result["index"]);
        assert_eq!(e["activities"].as_array().unwrap().len(), 2);
    }
}
