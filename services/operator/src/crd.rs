//! The `MoleculeBatch` custom resource (`molbatch.io/v1alpha1`): a batch of
//! molecules a user applies with kubectl. The spec names the molecules
//! (inline, a ConfigMap key, or a URL) and how to submit them; the status,
//! written only by the operator through the status subresource, mirrors the
//! molbatch job. `kubectl get moleculebatches` prints the job id, state,
//! progress and counts from the status.

use kube::CustomResource;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// What a user applies: the molecules of one batch and how to submit them.
/// The spec is read once, when the job is submitted; editing it afterwards
/// does not resubmit (delete and apply again for a new job).
#[derive(CustomResource, Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[kube(
    group = "molbatch.io",
    version = "v1alpha1",
    kind = "MoleculeBatch",
    plural = "moleculebatches",
    shortname = "molbatch",
    namespaced,
    status = "MoleculeBatchStatus",
    printcolumn = r#"{"name":"Job","type":"string","jsonPath":".status.jobId"}"#,
    printcolumn = r#"{"name":"State","type":"string","jsonPath":".status.state"}"#,
    printcolumn = r#"{"name":"Progress","type":"string","jsonPath":".status.progress"}"#,
    printcolumn = r#"{"name":"Molecules","type":"integer","jsonPath":".status.totalMolecules"}"#,
    printcolumn = r#"{"name":"Valid","type":"integer","jsonPath":".status.validMolecules"}"#,
    printcolumn = r#"{"name":"Invalid","type":"integer","jsonPath":".status.invalidMolecules"}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#
)]
#[serde(rename_all = "camelCase")]
pub struct MoleculeBatchSpec {
    /// The job's display name; `<namespace>/<name>` when empty.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub display_name: String,
    /// Scheduling priority, 0 (default) to 9.
    #[serde(default)]
    pub priority: i32,
    /// Molecules given inline; exactly one of `molecules`, `configMap` and
    /// `url` is set.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub molecules: Vec<InlineMolecule>,
    /// A batch file kept in a ConfigMap of the resource's namespace.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_map: Option<ConfigMapSource>,
    /// A batch file fetched over HTTP(S) when the job is submitted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<UrlSource>,
    /// How a batch file (ConfigMap or URL) is read; ignored for inline
    /// molecules.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<FileOptions>,
    /// The Secret key holding the API key sent to the gateway; the
    /// operator's own key (`MOLBATCH_API_KEY`) when not set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key_secret: Option<SecretKeyRef>,
}

/// One molecule given inline.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct InlineMolecule {
    /// The SMILES.
    pub smiles: String,
    /// The caller's id, echoed in the results.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub id: String,
}

/// A batch file in a ConfigMap key.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ConfigMapSource {
    /// The ConfigMap, in the resource's namespace.
    pub name: String,
    /// The key holding the file (its extension gives the format unless
    /// `file.format` says it).
    pub key: String,
}

/// A batch file at a URL.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct UrlSource {
    /// `http://` or `https://` URL (its extension gives the format unless
    /// `file.format` says it).
    pub url: String,
}

/// How a batch file is parsed.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct FileOptions {
    /// `smi`, `csv` or `sdf`; from the key's or URL's extension when empty.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub format: String,
    /// CSV: the SMILES column (default `smiles`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub smiles_column: String,
    /// CSV: the id column.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub id_column: String,
}

/// A key of a Secret in the resource's namespace.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SecretKeyRef {
    /// The Secret.
    pub name: String,
    /// The key (default `api-key`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub key: String,
}

/// What the operator reports; the job's state and counts as the gateway
/// last answered.
#[derive(Deserialize, Serialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct MoleculeBatchStatus {
    /// The molbatch job id, once submitted.
    #[serde(default)]
    pub job_id: String,
    /// `Uploading`, `Queued`, `Running`, `Completed`, `Failed`,
    /// `Cancelled`, or `InputError` when the molecules could not be read or
    /// were refused (see `message`).
    #[serde(default)]
    pub state: String,
    /// Processed molecules as a percentage (`42%`).
    #[serde(default)]
    pub progress: String,
    /// Molecules in the job.
    #[serde(default)]
    pub total_molecules: u64,
    /// Molecules processed so far.
    #[serde(default)]
    pub processed_molecules: u64,
    /// Processed molecules RDKit accepted.
    #[serde(default)]
    pub valid_molecules: u64,
    /// Processed molecules that are error results.
    #[serde(default)]
    pub invalid_molecules: u64,
    /// Why the job failed or the input was refused.
    #[serde(default)]
    pub message: String,
    /// The `metadata.generation` this status was written for.
    #[serde(default)]
    pub observed_generation: i64,
}

impl MoleculeBatchStatus {
    /// True once the job reached a final state (or the input was refused):
    /// nothing will change without a new resource.
    pub fn is_final(&self) -> bool {
        matches!(
            self.state.as_str(),
            "Completed" | "Failed" | "Cancelled" | "InputError"
        )
    }
}

/// The CustomResourceDefinition as `kubectl apply` (and the Helm chart)
/// installs it.
pub fn definition(
) -> k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition {
    use kube::CustomResourceExt as _;
    MoleculeBatch::crd()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_definition_has_a_status_subresource_and_printer_columns() {
        let crd = serde_json::to_value(definition()).unwrap_or_default();
        assert_eq!(crd["metadata"]["name"], "moleculebatches.molbatch.io");
        let version = &crd["spec"]["versions"][0];
        assert_eq!(version["name"], "v1alpha1");
        assert!(version["subresources"]["status"].is_object());
        let columns: Vec<&str> = version["additionalPrinterColumns"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|c| c["name"].as_str())
            .collect();
        assert_eq!(
            columns,
            [
                "Job",
                "State",
                "Progress",
                "Molecules",
                "Valid",
                "Invalid",
                "Age"
            ]
        );
    }

    /// The Helm chart installs the CRD from a file; it must be this one.
    #[test]
    fn the_chart_installs_this_definition() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../deploy/helm/molbatch/files/moleculebatch-crd.json"
        );
        let file: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(path).expect("the chart holds the CRD file"),
        )
        .expect("the chart's CRD file is JSON");
        assert!(
            file == serde_json::to_value(definition()).unwrap(),
            "{path} differs from crd::definition(): regenerate it with \
             `cargo run -p molbatch-operator -- crd > deploy/helm/molbatch/files/moleculebatch-crd.json`"
        );
    }

    #[test]
    fn the_spec_reads_as_kubectl_writes_it() {
        let spec: MoleculeBatchSpec = serde_json::from_value(serde_json::json!({
            "molecules": [{"smiles": "CCO", "id": "ethanol"}, {"smiles": "c1ccccc1"}],
            "apiKeySecret": {"name": "molbatch-key"},
            "priority": 3
        }))
        .unwrap_or_default();
        assert_eq!(spec.molecules.len(), 2);
        assert_eq!(spec.molecules[0].id, "ethanol");
        assert_eq!(spec.priority, 3);
        assert_eq!(
            spec.api_key_secret.map(|s| s.name).as_deref(),
            Some("molbatch-key")
        );
    }
}
