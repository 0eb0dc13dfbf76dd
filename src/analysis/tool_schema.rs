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

use crate::workflow::{ContextMenu, FieldType, KindField, RecordKind, RecordKinds};

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
pub fn offered_fields(kind: &RecordKind) -> impl Iterator<Item = &KindField> {
    kind.fields.iter().filter(move |field| {
        !(kind.status_field.as_deref() == Some(field.name.as_str()) && field.default.is_some())
    })
}

/// Allowed kinds that may be nested under `parent`, in declaration order.
pub fn child_kinds<'a>(
    menu: &ContextMenu,
    kinds: &'a RecordKinds,
    parent: &str,
) -> Vec<&'a RecordKind> {
    kinds
        .iter()
        .filter(|k| k.parents.iter().any(|p| p == parent) && menu.allows(&k.name))
        .collect()
}

/// The `record_suggestions` tool for the kinds `menu` allows.
pub fn tool(menu: &ContextMenu, kinds: &RecordKinds) -> Tool {
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

fn top_level_item(menu: &ContextMenu, kinds: &RecordKinds, kind: &RecordKind) -> Value {
    let mut properties = Map::new();
    properties.insert(
        "kind".into(),
        json!({"type": "string", "const": kind.name, "description": kind.label}),
    );
    properties.insert(
        "machine".into(),
        json!({
            "type": ["string", "null"],
            "description": "machine slug from the catalog; null when no machine is named or can be inferred, and for a record linked with parent_record_id (it takes the linked record's machine)",
        }),
    );
    let mut required = vec!["kind", "machine", "description"];
    common(kind, &mut properties, &mut required);
    let allowed_parents: Vec<&str> = kind
        .parents
        .iter()
        .filter(|p| menu.allows(p))
        .map(String::as_str)
        .collect();
    if !allowed_parents.is_empty() {
        let description = format!(
            "id of the existing {} (a record post in the conversation, or a record id a saved message shows) this record belongs to",
            allowed_parents.join(" or ")
        );
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
    }
    let children = child_kinds(menu, kinds, &kind.name);
    if !children.is_empty() {
        let names: Vec<&str> = children.iter().map(|c| c.name.as_str()).collect();
        properties.insert(
            "children".into(),
            json!({
                "type": "array",
                "description": format!(
                    "new {} records under this new {}, one per separate step (attempt, order, arrival); they take its machine",
                    names.join(" or "), kind.name
                ),
                "items": child_items(&children),
            }),
        );
    }
    json!({
        "type": "object",
        "description": kind.guidance,
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

/// Description, fields, sources and author: the same on every item.
fn common(kind: &RecordKind, properties: &mut Map<String, Value>, required: &mut Vec<&str>) {
    properties.insert(
        "description".into(),
        json!({
            "type": "string",
            "maxLength": kind.description_max_length,
            "description": format!("{}: a coherent account with every specific detail from the messages, never invented", kind.description_label),
        }),
    );
    let fields: Vec<&KindField> = offered_fields(kind).collect();
    if !fields.is_empty() {
        let mut schema = Map::new();
        let mut field_required = Vec::new();
        for field in &fields {
            let mut description = field.label.clone();
            if !field.guidance.is_empty() {
                description.push_str(". ");
                description.push_str(&field.guidance);
            }
            let value = match &field.ty {
                FieldType::Choice { choices } => {
                    json!({"type": "string", "enum": choices, "description": description})
                }
                FieldType::Text { max_length } => {
                    json!({"type": "string", "maxLength": max_length, "description": description})
                }
            };
            schema.insert(field.name.clone(), value);
            if field.required && field.default.is_none() {
                field_required.push(field.name.as_str());
            }
        }
        properties.insert(
            "fields".into(),
            json!({
                "type": "object",
                "properties": schema,
                "required": field_required,
                "additionalProperties": false,
            }),
        );
        if !field_required.is_empty() {
            required.push("fields");
        }
    }
    properties.insert(
        "source_message_ids".into(),
        json!({
            "type": "array",
            "items": {"type": "string"},
            "minItems": 1,
            "description": "ids of every message that contributed to this record",
        }),
    );
    properties.insert(
        "author_id".into(),
        json!({
            "type": "string",
            "description": "author_id of the person the record is attributed to (see the attribution rules), or flipfix/<name> for a record post's author",
        }),
    );
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
