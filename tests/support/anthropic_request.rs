//! The content blocks of a Messages API request, checked against the
//! request types of Anthropic's official Python SDK, anthropic-sdk-python
//! v0.121.0 (commit 009b035), `src/anthropic/types/`:
//!
//! - `message_param.py` `MessageParam`: `role` (`user`, `assistant`,
//!   `system`) and `content` (a string or a list of blocks), both required.
//! - `text_block_param.py` `TextBlockParam`: `type: "text"`, `text: str`
//!   required; `cache_control`, `citations` optional.
//! - `image_block_param.py` `ImageBlockParam`: `type: "image"`, `source`
//!   required; `cache_control` optional.
//! - `base64_image_source_param.py` `Base64ImageSourceParam`:
//!   `type: "base64"`, `media_type` one of `image/jpeg`, `image/png`,
//!   `image/gif`, `image/webp`, and `data` (base64) all required.
//! - `url_image_source_param.py` `URLImageSourceParam`: `type: "url"`,
//!   `url` required.
//! - `cache_control_ephemeral_param.py` `CacheControlEphemeralParam`:
//!   `type: "ephemeral"` required, `ttl` `5m` or `1h` optional.
//!
//! TypedDicts allow no other keys. The bot sends only text and image
//! blocks, so any other block type is reported too.

use base64::Engine;
use serde_json::{Map, Value};

/// `message_create_params.py` `MessageCreateParamsBase`: the top-level keys
/// (`model`, `max_tokens` and `messages` required; TypedDicts allow no
/// other keys).
const TOP_REQUIRED: [&str; 3] = ["model", "max_tokens", "messages"];
const TOP_OPTIONAL: [&str; 14] = [
    "system",
    "metadata",
    "stop_sequences",
    "stream",
    "temperature",
    "top_k",
    "top_p",
    "tools",
    "tool_choice",
    "thinking",
    "service_tier",
    "container",
    "mcp_servers",
    "context_management",
];

/// Every way `body` breaks those types, each naming where (`messages[0].content[2].source.media_type`).
pub fn violations(body: &Value) -> Vec<String> {
    let mut found = Vec::new();
    let Some(top) = object("body", body, &mut found) else {
        return found;
    };
    keys("body", top, &TOP_REQUIRED, &TOP_OPTIONAL, &mut found);
    if !top.get("model").is_none_or(Value::is_string) {
        found.push("model: not a string".into());
    }
    if top
        .get("max_tokens")
        .is_some_and(|v| v.as_u64().is_none_or(|n| n == 0))
    {
        found.push("max_tokens: not a positive integer".into());
    }
    tool_choice(top, &mut found);
    match body.get("system") {
        None | Some(Value::String(_)) => {}
        Some(Value::Array(blocks)) => {
            for (i, block) in blocks.iter().enumerate() {
                text_block(&format!("system[{i}]"), block, &mut found);
            }
        }
        Some(_) => found.push("system: neither a string nor a list of text blocks".into()),
    }
    let Some(messages) = body.get("messages").and_then(Value::as_array) else {
        found.push("messages: missing or not a list".into());
        return found;
    };
    for (i, message) in messages.iter().enumerate() {
        message_param(&format!("messages[{i}]"), message, &mut found);
    }
    found
}

/// `tool_choice_param.py`: `auto`, `any`, `none`, or `tool` with the `name`
/// of a tool the request declares.
fn tool_choice(top: &Map<String, Value>, found: &mut Vec<String>) {
    let Some(choice) = top.get("tool_choice") else {
        return;
    };
    let Some(choice) = object("tool_choice", choice, found) else {
        return;
    };
    match choice.get("type").and_then(Value::as_str) {
        Some("auto" | "any") => keys(
            "tool_choice",
            choice,
            &["type"],
            &["disable_parallel_tool_use"],
            found,
        ),
        Some("none") => keys("tool_choice", choice, &["type"], &[], found),
        Some("tool") => {
            keys(
                "tool_choice",
                choice,
                &["type", "name"],
                &["disable_parallel_tool_use"],
                found,
            );
            let name = choice
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let declared = top
                .get("tools")
                .and_then(Value::as_array)
                .is_some_and(|tools| tools.iter().any(|t| t["name"] == name));
            if !declared {
                found.push(format!(
                    "tool_choice.name: {name:?} is not a tool the request declares"
                ));
            }
        }
        other => found.push(format!(
            "tool_choice.type: {other:?} is not auto, any, tool or none"
        )),
    }
}

fn object<'a>(
    at: &str,
    value: &'a Value,
    found: &mut Vec<String>,
) -> Option<&'a Map<String, Value>> {
    let object = value.as_object();
    if object.is_none() {
        found.push(format!("{at}: not an object"));
    }
    object
}

/// Required keys present, no keys beyond `required` and `optional`.
fn keys(
    at: &str,
    object: &Map<String, Value>,
    required: &[&str],
    optional: &[&str],
    found: &mut Vec<String>,
) {
    for key in required {
        if !object.contains_key(*key) {
            found.push(format!("{at}: required key `{key}` missing"));
        }
    }
    for key in object.keys() {
        if !required.contains(&key.as_str()) && !optional.contains(&key.as_str()) {
            found.push(format!("{at}: unknown key `{key}`"));
        }
    }
}

fn literal(
    at: &str,
    object: &Map<String, Value>,
    key: &str,
    allowed: &[&str],
    found: &mut Vec<String>,
) {
    match object.get(key) {
        Some(Value::String(value)) if allowed.contains(&value.as_str()) => {}
        Some(value) => found.push(format!("{at}.{key}: {value} is not one of {allowed:?}")),
        None => {}
    }
}

fn message_param(at: &str, value: &Value, found: &mut Vec<String>) {
    let Some(message) = object(at, value, found) else {
        return;
    };
    keys(at, message, &["content", "role"], &[], found);
    literal(at, message, "role", &["user", "assistant", "system"], found);
    match message.get("content") {
        Some(Value::String(_)) | None => {}
        Some(Value::Array(blocks)) => {
            for (i, block) in blocks.iter().enumerate() {
                content_block(&format!("{at}.content[{i}]"), block, found);
            }
        }
        Some(other) => found.push(format!(
            "{at}.content: {other} is neither a string nor a list"
        )),
    }
}

fn content_block(at: &str, value: &Value, found: &mut Vec<String>) {
    match value.get("type").and_then(Value::as_str) {
        Some("text") => text_block(at, value, found),
        Some("image") => image_block(at, value, found),
        Some(other) => found.push(format!(
            "{at}: block type `{other}` is not one the bot sends"
        )),
        None => found.push(format!("{at}: block without a `type`")),
    }
}

fn text_block(at: &str, value: &Value, found: &mut Vec<String>) {
    let Some(block) = object(at, value, found) else {
        return;
    };
    keys(
        at,
        block,
        &["text", "type"],
        &["cache_control", "citations"],
        found,
    );
    literal(at, block, "type", &["text"], found);
    if block.get("text").is_some_and(|t| !t.is_string()) {
        found.push(format!("{at}.text: not a string"));
    }
    if let Some(cache) = block.get("cache_control") {
        cache_control(&format!("{at}.cache_control"), cache, found);
    }
    if block
        .get("citations")
        .is_some_and(|c| !c.is_null() && !c.is_array())
    {
        found.push(format!("{at}.citations: neither null nor a list"));
    }
}

fn image_block(at: &str, value: &Value, found: &mut Vec<String>) {
    let Some(block) = object(at, value, found) else {
        return;
    };
    keys(at, block, &["source", "type"], &["cache_control"], found);
    literal(at, block, "type", &["image"], found);
    if let Some(cache) = block.get("cache_control") {
        cache_control(&format!("{at}.cache_control"), cache, found);
    }
    let Some(source) = block.get("source") else {
        return;
    };
    let at = format!("{at}.source");
    let Some(source) = object(&at, source, found) else {
        return;
    };
    match source.get("type").and_then(Value::as_str) {
        Some("base64") => {
            keys(&at, source, &["data", "media_type", "type"], &[], found);
            literal(
                &at,
                source,
                "media_type",
                &["image/jpeg", "image/png", "image/gif", "image/webp"],
                found,
            );
            match source.get("data").and_then(Value::as_str) {
                Some(data)
                    if base64::engine::general_purpose::STANDARD
                        .decode(data)
                        .is_ok() => {}
                Some(_) => found.push(format!("{at}.data: not valid base64")),
                None if source.contains_key("data") => {
                    found.push(format!("{at}.data: not a string"))
                }
                None => {}
            }
        }
        Some("url") => {
            keys(&at, source, &["type", "url"], &[], found);
            if source.get("url").is_some_and(|u| !u.is_string()) {
                found.push(format!("{at}.url: not a string"));
            }
        }
        _ => found.push(format!("{at}.type: neither `base64` nor `url`")),
    }
}

fn cache_control(at: &str, value: &Value, found: &mut Vec<String>) {
    if value.is_null() {
        return;
    }
    let Some(cache) = object(at, value, found) else {
        return;
    };
    keys(at, cache, &["type"], &["ttl"], found);
    literal(at, cache, "type", &["ephemeral"], found);
    literal(at, cache, "ttl", &["5m", "1h"], found);
}
