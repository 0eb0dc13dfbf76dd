//! What the bot writes into a conversation itself: reactions on messages
//! (`PUT /channels/{c}/messages/{m}/reactions/{emoji}/@me`) and messages in
//! a channel (`POST /channels/{c}/messages`, kept in the channel's history
//! so a later analysis reads them back), and a helper that chooses an
//! option of a string select menu on a bot message.

use std::sync::atomic::Ordering;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

use super::{
    json_response, message_json, FakeDiscord, FakeState, FakeUser, RecordedRequest, BOT_USER_ID,
    GUILD_ID,
};

/// Answers the routes above; `None` for anything else.
pub(super) fn answer(
    state: &FakeState,
    request: &RecordedRequest,
    segments: &[&str],
) -> Option<Response> {
    match (request.method.as_str(), segments) {
        ("PUT", ["channels", _, "messages", _, "reactions", _, "@me"]) => {
            Some(StatusCode::NO_CONTENT.into_response())
        }
        ("POST", ["channels", channel, "messages"]) => {
            let channel_id: u64 = channel.parse().unwrap_or_default();
            let id = state.next_id.fetch_add(1, Ordering::SeqCst);
            let message = posted_message(id, channel_id, &request.body);
            state
                .channels
                .lock()
                .unwrap()
                .entry(channel_id)
                .or_default()
                .push(message.clone());
            Some(json_response(StatusCode::OK, message))
        }
        ("PATCH", ["channels", channel, "messages", message]) => {
            // An edit of a message the bot posted: content and components
            // replaced as sent, as Discord does.
            let channel_id: u64 = channel.parse().unwrap_or_default();
            let mut channels = state.channels.lock().unwrap();
            let stored = channels
                .entry(channel_id)
                .or_default()
                .iter_mut()
                .find(|m| m["id"] == json!(message));
            let Some(stored) = stored else {
                return Some(json_response(
                    StatusCode::NOT_FOUND,
                    json!({"message": "Unknown Message", "code": 10008}),
                ));
            };
            for key in ["content", "embeds"] {
                if let Some(value) = request.body.get(key) {
                    stored[key] = value.clone();
                }
            }
            if let Some(components) = request.body.get("components") {
                stored["components"] = super::with_component_ids(components.clone());
            }
            stored["edited_timestamp"] = json!(crate::support::time::real_now()
                .to_rfc3339_opts(chrono::SecondsFormat::Micros, false));
            Some(json_response(StatusCode::OK, stored.clone()))
        }
        _ => None,
    }
}

/// The message Discord returns for (and serves back from history after) a
/// `POST /channels/{id}/messages` by the bot.
fn posted_message(id: u64, channel_id: u64, body: &Value) -> Value {
    let reference = body.get("message_reference").cloned();
    let mut message = json!({
        "id": id.to_string(),
        "type": if reference.is_some() { 19 } else { 0 },
        "channel_id": channel_id.to_string(),
        "guild_id": GUILD_ID.to_string(),
        "author": super::discord_user(BOT_USER_ID, "flipfix", None, true),
        "content": body.get("content").cloned().unwrap_or(json!("")),
        "embeds": body.get("embeds").cloned().unwrap_or(json!([])),
        "components": super::with_component_ids(body.get("components").cloned().unwrap_or(json!([]))),
        "attachments": [],
        "mentions": [],
        "mention_roles": [],
        "mention_everyone": false,
        "pinned": false,
        "tts": false,
        "timestamp": crate::support::time::real_now().to_rfc3339_opts(chrono::SecondsFormat::Micros, false),
        "edited_timestamp": null,
        "flags": 0,
    });
    if let Some(reference) = reference {
        let target = reference.get("message_id").cloned().unwrap_or(Value::Null);
        message["message_reference"] =
            json!({"type": 0, "message_id": target, "channel_id": channel_id.to_string()});
    }
    message
}

impl FakeDiscord {
    /// Chooses `values` in the string select menu `custom_id` on an
    /// ephemeral bot message (a MESSAGE_COMPONENT interaction of
    /// component_type 3); returns the interaction token.
    pub fn select(&self, user: &FakeUser, custom_id: &str, values: &[&str]) -> String {
        let message = message_json(self.next_id(), &json!({"flags": 64}));
        self.interaction_with(
            user,
            3,
            json!({"custom_id": custom_id, "component_type": 3, "values": values}),
            Some(message),
        )
    }

    /// [`Self::select`] with the bot's channel permissions `app_permissions`.
    pub fn select_with(
        &self,
        user: &FakeUser,
        custom_id: &str,
        values: &[&str],
        app_permissions: &str,
    ) -> String {
        *self.state.next_app_permissions.lock().unwrap() = Some(app_permissions.to_string());
        self.select(user, custom_id, values)
    }

    /// [`Self::click`] with the bot's channel permissions `app_permissions`.
    pub fn click_with(&self, user: &FakeUser, custom_id: &str, app_permissions: &str) -> String {
        *self.state.next_app_permissions.lock().unwrap() = Some(app_permissions.to_string());
        self.click(user, custom_id)
    }

    /// The reactions the bot put on messages: `(channel, message, emoji as
    /// sent in the path, URL-encoded)`.
    pub fn reactions(&self) -> Vec<(String, String, String)> {
        self.requests()
            .into_iter()
            .filter(|r| {
                r.method == "PUT" && r.path.ends_with("/@me") && r.path.contains("/reactions/")
            })
            .filter_map(|r| {
                let segments: Vec<String> = r.path.split('/').map(str::to_string).collect();
                let at = segments.iter().position(|s| s == "channels")?;
                Some((
                    segments.get(at + 1)?.clone(),
                    segments.get(at + 3)?.clone(),
                    segments.get(at + 5)?.clone(),
                ))
            })
            .collect()
    }

    /// The messages the bot posted in channels (request bodies, with the
    /// channel id).
    pub fn channel_posts(&self) -> Vec<(u64, Value)> {
        self.requests()
            .into_iter()
            .filter(|r| r.method == "POST")
            .filter_map(|r| {
                let segments: Vec<&str> = r.path.trim_matches('/').split('/').collect();
                match segments.as_slice() {
                    [.., "channels", channel, "messages"] => {
                        Some((channel.parse().ok()?, r.body.clone()))
                    }
                    _ => None,
                }
            })
            .collect()
    }
}
