//! Where a MoleculeBatch's molecules come from: inline in the spec (sent as
//! SubmitBatch), or a batch file in a ConfigMap key or at a URL (streamed
//! through UploadBatch, which parses SMILES, CSV and SDF with line-numbered
//! errors exactly as `molbatch submit` does).

use std::collections::BTreeMap;

use http_body_util::{BodyExt as _, Limited};
use k8s_openapi::api::core::v1::ConfigMap;
use kube::Api;
use molbatch_proto::v1 as pb;

use crate::crd::{FileOptions, MoleculeBatchSpec};

/// Largest batch file the operator reads from a ConfigMap or URL.
pub const MAX_FILE_BYTES: usize = 256 << 20;

/// A batch ready to send to the gateway.
#[derive(Debug, Clone, PartialEq)]
pub enum BatchInput {
    /// Molecules given inline: SubmitBatch.
    Inline(Vec<pb::InputMolecule>),
    /// A batch file: UploadBatch with these options.
    File {
        /// The file's bytes.
        content: Vec<u8>,
        /// How the gateway parses it (format, columns).
        options: pb::UploadOptions,
    },
}

/// Why a MoleculeBatch's molecules could not be read. Each is reported in
/// the resource's status; the ones the user fixes by creating something
/// (a ConfigMap) are retried.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// Not exactly one of `molecules`, `configMap` and `url` is set.
    #[error("set exactly one of spec.molecules, spec.configMap and spec.url")]
    NotExactlyOne,
    /// The ConfigMap or its key is not there (yet).
    #[error("ConfigMap {name} has no key {key:?}")]
    MissingKey {
        /// The ConfigMap.
        name: String,
        /// The key.
        key: String,
    },
    /// Reading the ConfigMap failed.
    #[error("cannot read ConfigMap {name}: {source}")]
    ConfigMap {
        /// The ConfigMap.
        name: String,
        /// Why.
        source: kube::Error,
    },
    /// The format is neither given nor known from the name.
    #[error("unknown batch file format {0:?}: use smi, csv or sdf")]
    Format(String),
    /// The URL is not an http(s) URL.
    #[error("spec.url.url {0:?} is not an http:// or https:// URL")]
    BadUrl(String),
    /// Fetching the URL failed.
    #[error("fetching {url} failed: {reason}")]
    Fetch {
        /// The URL.
        url: String,
        /// Why.
        reason: String,
    },
}

impl SourceError {
    /// True when trying again later may succeed without editing the spec.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::MissingKey { .. } | Self::ConfigMap { .. } | Self::Fetch { .. } => true,
            Self::NotExactlyOne | Self::Format(_) | Self::BadUrl(_) => false,
        }
    }
}

/// Reads the molecules `spec` names; ConfigMaps come from `namespace`.
pub async fn resolve(
    spec: &MoleculeBatchSpec,
    kube: &kube::Client,
    namespace: &str,
    display_name: &str,
) -> Result<BatchInput, SourceError> {
    let given = usize::from(!spec.molecules.is_empty())
        + usize::from(spec.config_map.is_some())
        + usize::from(spec.url.is_some());
    if given != 1 {
        return Err(SourceError::NotExactlyOne);
    }
    let file_options = spec.file.clone().unwrap_or_default();
    if let Some(source) = &spec.config_map {
        let maps: Api<ConfigMap> = Api::namespaced(kube.clone(), namespace);
        let map = maps
            .get_opt(&source.name)
            .await
            .map_err(|e| SourceError::ConfigMap {
                name: source.name.clone(),
                source: e,
            })?;
        let missing = || SourceError::MissingKey {
            name: source.name.clone(),
            key: source.key.clone(),
        };
        let map = map.ok_or_else(missing)?;
        let content = key_bytes(map.data, map.binary_data, &source.key).ok_or_else(missing)?;
        let options = upload_options(&file_options, &source.key, display_name, spec.priority)?;
        return Ok(BatchInput::File { content, options });
    }
    if let Some(source) = &spec.url {
        let options = upload_options(&file_options, &source.url, display_name, spec.priority)?;
        let content = fetch(&source.url).await?;
        return Ok(BatchInput::File { content, options });
    }
    Ok(BatchInput::Inline(
        spec.molecules
            .iter()
            .map(|m| pb::InputMolecule {
                smiles: m.smiles.clone(),
                id: m.id.clone(),
                ..Default::default()
            })
            .collect(),
    ))
}

fn key_bytes(
    data: Option<BTreeMap<String, String>>,
    binary: Option<BTreeMap<String, k8s_openapi::ByteString>>,
    key: &str,
) -> Option<Vec<u8>> {
    if let Some(text) = data.and_then(|mut d| d.remove(key)) {
        return Some(text.into_bytes());
    }
    binary.and_then(|mut b| b.remove(key)).map(|bytes| bytes.0)
}

/// The upload options for a file called `name` (a key or a URL).
fn upload_options(
    file: &FileOptions,
    name: &str,
    display_name: &str,
    priority: i32,
) -> Result<pb::UploadOptions, SourceError> {
    let format = if file.format.is_empty() {
        let path = name.split(['?', '#']).next().unwrap_or(name);
        let path = path.strip_suffix(".gz").unwrap_or(path);
        path.rsplit_once('.').map_or("", |(_, ext)| ext).to_owned()
    } else {
        file.format.clone()
    };
    let format = match format.to_ascii_lowercase().as_str() {
        "smi" | "smiles" | "txt" => pb::InputFormat::Smiles,
        "csv" | "tsv" => pb::InputFormat::Csv,
        "sdf" | "sd" | "mol" => pb::InputFormat::Sdf,
        _ => return Err(SourceError::Format(format)),
    };
    Ok(pb::UploadOptions {
        format: format as i32,
        smiles_column: file.smiles_column.clone(),
        id_column: file.id_column.clone(),
        display_name: display_name.to_owned(),
        priority,
        ..Default::default()
    })
}

/// GETs `url`, following no redirects, at most [`MAX_FILE_BYTES`].
async fn fetch(url: &str) -> Result<Vec<u8>, SourceError> {
    let uri: http::Uri = url
        .parse()
        .map_err(|_| SourceError::BadUrl(url.to_owned()))?;
    if !matches!(uri.scheme_str(), Some("http" | "https")) {
        return Err(SourceError::BadUrl(url.to_owned()));
    }
    let failed = |reason: String| SourceError::Fetch {
        url: url.to_owned(),
        reason,
    };
    let connector = hyper_rustls::HttpsConnectorBuilder::new()
        .with_native_roots()
        .map_err(|e| failed(format!("no TLS root certificates: {e}")))?
        .https_or_http()
        .enable_http1()
        .build();
    let client = hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
        .build::<_, http_body_util::Empty<bytes::Bytes>>(connector);
    let response = tokio::time::timeout(std::time::Duration::from_secs(60), client.get(uri))
        .await
        .map_err(|_| failed("no answer within 60 s".to_owned()))?
        .map_err(|e| failed(e.to_string()))?;
    if !response.status().is_success() {
        return Err(failed(format!("HTTP {}", response.status())));
    }
    let body = Limited::new(response.into_body(), MAX_FILE_BYTES)
        .collect()
        .await
        .map_err(|e| failed(e.to_string()))?;
    Ok(body.to_bytes().to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_format_comes_from_the_name_unless_given() {
        let options = |format: &str, name: &str| {
            let file = FileOptions {
                format: format.to_owned(),
                ..Default::default()
            };
            upload_options(&file, name, "d", 0).map(|o| o.format)
        };
        assert_eq!(
            options("", "actives.csv").ok(),
            Some(pb::InputFormat::Csv as i32)
        );
        assert_eq!(
            options("", "https://x.org/set.sdf.gz?sig=1").ok(),
            Some(pb::InputFormat::Sdf as i32)
        );
        assert_eq!(
            options("smi", "data").ok(),
            Some(pb::InputFormat::Smiles as i32)
        );
        assert!(matches!(options("", "data.xlsx"), Err(SourceError::Format(f)) if f == "xlsx"));
    }
}
