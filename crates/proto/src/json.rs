//! Proto3 JSON for any molbatch message, through the descriptor set: the CLI's
//! `--output json`, JSONL results and (later) the REST gateway use this one
//! mapping, so every client sees the same field names (lowerCamelCase).

use std::sync::OnceLock;

use prost_reflect::{DescriptorPool, DynamicMessage, SerializeOptions};

/// A message that could not be mapped to JSON.
#[derive(Debug, thiserror::Error)]
pub enum JsonError {
    /// The message type is not in the descriptor set.
    #[error("unknown message type {0}")]
    UnknownType(String),
    /// Decoding or serialising failed.
    #[error("cannot map {type_name} to JSON: {reason}")]
    Mapping {
        /// Full proto name of the message.
        type_name: String,
        /// What failed.
        reason: String,
    },
}

/// The decoded descriptor pool of every molbatch proto.
pub fn pool() -> &'static DescriptorPool {
    static POOL: OnceLock<DescriptorPool> = OnceLock::new();
    POOL.get_or_init(|| {
        DescriptorPool::decode(crate::FILE_DESCRIPTOR_SET)
            .expect("the descriptor set built with this crate decodes")
    })
}

/// Serialises `message` (of proto type `type_name`, e.g.
/// `molbatch.v1.MoleculeResult`) as proto3 JSON. Fields with default values
/// are written too, so `"valid": false` is never silently missing, and 64-bit
/// integers are written as numbers (`"index": 3`); proto3 JSON readers accept
/// both forms.
pub fn to_json<M: prost::Message>(
    type_name: &str,
    message: &M,
) -> Result<serde_json::Value, JsonError> {
    let descriptor = pool()
        .get_message_by_name(type_name)
        .ok_or_else(|| JsonError::UnknownType(type_name.to_owned()))?;
    let mapping = |reason: String| JsonError::Mapping {
        type_name: type_name.to_owned(),
        reason,
    };
    let dynamic = DynamicMessage::decode(descriptor, message.encode_to_vec().as_slice())
        .map_err(|e| mapping(e.to_string()))?;
    let options = SerializeOptions::new()
        .skip_default_fields(false)
        .stringify_64_bit_integers(false);
    dynamic
        .serialize_with_options(serde_json::value::Serializer, &options)
        .map_err(|e| mapping(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::v1 as pb;

    #[test]
    fn results_use_camel_case_and_keep_false_values() {
        let result = pb::MoleculeResult {
            index: 3,
            input_smiles: "C1CC".into(),
            valid: false,
            error_code: "SMILES_SYNTAX".into(),
            ..Default::default()
        };
        let json = to_json("molbatch.v1.MoleculeResult", &result).unwrap();
        assert_eq!(json["inputSmiles"], "C1CC");
        assert_eq!(json["index"], 3);
        assert_eq!(json["valid"], false);
        assert_eq!(json["errorCode"], "SMILES_SYNTAX");
        assert!(
            json.get("molWt").is_none(),
            "absent optional descriptors stay absent"
        );
    }
}
