//! The `record_suggestions` tool and its input schema, derived from the
//! declared record kinds, shaped so that a small model has one way to say
//! each thing:
//!
//! - one item schema per kind (`oneOf`, told apart by a constant `kind`), so
//!   a kind's fields appear only on that kind;
//! - a new record's status field is not offered: it starts at its default,
//!   and status changes arrive only as children or updates;
//! - a child item carries no `kind` when its parent allows one child kind,
//!   and never `machine`, `parent_record_id` or `children`;
//! - `machine` and `author_id` are asked for on every top-level item.
//!
//! [`check_answer`] validates an answer against the schema (used by `check`
//! on the worked examples).

use serde_json::{json, Map, Value};

use crate::workflow::{Analyze, FieldType, KindField, RecordKind, RecordKinds};

/// The tool the model must call.
pub const TOOL_NAME: &str = "record_suggestions";

#[derive(Debug, Clone, serde::Serialize)]
pub struct Tool {
    pub name: String,
    pub description: String,
    pub input_schema: Value,
}

/// Fields a model may set on a new record of `kind`: all but a status field
/// that has a default (the record starts there; changes come as children).
pub(crate) fn offered_fields(kind: &RecordKind) -> impl Iterator<Item = &KindField> {
    kind.fields.iter().filter(move |field| {
        !(kind.status_field.as_deref() == Some(field.name.as_str()) && field.default.is_some())
    })
}

/// Allowed kinds that may be nested under `parent`, in declaration order.
pub(crate) fn child_kinds<'a>(
    menu: &Analyze,
    kinds: &'a RecordKinds,
    parent: &str,
) -> Vec<&'a RecordKind> {
    kinds
        .iter()
        .filter(|k| k.parents.iter().any(|p| p == parent) && menu.allows(&k.name))
        .collect()
}

/// The `record_suggestions` tool for the kinds `menu` allows.
pub fn tool(menu: &Analyze, kinds: &RecordKinds) -> Tool {
    let items: Vec<Value> = kinds
        .iter()
        .filter(|k| menu.allows(&k.name))
        .map(|kind| top_level_item(menu, kinds, kind))
        .collect();
    Tool {
        name: TOOL_NAME.into(),
        description: "Report the maintenance records the conversation describes (an empty list when it describes none).".into(),
        input_schema: json!({
            "type": "object",
            "properties": {"suggestions": {
                "type": "array",
                "description": "one item per new record; an empty list when the conversation describes none",
                "items": {"oneOf": items},
            }},
            "required": ["suggestions"],
            "additionalProperties": false,
        }),
    }
}

fn top_level_item(menu: &Analyze, kinds: &RecordKinds, kind: &RecordKind) -> Value {
    let mut properties = Map::new();
    properties.insert("kind".into(), json!({"type": "string", "const": kind.name}));
    properties.insert("machine".into(), json!({"type": ["string", "null"]}));
    let mut required = vec!["kind", "machine", "description"];
    common(kind, &mut properties, &mut required);
    let allowed_parents: Vec<&str> = kind
        .parents
        .iter()
        .filter(|p| menu.allows(p))
        .map(String::as_str)
        .collect();
    if !allowed_parents.is_empty() {
        let description = format!("id of the existing {}", allowed_parents.join(" or "));
        if kind.parent_required {
            properties.insert(
                "parent_record_id".into(),
                json!({"type": "integer", "description": description}),
            );
            required.push("parent_record_id");
        } else {
            properties.insert(
                "parent_record_id".into(),
                json!({"type": ["integer", "null"], "description": description}),
            );
        }
        if kind.resolves_parent.is_some() {
            properties.insert("resolves".into(), json!({"type": "boolean"}));
        }
    }
    let children = child_kinds(menu, kinds, &kind.name);
    if !children.is_empty() {
        let names: Vec<&str> = children.iter().map(|c| c.name.as_str()).collect();
        properties.insert(
            "children".into(),
            json!({
                "type": "array",
                "description": format!("new {} records, one per step", names.join(" or ")),
                "items": child_items(&children),
            }),
        );
    }
    json!({
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": false,
    })
}

/// A child's kind comes from its parent: with one allowed child kind the
/// item has no `kind`; with several, each has its own item schema.
fn child_items(children: &[&RecordKind]) -> Value {
    let item = |kind: &RecordKind, with_kind: bool| {
        let mut properties = Map::new();
        let mut required = Vec::new();
        if with_kind {
            properties.insert("kind".into(), json!({"type": "string", "const": kind.name}));
            required.push("kind");
        }
        required.push("description");
        common(kind, &mut properties, &mut required);
        json!({
            "type": "object",
            "properties": properties,
            "required": required,
            "additionalProperties": false,
        })
    };
    match children {
        [only] => item(only, false),
        many => json!({"oneOf": many.iter().map(|k| item(k, true)).collect::<Vec<_>>()}),
    }
}

/// Description, fields, sources and author: the same on every item. The
/// schema carries no prose: the system prompt explains every key once, and
/// the tool definition is part of the cached prefix, paid for per token.
fn common(kind: &RecordKind, properties: &mut Map<String, Value>, required: &mut Vec<&str>) {
    properties.insert(
        "description".into(),
        // Its limit is in the system prompt; the validator cuts longer text.
        json!({"type": "string"}),
    );
    let fields: Vec<&KindField> = offered_fields(kind).collect();
    if !fields.is_empty() {
        let mut schema = Map::new();
        let mut field_required = Vec::new();
        for field in &fields {
            let value = match &field.ty {
                FieldType::Choice { choices } => json!({"type": "string", "enum": choices}),
                FieldType::Text { max_length } => {
                    json!({"type": "string", "maxLength": max_length})
                }
            };
            schema.insert(field.name.clone(), value);
            if field.required && field.default.is_none() {
                field_required.push(field.name.as_str());
            }
        }
        let mut fields_schema = json!({
            "type": "object",
            "properties": schema,
            "additionalProperties": false,
        });
        if !field_required.is_empty() {
            fields_schema["required"] = json!(field_required);
            required.push("fields");
        }
        properties.insert("fields".into(), fields_schema);
    }
    properties.insert(
        "source_message_ids".into(),
        json!({"type": "array", "items": {"type": "string"}, "minItems": 1}),
    );
    properties.insert("author_id".into(), json!({"type": "string"}));
    required.extend(["source_message_ids", "author_id"]);
}

/// Checks `answer` against the tool's schema; every violation, each as
/// `path: what is wrong`. Each suggestion is checked against the item schema
/// of the kind it names, so a violation says what is wrong with that kind's
/// item rather than that no item schema matched.
pub fn check_answer(tool: &Tool, answer: &Value) -> Vec<String> {
    let schema = &tool.input_schema;
    let mut problems = Vec::new();
    let mut envelope = schema.clone();
    envelope["properties"]["suggestions"]["items"] = json!({});
    problems.extend(violations(&envelope, answer, ""));
    let branches = schema["properties"]["suggestions"]["items"]["oneOf"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let items = answer
        .get("suggestions")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    for (i, item) in items.iter().enumerate() {
        let at = format!("/suggestions/{i}");
        let kind = item.get("kind").and_then(Value::as_str).unwrap_or_default();
        match branches
            .iter()
            .find(|b| b["properties"]["kind"]["const"].as_str() == Some(kind))
        {
            Some(branch) => problems.extend(violations(branch, item, &at)),
            None => problems.push(format!(
                "{at}/kind: `{kind}` is not one of the kinds offered ({})",
                branches
                    .iter()
                    .filter_map(|b| b["properties"]["kind"]["const"].as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        }
    }
    problems
}

fn violations(schema: &Value, instance: &Value, prefix: &str) -> Vec<String> {
    let validator = match jsonschema::validator_for(schema) {
        Ok(validator) => validator,
        Err(err) => return vec![format!("the generated tool schema is invalid: {err}")],
    };
    validator
        .iter_errors(instance)
        .map(|err| {
            let path = format!("{prefix}{}", err.instance_path());
            let at = if path.is_empty() { "/".into() } else { path };
            format!("{at}: {err}")
        })
        .collect()
}

/// `value` as compact JSON with an item's keys in the order a person reads
/// them (kind first, children last), for the worked examples in the prompt:
/// a small model copies the shape it is shown.
pub fn ordered_json(value: &Value) -> String {
    const ORDER: &[&str] = &[
        "suggestions",
        "kind",
        "machine",
        "parent_record_id",
        "resolves",
        "description",
        "fields",
        "source_message_ids",
        "author_id",
        "children",
    ];
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort_by_key(|k| (ORDER.iter().position(|o| o == k).unwrap_or(ORDER.len()), *k));
            let items: Vec<String> = keys
                .into_iter()
                .map(|k| format!("{}:{}", Value::String(k.clone()), ordered_json(&map[k])))
                .collect();
            format!("{{{}}}", items.join(","))
        }
        Value::Array(items) => {
            let items: Vec<String> = items.iter().map(ordered_json).collect();
            format!("[{}]", items.join(","))
        }
        other => other.to_string(),
    }
}
