//! Duplicates and follow-ups (issue #12) end to end: the "attach to #N"
//! action on a review card, and a thread whose starter already became a
//! record. Fake Discord, fake Anthropic, real Postgres, and the scenarios in
//! tests/fixtures/follow_ups/ (also through `eval` and `replay`).

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

use flipfix_bot::analysis::scenario::Scenario;
use serde_json::{json, Value};
use sqlx::PgPool;

use crate::add_to_flipfix::{bob, load_path, COMMAND};
use crate::support::anthropic::{FakeAnthropic, Reply};
use crate::support::bot::{test_secrets, TestBot};
use crate::support::fake_discord::{FakeDiscord, CHANNEL_ID};
use crate::support::{add_machine, add_maintainer, repo_root};

pub(crate) const BASE_URL: &str = "https://records.example";

pub(crate) fn fixture(dir: &str, name: &str, ext: &str) -> PathBuf {
    repo_root().join(format!("tests/fixtures/follow_ups/{dir}/{name}.{ext}"))
}

pub(crate) fn reference_answer(name: &str) -> Value {
    let text = std::fs::read_to_string(fixture("reference_answers", name, "json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// The scenario's catalog machines and its existing records, with their ids.
pub(crate) async fn seed(pool: &PgPool, scenario: &Scenario) -> HashMap<String, i64> {
    let mut machines = HashMap::new();
    for machine in &scenario.catalog.machines {
        let id = add_machine(pool, &machine.slug, &machine.name).await;
        machines.insert(machine.slug.clone(), id);
    }
    add_maintainer(pool, "bob_the_fixer").await;
    for record in &scenario.file.existing {
        let fields = BTreeMap::from_iter(record.status.iter().map(|s| ("status", s.as_str())));
        sqlx::query(
            "INSERT INTO records (id, kind, machine_id, status, description, fields, author_name, occurred_at, created_via)
             VALUES ($1, $2, $3, $4, $5, $6, 'Earlier Person', $7, 'discord_message')",
        )
        .bind(record.id)
        .bind(&record.kind)
        .bind(record.machine.as_ref().map(|slug| machines[slug]))
        .bind(&record.status)
        .bind(&record.description)
        .bind(sqlx::types::Json(fields))
        .bind(record.timestamp)
        .execute(pool)
        .await
        .unwrap();
        for message in &record.source_message_ids {
            sqlx::query(
                "INSERT INTO record_sources (record_id, channel_id, message_id) VALUES ($1, $2, $3)",
            )
            .bind(record.id)
            .bind(CHANNEL_ID as i64)
            .bind(message.parse::<i64>().unwrap())
            .execute(pool)
            .await
            .unwrap();
        }
    }
    sqlx::query("SELECT setval('records_id_seq', (SELECT max(id) FROM records))")
        .execute(pool)
        .await
        .unwrap();
    machines
}

pub(crate) async fn start(pool: &PgPool, fake: &FakeDiscord, anthropic: &FakeAnthropic) -> TestBot {
    let mut secrets = test_secrets(fake);
    secrets.anthropic_base_url = anthropic.base_url.clone();
    secrets.public_base_url = Some(crate::support::public_url(BASE_URL));
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
    bot
}

/// Invokes Add to Flipfix on the scenario's target and returns the first card.
pub(crate) async fn first_card(
    fake: &FakeDiscord,
    scenario: &Scenario,
    messages: &[Value],
) -> Value {
    let target = messages
        .iter()
        .find(|m| m["id"] == json!(scenario.file.target))
        .unwrap();
    let token = fake.invoke_message_command(&bob(), COMMAND, target);
    fake.wait_until("the first card", |requests| {
        requests.iter().any(|r| {
            r.method == "PATCH"
                && r.path.contains(&token)
                && r.body["embeds"].as_array().is_some_and(|e| !e.is_empty())
        })
    })
    .await;
    fake.edit_of(&token).await
}

pub(crate) async fn session_id(pool: &PgPool) -> i64 {
    sqlx::query_scalar("SELECT id FROM review_sessions")
        .fetch_one(pool)
        .await
        .unwrap()
}

type Row = (i64, String, Option<i64>, Option<i64>);

async fn records(pool: &PgPool) -> Vec<Row> {
    sqlx::query_as("SELECT id, kind, parent_id, machine_id FROM records ORDER BY id")
        .fetch_all(pool)
        .await
        .unwrap()
}

/// The duplicate scenario: the card says "Looks like #12" with its link and
/// offers Attach in its own row; Attach creates a log entry under #12, once,
/// and no second problem report.
#[sqlx::test(migrations = "./migrations")]
async fn duplicate_report_is_attached_to_the_open_report(pool: PgPool) {
    let name = "duplicate_report_two_days_later";
    let fake = FakeDiscord::start().await;
    let anthropic = FakeAnthropic::start(vec![Reply::body(reference_answer(name))]).await;
    let (scenario, messages) = load_path(&fake, &fixture("scenarios", name, "yaml"));
    let machines = seed(&pool, &scenario).await;
    let bot = start(&pool, &fake, &anthropic).await;

    let card = first_card(&fake, &scenario, &messages).await;
    let content = card["content"].as_str().unwrap_or_default();
    assert!(
        content.contains("Looks like #12: Left flipper on Twilight Zone is weak"),
        "{content}"
    );
    assert!(
        content.contains(&format!("{BASE_URL}/problem-reports/12/")),
        "{content}"
    );
    let session = session_id(&pool).await;
    let rows = card["components"].as_array().unwrap();
    assert_eq!(rows.len(), 3, "buttons, the priority menu, Attach: {card}");
    let attach = &rows[2]["components"];
    assert_eq!(
        attach.as_array().unwrap().len(),
        2,
        "Attach, and Attach and close, in their own row: {card}"
    );
    assert_eq!(attach[0]["custom_id"], json!(format!("ff:{session}:0:a")));
    assert!(
        attach[0]["label"].as_str().unwrap().contains("#12"),
        "{card}"
    );
    assert_eq!(attach[1]["custom_id"], json!(format!("ff:{session}:0:l")));
    assert_eq!(attach[1]["label"], json!("Attach and close #12"));

    // The model was shown the open report too.
    let prompt = anthropic.received()[0].body["messages"][0]["content"].to_string();
    assert!(
        prompt.contains("- problem_report #12, twilight-zone, open, 1 day: Left flipper"),
        "{prompt}"
    );

    for _ in 0..2 {
        let click = fake.click(&bob(), &format!("ff:{session}:0:a"));
        let summary = fake.edit_of(&click).await;
        let text = summary["embeds"][0]["description"]
            .as_str()
            .unwrap_or_default();
        assert!(text.contains("Log entry #13"), "{summary}");
    }
    // The attached log entry's source is acknowledged like a created one,
    // once for the two clicks.
    fake.wait_until("the reaction", |requests| {
        requests
            .iter()
            .any(|r| r.method == "PUT" && r.path.contains("/reactions/"))
    })
    .await;
    let reactions = fake.reactions();
    assert_eq!(reactions.len(), 1, "{reactions:?}");
    assert_eq!(reactions[0].1, "8101", "{reactions:?}");
    let tz = machines["twilight-zone"];
    assert_eq!(
        records(&pool).await,
        vec![
            (12, "problem_report".into(), None, Some(tz)),
            (13, "log_entry".into(), Some(12), Some(tz)),
        ]
    );
    let sources: Vec<i64> =
        sqlx::query_scalar("SELECT message_id FROM record_sources WHERE record_id = 13")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(sources, vec![8101]);
    // Attach (not "Attach and close") leaves the report open.
    let status: Option<String> = sqlx::query_scalar("SELECT status FROM records WHERE id = 12")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(status.as_deref(), Some("open"));
    bot.stop().await;
    fake.assert_spec_clean();
}

/// The thread follow-up scenario: the prompt names the record the starter
/// became, the reference answer's log entry on #12 validates, and Create
/// puts it under #12.
#[sqlx::test(migrations = "./migrations")]
async fn thread_follow_up_becomes_a_child_of_the_starters_record(pool: PgPool) {
    let name = "thread_follow_up_after_report";
    let fake = FakeDiscord::start().await;
    let anthropic = FakeAnthropic::start(vec![Reply::body(reference_answer(name))]).await;
    let (scenario, messages) = load_path(&fake, &fixture("scenarios", name, "yaml"));
    let machines = seed(&pool, &scenario).await;
    let bot = start(&pool, &fake, &anthropic).await;

    let card = first_card(&fake, &scenario, &messages).await;
    let prompt = anthropic.received()[0].body["messages"][0]["content"].to_string();
    assert!(
        prompt.contains("This thread started from problem_report #12 on twilight-zone (open), 2025-01-13: Left flipper"),
        "{prompt}"
    );
    // Follow-ups are no duplicates: no Attach row.
    let ids: Vec<&str> = card["components"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|row| row["components"].as_array().unwrap())
        .filter_map(|c| c["custom_id"].as_str())
        .collect();
    assert!(ids.iter().all(|id| !id.ends_with(":a")), "{card}");
    // A fix under open #12: Create is "Create and close #12" and "Create,
    // keep #12 open"; the model did not say it resolves, so keeping it
    // open is the green one.
    assert_eq!(ids.len(), 5, "the five buttons only: {card}");
    let session = session_id(&pool).await;
    assert_eq!(
        ids[..2],
        [format!("ff:{session}:0:k"), format!("ff:{session}:0:c")]
    );
    let first_row = &card["components"][0]["components"];
    assert_eq!(first_row[0]["label"], json!("Create and close #12"));
    assert_eq!(
        first_row[1]["style"],
        json!(3),
        "keep open is green: {card}"
    );
    let click = fake.click(&bob(), &format!("ff:{session}:0:c"));
    fake.edit_of(&click).await;
    let tz = machines["twilight-zone"];
    assert_eq!(
        records(&pool).await,
        vec![
            (12, "problem_report".into(), None, Some(tz)),
            (13, "log_entry".into(), Some(12), Some(tz)),
        ]
    );
    let status: Option<String> = sqlx::query_scalar("SELECT status FROM records WHERE id = 12")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(status.as_deref(), Some("open"), "kept open");
    bot.stop().await;
    fake.assert_spec_clean();
}

/// `eval` offline on the follow-up scenarios: their `existing` records reach
/// the prompt as the database would give them, and the reference answers
/// (a report offered for attaching, a log entry on the thread's #12) pass.
#[test]
fn eval_passes_the_follow_up_scenarios_offline() {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_flipfix-bot"))
        .args([
            "eval",
            "tests/fixtures/follow_ups/scenarios",
            "--responses",
            "tests/fixtures/follow_ups/reference_answers",
        ])
        .current_dir(repo_root())
        .env_remove("DATABASE_URL")
        .env("RUST_LOG", "warn")
        .output()
        .expect("run flipfix-bot");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stdout}{stderr}");
    assert!(stdout.contains("2/2 passed"), "{stdout}");

    // The thread scenario's prompt, as replay shows it, names #12.
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_flipfix-bot"))
        .args([
            "replay",
            "tests/fixtures/follow_ups/scenarios/thread_follow_up_after_report.yaml",
            "--response",
            "tests/fixtures/follow_ups/reference_answers/thread_follow_up_after_report.json",
            "--show-prompt",
        ])
        .current_dir(repo_root())
        .env_remove("DATABASE_URL")
        .env("RUST_LOG", "warn")
        .output()
        .expect("run flipfix-bot");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.contains("This thread started from problem_report #12 on twilight-zone (open)"),
        "{stdout}"
    );
}
