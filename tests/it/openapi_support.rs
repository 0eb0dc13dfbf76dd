//! The OpenAPI checker itself: it must accept what Discord accepts and name
//! what it refuses, or every test built on it proves nothing.

use serde_json::json;

use crate::support::openapi::{find_operation, validate_request};

#[test]
fn operations_are_found_by_method_and_path() {
    let op = find_operation("POST", "/api/v10/webhooks/1/tok?wait=true").unwrap();
    assert_eq!(op.id, "execute_webhook");
    let op = find_operation("PATCH", "/api/v10/webhooks/1/tok/messages/@original").unwrap();
    assert_eq!(op.id, "update_original_webhook_message");
    let op = find_operation("POST", "/api/v10/interactions/1/tok/callback").unwrap();
    assert_eq!(op.id, "create_interaction_response");
    assert!(find_operation("POST", "/api/v10/nonsense").is_none());
}

#[test]
fn a_valid_webhook_body_passes() {
    let body = json!({
        "content": "hello",
        "embeds": [{"title": "⚠️ Gorgar", "description": "weak flipper", "color": 0xE67E22}],
        "allowed_mentions": {"parse": []}
    });
    validate_request("POST", "/api/v10/webhooks/1/tok", &body).unwrap();
}

#[test]
fn over_long_fields_are_named() {
    let body = json!({"embeds": [{"title": "x".repeat(257)}], "allowed_mentions": {"parse": []}});
    let err = validate_request("POST", "/api/v10/webhooks/1/tok", &body).unwrap_err();
    assert!(
        err.contains("execute_webhook") && err.contains("/embeds/0/title"),
        "{err}"
    );

    let body = json!({"content": "x".repeat(2001)});
    let err = validate_request("POST", "/api/v10/webhooks/1/tok", &body).unwrap_err();
    assert!(err.contains("/content"), "{err}");
}

#[test]
fn interaction_responses_are_checked() {
    let ok = json!({"type": 5, "data": {"flags": 64}});
    validate_request("POST", "/api/v10/interactions/1/tok/callback", &ok).unwrap();
    let long_custom_id = json!({"type": 4, "data": {"content": "x", "components": [{"type": 1, "components": [
        {"type": 2, "style": 1, "label": "Create", "custom_id": "c".repeat(101)}]}]}});
    let err = validate_request(
        "POST",
        "/api/v10/interactions/1/tok/callback",
        &long_custom_id,
    )
    .unwrap_err();
    assert!(err.contains("custom_id"), "{err}");
}
