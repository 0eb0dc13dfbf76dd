//! Checking the model's answer. The model is not trusted: every suggestion
//! is checked against the declared kinds, the catalog and the conversation,
//! and every drop or repair is recorded with its reason.

use std::collections::HashMap;

use serde_json::Value;

mod values;

use super::catalog::Catalog;
use super::conversation::Conversation;
pub use super::suggestion::{MachineMatch, Repair, RepairAction, SuggestedAuthor, Suggestion};
use super::tool_schema::child_kinds;
use crate::text::truncate_chars;
use crate::workflow::{Analyze, RecordKind, RecordKinds};
use values::{as_i64, drop, repair};

/// Children per suggestion, and suggestions per answer: more is noise.
const MAX_SUGGESTIONS: usize = 20;

/// The answer did not have the tool's shape at all.
#[derive(Debug, thiserror::Error)]
#[error("the model's answer does not match the tool schema: {0}")]
pub struct SchemaError(pub String);

/// Existing records a suggestion may link to: id → kind.
pub type KnownRecords = HashMap<i64, String>;

pub struct Validator<'a> {
    pub menu: &'a Analyze,
    pub kinds: &'a RecordKinds,
    pub catalog: &'a Catalog,
    pub conversation: &'a Conversation,
    pub known_records: &'a KnownRecords,
}

/// Parent record ids the answer mentions (to look up before validating).
pub fn mentioned_parents(input: &Value) -> Vec<i64> {
    let mut ids = Vec::new();
    fn walk(items: Option<&Vec<Value>>, ids: &mut Vec<i64>) {
        for item in items.into_iter().flatten() {
            if let Some(id) = item.get("parent_record_id").and_then(as_i64) {
                ids.push(id);
            }
            walk(item.get("children").and_then(Value::as_array), ids);
        }
    }
    walk(input.get("suggestions").and_then(Value::as_array), &mut ids);
    ids.sort_unstable();
    ids.dedup();
    ids
}

impl Validator<'_> {
    /// Checks the tool input: suggestions that survive, and every change.
    /// A key the schema does not offer (such as `machine` on a child) is
    /// removed as a repair; an answer without a `suggestions` list is an
    /// error naming it.
    pub fn validate(&self, input: &Value) -> Result<(Vec<Suggestion>, Vec<Repair>), SchemaError> {
        let items = input
            .get("suggestions")
            .ok_or_else(|| SchemaError("no `suggestions` key".into()))?
            .as_array()
            .ok_or_else(|| SchemaError("`suggestions` is not a list".into()))?;
        let mut repairs = Vec::new();
        let mut out = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let at = (i + 1).to_string();
            if i >= MAX_SUGGESTIONS {
                repairs.push(drop(
                    &at,
                    format!("more than {MAX_SUGGESTIONS} suggestions"),
                ));
                continue;
            }
            if let Some(s) = self.suggestion(item, &at, None, &mut repairs) {
                out.push(s);
            }
        }
        Ok((out, repairs))
    }

    /// The kind of an item: named on top-level items; on a child, derived
    /// from its parent (named only when the parent allows several).
    fn item_kind(
        &self,
        obj: &serde_json::Map<String, Value>,
        at: &str,
        parent: Option<&Suggestion>,
        repairs: &mut Vec<Repair>,
    ) -> Option<&RecordKind> {
        let named = obj.get("kind").and_then(Value::as_str).map(str::trim);
        let Some(parent) = parent else {
            let name = named.unwrap_or_default();
            let kind = self.kinds.get(name).filter(|_| self.menu.allows(name));
            if kind.is_none() {
                repairs.push(drop(at, format!("unknown record kind `{name}`")));
            }
            return kind;
        };
        let allowed = child_kinds(self.menu, self.kinds, &parent.kind);
        match (named, allowed.as_slice()) {
            (Some(name), _) => {
                let kind = allowed.iter().copied().find(|k| k.name == name);
                if kind.is_none() {
                    repairs.push(drop(
                        at,
                        format!("a {name} cannot be nested under a {}", parent.kind),
                    ));
                }
                kind
            }
            (None, [only]) => Some(*only),
            (None, []) => {
                repairs.push(drop(at, format!("a {} has no child kinds", parent.kind)));
                None
            }
            (None, many) => {
                let names: Vec<&str> = many.iter().map(|k| k.name.as_str()).collect();
                repairs.push(drop(
                    at,
                    format!(
                        "the child names no kind (a {} may have {})",
                        parent.kind,
                        names.join(" or ")
                    ),
                ));
                None
            }
        }
    }

    /// Removes keys the item schema does not offer (a real model adds one
    /// now and then, e.g. `machine` on a child): each removal is a repair
    /// with its reason, and the rest of the suggestion goes on. Null and
    /// empty values say nothing and are ignored.
    fn stray_keys(
        &self,
        obj: &serde_json::Map<String, Value>,
        kind: &RecordKind,
        at: &str,
        is_child: bool,
        repairs: &mut Vec<Repair>,
    ) -> serde_json::Map<String, Value> {
        let has_parents = kind.parents.iter().any(|p| self.menu.allows(p));
        let has_children = !child_kinds(self.menu, self.kinds, &kind.name).is_empty();
        let mut kept = serde_json::Map::new();
        for (key, value) in obj {
            let empty = match value {
                Value::Null => true,
                Value::Array(a) => a.is_empty(),
                _ => false,
            };
            let offered = match key.as_str() {
                "kind" | "description" | "fields" | "source_message_ids" | "author_id" => true,
                "machine" => !is_child,
                "parent_record_id" => !is_child && has_parents,
                "children" => !is_child && has_children,
                "resolves" => kind.resolves_parent.is_some() && !is_child && has_parents,
                _ => false,
            };
            if offered {
                kept.insert(key.clone(), value.clone());
                continue;
            }
            if empty {
                continue;
            }
            let why = match (key.as_str(), is_child) {
                ("machine", true) => "a child takes its parent's machine".to_string(),
                ("parent_record_id", true) => {
                    "a child belongs to the item it is nested in".to_string()
                }
                ("children", true) => "children nest one level only".to_string(),
                ("resolves", true) => "children sit under a problem still open".to_string(),
                ("parent_record_id", false) => {
                    format!("a {} cannot belong to another record", kind.name)
                }
                ("children", false) => format!("a {} has no child kinds", kind.name),
                _ => "the tool schema has no such key".to_string(),
            };
            let item = if is_child { "child item" } else { "item" };
            repairs.push(repair(
                at,
                format!(
                    "`{key}` is not part of a {} {item} ({why}); removed",
                    kind.name
                ),
            ));
        }
        kept
    }

    fn suggestion(
        &self,
        item: &Value,
        at: &str,
        parent: Option<&Suggestion>,
        repairs: &mut Vec<Repair>,
    ) -> Option<Suggestion> {
        let Some(obj) = item.as_object() else {
            repairs.push(drop(at, "not an object".into()));
            return None;
        };
        let kind = self.item_kind(obj, at, parent, repairs)?;
        let obj = &self.stray_keys(obj, kind, at, parent.is_some(), repairs);

        // Description: required, cut to the limit.
        let description = obj
            .get("description")
            .and_then(Value::as_str)
            .map(str::trim)
            .unwrap_or_default();
        if description.is_empty() {
            repairs.push(drop(at, "no description".into()));
            return None;
        }
        let mut description = description.to_string();
        if description.chars().count() > kind.description_max_length {
            description = truncate_chars(&description, kind.description_max_length);
            repairs.push(repair(
                at,
                format!(
                    "description cut to {} characters",
                    kind.description_max_length
                ),
            ));
        }

        let fields = self.fields(kind, obj.get("fields"), at, repairs)?;

        // Parent record (top-level items only): must exist and be of an
        // allowed kind.
        let mut parent_record_id = obj.get("parent_record_id").and_then(as_i64);
        if let Some(id) = parent_record_id.filter(|_| parent.is_none()) {
            match self.known_records.get(&id) {
                None => {
                    repairs.push(repair(
                        at,
                        format!("parent record #{id} does not exist; link removed"),
                    ));
                    parent_record_id = None;
                }
                Some(parent) if !kind.parents.contains(parent) => {
                    repairs.push(repair(
                        at,
                        format!(
                            "a {} cannot belong to {parent} #{id}; link removed",
                            kind.name
                        ),
                    ));
                    parent_record_id = None;
                }
                Some(_) => {}
            }
        }
        if parent.is_some() {
            parent_record_id = None;
        }
        if kind.parent_required && parent_record_id.is_none() && parent.is_none() {
            repairs.push(drop(
                at,
                format!("a {} needs an existing parent record", kind.name),
            ));
            return None;
        }

        let machine = match parent {
            // A child takes its parent's machine (the store would inherit it
            // anyway; the card shows it now).
            Some(parent) => parent.machine.clone(),
            None => self.machine(kind, obj.get("machine"), parent_record_id, at, repairs),
        };
        let source_message_ids = self.sources(obj.get("source_message_ids"), at, repairs)?;
        let author = self.author(obj.get("author_id"), &source_message_ids, at, repairs);

        let mut resolves = obj.get("resolves").and_then(Value::as_bool) == Some(true);
        if resolves && parent.is_none() && parent_record_id.is_none() {
            repairs.push(repair(
                at,
                "`resolves` needs a parent record to close; removed".into(),
            ));
            resolves = false;
        }
        let mut suggestion = Suggestion {
            kind: kind.name.clone(),
            machine,
            description,
            fields,
            source_message_ids,
            author,
            parent_record_id,
            resolves,
            children: Vec::new(),
        };
        if parent.is_none() {
            let items = obj.get("children").and_then(Value::as_array);
            for (j, child) in items.into_iter().flatten().enumerate() {
                let child_at = format!("{at}.{}", j + 1);
                if j >= MAX_SUGGESTIONS {
                    repairs.push(drop(
                        &child_at,
                        format!("more than {MAX_SUGGESTIONS} children"),
                    ));
                    continue;
                }
                if let Some(child) = self.suggestion(child, &child_at, Some(&suggestion), repairs) {
                    suggestion.children.push(child);
                }
            }
        }
        Some(suggestion)
    }
}

#[cfg(test)]
mod tests;
