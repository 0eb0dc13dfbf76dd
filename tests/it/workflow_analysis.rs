//! Workflows as plugins, acceptance: each workflow's message command runs
//! ITS analysis. Two workflows with different system prompts, models and
//! kinds, each with its own message command: the fake model API receives
//! each one's own system prompt, model and tool schema, and records are
//! created. A workflow scoped to another channel is refused, and a daily
//! cap once reached refuses the next run. Fake Discord and Anthropic, real
//! Postgres.

use flipfix_bot::config::SettingKey;
use serde_json::{json, Value};
use sqlx::PgPool;

use crate::support::anthropic::{FakeAnthropic, Reply};
use crate::support::bot::{test_secrets, TestBot};
use crate::support::fake_discord::{FakeDiscord, RecordedRequest};
use crate::support::process::{bob, flipper_message, flipper_suggestion};
use crate::support::{add_machine, add_maintainer, copy_workflows};

/// A second workflow with its own command, prompt, model and kinds (capped
/// at one run a day), and a third that runs only in another channel.
const QUICK_LOG: &str = r##"workflows:
  - name: quick_log
    triggers:
      - message_command: Quick Log
    daily_cap: {runs: 1}
    gather: {channel_before: 30, thread_messages: 50, thread_preroll: 10, reply_chain_depth: 20, reply_chain_preroll: 10, max_messages: 100}
    analyze:
      model: claude-3-5-haiku
      max_tokens: 1024
      temperature: 0
      timeout_seconds: 30
      kinds: [log_entry]
      prompts:
        system: analysis/quick_system.md.j2
        conversation: analysis/conversation.md.j2
      prices:
        claude-3-5-haiku: {input: 0.80, output: 4.00, cache_write: 1.00, cache_read: 0.08}
  - name: elsewhere_log
    triggers:
      - message_command: Elsewhere Log
    channels: [424242424242424242]
    gather: {channel_before: 30, thread_messages: 50, thread_preroll: 10, reply_chain_depth: 20, reply_chain_preroll: 10, max_messages: 100}
    analyze:
      model: claude-3-5-haiku
      max_tokens: 1024
      temperature: 0
      timeout_seconds: 30
      kinds: [log_entry]
      prompts:
        system: analysis/quick_system.md.j2
        conversation: analysis/conversation.md.j2
      prices:
        claude-3-5-haiku: {input: 0.80, output: 4.00, cache_write: 1.00, cache_read: 0.08}
"##;

const QUICK_SYSTEM: &str = "You are Quick Log. Record only what was done, as log entries.\n";

fn log_suggestion() -> Reply {
    Reply::tool_use(
        json!({"suggestions": [{"kind": "log_entry", "machine": "ballyhoo",
        "description": "Replaced the flipper rubbers", "source_message_ids": []}]}),
    )
}

async fn card_shown(fake: &FakeDiscord, token: &str) {
    let token = token.to_string();
    fake.wait_until("the review card", move |requests: &[RecordedRequest]| {
        requests.iter().any(|r| {
            r.method == "PATCH"
                && r.path.contains(&token)
                && r.body["embeds"].as_array().is_some_and(|e| !e.is_empty())
        })
    })
    .await;
}

/// The kinds the tool schema lets the model suggest, as JSON text.
fn tool_schema(body: &Value) -> String {
    body["tools"][0]["input_schema"].to_string()
}

fn system_text(body: &Value) -> String {
    body["system"].to_string()
}

#[sqlx::test(migrations = "./migrations")]
async fn each_message_command_runs_its_own_workflows_analysis(pool: PgPool) {
    add_machine(&pool, "ballyhoo", "Ballyhoo").await;
    add_maintainer(&pool, "bob_the_fixer").await;
    let fake = FakeDiscord::start().await;
    let anthropic = FakeAnthropic::start(vec![flipper_suggestion(), log_suggestion()]).await;
    let dir = copy_workflows();
    std::fs::write(dir.path().join("workflows/quick_log.yaml"), QUICK_LOG).unwrap();
    std::fs::write(
        dir.path().join("prompts/analysis/quick_system.md.j2"),
        QUICK_SYSTEM,
    )
    .unwrap();
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
    for name in ["Add to Flipfix", "Quick Log", "Elsewhere Log"] {
        assert!(
            !fake.command_id(name).is_empty(),
            "{name} is registered as its own message command"
        );
    }

    // Add to Flipfix: the shipped prompt, model and kinds.
    let first = flipper_message(&fake, 1_100_000_000_000_000_001);
    let token = fake.invoke_message_command(&bob(), "Add to Flipfix", &first);
    card_shown(&fake, &token).await;
    // Quick Log: its own.
    let second = flipper_message(&fake, 1_100_000_000_000_000_002);
    let token = fake.invoke_message_command(&bob(), "Quick Log", &second);
    card_shown(&fake, &token).await;

    let received = anthropic.received();
    assert_eq!(received.len(), 2);
    let (add, quick) = (&received[0].body, &received[1].body);
    assert_eq!(add["model"], json!("claude-haiku-4-5"));
    assert_eq!(quick["model"], json!("claude-3-5-haiku"));
    assert!(!system_text(add).contains("You are Quick Log"), "{add}");
    assert!(system_text(quick).contains("You are Quick Log"), "{quick}");
    assert!(tool_schema(add).contains("problem_report"), "{add}");
    assert!(tool_schema(quick).contains("log_entry"), "{quick}");
    for other in ["problem_report", "part_request"] {
        assert!(
            !tool_schema(quick).contains(other),
            "Quick Log's schema offers only its kinds: {quick}"
        );
    }

    // Quick Log's suggestion is created from its review.
    let session: i64 = sqlx::query_scalar(
        "SELECT review_session_id FROM workflow_runs WHERE workflow = 'quick_log'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    let click = fake.click(&bob(), &format!("ff:{session}:0:c"));
    fake.edit_of(&click).await;
    let kinds: Vec<String> = sqlx::query_scalar("SELECT kind FROM records")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert_eq!(kinds, vec!["log_entry"]);

    // A workflow scoped to another channel refuses here, in one sentence.
    let third = flipper_message(&fake, 1_100_000_000_000_000_003);
    let token = fake.invoke_message_command(&bob(), "Elsewhere Log", &third);
    let reply = fake.reply(&token).await;
    assert_eq!(
        reply["content"],
        json!("`elsewhere_log` does not run in this channel.")
    );
    // Quick Log's cap (one run a day) is reached.
    let token = fake.invoke_message_command(&bob(), "Quick Log", &third);
    let reply = fake.reply(&token).await;
    assert_eq!(
        reply["content"],
        json!("`quick_log` has reached its 1 runs for today; try again tomorrow.")
    );
    assert_eq!(anthropic.received().len(), 2, "no model call for refusals");
    let refused: Vec<String> = sqlx::query_scalar(
        "SELECT workflow FROM workflow_runs WHERE outcome = 'refused' ORDER BY id",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(refused, vec!["elsewhere_log", "quick_log"]);
    bot.stop().await;
    fake.assert_spec_clean();
}
