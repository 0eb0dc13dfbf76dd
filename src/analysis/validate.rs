//! Checking the model's answer. The model is not trusted: every suggestion
//! is checked against the declared kinds, the catalog and the conversation,
//! and every drop or repair is recorded with its reason.

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;
use serde_json::Value;

use super::catalog::Catalog;
use super::conversation::Conversation;
use crate::text::truncate_chars;
use crate::workflow::{ContextMenu, FieldType, MachineRule, RecordKind, RecordKinds};

/// Children per suggestion, and suggestions per answer: more is noise.
const MAX_SUGGESTIONS: usize = 20;

/// The machine of a suggestion.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "match", rename_all = "snake_case")]
pub enum MachineMatch {
    /// Found in the catalog.
    Known {
        id: Option<i64>,
        slug: String,
        name: String,
    },
    /// The model named a machine the catalog does not have (or none where
    /// the kind needs one): the person picks it during review.
    Unknown { said: Option<String> },
    /// No machine, and the kind does not need one.
    None,
}

impl MachineMatch {
    pub fn slug(&self) -> Option<&str> {
        match self {
            Self::Known { slug, .. } => Some(slug),
            _ => None,
        }
    }
}

/// Who a suggestion is attributed to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum SuggestedAuthor {
    /// A Discord user who wrote in the conversation.
    Discord {
        id: u64,
        username: String,
        display_name: String,
    },
    /// A records-app user named in a record post (`— Name`).
    Records { name: String },
}

impl SuggestedAuthor {
    /// As scenarios write it: a Discord id, or `flipfix/<name>`.
    pub fn key(&self) -> String {
        match self {
            Self::Discord { id, .. } => id.to_string(),
            Self::Records { name } => format!("flipfix/{name}"),
        }
    }

    pub fn display(&self) -> &str {
        match self {
            Self::Discord { display_name, .. } => display_name,
            Self::Records { name } => name,
        }
    }
}

/// A checked suggestion, ready for review.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Suggestion {
    pub kind: String,
    pub machine: MachineMatch,
    pub description: String,
    /// Declared fields only, values checked.
    pub fields: BTreeMap<String, String>,
    /// Messages of the conversation, in conversation order; never empty.
    pub source_message_ids: Vec<u64>,
    pub author: Option<SuggestedAuthor>,
    pub parent_record_id: Option<i64>,
    pub children: Vec<Suggestion>,
}

/// One thing validation changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Repair {
    /// Which of the model's suggestions (its numbering, before drops): `1`,
    /// `2.1` (first child of the second).
    pub at: String,
    pub action: RepairAction,
    pub reason: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RepairAction {
    Dropped,
    Repaired,
}

impl std::fmt::Display for Repair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let action = match self.action {
            RepairAction::Dropped => "dropped",
            RepairAction::Repaired => "repaired",
        };
        write!(f, "model suggestion {}: {action}: {}", self.at, self.reason)
    }
}

/// The answer did not have the tool's shape at all.
#[derive(Debug, thiserror::Error)]
#[error("the model's answer does not match the tool schema: {0}")]
pub struct SchemaError(pub String);

/// Existing records a suggestion may link to: id → kind.
pub type KnownRecords = HashMap<i64, String>;

pub struct Validator<'a> {
    pub menu: &'a ContextMenu,
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

    fn suggestion(
        &self,
        item: &Value,
        at: &str,
        parent_kind: Option<&RecordKind>,
        repairs: &mut Vec<Repair>,
    ) -> Option<Suggestion> {
        let Some(obj) = item.as_object() else {
            repairs.push(drop(at, "not an object".into()));
            return None;
        };
        let kind_name = obj.get("kind").and_then(Value::as_str).unwrap_or_default();
        let Some(kind) = self
            .kinds
            .get(kind_name)
            .filter(|_| self.menu.allows(kind_name))
        else {
            repairs.push(drop(at, format!("unknown record kind `{kind_name}`")));
            return None;
        };
        if let Some(parent) = parent_kind {
            if !kind.parents.contains(&parent.name) {
                repairs.push(drop(
                    at,
                    format!("a {} cannot be nested under a {}", kind.name, parent.name),
                ));
                return None;
            }
        }

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

        // Parent record: must exist and be of an allowed kind.
        let mut parent_record_id = obj.get("parent_record_id").and_then(as_i64);
        if let Some(id) = parent_record_id {
            if parent_kind.is_some() {
                repairs.push(repair(
                    at,
                    format!("parent record #{id} ignored: nested under a new record"),
                ));
                parent_record_id = None;
            } else {
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
        }
        if kind.parent_required && parent_record_id.is_none() && parent_kind.is_none() {
            repairs.push(drop(
                at,
                format!("a {} needs an existing parent record", kind.name),
            ));
            return None;
        }

        let machine = self.machine(
            kind,
            obj.get("machine"),
            parent_record_id.is_some() || parent_kind.is_some(),
            at,
            repairs,
        );
        let source_message_ids = self.sources(obj.get("source_message_ids"), at, repairs);
        let author = self.author(obj.get("author_id"), &source_message_ids, at, repairs);

        let mut children = Vec::new();
        if let Some(items) = obj.get("children").and_then(Value::as_array) {
            for (j, child) in items.iter().enumerate() {
                let child_at = format!("{at}.{}", j + 1);
                if parent_kind.is_some() {
                    repairs.push(drop(&child_at, "children are nested one level only".into()));
                    continue;
                }
                if j >= MAX_SUGGESTIONS {
                    repairs.push(drop(
                        &child_at,
                        format!("more than {MAX_SUGGESTIONS} children"),
                    ));
                    continue;
                }
                if let Some(mut child) = self.suggestion(child, &child_at, Some(kind), repairs) {
                    let inherits = self
                        .kinds
                        .get(&child.kind)
                        .is_some_and(|k| k.inherit_machine);
                    if inherits && matches!(child.machine, MachineMatch::None) {
                        // Shown on the card now; the store would inherit it anyway.
                        child.machine = machine.clone();
                    }
                    children.push(child);
                }
            }
        }

        Some(Suggestion {
            kind: kind.name.clone(),
            machine,
            description,
            fields,
            source_message_ids,
            author,
            parent_record_id,
            children,
        })
    }

    fn fields(
        &self,
        kind: &RecordKind,
        given: Option<&Value>,
        at: &str,
        repairs: &mut Vec<Repair>,
    ) -> Option<BTreeMap<String, String>> {
        let mut fields = BTreeMap::new();
        if let Some(given) = given.and_then(Value::as_object) {
            for (name, value) in given {
                let Some(field) = kind.field(name) else {
                    repairs.push(repair(
                        at,
                        format!("field `{name}` is not a field of {}; removed", kind.name),
                    ));
                    continue;
                };
                let value = match value {
                    Value::Null => continue,
                    Value::String(s) => s.trim().to_string(),
                    other => other.to_string(),
                };
                if value.is_empty() {
                    continue;
                }
                match &field.ty {
                    FieldType::Choice { choices } => {
                        if choices.contains(&value) {
                            fields.insert(name.clone(), value);
                        } else {
                            repairs.push(repair(
                                at,
                                format!(
                                    "field `{name}`: `{value}` is not one of {}; removed",
                                    choices.join(", ")
                                ),
                            ));
                        }
                    }
                    FieldType::Text { max_length } => {
                        let value = if value.chars().count() > *max_length {
                            repairs.push(repair(
                                at,
                                format!("field `{name}` cut to {max_length} characters"),
                            ));
                            truncate_chars(&value, *max_length)
                        } else {
                            value
                        };
                        fields.insert(name.clone(), value);
                    }
                }
            }
        }
        for field in &kind.fields {
            if field.required && field.default.is_none() && !fields.contains_key(&field.name) {
                repairs.push(drop(
                    at,
                    format!("required field `{}` is missing", field.name),
                ));
                return None;
            }
        }
        Some(fields)
    }

    fn machine(
        &self,
        kind: &RecordKind,
        said: Option<&Value>,
        has_parent: bool,
        at: &str,
        repairs: &mut Vec<Repair>,
    ) -> MachineMatch {
        let said = said
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty());
        match said {
            Some(said) => {
                match self.catalog.find_machine(said) {
                    Some(m) => MachineMatch::Known {
                        id: m.id,
                        slug: m.slug.clone(),
                        name: m.name.clone(),
                    },
                    None => {
                        repairs.push(repair(at, format!("machine `{said}` is not in the catalog; left for the reviewer to pick")));
                        MachineMatch::Unknown {
                            said: Some(said.to_string()),
                        }
                    }
                }
            }
            None if kind.machine == MachineRule::Required
                && !(kind.inherit_machine && has_parent) =>
            {
                repairs.push(repair(
                    at,
                    format!(
                        "a {} needs a machine; left for the reviewer to pick",
                        kind.name
                    ),
                ));
                MachineMatch::Unknown { said: None }
            }
            None => MachineMatch::None,
        }
    }

    fn sources(&self, given: Option<&Value>, at: &str, repairs: &mut Vec<Repair>) -> Vec<u64> {
        let mut ids = Vec::new();
        for value in given.and_then(Value::as_array).into_iter().flatten() {
            let id = match value {
                Value::String(s) => s.trim().trim_matches(['[', ']']).parse::<u64>().ok(),
                Value::Number(n) => n.as_u64(),
                _ => None,
            };
            match id {
                Some(id) if self.conversation.get(id).is_some() => {
                    if !ids.contains(&id) {
                        ids.push(id);
                    }
                }
                _ => repairs.push(repair(
                    at,
                    format!("source message {value} is not in the conversation; removed"),
                )),
            }
        }
        if ids.is_empty() {
            repairs.push(repair(
                at,
                "no source messages; the clicked message is used".into(),
            ));
            ids.push(self.conversation.target_id);
        }
        let order = self.conversation.ids();
        ids.sort_by_key(|id| order.iter().position(|o| o == id));
        ids
    }

    fn author(
        &self,
        given: Option<&Value>,
        sources: &[u64],
        at: &str,
        repairs: &mut Vec<Repair>,
    ) -> Option<SuggestedAuthor> {
        let given = given.and_then(|v| match v {
            Value::String(s) => Some(s.trim().to_string()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        });
        if let Some(given) = given.as_deref().filter(|g| !g.is_empty()) {
            if let Some(name) = given.strip_prefix("flipfix/") {
                let known = self
                    .conversation
                    .references()
                    .any(|r| r.author_name.as_deref() == Some(name));
                if known {
                    return Some(SuggestedAuthor::Records {
                        name: name.to_string(),
                    });
                }
            } else if let Some(author) = given
                .parse::<u64>()
                .ok()
                .and_then(|id| self.discord_author(id))
            {
                return Some(author);
            }
            let fallback = self.source_author(sources);
            repairs.push(repair(
                at,
                format!(
                    "author `{given}` did not write in the conversation; attributed to {}",
                    fallback.as_ref().map(|a| a.display()).unwrap_or("nobody")
                ),
            ));
            return fallback;
        }
        self.source_author(sources)
    }

    fn discord_author(&self, id: u64) -> Option<SuggestedAuthor> {
        self.conversation
            .messages
            .iter()
            .map(|m| &m.message.author)
            .find(|a| a.id == id && !a.is_webhook && !a.is_bot)
            .map(|a| SuggestedAuthor::Discord {
                id: a.id,
                username: a.username.clone(),
                display_name: a.display_name.clone(),
            })
    }

    /// The first human author among the source messages.
    fn source_author(&self, sources: &[u64]) -> Option<SuggestedAuthor> {
        sources
            .iter()
            .filter_map(|id| self.conversation.get(*id))
            .find(|m| !m.message.author.is_webhook && !m.message.author.is_bot)
            .and_then(|m| self.discord_author(m.message.author.id))
    }
}

fn as_i64(value: &Value) -> Option<i64> {
    match value {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().trim_start_matches('#').parse().ok(),
        _ => None,
    }
    .filter(|id| *id > 0)
}

fn drop(at: &str, reason: String) -> Repair {
    Repair {
        at: at.to_string(),
        action: RepairAction::Dropped,
        reason,
    }
}

fn repair(at: &str, reason: String) -> Repair {
    Repair {
        at: at.to_string(),
        action: RepairAction::Repaired,
        reason,
    }
}
