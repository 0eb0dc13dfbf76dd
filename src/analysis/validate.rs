//! Checking the model's answer. The model is not trusted: every suggestion
//! is checked against the declared kinds, the catalog and the conversation,
//! and every drop or repair is recorded with its reason.

use std::collections::{BTreeMap, HashMap};

use serde_json::Value;

use super::catalog::Catalog;
use super::conversation::Conversation;
pub use super::suggestion::{MachineMatch, Repair, RepairAction, SuggestedAuthor, Suggestion};
use super::tool_schema::{child_kinds, offered_fields};
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
    /// An answer in another shape (a key the schema does not offer, such as
    /// `machine` on a child) is an error naming the key.
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
            if let Some(s) = self.suggestion(item, &at, None, &mut repairs)? {
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

    /// Refuses keys the item schema does not offer: that is an answer in
    /// another shape, not a slip to repair. Null and empty values are
    /// tolerated (they say nothing).
    fn check_keys(
        &self,
        obj: &serde_json::Map<String, Value>,
        kind: &RecordKind,
        at: &str,
        is_child: bool,
    ) -> Result<(), SchemaError> {
        let has_parents = kind.parents.iter().any(|p| self.menu.allows(p));
        let has_children = !child_kinds(self.menu, self.kinds, &kind.name).is_empty();
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
                _ => false,
            };
            if offered || empty {
                continue;
            }
            let why = match (key.as_str(), is_child) {
                ("machine", true) => "a child takes its parent's machine".to_string(),
                ("parent_record_id", true) => {
                    "a child belongs to the item it is nested in".to_string()
                }
                ("children", true) => "children nest one level only".to_string(),
                ("parent_record_id", false) => {
                    format!("a {} cannot belong to another record", kind.name)
                }
                ("children", false) => format!("a {} has no child kinds", kind.name),
                _ => "the tool schema has no such key".to_string(),
            };
            let item = if is_child { "child item" } else { "item" };
            return Err(SchemaError(format!(
                "suggestion {at}: `{key}` is not part of a {} {item} ({why}); is the answer in an older shape?",
                kind.name
            )));
        }
        Ok(())
    }

    fn suggestion(
        &self,
        item: &Value,
        at: &str,
        parent: Option<&Suggestion>,
        repairs: &mut Vec<Repair>,
    ) -> Result<Option<Suggestion>, SchemaError> {
        let Some(obj) = item.as_object() else {
            repairs.push(drop(at, "not an object".into()));
            return Ok(None);
        };
        let Some(kind) = self.item_kind(obj, at, parent, repairs) else {
            return Ok(None);
        };
        self.check_keys(obj, kind, at, parent.is_some())?;

        // Description: required, cut to the limit.
        let description = obj
            .get("description")
            .and_then(Value::as_str)
            .map(str::trim)
            .unwrap_or_default();
        if description.is_empty() {
            repairs.push(drop(at, "no description".into()));
            return Ok(None);
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

        let Some(fields) = self.fields(kind, obj.get("fields"), at, repairs) else {
            return Ok(None);
        };

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
            return Ok(None);
        }

        let machine = match parent {
            // A child takes its parent's machine (the store would inherit it
            // anyway; the card shows it now).
            Some(parent) => parent.machine.clone(),
            None => self.machine(kind, obj.get("machine"), parent_record_id, at, repairs),
        };
        let Some(source_message_ids) = self.sources(obj.get("source_message_ids"), at, repairs)
        else {
            return Ok(None);
        };
        let author = self.author(obj.get("author_id"), &source_message_ids, at, repairs);

        let mut suggestion = Suggestion {
            kind: kind.name.clone(),
            machine,
            description,
            fields,
            source_message_ids,
            author,
            parent_record_id,
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
                if let Some(child) =
                    self.suggestion(child, &child_at, Some(&suggestion), repairs)?
                {
                    suggestion.children.push(child);
                }
            }
        }
        Ok(Some(suggestion))
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

    fn machine(
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
    fn linked_machine(&self, parent_record_id: Option<i64>) -> Option<MachineMatch> {
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
    fn sources(
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

fn message_id(value: &Value) -> Option<u64> {
    match value {
        Value::String(s) => s.trim().trim_matches(['[', ']']).parse::<u64>().ok(),
        Value::Number(n) => n.as_u64(),
        _ => None,
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

    /// Validates `input` against scenario `name`'s whole conversation.
    fn run(
        name: &str,
        input: serde_json::Value,
    ) -> Result<(Vec<Suggestion>, Vec<Repair>), SchemaError> {
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
            saved_stubs: Vec::new(),
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
        validator.validate(&input)
    }

    fn check(name: &str, input: serde_json::Value) -> (Vec<Suggestion>, Vec<Repair>) {
        run(name, input).unwrap()
    }

    fn validate_err(name: &str, input: serde_json::Value) -> String {
        run(name, input).unwrap_err().to_string()
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
    fn a_linked_log_entry_takes_the_machine_of_the_linked_record_without_a_repair() {
        let (s, repairs) = check(
            "webhook_reply_creates_linked_log",
            json!({"suggestions": [{"kind": "log_entry", "machine": null, "description": "fixed", "source_message_ids": ["73"], "author_id": "1002000000000000001", "parent_record_id": "#42"}]}),
        );
        assert_eq!(s[0].parent_record_id, Some(42));
        assert_eq!(
            s[0].machine.slug(),
            Some("gorgar"),
            "from the post `⚠️ Gorgar`"
        );
        assert!(repairs.is_empty(), "{repairs:?}");
    }

    #[test]
    fn a_child_item_cannot_carry_a_machine_a_parent_or_children() {
        for (key, value, why) in [
            (
                "machine",
                json!("ballyhoo"),
                "a child takes its parent's machine",
            ),
            (
                "parent_record_id",
                json!(99),
                "a child belongs to the item it is nested in",
            ),
            (
                "children",
                json!([{"description": "x"}]),
                "children nest one level only",
            ),
        ] {
            let mut child = json!({"description": "Ordered.", "source_message_ids": ["48"], "author_id": "1002000000000000002"});
            child[key] = value;
            let err = validate_err(
                "nested_part_request_with_updates",
                json!({"suggestions": [{"kind": "part_request", "machine": "ballyhoo", "description": "switch", "source_message_ids": ["47"], "author_id": "1002000000000000001", "children": [child]}]}),
            );
            assert_eq!(
                err,
                format!("the model's answer does not match the tool schema: suggestion 1.1: `{key}` is not part of a part_request_update child item ({why}); is the answer in an older shape?")
            );
        }
    }

    #[test]
    fn a_child_takes_its_kind_and_machine_from_its_parent() {
        let (s, repairs) = check(
            "nested_part_request_with_updates",
            json!({"suggestions": [{"kind": "part_request", "machine": "ballyhoo", "description": "switch", "source_message_ids": ["47"], "author_id": "1002000000000000001",
                "children": [{"description": "Ordered.", "fields": {"new_status": "ordered"}, "source_message_ids": ["48"], "author_id": "1002000000000000002"}]}]}),
        );
        assert!(repairs.is_empty(), "{repairs:?}");
        let child = &s[0].children[0];
        assert_eq!(child.kind, "part_request_update");
        assert_eq!(child.machine.slug(), Some("ballyhoo"));
        assert_eq!(
            child.fields.get("new_status").map(String::as_str),
            Some("ordered")
        );
    }

    #[test]
    fn kind_specific_fields_are_accepted_only_on_their_kind() {
        let (s, repairs) = check(
            "completed_work_simple_fix",
            json!({"suggestions": [{"kind": "problem_report", "machine": "hyperball", "description": "gate", "fields": {"priority": "major", "new_status": "ordered"}, "source_message_ids": ["8"], "author_id": "1002000000000000001"}]}),
        );
        assert_eq!(
            s[0].fields.get("priority").map(String::as_str),
            Some("major")
        );
        assert!(!s[0].fields.contains_key("new_status"));
        assert_eq!(
            repairs.iter().map(|r| r.to_string()).collect::<Vec<_>>(),
            vec!["model suggestion 1: repaired: field `new_status` is not a field of problem_report; removed"]
        );
    }

    #[test]
    fn a_new_record_is_never_created_closed() {
        let (s, repairs) = check(
            "completed_work_simple_fix",
            json!({"suggestions": [{"kind": "problem_report", "machine": "hyperball", "description": "gate", "fields": {"status": "closed"}, "source_message_ids": ["8"], "author_id": "1002000000000000001"}]}),
        );
        assert!(!s[0].fields.contains_key("status"));
        assert_eq!(
            repairs[0].to_string(),
            "model suggestion 1: repaired: field `status` is not set on a new problem_report: it starts as open, and changes come as children or updates; removed"
        );
    }

    #[test]
    fn a_missing_author_id_is_a_repair_with_a_reason() {
        let (s, repairs) = check(
            "completed_work_simple_fix",
            json!({"suggestions": [{"kind": "log_entry", "machine": "hyperball", "description": "gate", "source_message_ids": ["8"]}]}),
        );
        assert_eq!(
            s[0].author.as_ref().map(|a| a.key()),
            Some("1002000000000000001".into())
        );
        assert_eq!(
            repairs.iter().map(|r| r.to_string()).collect::<Vec<_>>(),
            vec!["model suggestion 1: repaired: no author_id; attributed to Bob Wilson (who wrote its first source message)"]
        );
    }

    #[test]
    fn a_suggestion_citing_only_messages_outside_the_conversation_is_dropped() {
        let (s, repairs) = check(
            "completed_work_simple_fix",
            json!({"suggestions": [
                {"kind": "log_entry", "machine": "hyperball", "description": "invented", "source_message_ids": ["12345"], "author_id": "1002000000000000001"},
                {"kind": "log_entry", "machine": "hyperball", "description": "cites nothing", "source_message_ids": [], "author_id": "1002000000000000001"},
                {"kind": "log_entry", "machine": "hyperball", "description": "one of two", "source_message_ids": ["8", "12345"], "author_id": "1002000000000000001"},
            ]}),
        );
        let descriptions: Vec<&str> = s.iter().map(|s| s.description.as_str()).collect();
        assert_eq!(descriptions, vec!["cites nothing", "one of two"]);
        assert_eq!(
            s[0].source_message_ids,
            vec![8],
            "falls back to the clicked message"
        );
        assert_eq!(s[1].source_message_ids, vec![8]);
        let reasons: Vec<String> = repairs.iter().map(|r| r.to_string()).collect();
        assert_eq!(
            reasons,
            vec![
                "model suggestion 1: dropped: it cites only messages that are not in the conversation (\"12345\"): nothing shown supports it",
                "model suggestion 2: repaired: no source messages; the clicked message is used",
                "model suggestion 3: repaired: source message \"12345\" is not in the conversation; removed",
            ]
        );
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
