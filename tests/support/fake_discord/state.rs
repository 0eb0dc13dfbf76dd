//! Discord's answers that depend on state the fake keeps: an
//! interaction acknowledged once, and the channels it knows.

use axum::http::StatusCode;
use axum::response::Response;
use serde_json::json;

use super::{json_response, FakeState, RecordedRequest, CHANNEL_ID};

/// Discord's answers that depend on an interaction's state: a second
/// callback is refused with 40060, and the interaction's webhook (edits of
/// the original response, follow-ups) does not exist before the callback.
pub(super) fn interaction_state(
    state: &FakeState,
    request: &RecordedRequest,
    segments: &[&str],
) -> Option<Response> {
    let acknowledged = |token: &str| state.acknowledged.lock().unwrap().contains(token);
    match (request.method.as_str(), segments) {
        ("POST", ["interactions", _, token, "callback"]) if acknowledged(token) => {
            Some(json_response(
                StatusCode::BAD_REQUEST,
                json!({"message": "Interaction has already been acknowledged.", "code": 40060}),
            ))
        }
        (_, ["webhooks", _, token, ..])
            if state.interaction_tokens.lock().unwrap().contains(*token)
                && !acknowledged(token) =>
        {
            Some(json_response(
                StatusCode::NOT_FOUND,
                json!({"message": "Unknown Webhook", "code": 10015}),
            ))
        }
        _ => None,
    }
}

/// A channel the fake does not know is Discord's 404 Unknown Channel.
pub(super) fn unknown_channel(
    state: &FakeState,
    request: &RecordedRequest,
    segments: &[&str],
) -> Option<Response> {
    let ["channels", channel, ..] = segments else {
        return None;
    };
    let id: u64 = channel.parse().unwrap_or_default();
    let threads = state.threads.lock().unwrap();
    let known = id == CHANNEL_ID
        || state.channels.lock().unwrap().contains_key(&id)
        || threads.contains_key(&id)
        || threads.values().any(|parent| *parent == id)
        || state.denied_history.lock().unwrap().contains(&id);
    (request.method == "GET" && !known).then(|| {
        json_response(
            StatusCode::NOT_FOUND,
            json!({"message": "Unknown Channel", "code": 10003}),
        )
    })
}
