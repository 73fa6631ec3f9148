//! The OpenAPI 3 document of the REST API, generated from the same
//! descriptors and route table the transcoder uses, so it cannot drift:
//! one operation per route (operationId = the RPC's name), summaries and
//! descriptions from the proto comments, path and query parameters, request
//! and response bodies, and a schema for every reachable message and enum
//! with the JSON types we actually write (64-bit integers as numbers,
//! timestamps as RFC 3339 strings, enums as their names).

use std::collections::{BTreeMap, HashMap};

use prost_reflect::{
    DescriptorPool, EnumDescriptor, FieldDescriptor, FileDescriptor, Kind, MessageDescriptor,
};
use serde_json::{json, Map, Value};

use super::routes::{BodyRule, Route, RouteTable};

/// Where the shared error schema lives.
const ERROR_SCHEMA: &str = "#/components/schemas/Error";

/// Leading comments of every descriptor, by file and source path.
struct Comments(HashMap<(String, Vec<i32>), String>);

impl Comments {
    fn of(pool: &DescriptorPool) -> Self {
        let mut map = HashMap::new();
        for file in pool.files() {
            let proto = file.file_descriptor_proto();
            let Some(info) = &proto.source_code_info else {
                continue;
            };
            for location in &info.location {
                if let Some(text) = &location.leading_comments {
                    let text = text
                        .lines()
                        .map(str::trim)
                        .collect::<Vec<_>>()
                        .join("\n")
                        .trim()
                        .to_owned();
                    map.insert((proto.name().to_owned(), location.path.clone()), text);
                }
            }
        }
        Self(map)
    }

    fn get(&self, file: &FileDescriptor, path: &[i32]) -> Option<&str> {
        self.0
            .get(&(file.name().to_owned(), path.to_vec()))
            .map(String::as_str)
    }

    fn message(&self, message: &MessageDescriptor) -> Option<&str> {
        self.get(&message.parent_file(), message.path())
    }

    fn field(&self, field: &FieldDescriptor) -> Option<&str> {
        self.get(&field.parent_file(), field.path())
    }
}

/// The first sentence (or line) of a comment.
fn summary(text: &str) -> String {
    let first = text.split("\n\n").next().unwrap_or(text).replace('\n', " ");
    match first.find(". ") {
        Some(end) => first[..=end].to_owned(),
        None => first,
    }
}

fn schema_ref(full_name: &str) -> Value {
    json!({ "$ref": format!("#/components/schemas/{full_name}") })
}

/// Collects the schemas of messages and enums as they are referenced.
struct Schemas<'a> {
    comments: &'a Comments,
    schemas: BTreeMap<String, Value>,
    pending: Vec<MessageDescriptor>,
}

impl Schemas<'_> {
    /// The schema of a message used somewhere: a well-known type inline, any
    /// other a reference (its component written later).
    fn message(&mut self, message: &MessageDescriptor) -> Value {
        if let Some(schema) = well_known(message) {
            return schema;
        }
        if !self.schemas.contains_key(message.full_name())
            && !self
                .pending
                .iter()
                .any(|m| m.full_name() == message.full_name())
        {
            self.pending.push(message.clone());
        }
        schema_ref(message.full_name())
    }

    fn enumeration(&mut self, enumeration: &EnumDescriptor) -> Value {
        if !self.schemas.contains_key(enumeration.full_name()) {
            let comment = self
                .comments
                .get(&enumeration.parent_file(), enumeration.path())
                .unwrap_or_default();
            let mut description = comment.to_owned();
            for value in enumeration.values() {
                if let Some(text) = self.comments.get(&value.parent_file(), value.path()) {
                    description.push_str(&format!("\n- `{}`: {}", value.name(), text));
                }
            }
            let names: Vec<String> = enumeration.values().map(|v| v.name().to_owned()).collect();
            self.schemas.insert(
                enumeration.full_name().to_owned(),
                json!({
                    "type": "string",
                    "enum": names,
                    "description": format!("{description}\n\nWritten as the value's name; the number is accepted too."),
                }),
            );
        }
        schema_ref(enumeration.full_name())
    }

    /// The schema of one value of a field (ignoring repetition).
    fn kind(&mut self, kind: &Kind) -> Value {
        match kind {
            Kind::Double => json!({"type": "number", "format": "double"}),
            Kind::Float => json!({"type": "number", "format": "float"}),
            Kind::Int32 | Kind::Sint32 | Kind::Sfixed32 => {
                json!({"type": "integer", "format": "int32"})
            }
            Kind::Uint32 | Kind::Fixed32 => {
                json!({"type": "integer", "format": "int64", "minimum": 0, "maximum": u32::MAX})
            }
            Kind::Int64 | Kind::Sint64 | Kind::Sfixed64 => {
                json!({"type": "integer", "format": "int64"})
            }
            Kind::Uint64 | Kind::Fixed64 => {
                json!({"type": "integer", "format": "int64", "minimum": 0})
            }
            Kind::Bool => json!({"type": "boolean"}),
            Kind::String => json!({"type": "string"}),
            Kind::Bytes => json!({"type": "string", "format": "byte"}),
            Kind::Message(message) => self.message(message),
            Kind::Enum(enumeration) => self.enumeration(enumeration),
        }
    }

    /// The schema of a field, with its comment.
    fn field(&mut self, field: &FieldDescriptor) -> Value {
        let schema = if field.is_map() {
            let value = match field.kind().as_message() {
                Some(entry) => self.kind(&entry.map_entry_value_field().kind()),
                None => json!({}),
            };
            json!({"type": "object", "additionalProperties": value})
        } else if field.is_list() {
            json!({"type": "array", "items": self.kind(&field.kind())})
        } else {
            self.kind(&field.kind())
        };
        let mut description = self.comments.field(field).unwrap_or_default().to_owned();
        if let Some(oneof) = field.containing_oneof().filter(|o| !o.is_synthetic()) {
            let names: Vec<String> = oneof.fields().map(|f| f.json_name().to_owned()).collect();
            description.push_str(&format!(
                "\n\nOne of `{}`: at most one of {} is set.",
                oneof.name(),
                names.join(", ")
            ));
        }
        described(schema, description.trim())
    }

    /// Writes the component of every message referenced so far, and of the
    /// messages those reference.
    fn drain(&mut self) {
        while let Some(message) = self.pending.pop() {
            if self.schemas.contains_key(message.full_name()) {
                continue;
            }
            // Reserve the name first: messages may refer to themselves.
            self.schemas
                .insert(message.full_name().to_owned(), Value::Null);
            let mut properties = Map::new();
            for field in message.fields() {
                properties.insert(field.json_name().to_owned(), self.field(&field));
            }
            let mut schema = json!({"type": "object", "properties": properties});
            if let Some(text) = self.comments.message(&message) {
                schema["description"] = Value::from(text);
            }
            self.schemas.insert(message.full_name().to_owned(), schema);
        }
    }
}

/// A schema with a description; a `$ref` is wrapped in `allOf`, since
/// OpenAPI 3.0 ignores a reference's siblings.
fn described(schema: Value, description: &str) -> Value {
    if description.is_empty() {
        return schema;
    }
    if schema.get("$ref").is_some() {
        json!({"allOf": [schema], "description": description})
    } else {
        let mut schema = schema;
        schema["description"] = Value::from(description);
        schema
    }
}

/// The JSON forms of `google.protobuf` types.
fn well_known(message: &MessageDescriptor) -> Option<Value> {
    let schema = match message.full_name() {
        "google.protobuf.Timestamp" => json!({"type": "string", "format": "date-time"}),
        "google.protobuf.Duration" => {
            json!({"type": "string", "pattern": "^-?[0-9]+(\\.[0-9]+)?s$", "example": "1.5s"})
        }
        "google.protobuf.FieldMask" => json!({"type": "string"}),
        "google.protobuf.Empty" => json!({"type": "object"}),
        "google.protobuf.Struct" => json!({"type": "object", "additionalProperties": true}),
        "google.protobuf.Value" => json!({}),
        "google.protobuf.ListValue" => json!({"type": "array", "items": {}}),
        "google.protobuf.Any" => json!({
            "type": "object",
            "properties": {"@type": {"type": "string"}},
            "additionalProperties": true
        }),
        "google.protobuf.DoubleValue" | "google.protobuf.FloatValue" => {
            json!({"type": "number", "nullable": true})
        }
        "google.protobuf.Int32Value"
        | "google.protobuf.UInt32Value"
        | "google.protobuf.Int64Value"
        | "google.protobuf.UInt64Value" => json!({"type": "integer", "nullable": true}),
        "google.protobuf.BoolValue" => json!({"type": "boolean", "nullable": true}),
        "google.protobuf.StringValue" => json!({"type": "string", "nullable": true}),
        "google.protobuf.BytesValue" => {
            json!({"type": "string", "format": "byte", "nullable": true})
        }
        _ => return None,
    };
    Some(schema)
}

/// The query parameters of a route: every scalar, enum, repeated or
/// well-known field not bound by the path or the body, dotted into singular
/// messages; the fields of the `into` message (UploadBatch's options)
/// undotted.
fn query_parameters(
    schemas: &mut Schemas<'_>,
    route: &Route,
    into: Option<&FieldDescriptor>,
) -> Vec<Value> {
    let mut bound: Vec<String> = route
        .template
        .variable_fields()
        .map(str::to_owned)
        .collect();
    match &route.body {
        BodyRule::Field(field) => bound.push(field.clone()),
        BodyRule::Whole => return Vec::new(),
        BodyRule::None => {}
    }
    let mut walk = QueryWalk {
        bound,
        into: into.map(|f| f.full_name().to_owned()),
        out: Vec::new(),
    };
    walk.message(schemas, &route.rpc.input(), "", "", 0);
    walk.out
}

struct QueryWalk {
    bound: Vec<String>,
    into: Option<String>,
    out: Vec<Value>,
}

impl QueryWalk {
    fn message(
        &mut self,
        schemas: &mut Schemas<'_>,
        message: &MessageDescriptor,
        proto_prefix: &str,
        json_prefix: &str,
        depth: usize,
    ) {
        for field in message.fields() {
            let proto_path = format!("{proto_prefix}{}", field.name());
            if self.bound.contains(&proto_path) || field.is_map() {
                continue;
            }
            let json_path = format!("{json_prefix}{}", field.json_name());
            let nested = field
                .kind()
                .as_message()
                .filter(|m| well_known(m).is_none() && !field.is_list())
                .cloned();
            match nested {
                Some(inner) => {
                    if depth < 3 {
                        let undotted = self.into.as_deref() == Some(field.full_name());
                        let json = if undotted {
                            String::new()
                        } else {
                            format!("{json_path}.")
                        };
                        self.message(schemas, &inner, &format!("{proto_path}."), &json, depth + 1);
                    }
                }
                None => {
                    let mut parameter = json!({
                        "name": json_path,
                        "in": "query",
                        "required": false,
                        "schema": schemas.field(&field),
                    });
                    if let Kind::Enum(enumeration) = field.kind() {
                        let example = enumeration
                            .values()
                            .nth(1)
                            .map(|v| v.name().to_owned())
                            .unwrap_or_default();
                        let prefix =
                            format!("{}_", super::request::screaming_snake(enumeration.name()));
                        let short = example.strip_prefix(&prefix).unwrap_or(&example);
                        parameter["description"] = Value::from(format!(
                            "By name ({example}), number, or name without its prefix in any case ({})",
                            short.to_ascii_lowercase()
                        ));
                    }
                    self.out.push(parameter);
                }
            }
        }
    }
}

/// The shared error schema: Google's JSON error shape.
fn error_schema() -> Value {
    json!({
        "type": "object",
        "description": "Every error: the gRPC status as Google's JSON error shape.",
        "required": ["error"],
        "properties": {
            "error": {
                "type": "object",
                "required": ["code", "status", "message"],
                "properties": {
                    "code": {"type": "integer", "description": "The HTTP status code."},
                    "status": {
                        "type": "string",
                        "description": "The google.rpc.Code name.",
                        "enum": [
                            "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED",
                            "NOT_FOUND", "ALREADY_EXISTS", "PERMISSION_DENIED",
                            "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED",
                            "OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE",
                            "DATA_LOSS", "UNAUTHENTICATED"
                        ]
                    },
                    "message": {"type": "string", "description": "What went wrong."},
                    "details": {
                        "type": "array",
                        "description": "google.rpc error details, each with its `@type`: `type.googleapis.com/google.rpc.BadRequest` carries `fieldViolations` (`field` in proto names, `description`; uploads name `file` and the line), `google.rpc.RetryInfo` a `retryDelay` (also sent as `Retry-After`).",
                        "items": {
                            "type": "object",
                            "properties": {"@type": {"type": "string"}},
                            "additionalProperties": true
                        }
                    }
                }
            }
        }
    })
}

/// Builds the document for `service`'s routes.
pub(crate) fn document(pool: &DescriptorPool, service: &str, table: &RouteTable) -> Value {
    let comments = Comments::of(pool);
    let mut schemas = Schemas {
        comments: &comments,
        schemas: BTreeMap::new(),
        pending: Vec::new(),
    };
    let service_comment = pool
        .get_service_by_name(service)
        .and_then(|s| comments.get(&s.parent_file(), s.path()).map(str::to_owned))
        .unwrap_or_default();
    let tag = service.rsplit('.').next().unwrap_or(service).to_owned();
    let mut paths: BTreeMap<String, Map<String, Value>> = BTreeMap::new();
    for route in table.routes() {
        let operation = operation(&mut schemas, &comments, route, &tag);
        paths
            .entry(route.template.openapi_path())
            .or_default()
            .insert(route.method.as_str().to_ascii_lowercase(), operation);
    }
    schemas.drain();
    let mut components: Map<String, Value> = schemas.schemas.into_iter().collect();
    components.insert("Error".to_owned(), error_schema());
    json!({
        "openapi": "3.0.3",
        "info": {
            "title": "molbatch",
            "version": env!("CARGO_PKG_VERSION"),
            "description": format!(
                "{service_comment}\n\nREST/JSON transcoding of the gRPC service `{service}`: \
                 bodies and answers are proto3 JSON (lowerCamelCase field names out; \
                 lowerCamelCase or proto names in; 64-bit integers as numbers; enums by name). \
                 Query parameters take either spelling too."
            ),
        },
        "servers": [{"url": "/"}],
        "tags": [{"name": tag, "description": service_comment}],
        "paths": paths,
        "components": {
            "schemas": components,
            "responses": {
                "Error": {
                    "description": "An error, in Google's JSON error shape.",
                    "content": {"application/json": {"schema": {"$ref": ERROR_SCHEMA}}}
                }
            }
        }
    })
}

fn operation(schemas: &mut Schemas<'_>, comments: &Comments, route: &Route, tag: &str) -> Value {
    let rpc = &route.rpc;
    let comment = comments
        .get(&rpc.parent_file(), rpc.path())
        .unwrap_or_default()
        .to_owned();
    let input = rpc.input();
    let operation_id = match route.binding {
        0 => rpc.name().to_owned(),
        n => format!("{}_{n}", rpc.name()),
    };
    let mut parameters = Vec::new();
    for field_path in route.template.variable_fields() {
        let field = leaf_field(&input, field_path);
        let schema = field
            .as_ref()
            .map_or(json!({"type": "string"}), |f| schemas.field(f));
        parameters.push(json!({
            "name": field_path,
            "in": "path",
            "required": true,
            "schema": schema,
        }));
    }
    let upload_data = match &route.body {
        BodyRule::Field(name) if rpc.is_client_streaming() => input.get_field_by_name(name),
        BodyRule::Field(_) | BodyRule::None | BodyRule::Whole => None,
    };
    let into = upload_data
        .as_ref()
        .and_then(|data| super::sole_message_field(&input, data));
    parameters.extend(query_parameters(schemas, route, into.as_ref()));
    let mut operation = json!({
        "operationId": operation_id,
        "tags": [tag],
        "summary": summary(&comment),
        "description": comment,
        "parameters": parameters,
        "responses": {
            "200": response(schemas, route),
            "default": {"$ref": "#/components/responses/Error"}
        }
    });
    let body = match (&route.body, upload_data) {
        (BodyRule::None, _) => None,
        (BodyRule::Whole, _) => Some(json!({
            "required": true,
            "content": {"application/json": {"schema": schemas.message(&input)}}
        })),
        (BodyRule::Field(_), Some(_)) => Some(json!({
            "required": true,
            "description": "The raw file (any content type; gzip accepted, as a .gz file or with Content-Encoding: gzip), streamed.",
            "content": {
                "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
                "*/*": {"schema": {"type": "string", "format": "binary"}}
            }
        })),
        (BodyRule::Field(name), None) => {
            let schema = input
                .get_field_by_name(name)
                .map_or(json!({}), |f| schemas.field(&f));
            Some(json!({
                "required": true,
                "content": {"application/json": {"schema": schema}}
            }))
        }
    };
    if let Some(body) = body {
        operation["requestBody"] = body;
    }
    operation
}

fn response(schemas: &mut Schemas<'_>, route: &Route) -> Value {
    let output = route.rpc.output();
    let schema = match &route.response_body {
        Some(field) => output
            .get_field_by_name(field)
            .map_or(json!({}), |f| schemas.field(&f)),
        None => schemas.message(&output),
    };
    if route.rpc.is_server_streaming() && super::is_http_body(&output) {
        json!({
            "description": "The file, streamed, with its own content type (text/csv, \
                 chemical/x-mdl-sdfile, application/json, application/x-ndjson).",
            "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}
        })
    } else if route.rpc.is_server_streaming() {
        json!({
            "description": format!(
                "A server-sent-events stream: one `event: {name}` per message, its `data` the \
                 message's JSON (this schema); keep-alive comments while idle; `event: error` \
                 with an Error if the stream fails; the response ends with the stream.",
                name = output.name()
            ),
            "content": {"text/event-stream": {"schema": schema}}
        })
    } else {
        json!({
            "description": format!("The {}.", output.name()),
            "content": {"application/json": {"schema": schema}}
        })
    }
}

fn leaf_field(message: &MessageDescriptor, path: &str) -> Option<FieldDescriptor> {
    let mut current = message.clone();
    let mut parts = path.split('.').peekable();
    while let Some(part) = parts.next() {
        let field = current.get_field_by_name(part)?;
        if parts.peek().is_none() {
            return Some(field);
        }
        current = field.kind().as_message()?.clone();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn document_of_molbatch() -> Value {
        let pool = molbatch_proto::json::pool();
        let table = RouteTable::from_service(pool, "molbatch.v1.MolBatch").unwrap();
        document(pool, "molbatch.v1.MolBatch", &table)
    }

    fn refs(value: &Value, out: &mut Vec<String>) {
        match value {
            Value::Object(map) => {
                for (key, item) in map {
                    if key == "$ref" {
                        out.push(item.as_str().unwrap().to_owned());
                    }
                    refs(item, out);
                }
            }
            Value::Array(items) => items.iter().for_each(|i| refs(i, out)),
            Value::Null | Value::Bool(_) | Value::Number(_) | Value::String(_) => {}
        }
    }

    #[test]
    fn every_annotated_rpc_has_its_operation() {
        let doc = document_of_molbatch();
        assert_eq!(doc["openapi"], "3.0.3");
        let pool = molbatch_proto::json::pool();
        let service = pool.get_service_by_name("molbatch.v1.MolBatch").unwrap();
        let table = RouteTable::from_service(pool, "molbatch.v1.MolBatch").unwrap();
        let mut ids = Vec::new();
        for route in table.routes() {
            let operation = &doc["paths"][route.template.openapi_path()]
                [route.method.as_str().to_ascii_lowercase()];
            assert!(operation.is_object(), "{} missing", route.template.text());
            ids.push(operation["operationId"].as_str().unwrap().to_owned());
            assert!(operation["responses"]["200"].is_object());
            assert!(operation["responses"]["default"].is_object());
            for variable in route.template.variable_fields() {
                assert!(
                    operation["parameters"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .any(|p| p["in"] == "path" && p["name"] == variable),
                    "{variable} of {}",
                    route.template.text()
                );
            }
        }
        let http = pool.get_extension_by_name("google.api.http").unwrap();
        for method in service.methods() {
            if method.options().has_extension(&http) {
                assert!(
                    ids.iter().any(|id| id == method.name()),
                    "{} has no operation",
                    method.name()
                );
            }
        }
        let mut unique = ids.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), ids.len(), "operation ids are unique");
        assert!(ids.contains(&"SubmitBatch".to_owned()));
        assert!(ids.contains(&"WatchJob".to_owned()));
    }

    #[test]
    fn every_reference_resolves_and_types_are_what_we_write() {
        let doc = document_of_molbatch();
        let mut all = Vec::new();
        refs(&doc, &mut all);
        assert!(!all.is_empty());
        for reference in all {
            let pointer = reference.strip_prefix('#').unwrap();
            assert!(
                doc.pointer(pointer).is_some_and(|v| !v.is_null()),
                "{reference} dangles"
            );
        }
        let job = &doc["components"]["schemas"]["molbatch.v1.Job"];
        assert_eq!(job["properties"]["totalMolecules"]["type"], "integer");
        assert_eq!(job["properties"]["createTime"]["format"], "date-time");
        assert_eq!(
            doc["components"]["schemas"]["molbatch.v1.JobState"]["type"],
            "string"
        );
        assert!(job["description"].as_str().unwrap().contains("batch"));
    }

    #[test]
    fn operations_carry_comments_parameters_and_bodies() {
        let doc = document_of_molbatch();
        let results = &doc["paths"]["/v1/jobs/{job_id}/results"]["get"];
        assert_eq!(results["operationId"], "ListResults");
        assert!(results["summary"].as_str().unwrap().starts_with("Pages"));
        let names: Vec<&str> = results["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["name"].as_str().unwrap())
            .collect();
        for name in ["job_id", "pageSize", "pageToken", "filter"] {
            assert!(names.contains(&name), "{name} in {names:?}");
        }
        let upload = &doc["paths"]["/v1/jobs:upload"]["post"];
        assert_eq!(
            upload["requestBody"]["content"]["application/octet-stream"]["schema"]["format"],
            "binary"
        );
        let names: Vec<&str> = upload["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["name"].as_str().unwrap())
            .collect();
        assert!(
            names.contains(&"format") && names.contains(&"smilesColumn"),
            "{names:?}"
        );
        assert!(!names.contains(&"data"));
        let format = upload["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == "format")
            .unwrap();
        assert!(
            format["description"].as_str().unwrap().contains("(smiles)"),
            "{format}"
        );
        let submit = &doc["paths"]["/v1/jobs"]["post"];
        assert_eq!(
            submit["requestBody"]["content"]["application/json"]["schema"]["$ref"],
            "#/components/schemas/molbatch.v1.SubmitBatchRequest"
        );
        let watch = &doc["paths"]["/v1/jobs/{job_id}:watch"]["get"];
        assert!(watch["responses"]["200"]["content"]["text/event-stream"].is_object());
    }
}
