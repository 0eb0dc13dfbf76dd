//! Acceptance for hot reload of workflow commands: a running bot, a new
//! workflow file with a new kind (and its record command) dropped in, the
//! message command renamed, then `/flipfix workflows reload`. Without a
//! restart the new commands are registered (one create each), the old ones
//! are not re-created, and invoking them works through the bot's own
//! dispatcher. Fake Discord and Anthropic, real Postgres.

use flipfix_bot::config::SettingKey;
use serde_json::{json, Value};
use sqlx::PgPool;

use crate::command_sync::reload;
use crate::support::anthropic::FakeAnthropic;
use crate::support::bot::{test_secrets, TestBot};
use crate::support::fake_discord::{FakeDiscord, FakeUser};
use crate::support::process::{bob, flipper_message, flipper_suggestion};
use crate::support::{add_machine, copy_workflows};

/// A new kind in its own file, with its own record command.
const VISITOR_FEEDBACK: &str = r##"# Feedback from visitors, taken at the front desk.
record_kinds:
  - name: visitor_feedback
    label: Visitor feedback
    emoji: "💬"
    link_path: feedback
    web: members
    machine: optional
    description:
      label: What the visitor said
      max_length: 1000
    color: "#9b59b6"
    templates:
      card: cards/record.md.j2
      notification: notifications/record.md.j2
    command:
      name: feedback
      description: Note what a visitor said about a machine
"##;

fn text_of(reply: &Value) -> String {
    let mut text = reply["content"].as_str().unwrap_or_default().to_string();
    for embed in reply["embeds"].as_array().into_iter().flatten() {
        text.push('\n');
        text.push_str(embed["title"].as_str().unwrap_or_default());
    }
    text
}

#[sqlx::test(migrations = "./migrations")]
async fn a_dropped_in_workflow_file_gets_its_commands_on_reload_without_a_restart(pool: PgPool) {
    add_machine(&pool, "ballyhoo", "Ballyhoo").await;
    let fake = FakeDiscord::start().await;
    let anthropic = FakeAnthropic::start(vec![flipper_suggestion()]).await;
    let dir = copy_workflows();
    let mut secrets = test_secrets(&fake);
    secrets.workflows_dir = dir.path().join("workflows");
    secrets.prompts_dir = dir.path().join("prompts");
    secrets.anthropic_base_url = anthropic.base_url.clone();
    let bot = TestBot::start_with(pool.clone(), &fake, 1, secrets).await;
    bot.app
        .settings
        .set(SettingKey::AnthropicApiKey, "sk-ant-test-key", "tests")
        .await
        .unwrap();
    let old_menu_id = fake.command_id("Add to Flipfix");
    let kept: Vec<(String, Value)> = fake
        .registered_commands()
        .iter()
        .filter(|c| c["name"] != "Add to Flipfix")
        .map(|c| (c["name"].as_str().unwrap().to_string(), c["id"].clone()))
        .collect();
    let writes_before = fake.command_changes().len();

    // The new file, and the message command renamed.
    std::fs::write(
        dir.path().join("workflows/visitor_feedback.yaml"),
        VISITOR_FEEDBACK,
    )
    .unwrap();
    let menu = dir.path().join("workflows/add_to_flipfix.yaml");
    let text = std::fs::read_to_string(&menu).unwrap();
    std::fs::write(
        &menu,
        text.replace(
            "message_command: Add to Flipfix",
            "message_command: Save to Flipfix",
        ),
    )
    .unwrap();

    let reply = reload(&fake).await;
    assert!(reply.contains("✅ Workflows reloaded"), "{reply}");
    assert!(reply.contains("visitor_feedback"), "{reply}");
    assert!(reply.contains("2 commands created, 1 deleted"), "{reply}");
    let mut changes = fake.command_changes()[writes_before..].to_vec();
    changes.sort();
    assert_eq!(
        changes,
        vec![
            ("DELETE".to_string(), old_menu_id.clone()),
            ("POST".to_string(), "Save to Flipfix".to_string()),
            ("POST".to_string(), "feedback".to_string()),
        ],
        "one create per new command, the old one deleted, nothing else re-created"
    );
    for (name, id) in &kept {
        assert_eq!(&json!(fake.command_id(name)), id, "{name} kept its id");
    }

    // The new record command works at once.
    let token = fake.invoke_slash(
        &bob(),
        "feedback",
        json!([{"type": 3, "name": "description", "value": "The left flipper feels weak"},
               {"type": 3, "name": "machine", "value": "ballyhoo"}]),
    );
    let answer = text_of(&fake.reply(&token).await);
    assert!(answer.contains("✅ Recorded by"), "{answer}");
    assert!(answer.contains("Visitor feedback"), "{answer}");
    let kinds: Vec<String> = sqlx::query_scalar("SELECT kind FROM records")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert_eq!(kinds, vec!["visitor_feedback"]);
    // Its machine option autocompletes, through the same dispatcher.
    let token = fake.invoke_autocomplete(
        &bob(),
        "feedback",
        json!([{"type": 3, "name": "machine", "value": "bally", "focused": true}]),
    );
    let choices = fake.callback(&token).await;
    assert_eq!(choices["type"], json!(8), "{choices}");
    assert_eq!(
        choices["data"]["choices"][0]["value"],
        json!("ballyhoo"),
        "{choices}"
    );

    // The renamed message command analyses and opens a review.
    let message = flipper_message(&fake, 1_100_000_000_000_000_001);
    let token = fake.invoke_message_command(&bob(), "Save to Flipfix", &message);
    fake.wait_until("the review card", |requests| {
        requests.iter().any(|r| {
            r.method == "PATCH"
                && r.path.contains(&token)
                && r.body["embeds"].as_array().is_some_and(|e| !e.is_empty())
        })
    })
    .await;
    assert_eq!(anthropic.received().len(), 1);

    // A client still showing the old name is told, privately.
    let mut data = json!({"id": old_menu_id, "name": "Add to Flipfix", "type": 3,
        "target_id": message["id"], "resolved": {"messages": {}}});
    data["resolved"]["messages"][message["id"].as_str().unwrap()] = message.clone();
    let token = fake.interaction(
        &FakeUser::member(1_002_000_000_000_000_002, "carol"),
        2,
        data,
    );
    let callback = fake.callback(&token).await;
    assert_eq!(callback["data"]["flags"], json!(64), "{callback}");
    assert!(
        callback["data"]["content"]
            .as_str()
            .unwrap_or_default()
            .contains("no longer offered"),
        "{callback}"
    );
    assert_eq!(anthropic.received().len(), 1, "no analysis for it");

    // Reloading again changes nothing and writes nothing.
    let writes = fake.command_changes().len();
    let reply = reload(&fake).await;
    assert!(reply.contains("commands unchanged"), "{reply}");
    assert_eq!(fake.command_changes().len(), writes);
    bot.stop().await;
    fake.assert_spec_clean();
}
