//! Proto3 JSON for any molbatch message, through the descriptor set: the CLI's
//! `--output json`, JSONL results and the REST gateway use this one mapping,
//! both ways, so every client sees the same field names (lowerCamelCase out;
//! lowerCamelCase or proto names in).

use std::sync::OnceLock;

use prost_reflect::{
    DescriptorPool, DeserializeOptions, DynamicMessage, MessageDescriptor, ReflectMessage,
    SerializeOptions,
};
use serde_json::Value;

/// A message that could not be mapped to or from JSON.
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
    /// The text is not JSON; the reason gives the line and column.
    #[error("malformed JSON: {0}")]
    Syntax(String),
    /// The JSON is well formed but a field is unknown or has a value that
    /// does not fit its type.
    #[error("{}{reason}", if field.is_empty() { String::new() } else { format!("{field}: ") })]
    Field {
        /// Path of the field in proto names (`molecules[2].smiles`); empty
        /// when no single field is to blame.
        field: String,
        /// What is wrong with it.
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

fn descriptor(type_name: &str) -> Result<MessageDescriptor, JsonError> {
    pool()
        .get_message_by_name(type_name)
        .ok_or_else(|| JsonError::UnknownType(type_name.to_owned()))
}

/// Serialises `message` (of proto type `type_name`, e.g.
/// `molbatch.v1.MoleculeResult`) as proto3 JSON. Fields with default values
/// are written too, so `"valid": false` is never silently missing, and 64-bit
/// integers are written as numbers (`"index": 3`); proto3 JSON readers accept
/// both forms.
pub fn to_json<M: prost::Message>(type_name: &str, message: &M) -> Result<Value, JsonError> {
    let dynamic =
        DynamicMessage::decode(descriptor(type_name)?, message.encode_to_vec().as_slice())
            .map_err(|e| JsonError::Mapping {
                type_name: type_name.to_owned(),
                reason: e.to_string(),
            })?;
    dynamic_to_json(&dynamic)
}

/// [`to_json`] for a message known only through its descriptor (the REST
/// gateway's responses, decoded from gRPC frames).
pub fn dynamic_to_json(message: &DynamicMessage) -> Result<Value, JsonError> {
    let options = SerializeOptions::new()
        .skip_default_fields(false)
        .stringify_64_bit_integers(false);
    message
        .serialize_with_options(serde_json::value::Serializer, &options)
        .map_err(|e| JsonError::Mapping {
            type_name: message.descriptor().full_name().to_owned(),
            reason: e.to_string(),
        })
}

/// Parses proto3 JSON text as a message of proto type `type_name`: the
/// inverse of [`to_json`]. Field names may be lowerCamelCase or proto names,
/// enums names or numbers, 64-bit integers numbers or strings. An unknown
/// field is an error, and so is a value that does not fit; either names the
/// field.
pub fn from_json<M: prost::Message + Default>(type_name: &str, json: &str) -> Result<M, JsonError> {
    let descriptor = descriptor(type_name)?;
    let value: Value = serde_json::from_str(json).map_err(|e| JsonError::Syntax(e.to_string()))?;
    dynamic_from_json(&descriptor, &value)?
        .transcode_to::<M>()
        .map_err(|e| JsonError::Mapping {
            type_name: type_name.to_owned(),
            reason: e.to_string(),
        })
}

/// [`from_json`] for a message known only through its descriptor, from an
/// already parsed JSON value (the REST gateway's request bodies).
pub fn dynamic_from_json(
    descriptor: &MessageDescriptor,
    value: &Value,
) -> Result<DynamicMessage, JsonError> {
    deserialize(descriptor, value).map_err(|error| {
        let (field, reason) =
            blame(descriptor, value, "").unwrap_or_else(|| (String::new(), error.to_string()));
        JsonError::Field { field, reason }
    })
}

fn deserialize(
    descriptor: &MessageDescriptor,
    value: &Value,
) -> Result<DynamicMessage, serde_json::Error> {
    DynamicMessage::deserialize_with_options(
        descriptor.clone(),
        value,
        &DeserializeOptions::new().deny_unknown_fields(true),
    )
}

/// Finds the field to blame for a value that does not deserialise: the
/// deserialiser's errors do not say where they happened, so each member is
/// tried on its own, descending into messages and lists. Runs only on the
/// error path.
fn blame(descriptor: &MessageDescriptor, value: &Value, path: &str) -> Option<(String, String)> {
    let Value::Object(members) = value else {
        return None;
    };
    let join = |name: &str| {
        if path.is_empty() {
            name.to_owned()
        } else {
            format!("{path}.{name}")
        }
    };
    for (key, item) in members {
        let alone = Value::Object(serde_json::Map::from_iter([(key.clone(), item.clone())]));
        let Err(error) = deserialize(descriptor, &alone) else {
            continue;
        };
        let Some(field) = descriptor
            .get_field_by_json_name(key)
            .or_else(|| descriptor.get_field_by_name(key))
        else {
            let known: Vec<String> = descriptor
                .fields()
                .map(|f| f.json_name().to_owned())
                .collect();
            return Some((
                join(key),
                format!("unknown field; expected one of {}", known.join(", ")),
            ));
        };
        let here = join(field.name());
        let inner = match field.kind().as_message() {
            Some(inner) if !field.is_map() && !is_well_known(inner) => inner.clone(),
            Some(_) | None => return Some((here, error.to_string())),
        };
        if !field.is_list() {
            return Some(blame(&inner, item, &here).unwrap_or((here, error.to_string())));
        }
        if let Value::Array(items) = item {
            for (i, element) in items.iter().enumerate() {
                if let Err(error) = deserialize(&inner, element) {
                    let at = format!("{here}[{i}]");
                    return Some(blame(&inner, element, &at).unwrap_or((at, error.to_string())));
                }
            }
        }
        return Some((here, error.to_string()));
    }
    None
}

/// `google.protobuf` types have their own JSON forms (a timestamp is a
/// string): blame stops at them.
fn is_well_known(message: &MessageDescriptor) -> bool {
    message.package_name() == "google.protobuf"
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

    #[test]
    fn from_json_accepts_both_spellings_and_round_trips() {
        let camel: pb::SubmitBatchRequest = from_json(
            "molbatch.v1.SubmitBatchRequest",
            r#"{"displayName": "a", "molecules": [{"smiles": "CCO", "properties": {"k": "v"}}]}"#,
        )
        .unwrap();
        let snake: pb::SubmitBatchRequest = from_json(
            "molbatch.v1.SubmitBatchRequest",
            r#"{"display_name": "a", "molecules": [{"smiles": "CCO", "properties": {"k": "v"}}]}"#,
        )
        .unwrap();
        assert_eq!(camel, snake);
        assert_eq!(camel.display_name, "a");
        assert_eq!(camel.molecules[0].smiles, "CCO");
        let json = to_json("molbatch.v1.SubmitBatchRequest", &camel).unwrap();
        let back: pb::SubmitBatchRequest =
            from_json("molbatch.v1.SubmitBatchRequest", &json.to_string()).unwrap();
        assert_eq!(back, camel);
    }

    #[test]
    fn from_json_names_the_field_to_blame() {
        let unknown = from_json::<pb::SubmitBatchRequest>(
            "molbatch.v1.SubmitBatchRequest",
            r#"{"molecules": [], "colour": "red"}"#,
        )
        .unwrap_err();
        let JsonError::Field { field, reason } = unknown else {
            panic!("{unknown:?}")
        };
        assert_eq!(field, "colour");
        assert!(reason.contains("unknown field"), "{reason}");
        assert!(reason.contains("displayName"), "{reason}");
        let nested = from_json::<pb::SubmitBatchRequest>(
            "molbatch.v1.SubmitBatchRequest",
            r#"{"molecules": [{"smiles": "C"}, {"smiles": 5}]}"#,
        )
        .unwrap_err();
        let JsonError::Field { field, .. } = nested else {
            panic!("{nested:?}")
        };
        assert_eq!(field, "molecules[1].smiles");
        let typo = from_json::<pb::SubmitBatchRequest>(
            "molbatch.v1.SubmitBatchRequest",
            r#"{"molecules": [{"smile": "C"}]}"#,
        )
        .unwrap_err();
        assert_eq!(
            typo.to_string().split(':').next(),
            Some("molecules[0].smile")
        );
    }

    #[test]
    fn malformed_json_reports_its_position() {
        let error = from_json::<pb::GetJobRequest>("molbatch.v1.GetJobRequest", "{\"jobId\": }")
            .unwrap_err();
        let JsonError::Syntax(reason) = error else {
            panic!("{error:?}")
        };
        assert!(reason.contains("column"), "{reason}");
    }
}
