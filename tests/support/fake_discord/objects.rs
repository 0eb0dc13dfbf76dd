//! Objects as Discord sends them: users with every required field,
//! registered commands, message components with their ids.

use std::sync::atomic::Ordering;

use serde_json::{json, Value};

use super::{FakeState, APPLICATION_ID};

/// A user object as Discord sends it (every field its `UserResponse`
/// requires).
pub fn discord_user(id: u64, username: &str, global_name: Option<&str>, bot: bool) -> Value {
    let mut user = json!({
        "id": id.to_string(),
        "username": username,
        "global_name": global_name,
    });
    if bot {
        user["bot"] = json!(true);
    }
    complete_user(&mut user);
    user
}

/// Adds the fields Discord always sends on a user object and a test's
/// hand-written author may leave out (flags, avatar, primary guild).
pub fn complete_user(user: &mut Value) {
    let Some(object) = user.as_object_mut() else {
        return;
    };
    for (key, value) in [
        ("discriminator", json!("0")),
        ("avatar", Value::Null),
        ("global_name", Value::Null),
        ("public_flags", json!(0)),
        ("flags", json!(0)),
        ("primary_guild", Value::Null),
    ] {
        object.entry(key).or_insert(value);
    }
}

/// A command as Discord answers its registration: with `id`,
/// `application_id`, `version`, `type`, `description` (`""` for context-menu
/// commands) and `default_member_permissions`, without the nulls serenity
/// sends for unset option fields.
pub(super) fn registered_command(state: &FakeState, command: Value) -> Value {
    let mut command = without_nulls(command);
    if command.get("id").is_none() {
        let id = state.next_id.fetch_add(1, Ordering::SeqCst);
        command["id"] = json!(id.to_string());
    }
    command["application_id"] = json!(APPLICATION_ID.to_string());
    command["version"] = json!("1");
    for (key, default) in [
        ("type", json!(1)),
        ("description", json!("")),
        ("default_member_permissions", Value::Null),
    ] {
        if command.get(key).is_none() {
            command[key] = default;
        }
    }
    command
}

/// Numbers every component (rows and what they hold) from 1 in document
/// order where the request gave no `id`, as Discord does, and drops the
/// nulls a request may carry (Discord echoes only what is set).
pub fn with_component_ids(components: Value) -> Value {
    fn walk(value: &mut Value, next: &mut u64) {
        match value {
            Value::Array(items) => items.iter_mut().for_each(|item| walk(item, next)),
            Value::Object(object) => {
                object.retain(|_, v| !v.is_null());
                if object.contains_key("type") && !object.contains_key("id") {
                    object.insert("id".into(), json!(*next));
                }
                // Select menus: Discord answers the defaults it applied.
                if matches!(object.get("type").and_then(Value::as_u64), Some(3 | 5..=8)) {
                    object.entry("min_values").or_insert(json!(1));
                    object.entry("max_values").or_insert(json!(1));
                }
                *next += 1;
                if let Some(children) = object.get_mut("components") {
                    walk(children, next);
                }
            }
            _ => {}
        }
    }
    let mut components = components;
    walk(&mut components, &mut 1);
    components
}

/// Removes null-valued keys everywhere: Discord's answers leave out a field
/// that is not set (a command option's `min_length`), where serenity's
/// requests send null.
pub fn without_nulls(value: Value) -> Value {
    match value {
        Value::Object(object) => Value::Object(
            object
                .into_iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k, without_nulls(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(without_nulls).collect()),
        other => other,
    }
}
