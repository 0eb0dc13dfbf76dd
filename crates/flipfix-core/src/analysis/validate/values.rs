//! Checking the values of one suggestion against the declared kind, the
//! catalog and the conversation: fields, machine, sources, author.

use std::collections::BTreeMap;

use serde_json::Value;

use super::{MachineMatch, Repair, RepairAction, SuggestedAuthor, Validator};
use crate::analysis::tool_schema::offered_fields;
use crate::text::truncate_chars;
use crate::workflow::{FieldType, MachineRule, RecordKind};

impl Validator<'_> {
    pub(super) fn fields(
        &self,
        kind: &RecordKind,
        given: Option<&Value>,
        at: &str,
        repairs: &mut Vec<Repair>,
    ) -> Option<BTreeMap<String, String>> {
        let mut fields = BTreeMap::new();
        if let Some(given) = given.and_then(Value::as_object) {
            for (name, value) in given {
                if let Some(field) = kind
                    .field(name)
                    .filter(|f| !offered_fields(kind).any(|o| o.name == f.name))
                {
                    if !matches!(value, Value::Null) {
                        repairs.push(repair(
                            at,
                            format!(
                                "field `{name}` is not set on a new {}: it starts as {}, and changes come as children or updates; removed",
                                kind.name,
                                field.default.as_deref().unwrap_or("its default")
                            ),
                        ));
                    }
                    continue;
                }
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

    pub(super) fn machine(
        &self,
        kind: &RecordKind,
        said: Option<&Value>,
        parent_record_id: Option<i64>,
        at: &str,
        repairs: &mut Vec<Repair>,
    ) -> MachineMatch {
        let has_parent = parent_record_id.is_some();
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
            None if has_parent && self.linked_machine(parent_record_id).is_some() => self
                .linked_machine(parent_record_id)
                .unwrap_or(MachineMatch::None),
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

    /// The machine of the linked record, from its record post's title
    /// (`⚠️ Gorgar`, `📦 Parts Request for Ballyhoo`): the longest run of
    /// final words that names a catalog machine. A parent only in the
    /// database gives `None`; the store inherits its machine on creation.
    pub(super) fn linked_machine(&self, parent_record_id: Option<i64>) -> Option<MachineMatch> {
        let id = parent_record_id?;
        let title = self
            .conversation
            .references()
            .find(|r| r.record_id == id)?
            .title
            .clone()?;
        let words: Vec<&str> = title.split_whitespace().collect();
        (0..words.len()).find_map(|start| {
            self.catalog
                .find_machine(&words[start..].join(" "))
                .map(|m| MachineMatch::Known {
                    id: m.id,
                    slug: m.slug.clone(),
                    name: m.name.clone(),
                })
        })
    }

    /// The cited messages of the conversation, in conversation order. A
    /// suggestion that cites messages but none of the conversation is not
    /// grounded in it and is dropped (`None`); one that cites nothing falls
    /// back to the clicked message.
    pub(super) fn sources(
        &self,
        given: Option<&Value>,
        at: &str,
        repairs: &mut Vec<Repair>,
    ) -> Option<Vec<u64>> {
        let mut ids = Vec::new();
        let cited: Vec<&Value> = given
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .collect();
        if !cited.is_empty()
            && !cited
                .iter()
                .any(|v| message_id(v).is_some_and(|id| self.conversation.get(id).is_some()))
        {
            let list: Vec<String> = cited.iter().map(|v| v.to_string()).collect();
            repairs.push(drop(
                at,
                format!(
                    "it cites only messages that are not in the conversation ({}): nothing shown supports it",
                    list.join(", ")
                ),
            ));
            return None;
        }
        for value in cited {
            match message_id(value) {
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
        Some(ids)
    }

    pub(super) fn author(
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
        let fallback = self.source_author(sources);
        repairs.push(repair(
            at,
            format!(
                "no author_id; attributed to {} (who wrote its first source message)",
                fallback.as_ref().map(|a| a.display()).unwrap_or("nobody")
            ),
        ));
        fallback
    }

    pub(super) fn discord_author(&self, id: u64) -> Option<SuggestedAuthor> {
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
    pub(super) fn source_author(&self, sources: &[u64]) -> Option<SuggestedAuthor> {
        sources
            .iter()
            .filter_map(|id| self.conversation.get(*id))
            .find(|m| !m.message.author.is_webhook && !m.message.author.is_bot)
            .and_then(|m| self.discord_author(m.message.author.id))
    }
}

pub(super) fn message_id(value: &Value) -> Option<u64> {
    match value {
        Value::String(s) => s.trim().trim_matches(['[', ']']).parse::<u64>().ok(),
        Value::Number(n) => n.as_u64(),
        _ => None,
    }
}

pub(super) fn as_i64(value: &Value) -> Option<i64> {
    match value {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().trim_start_matches('#').parse().ok(),
        _ => None,
    }
    .filter(|id| *id > 0)
}

pub(super) fn drop(at: &str, reason: String) -> Repair {
    Repair {
        at: at.to_string(),
        action: RepairAction::Dropped,
        reason,
    }
}

pub(super) fn repair(at: &str, reason: String) -> Repair {
    Repair {
        at: at.to_string(),
        action: RepairAction::Repaired,
        reason,
    }
}
