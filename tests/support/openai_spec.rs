//! Checks Chat Completions request bodies against OpenAI's published request
//! shape (`tests/fixtures/openai/chat_completions_request.json`, the
//! `CreateChatCompletionRequest` schema vendored from openai/openai-openapi):
//! the JSON schema itself, and body fields no schema branch declares.

use std::sync::OnceLock;

use jsonschema::Validator;
use serde_json::{json, Value};

use super::repo_root;

fn document() -> &'static Value {
    static DOC: OnceLock<Value> = OnceLock::new();
    DOC.get_or_init(|| {
        let path = repo_root().join("tests/fixtures/openai/chat_completions_request.json");
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|err| panic!("{}: {err}", path.display()));
        serde_json::from_str(&text).expect("the vendored schema parses")
    })
}

fn validator() -> &'static Validator {
    static VALIDATOR: OnceLock<Validator> = OnceLock::new();
    VALIDATOR.get_or_init(|| {
        let root = json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "components": document()["components"],
            "$ref": "#/components/schemas/CreateChatCompletionRequest",
        });
        jsonschema::options()
            .with_draft(jsonschema::Draft::Draft202012)
            .build(&root)
            .expect("the vendored schema compiles")
    })
}

/// Every problem with `body` as a `POST /chat/completions` request, one line
/// each (empty when OpenAI would take it).
pub fn check_chat_request(body: &Value) -> Vec<String> {
    let mut problems: Vec<String> = validator()
        .iter_errors(body)
        .map(|err| format!("{}: {err}", err.instance_path()))
        .collect();
    let root = json!({"$ref": "#/components/schemas/CreateChatCompletionRequest"});
    walk(&[&root], body, "", &mut problems);
    // What the schema cannot say: a forced function must be one the request
    // declares (OpenAI refuses it otherwise), and the bot always bounds the
    // answer's length (its spend accounting counts on it).
    if let Some(name) = body["tool_choice"]["function"]["name"].as_str() {
        let declared = body["tools"]
            .as_array()
            .is_some_and(|tools| tools.iter().any(|t| t["function"]["name"] == name));
        if !declared {
            problems.push(format!(
                "/tool_choice/function/name: {name:?} is not a tool the request declares"
            ));
        }
    }
    if body.get("max_tokens").is_none() && body.get("max_completion_tokens").is_none() {
        problems.push("/: neither max_tokens nor max_completion_tokens is set".into());
    }
    problems
}

fn resolve(mut schema: &Value) -> &Value {
    for _ in 0..32 {
        let Some(pointer) = schema
            .get("$ref")
            .and_then(Value::as_str)
            .and_then(|r| r.strip_prefix('#'))
        else {
            break;
        };
        match document().pointer(pointer) {
            Some(target) => schema = target,
            None => break,
        }
    }
    schema
}

/// The schemas a schema stands for, unions and intersections opened.
fn leaves<'a>(schema: &'a Value, out: &mut Vec<&'a Value>) {
    let schema = resolve(schema);
    for key in ["allOf", "anyOf", "oneOf"] {
        for item in schema
            .get(key)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            leaves(item, out);
        }
    }
    out.push(schema);
}

/// Object keys that no branch declares (the spec seldom forbids extra
/// properties; OpenAI refuses unknown parameters all the same).
fn walk(schemas: &[&Value], value: &Value, at: &str, problems: &mut Vec<String>) {
    let mut all = Vec::new();
    for schema in schemas {
        leaves(schema, &mut all);
    }
    match value {
        Value::Object(map) => {
            // A free-form object (the tool's JSON schema) declares nothing.
            let declares = all.iter().any(|s| s.get("properties").is_some());
            let open = all
                .iter()
                .any(|s| s.get("additionalProperties").is_some_and(|a| a != false));
            for (key, item) in map {
                let here = format!("{at}/{key}");
                let declared: Vec<&Value> = all
                    .iter()
                    .filter_map(|s| s.get("properties").and_then(|p| p.get(key)))
                    .collect();
                if !declared.is_empty() {
                    walk(&declared, item, &here, problems);
                } else if declares && !open {
                    problems.push(format!(
                        "{here}: a field the request schema does not declare"
                    ));
                }
            }
        }
        Value::Array(items) => {
            let item_schemas: Vec<&Value> = all.iter().filter_map(|s| s.get("items")).collect();
            if !item_schemas.is_empty() {
                for (index, item) in items.iter().enumerate() {
                    walk(&item_schemas, item, &format!("{at}/{index}"), problems);
                }
            }
        }
        _ => {}
    }
}
