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

/// Finds the operation for `method` and `path` (with or without `/api/v10`).
pub fn find_operation(method: &str, path: &str) -> Option<Operation> {
    let path = path.split('?').next().unwrap_or(path);
    let path = path
        .strip_prefix("/api/v10")
        .or_else(|| path.strip_prefix("/api"))
        .unwrap_or(path);
    let wanted: Vec<&str> = path.trim_end_matches('/').split('/').collect();
    let paths = spec()["paths"].as_object()?;
    // Prefer literal segments over parameters (`@original` over `{message_id}`).
    let mut best: Option<(usize, Operation)> = None;
    for (template, item) in paths {
        let segments: Vec<&str> = template.split('/').collect();
        if segments.len() != wanted.len() {
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
        let Some(op) = item.get(method.to_ascii_lowercase()) else {
            continue;
        };
        if matches && best.as_ref().is_none_or(|(score, _)| literal > *score) {
            let id = op["operationId"].as_str().unwrap_or_default().to_string();
            best = Some((
                literal,
                Operation {
                    id,
                    path_template: template.clone(),
                },
            ));
        }
    }
    best.map(|(_, op)| op)
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
        if let Some(best) = branches
            .iter()
            .flatten()
            .map(deepest_error)
            .max_by_key(|(d, _)| *d)
        {
            return best;
        }
    }
    let path = error.instance_path().to_string();
    // A `type` that fails an enum/const is a union branch that was never
    // meant (a discriminator mismatch); rank it below real problems at the
    // same depth.
    let discriminator_mismatch = path.ends_with("/type")
        && matches!(
            error.kind(),
            ValidationErrorKind::Enum { .. } | ValidationErrorKind::Constant { .. }
        );
    let depth = path.matches('/').count() * 2 + usize::from(!discriminator_mismatch);
    (
        depth,
        format!("{}: {error}", if path.is_empty() { "/" } else { &path }),
    )
}

#[cfg(test)]
mod tests {
    // Exercised through the `it` tests (see it/openapi_support.rs).
}
