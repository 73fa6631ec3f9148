//! Depictions the web app needs, over real gRPC and REST: a page of a job's
//! structures in one `BatchDepict` call, in order, an invalid molecule's
//! item answered with its error, a PAINS alert highlighted on the atoms
//! python3-rdkit matches (`crates/chem/tests/fixtures/alerts.jsonl.gz`),
//! badly formed items named by position, and another tenant's job not found.

use std::io::{BufRead, BufReader};
use std::time::Duration;

use molbatch_proto::{v1 as pb, Violations};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tonic::Code;

use crate::support::Molbatch;

/// The rhodanine of the alert fixtures (`extra:ene_rhod`), as submitted.
const RHODANINE: &str = "O=C1C(=Cc2ccccc2)SC(=S)N1";
/// A SMILES RDKit cannot read: an unclosed ring.
const UNREADABLE: &str = "C1CC";
/// Molecules in the job: a page of the web app's results table.
const PAGE: u64 = 50;

/// The fixture record of `source` in the chemistry core's alert fixtures.
fn alert_fixture(source: &str) -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../crates/chem/tests/fixtures/alerts.jsonl.gz"
    );
    let file = std::fs::File::open(path).unwrap();
    BufReader::new(flate2::read::GzDecoder::new(file))
        .lines()
        .map(|line| serde_json::from_str::<Value>(&line.unwrap()).unwrap())
        .find(|record| record["source"] == source)
        .unwrap_or_else(|| panic!("no fixture {source}"))
}

/// 48 valid molecules, then the unreadable one (index 48) and the
/// rhodanine (index 49).
fn page_of_molecules() -> Vec<pb::InputMolecule> {
    let mut smiles: Vec<String> = ["CC(=O)Oc1ccccc1C(=O)O", "Cn1cnc2c1c(=O)n(C)c(=O)n2C"]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    smiles.extend((1..=46).map(|n| format!("{}c1ccccc1O", "C".repeat(n))));
    smiles.push(UNREADABLE.to_owned());
    smiles.push(RHODANINE.to_owned());
    smiles
        .into_iter()
        .map(|smiles| pb::InputMolecule {
            smiles,
            ..Default::default()
        })
        .collect()
}

/// Creates `tenant` with a user key and a viewer key; returns both.
async fn keys_of(mb: &mut Molbatch, tenant: &str) -> (String, String) {
    mb.client
        .raw()
        .create_tenant(pb::CreateTenantRequest {
            tenant_id: tenant.to_owned(),
            display_name: tenant.to_owned(),
            quotas: None,
        })
        .await
        .unwrap();
    let mut secrets = Vec::new();
    for role in [pb::Role::User, pb::Role::Viewer] {
        let key = mb
            .client
            .raw()
            .create_api_key(pb::CreateApiKeyRequest {
                tenant_id: tenant.to_owned(),
                role: role as i32,
                name: format!("{tenant} {role:?}"),
            })
            .await
            .unwrap()
            .into_inner();
        secrets.push(key.secret);
    }
    (secrets[0].clone(), secrets[1].clone())
}

fn item(job_id: &str, index: u64) -> pb::DepictRequest {
    pb::DepictRequest {
        job_id: job_id.to_owned(),
        index: Some(index),
        width: 200,
        height: 150,
        ..Default::default()
    }
}

/// POSTs a JSON body over plain HTTP/1.1; returns the status and JSON body.
async fn post_json(url: &str, key: &str, path: &str, body: &Value) -> (u16, Value) {
    let addr = url.trim_start_matches("http://");
    let body = body.to_string();
    let exchange = async {
        let mut stream = TcpStream::connect(addr).await.unwrap();
        let head = format!(
            "POST {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\
             Authorization: Bearer {key}\r\nContent-Type: application/json\r\n\
             Content-Length: {}\r\n\r\n",
            body.len()
        );
        stream.write_all(head.as_bytes()).await.unwrap();
        stream.write_all(body.as_bytes()).await.unwrap();
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).await.unwrap();
        raw
    };
    let raw = tokio::time::timeout(Duration::from_secs(120), exchange)
        .await
        .unwrap();
    let text = String::from_utf8(raw).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    let chunked = head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked");
    let body = if chunked {
        let mut out = String::new();
        let mut rest = body;
        while let Some((size, after)) = rest.split_once("\r\n") {
            let size = usize::from_str_radix(size.trim(), 16).unwrap();
            if size == 0 {
                break;
            }
            out.push_str(&after[..size]);
            rest = &after[size + 2..];
        }
        out
    } else {
        body.to_owned()
    };
    (
        status,
        serde_json::from_str(&body).unwrap_or_else(|e| panic!("{e}: {body}")),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn a_page_of_structures_in_one_batch_with_an_alert_highlighted() {
    let mut mb = Molbatch::start().await;
    let (lab_user, lab_viewer) = keys_of(&mut mb, "lab").await;
    let (rival_user, _) = keys_of(&mut mb, "rival").await;
    let mut lab = mb.client_with(Some(&lab_user)).await;
    let job = lab.submit(page_of_molecules(), "page.smi").await.unwrap();
    lab.wait(&job.job_id, |_| {}).await.unwrap();
    let mut viewer = mb.client_with(Some(&lab_viewer)).await;

    // The whole page in one call, answers in the order asked (asked
    // backwards, so order is not an accident of storage).
    let requests: Vec<pb::DepictRequest> = (0..PAGE).rev().map(|i| item(&job.job_id, i)).collect();
    let answer = viewer
        .raw()
        .batch_depict(pb::BatchDepictRequest { requests })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(answer.depictions.len() as u64, PAGE);
    for (depiction, index) in answer.depictions.iter().zip((0..PAGE).rev()) {
        assert_eq!(depiction.index, Some(index));
        if index == 48 {
            assert!(depiction.svg.is_empty(), "{depiction:?}");
            assert!(
                depiction.error.contains("molecule 48 is invalid"),
                "{depiction:?}"
            );
        } else {
            assert!(depiction.error.is_empty(), "{index}: {}", depiction.error);
            assert!(depiction.svg.contains("width='200px'"), "{index}");
            assert!(depiction.svg.trim_end().ends_with("</svg>"), "{index}");
            assert!(depiction.highlight_atoms.is_empty());
        }
    }
    assert_eq!(answer.depictions[0].smiles, "O=C1NC(=S)SC1=Cc1ccccc1");

    // A PAINS alert highlighted: python3-rdkit's atoms and SVG, through the
    // single and the batched call, by name and by catalog and name.
    let reference = alert_fixture("extra:ene_rhod");
    assert_eq!(reference["smiles"], answer.depictions[0].smiles.as_str());
    let alert = reference["matches"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["catalog"] == "PAINS_A")
        .unwrap();
    let name = alert["name"].as_str().unwrap();
    let want: Vec<u32> = alert["atoms"][0]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| u32::try_from(a.as_u64().unwrap()).unwrap())
        .collect();
    let highlighted = |highlight: &str| pb::DepictRequest {
        highlight_alert: highlight.to_owned(),
        ..item(&job.job_id, 49)
    };
    let single = viewer
        .raw()
        .depict(highlighted(name))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(single.highlight_atoms, want);
    let batch = viewer
        .raw()
        .batch_depict(pb::BatchDepictRequest {
            requests: vec![
                highlighted(&format!("PAINS_A:{name}")),
                highlighted("catechol"),
                pb::DepictRequest {
                    smiles: "CCO".into(),
                    ..Default::default()
                },
            ],
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(batch.depictions[0].highlight_atoms, want);
    assert_eq!(batch.depictions[0].svg, single.svg);
    assert!(
        batch.depictions[1].error.contains("no alert \"catechol\"")
            && batch.depictions[1]
                .error
                .contains(&format!("PAINS_A:{name}")),
        "{}",
        batch.depictions[1].error
    );
    assert!(batch.depictions[2].svg.contains("width='300px'"));
    assert_eq!(batch.depictions[2].index, None);
    // The reference's own highlighted drawing (its first alert, at its size),
    // byte for byte.
    let drawn = &reference["highlight"];
    let size = |field: &str| u32::try_from(drawn[field].as_u64().unwrap()).unwrap();
    let at_reference_size = viewer
        .raw()
        .depict(pb::DepictRequest {
            width: size("width"),
            height: size("height"),
            ..highlighted(drawn["name"].as_str().unwrap())
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        serde_json::json!(at_reference_size.highlight_atoms),
        drawn["atoms"]
    );
    assert_eq!(at_reference_size.svg, drawn["svg"].as_str().unwrap());

    // A single depiction of an alert the molecule lacks names the field.
    let err = viewer
        .raw()
        .depict(highlighted("catechol"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert_eq!(
        Violations::from_status(&err).fields()[0].0,
        "highlight_alert"
    );

    // Badly formed items fail the call, named by position.
    for (requests, field) in [
        (
            vec![pb::DepictRequest {
                width: 5,
                ..item(&job.job_id, 0)
            }],
            "requests[0].width",
        ),
        (
            vec![
                item(&job.job_id, 0),
                pb::DepictRequest {
                    index: None,
                    ..item(&job.job_id, 1)
                },
            ],
            "requests[1].index",
        ),
        (Vec::new(), "requests"),
        (
            (0..201).map(|i| item(&job.job_id, i % PAGE)).collect(),
            "requests",
        ),
    ] {
        let err = viewer
            .raw()
            .batch_depict(pb::BatchDepictRequest { requests })
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument, "{err:?}");
        assert_eq!(
            Violations::from_status(&err).fields()[0].0,
            field,
            "{err:?}"
        );
    }

    // Another tenant's job is not found, even next to a SMILES item.
    let mut rival = mb.client_with(Some(&rival_user)).await;
    let err = rival
        .raw()
        .batch_depict(pb::BatchDepictRequest {
            requests: vec![
                pb::DepictRequest {
                    smiles: "CCO".into(),
                    ..Default::default()
                },
                item(&job.job_id, 0),
            ],
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Code::NotFound, "{err:?}");

    // REST: POST /v1/depictions:batch, proto3 JSON both ways.
    let body = serde_json::json!({
        "requests": [
            {"jobId": job.job_id, "index": "49", "width": 200, "height": 150,
             "highlightAlert": name},
            {"job_id": job.job_id, "index": 48},
        ]
    });
    let (status, json) = post_json(&mb.url(), &lab_viewer, "/v1/depictions:batch", &body).await;
    assert_eq!(status, 200, "{json}");
    let depictions = json["depictions"].as_array().unwrap();
    assert_eq!(depictions.len(), 2);
    let atoms: Vec<u32> = depictions[0]["highlightAtoms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| u32::try_from(a.as_u64().unwrap()).unwrap())
        .collect();
    assert_eq!(atoms, want);
    assert!(depictions[0]["svg"].as_str().unwrap().contains("</svg>"));
    assert!(depictions[1]["error"].as_str().unwrap().contains("invalid"));
    let bad = serde_json::json!({"requests": [{"smiles": "CCO", "width": 9999}]});
    let (status, json) = post_json(&mb.url(), &lab_viewer, "/v1/depictions:batch", &bad).await;
    assert_eq!(status, 400, "{json}");
    assert!(json.to_string().contains("requests[0].width"), "{json}");
    mb.stop().await;
}
