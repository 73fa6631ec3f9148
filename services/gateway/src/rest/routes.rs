//! The REST route table, derived at start-up from the `google.api.http`
//! option of every method of the public service, and the path-template
//! matcher. axum's router cannot express `/v1/jobs/{job_id}:cancel` (a
//! variable and a literal verb in one segment), so templates are matched here,
//! segment by segment, following the `google.api.HttpRule` grammar:
//! `"/" Segments [":" Verb]`, a segment being a literal, `*`, `**` or a
//! `{field}` / `{field=pattern}` variable.

use axum::http::Method;
use molbatch_proto::google::api::{http_rule::Pattern, HttpRule};
use prost_reflect::{DescriptorPool, MethodDescriptor, Value};

/// A path template that cannot be parsed, or an annotation that cannot be
/// served (found at start-up).
#[derive(Debug, thiserror::Error)]
#[error("{method}: {reason}")]
pub struct RouteError {
    /// Full name of the RPC.
    pub method: String,
    /// What is wrong.
    pub reason: String,
}

/// One path segment of a template.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Literal(String),
    /// `*`: exactly one segment.
    One,
    /// `**`: the rest of the path (last segment only).
    Rest,
}

/// A variable: the field it sets and the segments it captures.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Variable {
    field: String,
    start: usize,
    end: usize,
}

/// A parsed path template such as `/v1/jobs/{job_id}:cancel`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Template {
    text: String,
    segments: Vec<Segment>,
    variables: Vec<Variable>,
    verb: Option<String>,
}

impl Template {
    /// Parses `text`, or says what is wrong with it.
    pub(crate) fn parse(text: &str) -> Result<Self, String> {
        let body = text
            .strip_prefix('/')
            .ok_or_else(|| format!("template {text:?} does not start with /"))?;
        let mut raw = split_outside_braces(body, '/');
        let last = raw.pop().unwrap_or_default();
        let (last, verb) = match rsplit_outside_braces(&last, ':') {
            Some((segment, verb)) if !verb.is_empty() => (segment, Some(verb)),
            Some(_) | None => (last, None),
        };
        raw.push(last);
        let mut segments = Vec::new();
        let mut variables = Vec::new();
        for piece in raw {
            if let Some(inner) = piece.strip_prefix('{') {
                let inner = inner
                    .strip_suffix('}')
                    .ok_or_else(|| format!("template {text:?}: unclosed variable {piece:?}"))?;
                let (field, pattern) = inner.split_once('=').unwrap_or((inner, "*"));
                if field.is_empty() {
                    return Err(format!("template {text:?}: variable without a field"));
                }
                let start = segments.len();
                for part in pattern.split('/') {
                    segments.push(literal_or_wildcard(part));
                }
                variables.push(Variable {
                    field: field.to_owned(),
                    start,
                    end: segments.len(),
                });
            } else if piece.is_empty() {
                return Err(format!("template {text:?} has an empty segment"));
            } else {
                segments.push(literal_or_wildcard(&piece));
            }
        }
        if segments[..segments.len().saturating_sub(1)].contains(&Segment::Rest) {
            return Err(format!("template {text:?}: ** must be the last segment"));
        }
        Ok(Self {
            text: text.to_owned(),
            segments,
            variables,
            verb,
        })
    }

    /// The template as written in the proto.
    pub(crate) fn text(&self) -> &str {
        &self.text
    }

    /// The template in OpenAPI's form: each variable is `{field}`.
    pub(crate) fn openapi_path(&self) -> String {
        let mut path = String::new();
        let mut i = 0;
        while i < self.segments.len() {
            path.push('/');
            match self.variables.iter().find(|v| v.start == i) {
                Some(variable) => {
                    path.push_str(&format!("{{{}}}", variable.field));
                    i = variable.end.max(i + 1);
                }
                None => {
                    path.push_str(&segment_text(&self.segments[i]));
                    i += 1;
                }
            }
        }
        if let Some(verb) = &self.verb {
            path.push(':');
            path.push_str(verb);
        }
        path
    }

    /// The fields the path sets (proto field paths, possibly dotted).
    pub(crate) fn variable_fields(&self) -> impl Iterator<Item = &str> {
        self.variables.iter().map(|v| v.field.as_str())
    }

    /// How many literal segments the template has; more literals is a more
    /// specific template.
    fn literals(&self) -> usize {
        self.segments
            .iter()
            .filter(|s| matches!(s, Segment::Literal(_)))
            .count()
    }

    /// Matches a request path: the variables' values (percent-decoded) in
    /// template order, or `None`.
    pub(crate) fn matches(&self, path: &str) -> Option<Vec<(String, String)>> {
        let body = path.strip_prefix('/')?;
        let body = match &self.verb {
            Some(verb) => body.strip_suffix(verb.as_str())?.strip_suffix(':')?,
            None => body,
        };
        let given: Vec<&str> = body.split('/').collect();
        let rest = self.segments.last() == Some(&Segment::Rest);
        let fixed = self.segments.len() - usize::from(rest);
        if given.len() < fixed || (!rest && given.len() != fixed) {
            return None;
        }
        let mut decoded = Vec::with_capacity(given.len());
        for (i, raw) in given.iter().enumerate() {
            // A bad escape is kept as written: the RPC then names the field
            // it cannot use, rather than the path being unknown.
            let text = percent_decode(raw).unwrap_or_else(|| (*raw).to_owned());
            match self.segments.get(i) {
                Some(Segment::Literal(literal)) if *literal != text => return None,
                Some(Segment::One) if text.is_empty() => return None,
                Some(Segment::Literal(_) | Segment::One | Segment::Rest) | None => {}
            }
            decoded.push(text);
        }
        Some(
            self.variables
                .iter()
                .map(|v| {
                    let end = if v.end == self.segments.len() && rest {
                        decoded.len()
                    } else {
                        v.end
                    };
                    (v.field.clone(), decoded[v.start..end].join("/"))
                })
                .collect(),
        )
    }
}

fn literal_or_wildcard(text: &str) -> Segment {
    match text {
        "*" => Segment::One,
        "**" => Segment::Rest,
        literal => Segment::Literal(literal.to_owned()),
    }
}

fn segment_text(segment: &Segment) -> String {
    match segment {
        Segment::Literal(literal) => literal.clone(),
        Segment::One => "*".to_owned(),
        Segment::Rest => "**".to_owned(),
    }
}

fn split_outside_braces(text: &str, separator: char) -> Vec<String> {
    let mut parts = vec![String::new()];
    let mut depth = 0usize;
    for c in text.chars() {
        match c {
            '{' => depth += 1,
            '}' => depth = depth.saturating_sub(1),
            _ if c == separator && depth == 0 => {
                parts.push(String::new());
                continue;
            }
            _ => {}
        }
        if let Some(last) = parts.last_mut() {
            last.push(c);
        }
    }
    parts
}

fn rsplit_outside_braces(text: &str, separator: char) -> Option<(String, String)> {
    let mut depth = 0usize;
    let mut at = None;
    for (i, c) in text.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => depth = depth.saturating_sub(1),
            _ if c == separator && depth == 0 => at = Some(i),
            _ => {}
        }
    }
    at.map(|i| (text[..i].to_owned(), text[i + 1..].to_owned()))
}

/// Decodes `%XX` escapes; `None` for a bad escape or text that is not UTF-8.
pub(crate) fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// How the HTTP body maps onto the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum BodyRule {
    /// No body (GET, DELETE): every field not in the path is a query
    /// parameter.
    None,
    /// `body: "*"`: the JSON body is the whole request message.
    Whole,
    /// `body: "field"`: the JSON body is that field; other fields come from
    /// the path and the query.
    Field(String),
}

/// One REST route: an HTTP method and template bound to an RPC.
#[derive(Debug, Clone)]
pub(crate) struct Route {
    /// The HTTP method.
    pub(crate) method: Method,
    /// The path template.
    pub(crate) template: Template,
    /// The RPC.
    pub(crate) rpc: MethodDescriptor,
    /// Where the body goes.
    pub(crate) body: BodyRule,
    /// `response_body`: the response field that is the HTTP body, if not the
    /// whole response.
    pub(crate) response_body: Option<String>,
    /// Index among the RPC's bindings (0 for the main one), to keep
    /// OpenAPI operation ids unique.
    pub(crate) binding: usize,
}

impl Route {
    /// `/package.Service/Method`, the gRPC path of the RPC.
    pub(crate) fn grpc_path(&self) -> String {
        format!(
            "/{}/{}",
            self.rpc.parent_service().full_name(),
            self.rpc.name()
        )
    }
}

/// What a request found in the table.
#[derive(Debug)]
pub(crate) enum Lookup<'a> {
    /// The route and the path variables' values.
    Found(&'a Route, Vec<(String, String)>),
    /// The path exists with other methods (for `Allow`).
    WrongMethod(Vec<Method>),
    /// No template matches the path.
    NotFound,
}

/// Every REST route of a service.
#[derive(Debug, Clone)]
pub(crate) struct RouteTable {
    routes: Vec<Route>,
}

impl RouteTable {
    /// Reads the `google.api.http` option of every method of `service`.
    /// Methods without the option have no REST route.
    pub(crate) fn from_service(pool: &DescriptorPool, service: &str) -> Result<Self, RouteError> {
        let error = |method: &str, reason: String| RouteError {
            method: method.to_owned(),
            reason,
        };
        let service = pool
            .get_service_by_name(service)
            .ok_or_else(|| error(service, "not in the descriptor set".into()))?;
        let extension = pool
            .get_extension_by_name("google.api.http")
            .ok_or_else(|| error(service.full_name(), "google.api.http is not known".into()))?;
        let mut routes = Vec::new();
        for rpc in service.methods() {
            let options = rpc.options();
            if !options.has_extension(&extension) {
                continue;
            }
            let value = options.get_extension(&extension);
            let Value::Message(rule) = value.as_ref() else {
                return Err(error(
                    rpc.full_name(),
                    "google.api.http is not a message".into(),
                ));
            };
            let rule = rule
                .transcode_to::<HttpRule>()
                .map_err(|e| error(rpc.full_name(), e.to_string()))?;
            let mut bindings = vec![rule.clone()];
            bindings.extend(rule.additional_bindings.iter().cloned());
            for (binding, rule) in bindings.into_iter().enumerate() {
                if rpc.is_client_streaming() && !streams_raw_body(&rpc, &rule) {
                    tracing::warn!(
                        rpc = rpc.full_name(),
                        "not served over REST: a client-streaming RPC needs `body` naming a bytes field (the raw request body)"
                    );
                    continue;
                }
                routes.push(
                    Self::route(&rpc, &rule, binding)
                        .map_err(|reason| error(rpc.full_name(), reason))?,
                );
            }
        }
        Ok(Self { routes })
    }

    fn route(rpc: &MethodDescriptor, rule: &HttpRule, binding: usize) -> Result<Route, String> {
        let (method, path) = match &rule.pattern {
            Some(Pattern::Get(path)) => (Method::GET, path),
            Some(Pattern::Post(path)) => (Method::POST, path),
            Some(Pattern::Put(path)) => (Method::PUT, path),
            Some(Pattern::Patch(path)) => (Method::PATCH, path),
            Some(Pattern::Delete(path)) => (Method::DELETE, path),
            Some(Pattern::Custom(custom)) => (
                Method::from_bytes(custom.kind.as_bytes()).map_err(|e| e.to_string())?,
                &custom.path,
            ),
            None => return Err("google.api.http without a method and path".into()),
        };
        let template = Template::parse(path)?;
        let input = rpc.input();
        for field in template.variable_fields() {
            check_field_path(&input, field)?;
        }
        let body = match rule.body.as_str() {
            "" => BodyRule::None,
            "*" => BodyRule::Whole,
            field => {
                check_field_path(&input, field)?;
                BodyRule::Field(field.to_owned())
            }
        };
        let response_body = Some(rule.response_body.clone()).filter(|f| !f.is_empty());
        if let Some(field) = &response_body {
            check_field_path(&rpc.output(), field)?;
        }
        Ok(Route {
            method,
            template,
            rpc: rpc.clone(),
            body,
            response_body,
            binding,
        })
    }

    /// Every route, in proto order.
    pub(crate) fn routes(&self) -> &[Route] {
        &self.routes
    }

    /// Finds the route for a request. A template with a verb beats one
    /// without (`/v1/jobs/x:cancel` is never GetJob of `x:cancel`), then the
    /// one with more literal segments.
    pub(crate) fn lookup(&self, method: &Method, path: &str) -> Lookup<'_> {
        let mut matching: Vec<(&Route, Vec<(String, String)>)> = self
            .routes
            .iter()
            .filter_map(|route| route.template.matches(path).map(|vars| (route, vars)))
            .collect();
        if matching.iter().any(|(r, _)| r.template.verb.is_some()) {
            matching.retain(|(r, _)| r.template.verb.is_some());
        }
        matching.sort_by_key(|(r, _)| std::cmp::Reverse(r.template.literals()));
        if matching.is_empty() {
            return Lookup::NotFound;
        }
        let mut allowed: Vec<Method> = Vec::new();
        for (route, vars) in &matching {
            if route.method == *method {
                return Lookup::Found(route, vars.clone());
            }
            if !allowed.contains(&route.method) {
                allowed.push(route.method.clone());
            }
        }
        Lookup::WrongMethod(allowed)
    }
}

/// Checks that a dotted field path names fields of `message`, each but the
/// last a singular message.
fn check_field_path(message: &prost_reflect::MessageDescriptor, path: &str) -> Result<(), String> {
    let mut current = message.clone();
    let mut parts = path.split('.').peekable();
    while let Some(part) = parts.next() {
        let field = current.get_field_by_name(part).ok_or_else(|| {
            format!(
                "{} has no field {part:?} (in {path:?})",
                current.full_name()
            )
        })?;
        if parts.peek().is_some() {
            current = match field.kind().as_message() {
                Some(inner) if !field.is_list() && !field.is_map() => inner.clone(),
                Some(_) | None => {
                    return Err(format!("{path:?}: {part} is not a singular message field"))
                }
            };
        }
    }
    Ok(())
}

/// Whether a client-streaming RPC's rule makes the raw HTTP body its
/// stream: `body` names a singular bytes field.
fn streams_raw_body(rpc: &MethodDescriptor, rule: &HttpRule) -> bool {
    rpc.input()
        .get_field_by_name(&rule.body)
        .is_some_and(|f| matches!(f.kind(), prost_reflect::Kind::Bytes) && !f.is_list())
}

#[cfg(test)]
#[allow(clippy::wildcard_enum_match_arm)] // a test fails on any other outcome
mod tests {
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> Option<Vec<(String, String)>> {
        Some(
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        )
    }

    #[test]
    fn templates_match_segment_by_segment_with_a_verb() {
        let cancel = Template::parse("/v1/jobs/{job_id}:cancel").unwrap();
        assert_eq!(
            cancel.matches("/v1/jobs/abc:cancel"),
            vars(&[("job_id", "abc")])
        );
        assert_eq!(cancel.matches("/v1/jobs/abc"), None);
        assert_eq!(cancel.matches("/v1/jobs/abc:watch"), None);
        assert_eq!(cancel.matches("/v1/jobs/:cancel"), None);
        let upload = Template::parse("/v1/jobs:upload").unwrap();
        assert_eq!(upload.matches("/v1/jobs:upload"), vars(&[]));
        assert_eq!(upload.matches("/v1/jobs"), None);
        let results = Template::parse("/v1/jobs/{job_id}/results").unwrap();
        assert_eq!(
            results.matches("/v1/jobs/a%20b/results"),
            vars(&[("job_id", "a b")])
        );
        assert_eq!(results.matches("/v1/jobs/a/results/x"), None);
        assert_eq!(
            results.matches("/v1/jobs/%zz/results"),
            vars(&[("job_id", "%zz")])
        );
    }

    #[test]
    fn variables_with_patterns_and_double_wildcards() {
        let named = Template::parse("/v1/{name=jobs/*}/files/{path=**}").unwrap();
        assert_eq!(
            named.matches("/v1/jobs/7/files/a/b/c"),
            vars(&[("name", "jobs/7"), ("path", "a/b/c")])
        );
        assert_eq!(named.matches("/v1/tasks/7/files/a"), None);
        assert_eq!(named.openapi_path(), "/v1/{name}/files/{path}");
        assert_eq!(
            Template::parse("/v1/jobs/{job_id}:cancel")
                .unwrap()
                .openapi_path(),
            "/v1/jobs/{job_id}:cancel"
        );
        assert!(Template::parse("v1/jobs").is_err());
        assert!(Template::parse("/v1/{job_id").is_err());
        assert!(Template::parse("/v1/**/x").is_err());
    }

    #[test]
    fn the_table_holds_every_annotated_rpc_and_prefers_verbs() {
        let table =
            RouteTable::from_service(molbatch_proto::json::pool(), "molbatch.v1.MolBatch").unwrap();
        let find = |method: Method, path: &str| match table.lookup(&method, path) {
            Lookup::Found(route, vars) => (route.rpc.name().to_owned(), vars),
            other => panic!("{method} {path}: {other:?}"),
        };
        assert_eq!(find(Method::POST, "/v1/jobs").0, "SubmitBatch");
        assert_eq!(find(Method::POST, "/v1/jobs:upload").0, "UploadBatch");
        assert_eq!(find(Method::GET, "/v1/jobs").0, "ListJobs");
        assert_eq!(find(Method::GET, "/v1/jobs/j1").0, "GetJob");
        assert_eq!(find(Method::POST, "/v1/jobs/j1:cancel").0, "CancelJob");
        assert_eq!(find(Method::GET, "/v1/jobs/j1:watch").0, "WatchJob");
        assert_eq!(find(Method::GET, "/v1/jobs/j1/results").0, "ListResults");
        let (name, vars) = find(Method::GET, "/v1/jobs/j1/analyses/statistics");
        assert_eq!(name, "GetAnalysis");
        assert_eq!(
            vars,
            vec![
                ("job_id".to_owned(), "j1".to_owned()),
                ("type".to_owned(), "statistics".to_owned())
            ]
        );
        // The mmp analysis's pages are their own RPCs, not GetAnalysis of
        // a type; the analysis itself still is.
        for (path, rpc) in [
            ("/v1/jobs/j1/analyses/mmp/pairs", "ListMatchedPairs"),
            ("/v1/jobs/j1/analyses/mmp/transforms", "ListTransforms"),
        ] {
            let (name, vars) = find(Method::GET, path);
            assert_eq!(name, rpc, "{path}");
            assert_eq!(vars, vec![("job_id".to_owned(), "j1".to_owned())], "{path}");
        }
        // `?pageToken=` reaches the request next to the path's job id.
        let Lookup::Found(route, mut fields) =
            table.lookup(&Method::GET, "/v1/jobs/j1/analyses/mmp/pairs")
        else {
            panic!("no ListMatchedPairs route")
        };
        fields.push(("pageToken".to_owned(), "3".to_owned()));
        let request: molbatch_proto::v1::ListMatchedPairsRequest =
            super::super::request::from_text_fields(&route.rpc.input(), &fields, None)
                .unwrap()
                .transcode_to()
                .unwrap();
        assert_eq!(
            (request.job_id.as_str(), request.page_token.as_str()),
            ("j1", "3")
        );
        assert_eq!(
            find(Method::GET, "/v1/jobs/j1/analyses/mmp").0,
            "GetAnalysis"
        );
        match table.lookup(&Method::GET, "/v1/jobs/j1:cancel") {
            Lookup::WrongMethod(allowed) => assert_eq!(allowed, vec![Method::POST]),
            other => panic!("{other:?}"),
        }
        match table.lookup(&Method::DELETE, "/v1/jobs") {
            Lookup::WrongMethod(allowed) => {
                assert!(allowed.contains(&Method::GET) && allowed.contains(&Method::POST))
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            table.lookup(&Method::GET, "/v1/nothing"),
            Lookup::NotFound
        ));
        let upload = table
            .routes()
            .iter()
            .find(|r| r.rpc.name() == "UploadBatch")
            .unwrap();
        assert_eq!(upload.body, BodyRule::Field("data".into()));
        assert_eq!(upload.grpc_path(), "/molbatch.v1.MolBatch/UploadBatch");
    }
}
