//! Reload during a review (issue 26): an open review finishes on the
//! workflow version it started with (its kinds and `on_created`), a review
//! whose workflow a reload removed ends with one sentence and creates
//! nothing, and a process that did not start the review (a restart, another
//! replica) continues it only on the same version. Fake Discord and
//! Anthropic, real Postgres.

use std::sync::Arc;

use chrono::Duration;
use flipfix_bot::review::{NewSession, ReviewError, ReviewPins, ReviewStore, StartOutcome};
use flipfix_bot::runs;
use serde_json::{json, Value};
use sqlx::PgPool;

use crate::add_to_flipfix::count;
use crate::command_sync::reload;
use crate::support::anthropic::{FakeAnthropic, Reply};
use crate::support::bot::TestBot;
use crate::support::fake_discord::FakeDiscord;
use crate::support::process::{bob, flipper_message};
use crate::support::{add_machine, copy_workflows, repo_root};

const MESSAGE_ID: u64 = 1_100_000_000_000_000_001;

/// A kind of its own, suggested by the first version of the workflow.
const FEEDBACK_KIND: &str = r##"record_kinds:
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
"##;

/// The `front_desk` workflow suggesting `kind` and reacting `react`.
fn front_desk(kind: &str, react: &str) -> String {
    format!(
        r##"workflows:
  - name: front_desk
    triggers:
      - message_command: Front Desk
    gather: {{channel_before: 30, thread_messages: 50, thread_preroll: 10, reply_chain_depth: 20, reply_chain_preroll: 10, max_messages: 100}}
    analyze:
      model: claude-haiku-4-5
      max_tokens: 1024
      temperature: 0
      timeout_seconds: 30
      kinds: [{kind}]
      prompts:
        system: analysis/system.md.j2
        conversation: analysis/conversation.md.j2
      prices:
        claude-haiku-4-5: {{input: 1.00, output: 5.00, cache_write: 1.25, cache_read: 0.10}}
    on_created:
      react: "{react}"
"##
    )
}

/// The first version: its own kind, reacting 💬.
fn front_desk_v1() -> String {
    format!("{FEEDBACK_KIND}{}", front_desk("visitor_feedback", "💬"))
}

/// The next version: the kind is gone, the workflow suggests log entries
/// and reacts 👀.
fn front_desk_v2() -> String {
    front_desk("log_entry", "👀")
}

fn feedback_suggestion() -> Reply {
    Reply::tool_use(json!({"suggestions": [{"kind": "visitor_feedback",
        "description": "A visitor says the flippers on Ballyhoo feel weak",
        "source_message_ids": [MESSAGE_ID.to_string()]}]}))
}

/// A bot on a copy of the shipped workflows plus the first front-desk version, with one
/// Front Desk review open on Bob's message; returns its session id.
async fn open_front_desk_review(
    pool: &PgPool,
    fake: &FakeDiscord,
    anthropic: &FakeAnthropic,
    dir: &tempfile::TempDir,
) -> (TestBot, i64) {
    add_machine(pool, "ballyhoo", "Ballyhoo").await;
    std::fs::write(
        dir.path().join("workflows/front_desk.yaml"),
        front_desk_v1(),
    )
    .unwrap();
    let mut secrets = crate::support::bot::test_secrets(fake);
    secrets.workflows_dir = dir.path().join("workflows");
    secrets.prompts_dir = dir.path().join("prompts");
    secrets.anthropic_base_url = anthropic.base_url.clone();
    let bot = TestBot::start_with(pool.clone(), fake, 1, secrets).await;
    bot.app
        .settings
        .set(
            flipfix_bot::config::SettingKey::AnthropicApiKey,
            "sk-ant-test-key",
            "tests",
        )
        .await
        .unwrap();
    let message = flipper_message(fake, MESSAGE_ID);
    let token = fake.invoke_message_command(&bob(), "Front Desk", &message);
    fake.wait_until("the review card", |requests| {
        requests.iter().any(|r| {
            r.method == "PATCH"
                && r.path.contains(&token)
                && r.body["embeds"].as_array().is_some_and(|e| !e.is_empty())
        })
    })
    .await;
    let session: i64 = sqlx::query_scalar("SELECT id FROM review_sessions")
        .fetch_one(pool)
        .await
        .unwrap();
    (bot, session)
}

async fn run_outcome(pool: &PgPool) -> (String, String, String) {
    sqlx::query_as("SELECT workflow, outcome::text, coalesce(reason, '') FROM workflow_runs")
        .fetch_one(pool)
        .await
        .unwrap()
}

fn title(card: &Value) -> String {
    card["embeds"][0]["title"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

#[sqlx::test(migrations = "./migrations")]
async fn an_open_review_finishes_on_the_version_it_started_with(pool: PgPool) {
    let fake = FakeDiscord::start().await;
    let anthropic = FakeAnthropic::start(vec![feedback_suggestion()]).await;
    let dir = copy_workflows();
    let (bot, session) = open_front_desk_review(&pool, &fake, &anthropic, &dir).await;

    // The new version drops the kind the open review suggests.
    std::fs::write(
        dir.path().join("workflows/front_desk.yaml"),
        front_desk_v2(),
    )
    .unwrap();
    let reply = reload(&fake).await;
    assert!(reply.contains("✅ Workflows reloaded"), "{reply}");
    assert!(bot.app.workflows().kinds.get("visitor_feedback").is_none());

    let click = fake.click(&bob(), &format!("ff:{session}:0:c"));
    let summary = fake.edit_of(&click).await;
    assert!(title(&summary).contains("1 record(s) created"), "{summary}");
    let kinds: Vec<String> = sqlx::query_scalar("SELECT kind FROM records")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert_eq!(
        kinds,
        ["visitor_feedback"],
        "created on the started version"
    );
    // Its on_created is the started version's too: 💬, not 👀.
    fake.wait_until("the reaction on the source", |requests| {
        requests
            .iter()
            .any(|r| r.method == "PUT" && r.path.contains("/reactions/"))
    })
    .await;
    let emojis: Vec<String> = fake.reactions().into_iter().map(|(_, _, e)| e).collect();
    assert_eq!(emojis, [SPEECH_BALLOON], "{emojis:?}");
    let (workflow, outcome, _) = run_outcome(&pool).await;
    assert_eq!(
        (workflow.as_str(), outcome.as_str()),
        ("front_desk", "created")
    );
    bot.stop().await;
    fake.assert_spec_clean();
}

/// 💬 as serenity puts it in a reaction's path.
const SPEECH_BALLOON: &str = "%F0%9F%92%AC";

#[sqlx::test(migrations = "./migrations")]
async fn a_review_whose_workflow_was_removed_ends_with_a_sentence(pool: PgPool) {
    let fake = FakeDiscord::start().await;
    let anthropic = FakeAnthropic::start(vec![feedback_suggestion()]).await;
    let dir = copy_workflows();
    let (bot, session) = open_front_desk_review(&pool, &fake, &anthropic, &dir).await;

    std::fs::remove_file(dir.path().join("workflows/front_desk.yaml")).unwrap();
    let reply = reload(&fake).await;
    assert!(reply.contains("✅ Workflows reloaded"), "{reply}");

    let sentence = "the workflow `front_desk` was removed by a reload, so this review ended; nothing more is created from it";
    let click = fake.click(&bob(), &format!("ff:{session}:0:c"));
    let told = fake.followup_of(&click).await;
    assert_eq!(told["content"], json!(format!("❌ {sentence}.")), "{told}");
    assert_eq!(told["flags"], json!(64), "privately: {told}");
    // The card became the summary, without buttons.
    let card = fake.edit_of(&click).await;
    assert!(
        title(&card).starts_with("This review could not finish."),
        "{card}"
    );
    assert_eq!(card["components"], json!([]), "{card}");
    assert_eq!(count(&pool, "records").await, 0, "nothing created");
    let (status, reason): (String, String) =
        sqlx::query_as("SELECT status, closed_reason FROM review_sessions WHERE id = $1")
            .bind(session)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!((status.as_str(), reason.as_str()), ("failed", sentence));
    let (workflow, outcome, why) = run_outcome(&pool).await;
    assert_eq!(
        (workflow.as_str(), outcome.as_str(), why.as_str()),
        ("front_desk", "failed", sentence)
    );

    // A second click hears the same, and still creates nothing.
    let again = fake.click(&bob(), &format!("ff:{session}:0:c"));
    let told = fake.followup_of(&again).await;
    assert_eq!(told["content"], json!(format!("❌ {sentence}.")), "{told}");
    assert_eq!(count(&pool, "records").await, 0);
    assert!(
        fake.reactions().is_empty(),
        "no on_created for a removed workflow"
    );
    bot.stop().await;
    fake.assert_spec_clean();
}

/// A review with a run of `add_to_flipfix` at `version`, owned by `owner`.
async fn review_with_run(pool: &PgPool, version: &str, owner: u64) -> i64 {
    let now = crate::support::time::real_now();
    let store = ReviewStore::new(pool.clone());
    let new = NewSession {
        guild_id: None,
        channel_id: 7,
        target_message_id: 100 + owner,
        owner_user_id: owner,
        owner_name: "bob".into(),
        expires_at: now + Duration::hours(1),
    };
    let StartOutcome::Started(session) = store.start(&new, now).await.unwrap() else {
        panic!("a new review");
    };
    let run = runs::NewRun {
        workflow: "add_to_flipfix",
        version,
        trigger: runs::Trigger::MessageCommand,
        user: Some((owner, "bob")),
        guild_id: None,
        channel_id: Some(7),
        target_message_id: Some(100 + owner),
        instance: None,
    };
    let run_id = runs::start(pool, &run, now).await.unwrap();
    runs::attach_review(pool, run_id, session).await.unwrap();
    session
}

#[sqlx::test(migrations = "./migrations")]
async fn another_process_continues_a_review_only_on_its_version(pool: PgPool) {
    let now = crate::support::time::real_now();
    let shipped = flipfix_bot::template_check::load_workflows(
        &repo_root().join("workflows"),
        &repo_root().join("prompts"),
    )
    .unwrap_or_else(|problems| panic!("{problems}"));
    let version = shipped.get("add_to_flipfix").unwrap().version.clone();
    // A process that did not start the review holds no pin.
    let fresh = ReviewPins::default();

    let same = review_with_run(&pool, &version, 1).await;
    let set = fresh
        .for_action(&pool, shipped.clone(), same, 1, now)
        .await
        .unwrap();
    assert!(Arc::ptr_eq(&set, &shipped), "the same version continues");

    let older = review_with_run(&pool, "0123456789ab", 2).await;
    // Someone else's click changes nothing.
    assert!(fresh
        .for_action(&pool, shipped.clone(), older, 1, now)
        .await
        .is_ok());
    let err = fresh
        .for_action(&pool, shipped.clone(), older, 2, now)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ReviewError::WorkflowChanged { workflow } if workflow == "add_to_flipfix"),
        "{err:?}"
    );
    let (status, outcome, reason): (String, String, String) = sqlx::query_as(
        "SELECT s.status, r.outcome::text, r.reason FROM review_sessions s
         JOIN workflow_runs r ON r.review_session_id = s.id WHERE s.id = $1",
    )
    .bind(older)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!((status.as_str(), outcome.as_str()), ("failed", "failed"));
    assert_eq!(reason, err.to_string());

    // The process that started it holds its set: it continues there.
    let pinned_here = ReviewPins::default();
    let started_on = review_with_run(&pool, "0123456789ab", 3).await;
    let old_set = flipfix_bot::template_check::load_workflows(
        &repo_root().join("workflows"),
        &repo_root().join("prompts"),
    )
    .unwrap();
    pinned_here
        .pin(&pool, started_on, old_set.clone(), now)
        .await
        .unwrap();
    let set = pinned_here
        .for_action(&pool, shipped.clone(), started_on, 3, now)
        .await
        .unwrap();
    assert!(Arc::ptr_eq(&set, &old_set), "the pinned set");
}
