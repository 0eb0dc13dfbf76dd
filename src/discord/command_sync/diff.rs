//! What a sync must do, decided without touching Discord: the commands the
//! bot wants against those the home server has, compared in one normalised
//! shape (the fields the bot sets, with Discord's defaults filled in), so a
//! command Discord echoes back unchanged is never sent again.

use std::collections::HashSet;

use serde_json::{json, Map, Value};

/// A command by Discord's identity rule: names are unique per type.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CommandKey {
    pub kind: u64,
    pub name: String,
}

impl std::fmt::Display for CommandKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.kind {
            1 => write!(f, "/{}", self.name),
            3 => write!(f, "message command \"{}\"", self.name),
            2 => write!(f, "user command \"{}\"", self.name),
            _ => write!(f, "command \"{}\" (type {})", self.name, self.kind),
        }
    }
}

/// A command as registered in the home server: its id and its shape.
#[derive(Debug, Clone)]
pub struct Existing {
    pub id: u64,
    pub key: CommandKey,
    pub shape: Value,
}

/// The plan: indexes into the wanted list, ids of registered commands.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Plan {
    /// Wanted commands the home server lacks.
    pub create: Vec<usize>,
    /// `(id, wanted)`: registered commands whose shape differs.
    pub edit: Vec<(u64, usize)>,
    /// Registered commands nothing wants (and duplicates of a key).
    pub delete: Vec<(u64, CommandKey)>,
    pub unchanged: usize,
}

/// The key of a command body or of Discord's answer.
pub fn key_of(command: &Value) -> CommandKey {
    CommandKey {
        kind: command["type"].as_u64().unwrap_or(1),
        name: command["name"].as_str().unwrap_or_default().to_string(),
    }
}

/// The fields compared, with Discord's defaults, without what Discord adds
/// (id, version, application and guild ids) or what the bot never sets
/// (localizations, which Discord echoes only when asked).
pub fn shape(command: &Value) -> Value {
    let key = key_of(command);
    let permissions = match &command["default_member_permissions"] {
        Value::String(bits) => json!(bits),
        Value::Number(bits) => json!(bits.to_string()),
        _ => Value::Null,
    };
    json!({
        "type": key.kind,
        "name": key.name,
        "description": command["description"].as_str().unwrap_or_default(),
        "options": options(&command["options"]),
        "default_member_permissions": permissions,
        "nsfw": command["nsfw"].as_bool().unwrap_or(false),
        "contexts": non_empty(&command["contexts"]),
    })
}

fn non_empty(value: &Value) -> Value {
    match value {
        Value::Array(items) if !items.is_empty() => value.clone(),
        _ => Value::Null,
    }
}

fn options(value: &Value) -> Value {
    let Some(items) = value.as_array() else {
        return json!([]);
    };
    Value::Array(items.iter().map(option).collect())
}

fn option(option: &Value) -> Value {
    let mut shaped = Map::new();
    shaped.insert("type".into(), option["type"].clone());
    shaped.insert("name".into(), option["name"].clone());
    shaped.insert(
        "description".into(),
        json!(option["description"].as_str().unwrap_or_default()),
    );
    for flag in ["required", "autocomplete"] {
        shaped.insert(flag.into(), json!(option[flag].as_bool().unwrap_or(false)));
    }
    let choices: Vec<Value> = option["choices"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| json!({"name": c["name"], "value": c["value"]}))
        .collect();
    shaped.insert("choices".into(), Value::Array(choices));
    shaped.insert("options".into(), options(&option["options"]));
    shaped.insert(
        "channel_types".into(),
        option["channel_types"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .into(),
    );
    for bound in ["min_value", "max_value", "min_length", "max_length"] {
        shaped.insert(bound.into(), option[bound].clone());
    }
    Value::Object(shaped)
}

/// Whether a registered command must be edited to become the wanted one.
/// `contexts` counts only when Discord echoes them: it keeps them for
/// global commands and may answer null for a guild command.
pub fn differs(wanted: &Value, registered: &Value) -> bool {
    let strip = |shape: &Value| {
        let mut shape = shape.clone();
        if let Some(object) = shape.as_object_mut() {
            object.remove("contexts");
        }
        shape
    };
    if strip(wanted) != strip(registered) {
        return true;
    }
    !registered["contexts"].is_null() && wanted["contexts"] != registered["contexts"]
}

/// Compares `wanted` shapes with what is registered. A key registered twice
/// (which Discord does not allow, but an old state may hold) keeps its
/// first copy; later copies are deleted.
pub fn plan(wanted: &[Value], registered: &[Existing]) -> Plan {
    let mut plan = Plan::default();
    let mut matched = HashSet::new();
    for (index, shape) in wanted.iter().enumerate() {
        let key = key_of(shape);
        match registered
            .iter()
            .find(|existing| existing.key == key && !matched.contains(&existing.id))
        {
            Some(existing) => {
                matched.insert(existing.id);
                if differs(shape, &existing.shape) {
                    plan.edit.push((existing.id, index));
                } else {
                    plan.unchanged += 1;
                }
            }
            None => plan.create.push(index),
        }
    }
    plan.delete = registered
        .iter()
        .filter(|existing| !matched.contains(&existing.id))
        .map(|existing| (existing.id, existing.key.clone()))
        .collect();
    plan
}

#[cfg(test)]
mod tests {
    use super::*;

    fn registered(id: u64, body: Value) -> Existing {
        let mut body = body;
        body["id"] = json!(id.to_string());
        body["version"] = json!("1");
        body["application_id"] = json!("9");
        Existing {
            id,
            key: key_of(&body),
            shape: shape(&body),
        }
    }

    fn slash(name: &str, description: &str) -> Value {
        json!({"name": name, "description": description, "type": 1, "options": [], "nsfw": false,
               "name_localizations": {}, "description_localizations": {}})
    }

    #[test]
    fn an_unchanged_set_plans_nothing() {
        let wanted = vec![shape(&slash("find", "Find records"))];
        // Discord's echo: defaults filled in, ids added, no localizations.
        let echo = json!({"name": "find", "description": "Find records", "type": 1,
                          "default_member_permissions": null, "guild_id": "3"});
        let plan = plan(&wanted, &[registered(10, echo)]);
        assert_eq!(
            plan,
            Plan {
                unchanged: 1,
                ..Plan::default()
            }
        );
    }

    #[test]
    fn new_changed_and_removed_commands_are_planned_separately() {
        let wanted = vec![
            shape(&slash("find", "Find records")),
            shape(&slash("log", "Log work, edited")),
            shape(&json!({"name": "Add to Flipfix", "type": 3})),
        ];
        let plan = plan(
            &wanted,
            &[
                registered(10, slash("find", "Find records")),
                registered(11, slash("log", "Log work")),
                registered(
                    12,
                    json!({"name": "Old Menu", "type": 3, "description": ""}),
                ),
            ],
        );
        assert_eq!(plan.create, vec![2]);
        assert_eq!(plan.edit, vec![(11, 1)]);
        assert_eq!(
            plan.delete,
            vec![(
                12,
                CommandKey {
                    kind: 3,
                    name: "Old Menu".into()
                }
            )]
        );
        assert_eq!(plan.unchanged, 1);
    }

    #[test]
    fn the_same_name_with_another_type_is_another_command() {
        let wanted = vec![shape(&json!({"name": "report", "type": 3}))];
        let plan = plan(&wanted, &[registered(10, slash("report", "Report"))]);
        assert_eq!(plan.create, vec![0]);
        assert_eq!(plan.delete.len(), 1);
    }

    #[test]
    fn option_changes_permissions_and_contexts_are_edits() {
        let mut with_option = slash("log", "Log work");
        with_option["options"] =
            json!([{"type": 3, "name": "description", "description": "What", "required": true}]);
        let base = registered(10, slash("log", "Log work"));
        assert!(differs(&shape(&with_option), &base.shape));

        let mut admin = slash("log", "Log work");
        admin["default_member_permissions"] = json!("32");
        assert!(differs(&shape(&admin), &base.shape));

        // Discord echoes what it keeps: contexts echoed differently differ,
        // contexts echoed as null (a guild command) do not.
        let mut guild_only = slash("log", "Log work");
        guild_only["contexts"] = json!([0]);
        assert!(!differs(&shape(&guild_only), &base.shape));
        let mut everywhere = slash("log", "Log work");
        everywhere["contexts"] = json!([0, 1, 2]);
        let echoed = registered(10, everywhere);
        assert!(differs(&shape(&guild_only), &echoed.shape));
    }

    #[test]
    fn defaults_and_echo_only_fields_are_not_differences() {
        let mut sent = slash("log", "Log work");
        sent["options"] = json!([{"type": 4, "name": "priority", "description": "How bad",
            "required": false, "autocomplete": null, "min_value": null,
            "choices": [{"name": "major", "value": 0, "name_localizations": {}}]}]);
        let mut echo = slash("log", "Log work");
        echo["options"] = json!([{"type": 4, "name": "priority", "description": "How bad",
            "choices": [{"name": "major", "value": 0}]}]);
        assert!(!differs(&shape(&sent), &registered(1, echo).shape));
    }

    #[test]
    fn a_key_registered_twice_keeps_one_copy() {
        let wanted = vec![shape(&slash("find", "Find records"))];
        let plan = plan(
            &wanted,
            &[
                registered(10, slash("find", "Find records")),
                registered(11, slash("find", "Find records")),
            ],
        );
        assert_eq!(plan.unchanged, 1);
        assert_eq!(
            plan.delete.iter().map(|d| d.0).collect::<Vec<_>>(),
            vec![11]
        );
    }
}
