//! The fake Discord keeps the home server's commands with Discord's state
//! rules, so sync tests cannot pass on a fake that forgives: ids assigned,
//! `POST` an upsert by name and type (201 new, 200 replaced), a new version
//! on each edit, 404 for an unknown id, names unique per type, and `PUT`
//! keeping the ids of names it already had. Every body and answer is also
//! checked against Discord's spec (the fake's conformance layer).

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::support::fake_discord::{home_commands_path, FakeDiscord};

async fn call(
    fake: &FakeDiscord,
    method: Method,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut request = reqwest::Client::new()
        .request(method, format!("{}/api/v10{path}", fake.base_url))
        .header("Authorization", "Bot fake-token");
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.expect("the fake answers");
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

fn slash(name: &str, description: &str) -> Value {
    json!({"name": name, "type": 1, "description": description})
}

#[tokio::test]
async fn guild_commands_follow_discords_state_rules() {
    let fake = FakeDiscord::start().await;
    let list = home_commands_path();

    let (status, created) = call(&fake, Method::POST, &list, Some(slash("log", "Log work"))).await;
    assert_eq!(status, StatusCode::CREATED);
    let id = created["id"].as_str().unwrap().to_string();
    let version = created["version"].clone();

    // The same name and type again is an upsert: same id, new version.
    let (status, upserted) = call(
        &fake,
        Method::POST,
        &list,
        Some(slash("log", "Log work done")),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(upserted["id"], json!(id));
    assert_ne!(upserted["version"], version);
    // The same name with another type is another command.
    let (status, menu) = call(
        &fake,
        Method::POST,
        &list,
        Some(json!({"name": "log", "type": 3})),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    assert_ne!(menu["id"], json!(id));

    let (status, edited) = call(
        &fake,
        Method::PATCH,
        &format!("{list}/{id}"),
        Some(json!({"description": "Log what was done"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(edited["description"], json!("Log what was done"));
    assert_eq!(edited["name"], json!("log"));
    assert_ne!(edited["version"], upserted["version"]);

    // Renaming onto a taken name (same type) is refused.
    let (_, other) = call(&fake, Method::POST, &list, Some(slash("find", "Find"))).await;
    let other_id = other["id"].as_str().unwrap();
    let (status, refusal) = call(
        &fake,
        Method::PATCH,
        &format!("{list}/{other_id}"),
        Some(json!({"name": "log"})),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{refusal}");

    for method in [Method::PATCH, Method::DELETE, Method::GET] {
        let body = (method == Method::PATCH).then(|| json!({"description": "x"}));
        let (status, answer) = call(&fake, method.clone(), &format!("{list}/1"), body).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{method}");
        assert_eq!(answer["code"], json!(10063), "{method}");
    }
    let (status, _) = call(&fake, Method::DELETE, &format!("{list}/{other_id}"), None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(fake.registered_commands().len(), 2);

    // A bulk overwrite keeps the ids of names it had and drops the rest.
    let (status, set) = call(
        &fake,
        Method::PUT,
        &list,
        Some(json!([
            slash("log", "Log work"),
            slash("part", "Ask for a part")
        ])),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(set[0]["id"], json!(id));
    assert_eq!(fake.registered_commands().len(), 2);
    let (status, _) = call(
        &fake,
        Method::PUT,
        &list,
        Some(json!([slash("log", "a"), slash("log", "b")])),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "duplicate names in one set"
    );

    let writes: Vec<String> = fake
        .command_changes()
        .into_iter()
        .map(|(method, what)| format!("{method} {what}"))
        .collect();
    assert_eq!(writes[0], "POST log");
    assert_eq!(writes.iter().filter(|w| w.starts_with("PUT")).count(), 2);
    fake.assert_spec_clean();
}
