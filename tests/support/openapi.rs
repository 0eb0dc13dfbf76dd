//! Validates request bodies against Discord's official OpenAPI spec
//! (`../shared/discord-api/openapi.json`), so a payload Discord would reject
//! fails the test that sent it.
#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock};

use jsonschema::error::ValidationErrorKind;
use jsonschema::{ValidationError, Validator};
use serde_json::Value;

use super::shared_dir;

/// The spec, parsed once per test binary.
fn spec() -> &'static Value {
    static SPEC: OnceLock<Value> = OnceLock::new();
    SPEC.get_or_init(|| {
        let path = shared_dir().join("discord-api/openapi.json");
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|err| panic!("{}: {err}", path.display()));
        serde_json::from_str(&text).expect("openapi.json parses")
    })
}

/// Compiled request-body validators by operation id.
fn validators() -> &'static Mutex<HashMap<String, &'static Validator>> {
    static VALIDATORS: OnceLock<Mutex<HashMap<String, &'static Validator>>> = OnceLock::new();
    VALIDATORS.get_or_init(Default::default)
}

/// An operation of the spec matched by method and request path.
#[derive(Debug, Clone)]
pub struct Operation {
    pub id: String,
    pub path_template: String,
}

/// Strips the query and the `/api/v10` prefix, and splits the path.
fn route_segments(path: &str) -> Vec<&str> {
    let path = path.split('?').next().unwrap_or(path);
    let path = path
        .strip_prefix("/api/v10")
        .or_else(|| path.strip_prefix("/api"))
        .unwrap_or(path);
    path.trim_end_matches('/').split('/').collect()
}

/// The spec's path template for `path`, preferring literal segments over
/// parameters (`@original` over `{message_id}`), among the templates that
/// `has` accepts.
fn find_template(path: &str, has: impl Fn(&Value) -> bool) -> Option<(String, &'static Value)> {
    let wanted = route_segments(path);
    let paths = spec()["paths"].as_object()?;
    let mut best: Option<(usize, String, &'static Value)> = None;
    for (template, item) in paths {
        let segments: Vec<&str> = template.split('/').collect();
        if segments.len() != wanted.len() || !has(item) {
            continue;
        }
        let mut literal = 0;
        let matches = segments.iter().zip(&wanted).all(|(t, w)| {
            if t.starts_with('{') {
                !w.is_empty()
            } else {
                literal += usize::from(t == w);
                t == w
            }
        });
        if matches && best.as_ref().is_none_or(|(score, ..)| literal > *score) {
            best = Some((literal, template.clone(), item));
        }
    }
    best.map(|(_, template, item)| (template, item))
}

/// Finds the operation for `method` and `path` (with or without `/api/v10`).
pub fn find_operation(method: &str, path: &str) -> Option<Operation> {
    let method = method.to_ascii_lowercase();
    let (template, item) = find_template(path, |item| item.get(&method).is_some())?;
    Some(Operation {
        id: item[&method]["operationId"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
        path_template: template,
    })
}

/// Why Discord would refuse a request before looking at its body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RouteRefusal {
    /// No path of the spec matches: Discord answers 404.
    UnknownRoute(String),
    /// The path exists, the method does not: Discord answers 405.
    MethodNotAllowed(String),
}

impl RouteRefusal {
    pub fn status(&self) -> u16 {
        match self {
            Self::UnknownRoute(_) => 404,
            Self::MethodNotAllowed(_) => 405,
        }
    }

    pub fn message(&self) -> &str {
        match self {
            Self::UnknownRoute(m) | Self::MethodNotAllowed(m) => m,
        }
    }
}

/// The operation for a request, or why Discord would refuse its route.
pub fn check_route(method: &str, path: &str) -> Result<Operation, RouteRefusal> {
    if let Some(op) = find_operation(method, path) {
        return Ok(op);
    }
    match find_template(path, |_| true) {
        Some((template, _)) => Err(RouteRefusal::MethodNotAllowed(format!(
            "{method} {path}: Discord's API has {template} but no {method} on it (405)"
        ))),
        None => Err(RouteRefusal::UnknownRoute(format!(
            "{method} {path}: no such route in Discord's API (404)"
        ))),
    }
}

/// Every check of one request: its route, its body against the operation's
/// schema, and body fields the operation does not declare. Each problem is
/// one line naming the request.
pub fn check_request(method: &str, path: &str, body: &Value) -> Vec<String> {
    let op = match check_route(method, path) {
        Ok(op) => op,
        Err(refusal) => return vec![refusal.message().to_string()],
    };
    if body.is_null() {
        return Vec::new();
    }
    let mut problems: Vec<String> = check_body_allowed(method, path, body).into_iter().collect();
    if let Err(violation) = validate_request(method, path, body) {
        problems.push(violation);
    }
    for field in unknown_fields(method, &op, body) {
        problems.push(format!(
            "{} ({method} {path}): {field}: a field the operation does not declare",
            op.id
        ));
    }
    problems
}

/// JSON pointers of the body's object keys that no schema of the operation
/// declares. The spec rarely forbids extra properties (Discord ignores
/// most), so this compares against the declared `properties`, following
/// `$ref`, `allOf`, `anyOf` and `oneOf`: a key is unknown when no branch
/// declares it.
pub fn unknown_fields(method: &str, op: &Operation, body: &Value) -> Vec<String> {
    let schema = &spec()["paths"][&op.path_template][method.to_ascii_lowercase()]["requestBody"]
        ["content"]["application/json"]["schema"];
    let mut unknown = Vec::new();
    if !schema.is_null() {
        walk_unknown(&[schema], body, "", &mut unknown);
    }
    unknown
}

/// Fields serenity sends that the spec does not declare but Discord
/// accepts, each with the reason; everything else undeclared is reported.
fn accepted_undeclared(key: &str, value: &Value) -> bool {
    match key {
        // Application commands: Discord's documentation lists `nsfw`
        // ("age-restricted") among the create and bulk-overwrite parameters;
        // the generated spec omits it. serenity always sends it.
        "nsfw" => value.is_boolean(),
        // serenity serializes `options: []` on every command option, leaf
        // options included; an empty list declares nothing.
        "options" => value.as_array().is_some_and(Vec::is_empty),
        // serenity's embed thumbnails and images carry the response-only
        // `proxy_url` as null; Discord sets it itself.
        "proxy_url" => value.is_null(),
        _ => false,
    }
}

/// Follows `$ref`s to `#/components/...` of the spec.
fn resolve(mut schema: &Value) -> &Value {
    for _ in 0..32 {
        let Some(reference) = schema.get("$ref").and_then(Value::as_str) else {
            break;
        };
        let Some(pointer) = reference.strip_prefix('#') else {
            break;
        };
        match spec().pointer(pointer) {
            Some(target) => schema = target,
            None => break,
        }
    }
    schema
}

/// The leaf schemas a schema stands for: unions and intersections opened.
fn branches<'a>(schema: &'a Value, out: &mut Vec<&'a Value>) {
    let schema = resolve(schema);
    let mut composite = false;
    for key in ["allOf", "anyOf", "oneOf"] {
        if let Some(items) = schema.get(key).and_then(Value::as_array) {
            composite = true;
            for item in items {
                branches(item, out);
            }
        }
    }
    if !composite || schema.get("properties").is_some() {
        out.push(schema);
    }
}

fn walk_unknown(schemas: &[&Value], value: &Value, at: &str, unknown: &mut Vec<String>) {
    let mut leaves = Vec::new();
    for schema in schemas {
        branches(schema, &mut leaves);
    }
    match value {
        Value::Object(map) => {
            let declares_properties = leaves.iter().any(|l| l.get("properties").is_some());
            // A map (`additionalProperties: {schema}`) or a free-form object.
            let extra: Vec<&Value> = leaves
                .iter()
                .filter_map(|l| l.get("additionalProperties"))
                .filter(|a| a.is_object())
                .collect();
            for (key, item) in map {
                let here = format!("{at}/{key}");
                let declared: Vec<&Value> = leaves
                    .iter()
                    .filter_map(|l| l.get("properties").and_then(|p| p.get(key)))
                    .collect();
                if !declared.is_empty() {
                    walk_unknown(&declared, item, &here, unknown);
                } else if !extra.is_empty() {
                    walk_unknown(&extra, item, &here, unknown);
                } else if declares_properties && !accepted_undeclared(key, item) {
                    unknown.push(here);
                }
            }
        }
        Value::Array(items) => {
            let item_schemas: Vec<&Value> = leaves.iter().filter_map(|l| l.get("items")).collect();
            if item_schemas.is_empty() {
                return;
            }
            for (index, item) in items.iter().enumerate() {
                walk_unknown(&item_schemas, item, &format!("{at}/{index}"), unknown);
            }
        }
        _ => {}
    }
}

fn validator_for(method: &str, op: &Operation) -> Option<&'static Validator> {
    let mut cache = validators().lock().expect("validator cache");
    if let Some(validator) = cache.get(&op.id) {
        return Some(validator);
    }
    let schema = spec()["paths"][&op.path_template][method.to_ascii_lowercase()]["requestBody"]
        ["content"]["application/json"]["schema"]
        .clone();
    if schema.is_null() {
        return None;
    }
    // `$ref`s point at `#/components/...` of the spec: make the spec's
    // components part of the root document the schema is compiled from.
    let root = serde_json::json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "components": spec()["components"],
        "allOf": [schema],
    });
    let validator = jsonschema::options()
        .with_draft(jsonschema::Draft::Draft202012)
        .build(&root)
        .unwrap_or_else(|err| panic!("compile schema of {}: {err}", op.id));
    let validator: &'static Validator = Box::leak(Box::new(validator));
    cache.insert(op.id.clone(), validator);
    Some(validator)
}

/// Checks a JSON request body. `Err` names the operation and the deepest
/// failing location, e.g. `execute_webhook: /embeds/0/title: "…" is longer than 256 characters`.
pub fn validate_request(method: &str, path: &str, body: &Value) -> Result<Operation, String> {
    let op = find_operation(method, path)
        .ok_or_else(|| format!("{method} {path}: no such operation in Discord's API"))?;
    let Some(validator) = validator_for(method, &op) else {
        return Ok(op); // the operation takes no JSON body
    };
    let body = normalize_permission_strings(body.clone());
    let errors: Vec<ValidationError> = validator.iter_errors(&body).collect();
    if errors.is_empty() {
        return Ok(op);
    }
    let deepest = errors
        .iter()
        .map(deepest_error)
        .max_by_key(|(depth, _)| *depth)
        .map(|(_, m)| m);
    Err(format!(
        "{} ({method} {path}): {}",
        op.id,
        deepest.unwrap_or_default()
    ))
}

/// Discord serializes permission bitfields as decimal strings (its docs:
/// "serialized into a string", and serenity sends them so), while the spec
/// types `default_member_permissions` as an integer. Only that field, and
/// only a string of digits, is converted before validation.
fn normalize_permission_strings(mut value: Value) -> Value {
    match &mut value {
        Value::Object(map) => {
            for (key, item) in map.iter_mut() {
                let digits = item
                    .as_str()
                    .filter(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()));
                if key == "default_member_permissions" {
                    if let Some(number) = digits.and_then(|s| s.parse::<u64>().ok()) {
                        *item = Value::from(number);
                        continue;
                    }
                }
                *item = normalize_permission_strings(item.take());
            }
        }
        Value::Array(items) => {
            for item in items.iter_mut() {
                *item = normalize_permission_strings(item.take());
            }
        }
        _ => {}
    }
    value
}

/// A `type` that fails an enum/const: a union branch that was never meant.
fn is_discriminator_mismatch(error: &ValidationError<'_>) -> bool {
    error.instance_path().to_string().ends_with("/type")
        && matches!(
            error.kind(),
            ValidationErrorKind::Enum { .. } | ValidationErrorKind::Constant { .. }
        )
}

/// Unions (`anyOf`/`oneOf`) report "matches none"; the real problem is the
/// failure deepest inside the instance, in the branch that got furthest.
fn deepest_error(error: &ValidationError<'_>) -> (usize, String) {
    let branches = match error.kind() {
        ValidationErrorKind::AnyOf { context } | ValidationErrorKind::OneOfNotValid { context } => {
            Some(context)
        }
        _ => None,
    };
    if let Some(branches) = branches {
        // The branches whose discriminator (`type`) matched are the ones
        // meant; the others only say "not this kind".
        let meant: Vec<_> = branches
            .iter()
            .filter(|branch| !branch.iter().any(is_discriminator_mismatch))
            .collect();
        let candidates = if meant.is_empty() {
            branches.iter().collect()
        } else {
            meant
        };
        if let Some(best) = candidates
            .into_iter()
            .flatten()
            .map(deepest_error)
            .max_by_key(|(d, _)| *d)
        {
            return best;
        }
    }
    let path = error.instance_path().to_string();
    let discriminator_mismatch = is_discriminator_mismatch(error);
    // A discriminator mismatch says only that another branch was meant:
    // any real problem in the branch that was meant ranks above it.
    let depth = if discriminator_mismatch {
        0
    } else {
        path.matches('/').count() * 2 + 1
    };
    (
        depth,
        format!("{}: {error}", if path.is_empty() { "/" } else { &path }),
    )
}

/// The spec's operation object for `op`.
fn operation_object(method: &str, op: &Operation) -> &'static Value {
    &spec()["paths"][&op.path_template][method.to_ascii_lowercase()]
}

/// Compiles `schema` (which may `$ref` the spec's components), cached under
/// `key`.
fn compiled(key: String, schema: &Value) -> &'static Validator {
    let mut cache = validators().lock().expect("validator cache");
    if let Some(validator) = cache.get(&key) {
        return validator;
    }
    let root = serde_json::json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "components": spec()["components"],
        "allOf": [schema],
    });
    let validator = jsonschema::options()
        .with_draft(jsonschema::Draft::Draft202012)
        .build(&root)
        .unwrap_or_else(|err| panic!("compile schema {key}: {err}"));
    let validator: &'static Validator = Box::leak(Box::new(validator));
    cache.insert(key, validator);
    validator
}

fn first_problem(validator: &Validator, value: &Value) -> Option<String> {
    validator
        .iter_errors(value)
        .map(|e| deepest_error(&e))
        .max_by_key(|(depth, _)| *depth)
        .map(|(_, m)| m)
}

/// A body sent to an operation that declares none: Discord ignores it at
/// best, and it says the client meant another operation.
pub fn check_body_allowed(method: &str, path: &str, body: &Value) -> Option<String> {
    let op = find_operation(method, path)?;
    let declares = !operation_object(method, &op)["requestBody"].is_null();
    (!body.is_null() && !declares).then(|| {
        format!(
            "{} ({method} {path}): a body sent to an operation that takes none",
            op.id
        )
    })
}

/// The query string against the operation's `in: query` parameters: an
/// undeclared name, or a value outside its schema (`limit` 1–100 on message
/// history), is a violation.
pub fn check_query(method: &str, path: &str, query: &str) -> Vec<String> {
    let Some(op) = find_operation(method, path) else {
        return Vec::new();
    };
    let parameters: Vec<&Value> = operation_object(method, &op)["parameters"]
        .as_array()
        .map(|p| p.iter().map(resolve).collect())
        .unwrap_or_default();
    let mut problems = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (name, raw) = pair.split_once('=').unwrap_or((pair, ""));
        let Some(parameter) = parameters
            .iter()
            .find(|p| p["in"] == "query" && p["name"] == name)
        else {
            problems.push(format!(
                "{} ({method} {path}): query parameter {name} is not declared",
                op.id
            ));
            continue;
        };
        let schema = &parameter["schema"];
        let kind = resolve(schema)["type"].clone();
        let value = match kind.as_str() {
            Some("integer") => raw.parse::<i64>().map(Value::from).ok(),
            Some("boolean") => match raw {
                "true" | "True" => Some(Value::Bool(true)),
                "false" | "False" => Some(Value::Bool(false)),
                _ => None,
            },
            _ => Some(Value::String(raw.to_string())),
        };
        let problem = match value {
            None => Some(format!("{raw:?} is not a {kind}")),
            Some(value) => first_problem(compiled(format!("{}?{name}", op.id), schema), &value),
        };
        if let Some(problem) = problem {
            problems.push(format!(
                "{} ({method} {path}): query {name}={raw}: {problem}",
                op.id
            ));
        }
    }
    problems
}

/// The `Authorization` header against the operation's `security`: a bot
/// token (`Bot …`) or an OAuth2 bearer token (`Bearer …`), unless the
/// operation also takes none (`{}`: interaction and webhook-token routes).
pub fn check_authorization(
    method: &str,
    path: &str,
    authorization: Option<&str>,
) -> Option<String> {
    let op = find_operation(method, path)?;
    let security = operation_object(method, &op)["security"].as_array()?;
    let satisfied = security.iter().any(|alternative| {
        let Some(schemes) = alternative.as_object() else {
            return false;
        };
        schemes.keys().all(|scheme| match scheme.as_str() {
            "BotToken" => authorization.is_some_and(|a| a.len() > 4 && a.starts_with("Bot ")),
            "OAuth2" => authorization.is_some_and(|a| a.len() > 7 && a.starts_with("Bearer ")),
            _ => false,
        })
    });
    (!satisfied).then(|| {
        format!(
            "{} ({method} {path}): Authorization {}: Discord answers 401",
            op.id,
            match authorization {
                None => "missing".to_string(),
                Some(value) => format!(
                    "scheme {:?} not accepted",
                    value.split(' ').next().unwrap_or("")
                ),
            }
        )
    })
}

/// A response the fake gave, against the spec's response for that status
/// (`200`, `204`, else `4XX`): a canned body Discord would never send is a
/// violation, as a request Discord would refuse is.
pub fn check_response(method: &str, path: &str, status: u16, body: &Value) -> Vec<String> {
    let Some(op) = find_operation(method, path) else {
        return Vec::new();
    };
    // The spec describes no 5xx, but Discord does answer 500 and 502 (what
    // the fake's injected failures stand for).
    if status >= 500 {
        return Vec::new();
    }
    let responses = &operation_object(method, &op)["responses"];
    let class = format!("{}XX", status / 100);
    let Some((key, declared)) = [status.to_string(), class]
        .into_iter()
        .find_map(|key| responses.get(&key).map(|r| (key, resolve(r))))
    else {
        return vec![format!(
            "{} ({method} {path}): the fake answered {status}, which the operation never answers",
            op.id
        )];
    };
    let schema = &declared["content"]["application/json"]["schema"];
    if schema.is_null() {
        return if body.is_null() {
            Vec::new()
        } else {
            vec![format!(
                "{} ({method} {path}): the fake answered {status} with a body; Discord sends none",
                op.id
            )]
        };
    }
    first_problem(compiled(format!("{}#{key}", op.id), schema), body)
        .map(|problem| {
            vec![format!(
                "{} ({method} {path}): the fake's {status} answer is not Discord's: {problem}",
                op.id
            )]
        })
        .unwrap_or_default()
}
