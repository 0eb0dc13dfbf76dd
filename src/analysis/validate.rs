//! Checking the model's answer. The model is not trusted: every suggestion
//! is checked against the declared kinds, the catalog and the conversation,
//! and every drop or repair is recorded with its reason.

use std::collections::{BTreeMap, HashMap};

use serde_json::Value;

use super::catalog::Catalog;
use super::conversation::Conversation;
pub use super::suggestion::{MachineMatch, Repair, RepairAction, SuggestedAuthor, Suggestion};
use crate::text::truncate_chars;
use crate::workflow::{ContextMenu, FieldType, MachineRule, RecordKind, RecordKinds};

/// Children per suggestion, and suggestions per answer: more is noise.
const MAX_SUGGESTIONS: usize = 20;

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

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::analysis::scenario::Scenario;

    fn scenario(name: &str) -> Scenario {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../shared/scenarios/flipfix-eval");
        Scenario::load(&dir.join(format!("{name}.yaml"))).unwrap()
    }

    fn check(name: &str, input: serde_json::Value) -> (Vec<Suggestion>, Vec<Repair>) {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let workflows =
            crate::workflow::load_workflows(&root.join("workflows"), &root.join("prompts"))
                .unwrap();
        let scenario = scenario(name);
        let mut conversation = crate::analysis::conversation::Conversation {
            mode: crate::analysis::Mode::Channel,
            guild_id: None,
            channel_id: 1,
            target_id: scenario.target_id,
            messages: scenario
                .messages()
                .iter()
                .map(|m| crate::analysis::conversation::ConversationMessage {
                    is_target: m.id == scenario.target_id,
                    in_reply_chain: false,
                    message: m.clone(),
                    saved_as: Vec::new(),
                    reference: None,
                })
                .collect(),
            excluded_saved: Vec::new(),
        };
        conversation.parse_references(&workflows.kinds);
        let known = crate::analysis::known_from_conversation(&conversation);
        let validator = Validator {
            menu: workflows.context_menu.as_ref().unwrap(),
            kinds: &workflows.kinds,
            catalog: &scenario.catalog,
            conversation: &conversation,
            known_records: &known,
        };
        validator.validate(&input).unwrap()
    }

    #[test]
    fn a_required_machine_left_out_is_for_the_reviewer_to_pick() {
        let (s, repairs) = check(
            "completed_work_simple_fix",
            json!({"suggestions": [{"kind": "problem_report", "description": "x", "source_message_ids": []}]}),
        );
        assert_eq!(s[0].machine, MachineMatch::Unknown { said: None });
        assert!(
            repairs
                .iter()
                .any(|r| r.reason
                    == "a problem_report needs a machine; left for the reviewer to pick")
        );
    }

    #[test]
    fn a_linked_log_entry_inherits_its_machine_without_a_repair() {
        let (s, repairs) = check(
            "webhook_reply_creates_linked_log",
            json!({"suggestions": [{"kind": "log_entry", "description": "fixed", "source_message_ids": ["73"], "parent_record_id": "#42"}]}),
        );
        assert_eq!(s[0].parent_record_id, Some(42));
        assert_eq!(s[0].machine, MachineMatch::None);
        assert!(repairs.is_empty(), "{repairs:?}");
    }

    #[test]
    fn records_app_authors_are_kept_when_a_post_names_them() {
        let (s, repairs) = check(
            "webhook_reply_creates_linked_log",
            json!({"suggestions": [
                {"kind": "problem_report", "machine": "gorgar", "description": "weak flipper", "source_message_ids": ["72"], "author_id": "flipfix/Mike Rodriguez"},
                {"kind": "problem_report", "machine": "gorgar", "description": "weak flipper", "source_message_ids": ["73"], "author_id": "flipfix/Nobody"},
            ]}),
        );
        assert_eq!(
            s[0].author,
            Some(SuggestedAuthor::Records {
                name: "Mike Rodriguez".into()
            })
        );
        assert_eq!(
            s[1].author.as_ref().map(|a| a.key()),
            Some("1002000000000000001".into())
        );
        assert_eq!(repairs.len(), 1, "{repairs:?}");
    }

    #[test]
    fn parents_mentioned_anywhere_are_found() {
        let input = json!({"suggestions": [
            {"parent_record_id": 4, "children": [{"parent_record_id": "#9"}]},
            {"parent_record_id": null},
            {"parent_record_id": 4},
        ]});
        assert_eq!(mentioned_parents(&input), vec![4, 9]);
    }
}
