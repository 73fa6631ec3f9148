//! Building a request message from the parts of an HTTP request: path
//! variables, query parameters and the JSON body, each decoded through the
//! proto3 JSON mapping of `molbatch_proto::json` and merged with protobuf
//! merge semantics. Every error names the field to blame (in proto names),
//! so a REST client learns what to fix exactly as a gRPC client does.

use molbatch_proto::json::{dynamic_from_json, JsonError};
use molbatch_proto::Violations;
use prost::Message;
use prost_reflect::{DynamicMessage, FieldDescriptor, Kind, MessageDescriptor};
use serde_json::{Map, Value};
use tonic::Status;

/// Text values for fields, keyed by a field path as the client spelled it:
/// path variables (`job_id`) or query parameters (`pageSize`, `page_size`,
/// `options.smilesColumn`).
pub(crate) type TextFields = [(String, String)];

/// Decodes `fields` into a message of type `message`.
///
/// Names may be lowerCamelCase or proto names and dotted into singular
/// message fields; a repeated field takes every value given; enums take
/// their proto name, a number, or (case-insensitively) the name without the
/// enum's prefix (`csv` for `INPUT_FORMAT_CSV`); booleans `true`/`false`/
/// `1`/`0`; a message field takes its proto3 JSON text (repeated: one JSON
/// object per value). When `into` is given, a name that is not a field of `message` is
/// looked up in that message field instead (UploadBatch's query parameters
/// are its `options`' fields).
pub(crate) fn from_text_fields(
    message: &MessageDescriptor,
    fields: &TextFields,
    into: Option<&FieldDescriptor>,
) -> Result<DynamicMessage, Status> {
    let mut violations = Violations::default();
    let mut grouped: Vec<(Vec<FieldDescriptor>, Vec<&str>)> = Vec::new();
    for (name, value) in fields {
        let path = match resolve(message, name) {
            Some(path) => path,
            None => match into.and_then(|f| {
                let inner = f.kind().as_message()?.clone();
                resolve(&inner, name).map(|mut rest| {
                    rest.insert(0, f.clone());
                    rest
                })
            }) {
                Some(path) => path,
                None => {
                    violations.field(name.clone(), "unknown parameter");
                    continue;
                }
            },
        };
        match grouped.iter_mut().find(|(p, _)| same_path(p, &path)) {
            Some((_, values)) => values.push(value),
            None => grouped.push((path, vec![value])),
        }
    }
    let mut root = Map::new();
    for (path, values) in grouped {
        let name = proto_path(&path);
        let Some(leaf) = path.last() else { continue };
        match text_value(leaf, &values) {
            Ok(value) => insert(&mut root, &path, value),
            Err(reason) => violations.field(name, reason),
        }
    }
    violations.check()?;
    dynamic_from_json(message, &Value::Object(root)).map_err(json_status)
}

/// Decodes a JSON body: the whole request (`body: "*"`) when `field` is
/// `None`, or the value of that field. Empty text is an empty object.
pub(crate) fn from_json_body(
    message: &MessageDescriptor,
    field: Option<&str>,
    text: &[u8],
) -> Result<DynamicMessage, Status> {
    let value: Value = if text.iter().all(u8::is_ascii_whitespace) {
        Value::Object(Map::new())
    } else {
        serde_json::from_slice(text).map_err(|e| {
            let description = format!("malformed JSON body: {e}");
            match field {
                Some(field) => Violations::one(field, description).into(),
                None => invalid_request(description),
            }
        })?
    };
    let value = match field {
        None => value,
        Some(field) => Value::Object(Map::from_iter([(field.to_owned(), value)])),
    };
    dynamic_from_json(message, &value).map_err(json_status)
}

/// Merges `other` into `base` as protobuf does: set scalars replace,
/// messages merge, lists append.
pub(crate) fn merge(base: &mut DynamicMessage, other: &DynamicMessage) -> Result<(), Status> {
    base.merge(other.encode_to_vec().as_slice())
        .map_err(|e| invalid_request(format!("cannot merge request parts: {e}")))
}

/// INVALID_ARGUMENT about the request as a whole, with no single field to
/// blame: a field violation with an empty field, as Google's APIs answer a
/// malformed body.
pub(crate) fn invalid_request(description: String) -> Status {
    crate::error::GatewayError::InvalidRequest(description).into()
}

fn json_status(error: JsonError) -> Status {
    match error {
        JsonError::Field { field, reason } if !field.is_empty() => {
            Violations::one(field, reason).into()
        }
        JsonError::Field { reason, .. } => invalid_request(reason),
        other @ (JsonError::UnknownType(_) | JsonError::Mapping { .. } | JsonError::Syntax(_)) => {
            invalid_request(other.to_string())
        }
    }
}

fn resolve(message: &MessageDescriptor, name: &str) -> Option<Vec<FieldDescriptor>> {
    let mut current = message.clone();
    let mut path = Vec::new();
    let mut parts = name.split('.').peekable();
    while let Some(part) = parts.next() {
        let field = current
            .get_field_by_json_name(part)
            .or_else(|| current.get_field_by_name(part))?;
        if parts.peek().is_some() {
            current = match field.kind().as_message() {
                Some(inner) if !field.is_list() && !field.is_map() => inner.clone(),
                Some(_) | None => return None,
            };
        }
        path.push(field);
    }
    Some(path)
}

fn same_path(a: &[FieldDescriptor], b: &[FieldDescriptor]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.full_name() == y.full_name())
}

fn proto_path(path: &[FieldDescriptor]) -> String {
    path.iter().map(|f| f.name()).collect::<Vec<_>>().join(".")
}

fn insert(root: &mut Map<String, Value>, path: &[FieldDescriptor], value: Value) {
    let mut object = root;
    for (i, field) in path.iter().enumerate() {
        let key = field.name().to_owned();
        if i + 1 == path.len() {
            object.insert(key, value);
            return;
        }
        let entry = object
            .entry(key)
            .or_insert_with(|| Value::Object(Map::new()));
        if !entry.is_object() {
            *entry = Value::Object(Map::new());
        }
        object = match entry {
            Value::Object(inner) => inner,
            Value::Null
            | Value::Bool(_)
            | Value::Number(_)
            | Value::String(_)
            | Value::Array(_) => return,
        };
    }
}

/// The JSON value of a field given as text (one or more times).
fn text_value(field: &FieldDescriptor, values: &[&str]) -> Result<Value, String> {
    if field.is_map() {
        return Err("a map cannot be given as a parameter".into());
    }
    if field.is_list() {
        return values
            .iter()
            .map(|v| scalar_value(field, v))
            .collect::<Result<Vec<_>, _>>()
            .map(Value::Array);
    }
    match values {
        [one] => scalar_value(field, one),
        _ => Err(format!("given {} times but takes one value", values.len())),
    }
}

fn scalar_value(field: &FieldDescriptor, text: &str) -> Result<Value, String> {
    match field.kind() {
        Kind::Bool => match text {
            "true" | "1" | "" => Ok(Value::Bool(true)),
            "false" | "0" => Ok(Value::Bool(false)),
            other => Err(format!("{other:?} is not true or false")),
        },
        Kind::Enum(enumeration) => {
            if let Ok(number) = text.parse::<i32>() {
                return Ok(Value::from(number));
            }
            let prefix = format!("{}_", screaming_snake(enumeration.name()));
            enumeration
                .values()
                .find(|v| {
                    v.name() == text
                        || v.name().eq_ignore_ascii_case(text)
                        || v.name()
                            .strip_prefix(&prefix)
                            .is_some_and(|short| short.eq_ignore_ascii_case(text))
                })
                .map(|v| Value::String(v.name().to_owned()))
                .ok_or_else(|| {
                    let names: Vec<String> = enumeration
                        .values()
                        .map(|v| {
                            v.name()
                                .strip_prefix(&prefix)
                                .unwrap_or(v.name())
                                .to_ascii_lowercase()
                        })
                        .collect();
                    format!("unknown value {text:?}; one of {}", names.join(", "))
                })
        }
        // Proto3 JSON takes numbers, 64-bit integers, bytes (base64) and
        // well-known messages (timestamps, durations) as strings.
        Kind::Double
        | Kind::Float
        | Kind::Int32
        | Kind::Int64
        | Kind::Uint32
        | Kind::Uint64
        | Kind::Sint32
        | Kind::Sint64
        | Kind::Fixed32
        | Kind::Fixed64
        | Kind::Sfixed32
        | Kind::Sfixed64
        | Kind::String
        | Kind::Bytes => Ok(Value::String(text.to_owned())),
        Kind::Message(message) => message_value(&message, text),
    }
}

/// A message-typed field given as a parameter: its proto3 JSON text
/// (`activityColumns={"column":"IC50","unit":"nM"}`), whose fields the JSON
/// mapping then checks. Well-known types (timestamps, durations) keep their
/// string form.
fn message_value(message: &MessageDescriptor, text: &str) -> Result<Value, String> {
    if message.package_name() == "google.protobuf" {
        return Ok(Value::String(text.to_owned()));
    }
    match serde_json::from_str::<Value>(text) {
        Ok(value @ Value::Object(_)) => Ok(value),
        Ok(_) | Err(_) => Err(format!(
            "not a JSON object: give this {} as proto3 JSON, e.g. {}",
            message.name(),
            example_json(message)
        )),
    }
}

/// `{"first":…,"second":…}` with a message's first two fields, to show
/// the expected shape.
fn example_json(message: &MessageDescriptor) -> String {
    let fields: Vec<String> = message
        .fields()
        .take(2)
        .map(|f| format!("\"{}\":…", f.json_name()))
        .collect();
    format!("{{{}}}", fields.join(","))
}

/// `InputFormat` → `INPUT_FORMAT`, the prefix of its values by the proto
/// style guide.
pub(crate) fn screaming_snake(name: &str) -> String {
    let mut out = String::new();
    for (i, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(c.to_ascii_uppercase());
    }
    out
}

#[cfg(test)]
#[allow(clippy::wildcard_enum_match_arm)] // a test fails on any other outcome
mod tests {
    use super::*;
    use molbatch_proto::v1 as pb;

    fn descriptor(name: &str) -> MessageDescriptor {
        molbatch_proto::json::pool()
            .get_message_by_name(name)
            .unwrap()
    }

    fn fields(status: &Status) -> Vec<String> {
        Violations::from_status(status)
            .fields()
            .iter()
            .map(|(f, _)| f.clone())
            .collect()
    }

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn query_parameters_take_both_spellings() {
        let desc = descriptor("molbatch.v1.ListResultsRequest");
        let message = from_text_fields(
            &desc,
            &pairs(&[
                ("pageSize", "10"),
                ("page_token", "t"),
                ("filter", "valid"),
                ("includeFingerprint", "true"),
            ]),
            None,
        )
        .unwrap();
        let request: pb::ListResultsRequest = message.transcode_to().unwrap();
        assert_eq!(request.page_size, 10);
        assert_eq!(request.page_token, "t");
        assert_eq!(request.filter, "valid");
        assert!(request.include_fingerprint);
    }

    #[test]
    fn bad_and_unknown_parameters_are_named() {
        let desc = descriptor("molbatch.v1.ListResultsRequest");
        let error = from_text_fields(
            &desc,
            &pairs(&[("pageSize", "ten"), ("colour", "red")]),
            None,
        )
        .unwrap_err();
        assert_eq!(fields(&error), vec!["colour"]);
        let error = from_text_fields(&desc, &pairs(&[("pageSize", "ten")]), None).unwrap_err();
        assert_eq!(fields(&error), vec!["page_size"]);
        let error =
            from_text_fields(&desc, &pairs(&[("filter", "a"), ("filter", "b")]), None).unwrap_err();
        assert_eq!(fields(&error), vec!["filter"]);
    }

    #[test]
    fn upload_parameters_fall_into_the_options() {
        let desc = descriptor("molbatch.v1.UploadBatchRequest");
        let options = desc.get_field_by_name("options").unwrap();
        let message = from_text_fields(
            &desc,
            &pairs(&[
                ("format", "csv"),
                ("smilesColumn", "SMILES"),
                ("options.id_column", "id"),
                ("displayName", "x.csv"),
            ]),
            Some(&options),
        )
        .unwrap();
        let request: pb::UploadBatchRequest = message.transcode_to().unwrap();
        match request.part {
            Some(pb::upload_batch_request::Part::Options(o)) => {
                assert_eq!(o.format, pb::InputFormat::Csv as i32);
                assert_eq!(o.smiles_column, "SMILES");
                assert_eq!(o.id_column, "id");
                assert_eq!(o.display_name, "x.csv");
            }
            other => panic!("{other:?}"),
        }
        for format in ["INPUT_FORMAT_SDF", "sdf", "3"] {
            let m = from_text_fields(&desc, &pairs(&[("format", format)]), Some(&options)).unwrap();
            let r: pb::UploadBatchRequest = m.transcode_to().unwrap();
            assert!(
                matches!(r.part, Some(pb::upload_batch_request::Part::Options(o)) if o.format == pb::InputFormat::Sdf as i32),
                "{format}"
            );
        }
        let error =
            from_text_fields(&desc, &pairs(&[("format", "xyz")]), Some(&options)).unwrap_err();
        assert_eq!(fields(&error), vec!["options.format"]);
        assert!(error.message().contains("csv"), "{error}");
    }

    #[test]
    fn message_parameters_take_proto3_json() {
        let desc = descriptor("molbatch.v1.UploadBatchRequest");
        let options = desc.get_field_by_name("options").unwrap();
        let message = from_text_fields(
            &desc,
            &pairs(&[
                ("format", "csv"),
                (
                    "activityColumns",
                    r#"{"column":"exp_mean [nM]","unit":"nM"}"#,
                ),
                ("activity_columns", r#"{"column": "pKi", "unit": "p"}"#),
            ]),
            Some(&options),
        )
        .unwrap();
        let request: pb::UploadBatchRequest = message.transcode_to().unwrap();
        let Some(pb::upload_batch_request::Part::Options(o)) = request.part else {
            panic!("no options");
        };
        let columns: Vec<(&str, &str)> = o
            .activity_columns
            .iter()
            .map(|c| (c.column.as_str(), c.unit.as_str()))
            .collect();
        assert_eq!(columns, [("exp_mean [nM]", "nM"), ("pKi", "p")]);

        for bad in ["exp_mean", r#"{"column": "x""#, "[1]"] {
            let error =
                from_text_fields(&desc, &pairs(&[("activityColumns", bad)]), Some(&options))
                    .unwrap_err();
            assert_eq!(fields(&error), vec!["options.activity_columns"], "{bad}");
            let v = Violations::from_status(&error);
            assert!(v.fields()[0].1.contains("ActivityColumn"), "{v}");
            assert!(v.fields()[0].1.contains(r#""column":…"#), "{v}");
        }
        // Well-formed JSON with a field the message does not have.
        let error = from_text_fields(
            &desc,
            &pairs(&[("activityColumns", r#"{"colour":"red"}"#)]),
            Some(&options),
        )
        .unwrap_err();
        assert!(
            fields(&error)[0].contains("colour") || error.message().contains("colour"),
            "{error:?}"
        );
    }

    #[test]
    fn json_bodies_merge_with_path_variables() {
        let desc = descriptor("molbatch.v1.CancelJobRequest");
        let mut message = from_json_body(&desc, None, b"").unwrap();
        let path = from_text_fields(&desc, &pairs(&[("job_id", "j")]), None).unwrap();
        merge(&mut message, &path).unwrap();
        let request: pb::CancelJobRequest = message.transcode_to().unwrap();
        assert_eq!(request.job_id, "j");
        let error = from_json_body(&desc, None, b"{\"jobId\": 1,}").unwrap_err();
        assert!(
            error.message().starts_with("malformed JSON body"),
            "{error}"
        );
        assert!(error.message().contains("column"), "{error}");
        assert_eq!(fields(&error), vec![""]);
        let error = from_json_body(&desc, None, b"{\"job\": \"x\"}").unwrap_err();
        assert_eq!(fields(&error), vec!["job"]);
    }
}
