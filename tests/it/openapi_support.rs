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

#[test]
fn unknown_body_fields_are_reported_through_refs_and_unions() {
    use crate::support::openapi::check_request;
    // Webhook body: `anyOf` of two `$ref`s; the embed is an item of an array.
    let body = json!({
        "content": "x",
        "allowed_mentions": {"parse": []},
        "embeds": [{"title": "t", "colour": 1}],
        "tts_typo": true,
    });
    let problems = check_request("POST", "/api/v10/webhooks/1/tok", &body);
    assert_eq!(problems.len(), 2, "{problems:#?}");
    assert!(problems[0].contains("/embeds/0/colour"), "{problems:#?}");
    assert!(problems[1].contains("/tts_typo"), "{problems:#?}");
    // Interaction callback: `oneOf` by type, nested components.
    let body = json!({"type": 4, "data": {"content": "x", "components": [{"type": 1, "components": [
        {"type": 2, "style": 1, "label": "Create", "custom_id": "ff:1:0:c", "labell": "typo"}]}]}});
    let problems = check_request("POST", "/api/v10/interactions/1/tok/callback", &body);
    assert_eq!(problems.len(), 1, "{problems:#?}");
    assert!(
        problems[0].contains("/data/components/0/components/0/labell"),
        "{problems:#?}"
    );
    // Declared fields, maps (`additionalProperties`) and the serenity
    // habits Discord accepts pass.
    let body = json!({"type": 4, "data": {"content": "x", "flags": 64, "allowed_mentions": {"parse": []},
        "embeds": [{"title": "t", "thumbnail": {"url": "https://cdn.example/x.png", "proxy_url": null}}]}});
    let problems = check_request("POST", "/api/v10/interactions/1/tok/callback", &body);
    assert!(problems.is_empty(), "{problems:#?}");
    let body = json!([{"name": "x", "description": "d", "type": 1, "nsfw": false,
        "name_localizations": {"fr": "x"},
        "options": [{"type": 3, "name": "o", "description": "d", "options": []}]}]);
    let problems = check_request("PUT", "/api/v10/applications/1/guilds/2/commands", &body);
    assert!(problems.is_empty(), "{problems:#?}");
}

#[test]
fn routes_and_methods_the_spec_lacks_are_refused() {
    use crate::support::openapi::{check_request, check_route, RouteRefusal};
    let refusal = check_route("GET", "/api/v10/nonsense/route").unwrap_err();
    assert!(
        matches!(refusal, RouteRefusal::UnknownRoute(_)),
        "{refusal:?}"
    );
    assert_eq!(refusal.status(), 404);
    // `/channels/{id}/messages` exists, but not with PUT.
    let refusal = check_route("PUT", "/api/v10/channels/1/messages").unwrap_err();
    assert!(
        matches!(refusal, RouteRefusal::MethodNotAllowed(_)),
        "{refusal:?}"
    );
    assert_eq!(refusal.status(), 405);
    // A bodiless request is checked too.
    let problems = check_request("DELETE", "/api/v10/gateway/bot", &serde_json::Value::Null);
    assert_eq!(problems.len(), 1, "{problems:#?}");
}

/// The deliberate fault: a request Discord does not have reaches the fake.
/// It answers as Discord would (404/405 with a message), records the
/// violation, and a test that did not take it fails when the fake drops.
#[tokio::test]
async fn the_fake_refuses_a_non_spec_request_and_fails_the_test() {
    use crate::support::fake_discord::FakeDiscord;
    let fake = FakeDiscord::start().await;
    let client = reqwest::Client::new();
    let answer = client
        .get(format!("{}/api/v10/nonsense/route", fake.base_url))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status().as_u16(), 404);
    let text = answer.text().await.unwrap();
    assert!(text.contains("no such route in Discord's API"), "{text}");
    let answer = client
        .put(format!("{}/api/v10/channels/1/messages", fake.base_url))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status().as_u16(), 405);

    let clean = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| fake.assert_spec_clean()));
    let message = clean.expect_err("assert_spec_clean must fail");
    let message = message
        .downcast_ref::<String>()
        .cloned()
        .unwrap_or_default();
    assert!(
        message.contains("GET /api/v10/nonsense/route: no such route")
            && message.contains("PUT /api/v10/channels/1/messages: Discord's API has"),
        "{message}"
    );
    // Forgetting `assert_spec_clean` does not help: the drop fails.
    let dropped = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| drop(fake)));
    assert!(dropped.is_err(), "dropping a fake with violations fails");

    // And a test that takes the violations it caused on purpose passes.
    let fake = FakeDiscord::start().await;
    client
        .get(format!("{}/api/v10/nonsense/route", fake.base_url))
        .send()
        .await
        .unwrap();
    assert_eq!(fake.take_violations().len(), 1);
    drop(fake);
}
