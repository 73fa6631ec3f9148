//! GetResultValues over gRPC and REST: per-molecule values of a completed job's valid
//! molecules as columns (a descriptor and activity metrics), equal to what ListResults
//! returns for the same molecules; NaN (JSON "NaN") where a molecule has no value; and its
//! errors: unknown fields, too many or none, a job not COMPLETED, another tenant's job.

use std::collections::HashMap;

use molbatch_client::Client;
use molbatch_proto::v1 as pb;
use molbatch_proto::Violations;
use serde_json::Value;
use tonic::Code;

use crate::rest::{get, get_as};
use crate::support::ServeProcess;

/// An invalid molecule (m4) and a valid one whose activity is not a number (m3).
const CSV: &str = "smiles,id,IC50\n\
                   Cc1ccc(O)cc1,m0,10\n\
                   Clc1ccc(O)cc1,m1,1000\n\
                   Oc1ccccc1,m2,50\n\
                   Cc1ccc(N)cc1,m3,n/a\n\
                   C1CC,m4,5\n\
                   CC(=O)Nc1ccc(O)cc1,m5,250\n";

/// The value ListResults gives `r` for `field` (a JSON field name), NaN for none.
fn listed_value(r: &pb::MoleculeResult, field: &str) -> f64 {
    let activity = r.activities.iter().find(|a| a.column == "IC50");
    match field {
        "qed" => r.qed,
        "heavyAtoms" => r.heavy_atoms.map(f64::from),
        "activities.IC50.sei" => activity.and_then(|a| a.sei),
        "activities.IC50.pActivity" => activity.and_then(|a| a.p_activity),
        other => panic!("{other}"),
    }
    .unwrap_or(f64::NAN)
}

/// A JSON number, or NaN given as the string "NaN" (proto3 JSON).
fn json_double(v: &Value) -> f64 {
    match v {
        Value::String(s) if s == "NaN" => f64::NAN,
        other => other
            .as_f64()
            .unwrap_or_else(|| panic!("not a double: {other}")),
    }
}

fn same(a: f64, b: f64) -> bool {
    (a.is_nan() && b.is_nan()) || a == b
}

/// As [`same`], up to the last bit serde_json's default float parsing may lose.
fn same_json(a: f64, b: f64) -> bool {
    same(a, b) || (a - b).abs() <= 1e-14 * b.abs()
}

#[tokio::test(flavor = "multi_thread")]
async fn values_match_the_results_over_grpc_and_rest() {
    let serve = ServeProcess::start();
    let mut client = Client::connect(&serve.url, Some(&serve.api_key))
        .await
        .unwrap();
    let options = pb::UploadOptions {
        display_name: "values.csv".into(),
        id_column: "id".into(),
        activity_columns: vec![pb::ActivityColumn {
            column: "IC50".into(),
            unit: "nM".into(),
        }],
        ..Default::default()
    };
    let job = client
        .upload(std::io::Cursor::new(CSV.as_bytes().to_vec()), options)
        .await
        .unwrap();
    let job = client.wait(&job.job_id, |_| {}).await.unwrap();
    assert_eq!(job.state, pb::JobState::Completed as i32, "{job:?}");
    let mut results = Vec::new();
    client
        .for_each_result_page(&job.job_id, "", false, |page| {
            results.extend(page);
            Ok(())
        })
        .await
        .unwrap();
    let by_index: HashMap<u64, &pb::MoleculeResult> =
        results.iter().map(|r| (r.index, r)).collect();
    let valid: Vec<u64> = results
        .iter()
        .filter(|r| r.valid)
        .map(|r| r.index)
        .collect();
    assert_eq!(valid, [0, 1, 2, 3, 5]);

    // gRPC: the order asked, the spelling asked.
    let asked = [
        "qed",
        "heavy_atoms",
        "activities.IC50.sei",
        "activities.IC50.p_activity",
    ];
    let canonical = [
        "qed",
        "heavyAtoms",
        "activities.IC50.sei",
        "activities.IC50.pActivity",
    ];
    let values = client
        .raw()
        .get_result_values(pb::GetResultValuesRequest {
            job_id: job.job_id.clone(),
            fields: asked.iter().map(|f| (*f).to_owned()).collect(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(values.indices, valid);
    assert_eq!(values.columns.len(), asked.len());
    for ((column, asked), field) in values.columns.iter().zip(asked).zip(canonical) {
        assert_eq!(column.field, asked);
        let want: Vec<f64> = valid
            .iter()
            .map(|i| listed_value(by_index[i], field))
            .collect();
        assert_eq!(column.values.len(), want.len(), "{field}");
        for (got, want) in column.values.iter().zip(&want) {
            assert!(
                same(*got, *want),
                "{field}: {:?} vs {want:?}",
                column.values
            );
        }
    }
    // m3's activity is not a number: NaN for it, numbers for the others.
    let p = &values.columns[3].values;
    assert!(
        p[3].is_nan() && p.iter().filter(|v| v.is_nan()).count() == 1,
        "{p:?}"
    );

    // REST: the repeated query parameter, the same values, NaN as "NaN".
    let path = format!(
        "/v1/jobs/{}/values?fields=qed&fields=heavyAtoms&fields=activities.IC50.sei&fields=activities.IC50.pActivity",
        job.job_id
    );
    let json = get(&serve, &path).await.expect(200);
    let indices: Vec<u64> = json["indices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i.as_u64().unwrap())
        .collect();
    assert_eq!(indices, valid, "{json}");
    let columns = json["columns"].as_array().unwrap();
    assert_eq!(columns.len(), 4, "{json}");
    for (column, (field, grpc)) in columns.iter().zip(canonical.iter().zip(&values.columns)) {
        assert_eq!(column["field"], *field);
        let rest: Vec<f64> = column["values"]
            .as_array()
            .unwrap()
            .iter()
            .map(json_double)
            .collect();
        assert_eq!(rest.len(), grpc.values.len());
        for (a, b) in rest.iter().zip(&grpc.values) {
            assert!(same_json(*a, *b), "{field}: {a} vs {b}");
        }
    }
    assert_eq!(columns[3]["values"][3], "NaN", "{json}");

    // Bad fields, over REST and gRPC alike.
    for (query, field, says) in [
        ("fields=colour", "fields[0]", "fractionCsp3"),
        ("fields=qed&fields=activities.Ki.le", "fields[1]", "IC50"),
        ("", "fields", "1 to 8"),
        (&"fields=qed&".repeat(9), "fields", "1 to 8"),
    ] {
        let reply = get(&serve, &format!("/v1/jobs/{}/values?{query}", job.job_id)).await;
        assert_eq!(reply.status, 400, "{query}: {}", reply.json());
        let (got, description) = reply.violation();
        assert_eq!(got, field, "{query}");
        assert!(description.contains(says), "{query}: {description}");
    }
    let status = client
        .raw()
        .get_result_values(pb::GetResultValuesRequest {
            job_id: job.job_id.clone(),
            fields: vec!["qed".into(), "smiles".into()],
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(Violations::from_status(&status).fields()[0].0, "fields[1]");

    // A job that did not complete has no values yet.
    let big: Vec<pb::InputMolecule> = (0..5_000)
        .map(|i| pb::InputMolecule {
            smiles: format!("C{}O", "C".repeat(i % 30)),
            ..Default::default()
        })
        .collect();
    let cancelled = client.submit(big, "big.smi").await.unwrap();
    let cancelled = client.cancel(&cancelled.job_id).await.unwrap();
    assert_eq!(cancelled.state, pb::JobState::Cancelled as i32);
    let reply = get(
        &serve,
        &format!("/v1/jobs/{}/values?fields=qed", cancelled.job_id),
    )
    .await;
    assert_eq!(reply.status, 400, "{}", reply.json());
    assert_eq!(reply.json()["error"]["status"], "FAILED_PRECONDITION");

    // A viewer of the tenant may read them; another tenant's key finds no job.
    let me = client
        .raw()
        .who_am_i(pb::WhoAmIRequest {})
        .await
        .unwrap()
        .into_inner();
    let key = |tenant: &str, role: pb::Role| pb::CreateApiKeyRequest {
        tenant_id: tenant.to_owned(),
        role: role as i32,
        name: format!("values {role:?}"),
    };
    let viewer = client
        .raw()
        .create_api_key(key(&me.tenant_id, pb::Role::Viewer))
        .await
        .unwrap()
        .into_inner()
        .secret;
    let as_viewer = get_as(&serve, &viewer, &path).await.expect(200);
    assert_eq!(as_viewer, json);
    client
        .raw()
        .create_tenant(pb::CreateTenantRequest {
            tenant_id: "elsewhere".into(),
            display_name: "Elsewhere".into(),
            quotas: None,
        })
        .await
        .unwrap();
    let stranger = client
        .raw()
        .create_api_key(key("elsewhere", pb::Role::Admin))
        .await
        .unwrap()
        .into_inner()
        .secret;
    let reply = get_as(&serve, &stranger, &path).await;
    assert_eq!(reply.status, 404, "{}", reply.json());
}

#[tokio::test(flavor = "multi_thread")]
async fn analysis_types_and_their_parameters_over_rest() {
    let serve = ServeProcess::start();
    let json = get(&serve, "/v1/analysisTypes").await.expect(200);
    let types = json["types"].as_array().unwrap();
    let names: Vec<&str> = types.iter().map(|t| t["type"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "deduplication",
            "statistics",
            "scaffolds",
            "chemical_space",
            "similarity_matrix",
            "nearest_neighbors",
            "mmp",
            "rgroups"
        ]
    );
    assert_eq!(types[0]["automatic"], true);
    assert_eq!(types[2]["automatic"], false);
    let space = &types[3];
    assert_eq!(space["title"], "Chemical space");
    let components = &space["params"][2];
    assert_eq!(components["name"], "components");
    assert_eq!(components["kind"], "KIND_CHOICE");
    assert_eq!(components["choices"], serde_json::json!(["2", "3"]));
    assert_eq!(components["defaultValue"], "2");
    let timeout = &types[7]["params"][1];
    assert_eq!(timeout["kind"], "KIND_INTEGER");
    assert_eq!(
        (timeout["min"].as_f64(), timeout["max"].as_f64()),
        (Some(1.0), Some(60_000.0))
    );
    // What the list allows, RunAnalysis takes; just outside it, RunAnalysis names the field.
    let mut client = Client::connect(&serve.url, Some(&serve.api_key))
        .await
        .unwrap();
    let job = client
        .submit(
            vec![pb::InputMolecule {
                smiles: "c1ccccc1O".into(),
                ..Default::default()
            }],
            "one.smi",
        )
        .await
        .unwrap();
    client.wait(&job.job_id, |_| {}).await.unwrap();
    let run = |value: &str| pb::RunAnalysisRequest {
        job_id: job.job_id.clone(),
        r#type: "rgroups".into(),
        params: HashMap::from([("timeout_ms".to_owned(), value.to_owned())]),
    };
    let max = timeout["max"].as_f64().unwrap();
    client
        .raw()
        .run_analysis(run(&max.to_string()))
        .await
        .unwrap();
    let refused = client
        .raw()
        .run_analysis(run(&(max + 1.0).to_string()))
        .await
        .unwrap_err();
    assert_eq!(
        Violations::from_status(&refused).fields()[0].0,
        "params.timeout_ms"
    );
    let anonymous = get_as(&serve, "", "/v1/analysisTypes").await;
    assert_eq!(anonymous.status, 401);
}
