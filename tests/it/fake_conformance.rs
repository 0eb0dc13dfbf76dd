//! The fake Discord answers as Discord does, and says so when it does not:
//! its canned answers are checked against the spec's response schemas, the
//! query string and `Authorization` header against the operation, and the
//! interaction's state (one acknowledgement, no edit before it). Each check
//! here fails if the fake stops making it.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::support::fake_discord::{user_message, FakeDiscord, APPLICATION_ID, CHANNEL_ID};
use crate::support::openapi::check_response;

const BOT: &str = "Bot fake-token";

async fn call(
    fake: &FakeDiscord,
    method: reqwest::Method,
    path: &str,
    authorization: Option<&str>,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut request = reqwest::Client::new().request(method, format!("{}{path}", fake.base_url));
    if let Some(authorization) = authorization {
        request = request.header("Authorization", authorization);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.expect("the fake answers");
    let status = response.status();
    let body = response.json().await.unwrap_or(Value::Null);
    (status, body)
}

#[test]
fn a_user_without_discords_required_fields_is_not_a_valid_answer() {
    let message = |author: Value| {
        json!({"id": "1", "type": 0, "channel_id": "2", "author": author, "content": "",
               "embeds": [], "components": [], "attachments": [], "mentions": [],
               "mention_roles": [], "mention_everyone": false, "pinned": false, "tts": false,
               "timestamp": "2026-01-01T00:00:00+00:00", "edited_timestamp": null, "flags": 0})
    };
    let path = "/api/v10/channels/2/messages/1";
    let bare = message(json!({"id": "3", "username": "bob", "discriminator": "0",
                              "global_name": null, "avatar": null}));
    let problems = check_response("GET", path, 200, &bare);
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(problems[0].contains("/author"), "{problems:?}");
    let full = message(crate::support::fake_discord::discord_user(
        3, "bob", None, false,
    ));
    assert_eq!(
        check_response("GET", path, 200, &full),
        Vec::<String>::new()
    );
    // A status the operation never answers, and a body on a 204.
    assert!(!check_response("GET", path, 201, &full).is_empty());
    assert!(!check_response(
        "POST",
        "/api/v10/interactions/1/t/callback",
        204,
        &json!({})
    )
    .is_empty());
}

#[tokio::test]
async fn an_invalid_canned_answer_is_a_violation_of_the_test_that_got_it() {
    let fake = FakeDiscord::start().await;
    // A message a test stored by hand, without `author` or `timestamp`.
    fake.add_message(CHANNEL_ID, json!({"id": "42", "content": "hi"}));
    let (status, _) = call(
        &fake,
        reqwest::Method::GET,
        &format!("/api/v10/channels/{CHANNEL_ID}/messages/42"),
        Some(BOT),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let violations = fake.take_violations();
    assert_eq!(violations.len(), 1, "{violations:?}");
    assert!(
        violations[0].contains("get_message") && violations[0].contains("is not Discord's"),
        "{violations:?}"
    );

    // The builder's message is what Discord sends.
    let author = json!({"id": "3", "username": "bob"});
    fake.add_message(
        CHANNEL_ID,
        user_message(
            43,
            CHANNEL_ID,
            author,
            "hi",
            "2026-01-01T00:00:00+00:00",
            None,
        ),
    );
    call(
        &fake,
        reqwest::Method::GET,
        &format!("/api/v10/channels/{CHANNEL_ID}/messages/43"),
        Some(BOT),
        None,
    )
    .await;
    assert_eq!(fake.take_violations(), Vec::<String>::new());
}

#[tokio::test]
async fn queries_bodies_and_authorization_are_checked_against_the_operation() {
    let fake = FakeDiscord::start().await;
    let history = format!("/api/v10/channels/{CHANNEL_ID}/messages");
    for (query, ok) in [
        ("limit=100", true),
        ("limit=0", false),
        ("limit=101", false),
        ("count=5", false),
    ] {
        let (status, body) = call(
            &fake,
            reqwest::Method::GET,
            &format!("{history}?{query}"),
            Some(BOT),
            None,
        )
        .await;
        let violations = fake.take_violations();
        if ok {
            assert_eq!((status, violations), (StatusCode::OK, vec![]), "{query}");
        } else {
            assert_eq!(status, StatusCode::BAD_REQUEST, "{query}");
            assert_eq!(body["code"], 50035, "{query}");
            assert_eq!(violations.len(), 1, "{query}: {violations:?}");
            assert!(violations[0].contains("query"), "{violations:?}");
        }
    }

    // A body on an operation that takes none.
    call(
        &fake,
        reqwest::Method::GET,
        &history,
        Some(BOT),
        Some(json!({"limit": 5})),
    )
    .await;
    let violations = fake.take_violations();
    assert!(
        violations
            .iter()
            .any(|v| v.contains("a body sent to an operation that takes none")),
        "{violations:?}"
    );

    // No token, or a bearer token where only the bot's is accepted.
    for authorization in [None, Some("Bearer user-token"), Some("fake-token")] {
        let (status, _) = call(&fake, reqwest::Method::GET, &history, authorization, None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{authorization:?}");
        let violations = fake.take_violations();
        assert!(
            violations.len() == 1 && violations[0].contains("Authorization"),
            "{authorization:?}: {violations:?}"
        );
    }
    // Interaction callbacks need no token.
    let token = fake.undelivered_interaction_token();
    let (status, _) = call(
        &fake,
        reqwest::Method::POST,
        &format!("/api/v10/interactions/1/{token}/callback"),
        None,
        Some(json!({"type": 5})),
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(fake.take_violations(), Vec::<String>::new());
}

#[tokio::test]
async fn an_interaction_is_acknowledged_once_and_edited_only_after() {
    let fake = FakeDiscord::start().await;
    let token = fake.undelivered_interaction_token();
    let original = format!("/api/v10/webhooks/{APPLICATION_ID}/{token}/messages/@original");
    let followup = format!("/api/v10/webhooks/{APPLICATION_ID}/{token}");
    let callback = format!("/api/v10/interactions/1/{token}/callback");
    let edit = json!({"content": "done"});

    // Before the callback the interaction's webhook does not exist.
    let (status, body) = call(
        &fake,
        reqwest::Method::PATCH,
        &original,
        Some(BOT),
        Some(edit.clone()),
    )
    .await;
    assert_eq!(
        (status, &body["code"]),
        (StatusCode::NOT_FOUND, &json!(10015))
    );
    let (status, body) = call(
        &fake,
        reqwest::Method::POST,
        &followup,
        Some(BOT),
        Some(edit.clone()),
    )
    .await;
    assert_eq!(
        (status, &body["code"]),
        (StatusCode::NOT_FOUND, &json!(10015))
    );

    let defer = json!({"type": 5});
    let (status, _) = call(
        &fake,
        reqwest::Method::POST,
        &callback,
        None,
        Some(defer.clone()),
    )
    .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    let (status, body) = call(&fake, reqwest::Method::POST, &callback, None, Some(defer)).await;
    assert_eq!(
        (status, &body["code"]),
        (StatusCode::BAD_REQUEST, &json!(40060))
    );

    // After it, edits and follow-ups work; the answer carries component ids
    // and no interaction token.
    let with_button = json!({"content": "done", "components": [{"type": 1, "components": [
        {"type": 2, "style": 1, "label": "Edit", "custom_id": "e"}]}]});
    let (status, message) = call(
        &fake,
        reqwest::Method::PATCH,
        &original,
        Some(BOT),
        Some(with_button),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(message["components"][0]["id"], 1);
    assert_eq!(message["components"][0]["components"][0]["id"], 2);
    assert!(message.get("interaction_token").is_none(), "{message}");
    let (status, _) = call(
        &fake,
        reqwest::Method::POST,
        &followup,
        Some(BOT),
        Some(edit),
    )
    .await;
    assert_eq!(status, StatusCode::OK);

    // A channel the fake does not know is Discord's Unknown Channel.
    let (status, body) = call(
        &fake,
        reqwest::Method::GET,
        "/api/v10/channels/12345",
        Some(BOT),
        None,
    )
    .await;
    assert_eq!(
        (status, &body["code"]),
        (StatusCode::NOT_FOUND, &json!(10003))
    );
    assert_eq!(fake.take_violations(), Vec::<String>::new());
}

#[tokio::test]
async fn the_fake_webhook_refuses_a_body_discord_would_refuse_without_being_asked() {
    use crate::support::fake_webhook::FakeWebhook;
    let fake = FakeWebhook::start(None).await;
    let post = |body: Value| {
        reqwest::Client::new()
            .post(format!("{}?wait=true", fake.url("tok")))
            .json(&body)
            .send()
    };
    let ok = post(json!({"content": "hi", "allowed_mentions": {"parse": []}}))
        .await
        .unwrap();
    assert_eq!(ok.status(), StatusCode::OK);
    let long_title = "x".repeat(257);
    let refused = post(json!({"embeds": [{"title": long_title}]}))
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
    let body: Value = refused.json().await.unwrap();
    assert_eq!(body["code"], 50035);
    let violations = fake.violations();
    assert!(
        violations.len() == 1 && violations[0].contains("/embeds/0/title"),
        "{violations:?}"
    );
}

#[test]
fn the_model_fakes_check_the_top_level_of_a_request() {
    use crate::support::anthropic_request::violations;
    use crate::support::openai_spec::check_chat_request;
    let tool = json!({"name": "record", "description": "d", "input_schema": {"type": "object"}});
    let anthropic = json!({
        "model": "claude-haiku-4-5", "max_tokens": 100,
        "messages": [{"role": "user", "content": "hi"}],
        "tools": [tool], "tool_choice": {"type": "tool", "name": "record"},
    });
    assert_eq!(violations(&anthropic), Vec::<String>::new());
    let broken = |edit: &dyn Fn(&mut Value)| {
        let mut body = anthropic.clone();
        edit(&mut body);
        violations(&body)
    };
    let missing = broken(&|b| {
        b.as_object_mut().unwrap().remove("max_tokens");
    });
    assert!(
        missing.iter().any(|v| v.contains("`max_tokens` missing")),
        "{missing:?}"
    );
    let missing = broken(&|b| {
        b.as_object_mut().unwrap().remove("model");
    });
    assert!(
        missing.iter().any(|v| v.contains("`model` missing")),
        "{missing:?}"
    );
    let unknown = broken(&|b| b["max_tokens_to_sample"] = json!(5));
    assert!(
        unknown
            .iter()
            .any(|v| v.contains("unknown key `max_tokens_to_sample`")),
        "{unknown:?}"
    );
    let undeclared = broken(&|b| b["tool_choice"]["name"] = json!("other"));
    assert!(
        undeclared
            .iter()
            .any(|v| v.contains("not a tool the request declares")),
        "{undeclared:?}"
    );

    let openai = json!({
        "model": "gpt-4o-mini", "max_tokens": 100,
        "messages": [{"role": "user", "content": "hi"}],
        "tools": [{"type": "function", "function": {"name": "record", "parameters": {"type": "object"}}}],
        "tool_choice": {"type": "function", "function": {"name": "record"}},
    });
    assert_eq!(check_chat_request(&openai), Vec::<String>::new());
    let mut body = openai.clone();
    body["tool_choice"]["function"]["name"] = json!("other");
    body.as_object_mut().unwrap().remove("max_tokens");
    body["frobnicate"] = json!(true);
    let problems = check_chat_request(&body).join("\n");
    assert!(
        problems.contains("not a tool the request declares"),
        "{problems}"
    );
    assert!(problems.contains("neither max_tokens"), "{problems}");
    assert!(problems.contains("frobnicate"), "{problems}");
    let mut body = openai;
    body.as_object_mut().unwrap().remove("model");
    assert!(check_chat_request(&body).join("\n").contains("model"));
}
