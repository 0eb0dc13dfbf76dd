//! The home server's application commands, with Discord's state rules:
//! ids assigned on creation, a new `version` on every change, `404 Unknown
//! application command` (10063) for an id it does not hold, names unique
//! per type, `POST` an upsert by name and type (201 when new, 200 when it
//! replaced one), and `PUT` a bulk overwrite that keeps the ids of the names
//! it already had. Every call stays in the request log, so a test can say
//! which commands were created, edited or deleted.

use std::sync::atomic::Ordering;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

use super::objects::registered_command;
use super::{json_response, FakeState, RecordedRequest, GUILD_ID};

/// Discord's code for an unknown application command.
const UNKNOWN_COMMAND: u64 = 10063;

/// Answers the guild-commands routes; `None` for any other request.
pub(super) fn answer(
    state: &FakeState,
    request: &RecordedRequest,
    segments: &[&str],
) -> Option<Response> {
    let ["applications", _, "guilds", guild, "commands", rest @ ..] = segments else {
        return None;
    };
    if *guild != GUILD_ID.to_string() {
        return Some(json_response(
            StatusCode::FORBIDDEN,
            json!({"message": "Missing Access", "code": 50001}),
        ));
    }
    let method = request.method.as_str();
    Some(match (method, rest) {
        ("GET", []) => json_response(
            StatusCode::OK,
            Value::Array(state.commands.lock().unwrap().clone()),
        ),
        ("PUT", []) => overwrite(state, &request.body),
        ("POST", []) => upsert(state, &request.body),
        ("GET", [id]) => match find(state, id) {
            Some(command) => json_response(StatusCode::OK, command),
            None => unknown_command(),
        },
        ("PATCH", [id]) => edit(state, id, &request.body),
        ("DELETE", [id]) => {
            let mut commands = state.commands.lock().unwrap();
            let before = commands.len();
            commands.retain(|c| c["id"] != json!(id));
            if commands.len() == before {
                unknown_command()
            } else {
                StatusCode::NO_CONTENT.into_response()
            }
        }
        _ => return None,
    })
}

/// The type a command body declares (1, chat input, when absent).
fn kind_of(command: &Value) -> u64 {
    command["type"].as_u64().unwrap_or(1)
}

fn same_key(a: &Value, b: &Value) -> bool {
    a["name"] == b["name"] && kind_of(a) == kind_of(b)
}

fn find(state: &FakeState, id: &str) -> Option<Value> {
    state
        .commands
        .lock()
        .unwrap()
        .iter()
        .find(|c| c["id"] == json!(id))
        .cloned()
}

fn unknown_command() -> Response {
    json_response(
        StatusCode::NOT_FOUND,
        json!({"message": "Unknown application command", "code": UNKNOWN_COMMAND}),
    )
}

fn duplicate_name(name: &Value) -> Response {
    json_response(
        StatusCode::BAD_REQUEST,
        json!({"message": format!("Invalid Form Body: application command names must be unique ({name})"), "code": 50035}),
    )
}

fn fresh_version(state: &FakeState) -> Value {
    json!(state.next_id.fetch_add(1, Ordering::SeqCst).to_string())
}

/// A stored command: what Discord keeps of a body, with its id and version.
fn stored(state: &FakeState, body: &Value, id: Option<&Value>) -> Value {
    let mut body = body.clone();
    if let Some(object) = body.as_object_mut() {
        object.remove("id");
    }
    let mut command = registered_command(state, body);
    if let Some(id) = id {
        command["id"] = id.clone();
    }
    command["guild_id"] = json!(GUILD_ID.to_string());
    command["version"] = fresh_version(state);
    command
}

/// `POST`: creates, or replaces the command of the same name and type.
fn upsert(state: &FakeState, body: &Value) -> Response {
    let mut commands = state.commands.lock().unwrap();
    match commands.iter().position(|c| same_key(c, body)) {
        Some(index) => {
            let id = commands[index]["id"].clone();
            let command = stored(state, body, Some(&id));
            commands[index] = command.clone();
            json_response(StatusCode::OK, command)
        }
        None => {
            let command = stored(state, body, None);
            commands.push(command.clone());
            json_response(StatusCode::CREATED, command)
        }
    }
}

/// `PATCH`: changes the fields sent; the name must stay unique.
fn edit(state: &FakeState, id: &str, body: &Value) -> Response {
    let mut commands = state.commands.lock().unwrap();
    let Some(index) = commands.iter().position(|c| c["id"] == json!(id)) else {
        return unknown_command();
    };
    let mut command = commands[index].clone();
    for (key, value) in body.as_object().into_iter().flatten() {
        if key != "id" && key != "type" {
            command[key.as_str()] = value.clone();
        }
    }
    // Discord's answer always carries the nullable fields.
    let command = registered_command(state, super::without_nulls(command));
    if commands
        .iter()
        .enumerate()
        .any(|(i, other)| i != index && same_key(other, &command))
    {
        return duplicate_name(&command["name"]);
    }
    let mut command = command;
    command["version"] = fresh_version(state);
    commands[index] = command.clone();
    json_response(StatusCode::OK, command)
}

/// `PUT`: the body becomes the whole set; names already there keep their ids.
fn overwrite(state: &FakeState, body: &Value) -> Response {
    let bodies = body.as_array().cloned().unwrap_or_default();
    for (i, command) in bodies.iter().enumerate() {
        if bodies[..i].iter().any(|earlier| same_key(earlier, command)) {
            return duplicate_name(&command["name"]);
        }
    }
    let mut commands = state.commands.lock().unwrap();
    let replaced: Vec<Value> = bodies
        .iter()
        .map(|body| {
            let id = commands
                .iter()
                .find(|c| same_key(c, body))
                .map(|c| c["id"].clone());
            stored(state, body, id.as_ref())
        })
        .collect();
    *commands = replaced.clone();
    json_response(StatusCode::OK, Value::Array(replaced))
}
