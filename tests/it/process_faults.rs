//! Faults that happen to a process, tried on the real binary: kill -9 mid
//! analysis, command registration failing, SIGTERM during a webhook POST.
//! Margins are generous (a loaded 2-core CI); nothing here measures speed.

use std::time::Duration;

use flipfix_bot::config::{SettingKey, Settings};
use flipfix_bot::records::create_record;
use serde_json::Value;
use sqlx::PgPool;

use crate::support::anthropic::{FakeAnthropic, Reply};
use crate::support::fake_discord::{home_commands_path, FakeDiscord};
use crate::support::fake_webhook::{self, FakeWebhook};
use crate::support::process::{bob, database_url, flipper_message, flipper_suggestion, BotProcess};
use crate::support::{add_machine, new_record, shipped_workflows};

fn target(fake: &FakeDiscord) -> Value {
    flipper_message(fake, 1_100_000_000_000_000_001)
}

fn suggestion() -> Reply {
    flipper_suggestion()
}

/// Waits until the process has synced its commands and serves.
async fn wait_serving(bot: &BotProcess) {
    assert!(
        bot.wait_for_log("serving Discord interactions", Duration::from_secs(60))
            .await,
        "{}",
        bot.stderr()
    );
}

/// The review card (an edit with embeds) for the interaction with `token`.
async fn wait_for_card(fake: &FakeDiscord, token: &str) {
    fake.wait_until("the review card", |requests| {
        requests.iter().any(|r| {
            r.method == "PATCH"
                && r.path.contains(token)
                && r.body["embeds"].as_array().is_some_and(|e| !e.is_empty())
        })
    })
    .await;
}

async fn session_statuses(pool: &PgPool) -> Vec<String> {
    sqlx::query_scalar("SELECT status FROM review_sessions ORDER BY id")
        .fetch_all(pool)
        .await
        .expect("sessions")
}

#[sqlx::test(migrations = "./migrations")]
async fn after_kill_9_mid_analysis_the_next_process_frees_the_message_and_analyses_it_again(
    pool: PgPool,
) {
    let fake = FakeDiscord::start().await;
    // The first analysis never finishes before the kill; the next is quick.
    let anthropic = FakeAnthropic::start(vec![
        Reply::Delayed(Duration::from_secs(120), Box::new(suggestion())),
        suggestion(),
    ])
    .await;
    let message = target(&fake);
    let url = database_url(&pool);
    let mut first = BotProcess::start(&url, &fake, &anthropic.base_url, &[]);
    fake.wait_for_identify(1).await;
    wait_serving(&first).await;
    fake.invoke_message_command(&bob(), "Add to Flipfix", &message);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while anthropic.received().is_empty() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the model was not asked: {}",
            first.stderr()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(session_statuses(&pool).await, vec!["analysing"]);
    first.kill9();

    let second = BotProcess::start(&url, &fake, &anthropic.base_url, &[]);
    fake.wait_for_identify(2).await;
    wait_serving(&second).await;
    let token = fake.invoke_message_command(&bob(), "Add to Flipfix", &message);
    wait_for_card(&fake, &token).await;
    assert_eq!(anthropic.received().len(), 2, "a new analysis ran");
    assert_eq!(
        session_statuses(&pool).await,
        vec!["interrupted", "reviewing"],
        "{}",
        second.stderr()
    );
    assert!(
        second
            .stderr()
            .contains("closed reviews left analysing by a process that stopped"),
        "the operator is told once: {}",
        second.stderr()
    );
    fake.assert_spec_clean();
}

#[sqlx::test(migrations = "./migrations")]
async fn command_registration_is_retried_after_two_500s_and_the_bot_serves(pool: PgPool) {
    let fake = FakeDiscord::start().await;
    fake.fail_requests("GET", &home_commands_path(), 500, 2);
    let anthropic = FakeAnthropic::start(vec![suggestion()]).await;
    let message = target(&fake);
    let bot = BotProcess::start(&database_url(&pool), &fake, &anthropic.base_url, &[]);
    fake.wait_for_identify(1).await;
    wait_serving(&bot).await;
    assert_eq!(
        fake.registrations(),
        3,
        "two failed syncs, then one that worked"
    );
    let token = fake.invoke_message_command(&bob(), "Add to Flipfix", &message);
    wait_for_card(&fake, &token).await;
    let warnings = bot
        .stderr()
        .matches("command registration failed; retrying")
        .count();
    assert_eq!(warnings, 1, "logged once: {}", bot.stderr());
}

#[sqlx::test(migrations = "./migrations")]
async fn command_registration_failing_past_the_bound_ends_the_process_naming_the_cause(
    pool: PgPool,
) {
    let fake = FakeDiscord::start().await;
    fake.fail_requests("GET", &home_commands_path(), 500, u64::MAX);
    let anthropic = FakeAnthropic::start(vec![suggestion()]).await;
    let mut bot = BotProcess::start(
        &database_url(&pool),
        &fake,
        &anthropic.base_url,
        &[("FLIPFIX_STARTUP_TIMEOUT_SECS", "4")],
    );
    let status = bot
        .wait_exit(Duration::from_secs(60))
        .await
        .unwrap_or_else(|| panic!("still running after 60 s: {}", bot.stderr()));
    assert!(!status.success(), "exits non-zero");
    let stderr = bot.stderr();
    let last = stderr
        .lines()
        .rfind(|l| l.starts_with("error:"))
        .unwrap_or_default();
    assert!(
        last.contains("command registration failed") && last.contains("500"),
        "names the cause: {stderr}"
    );
    assert!(fake.registrations() >= 2, "it retried");
}

#[sqlx::test(migrations = "./migrations")]
async fn sigterm_during_a_webhook_post_lets_it_finish_and_it_is_never_posted_twice(pool: PgPool) {
    let fake = FakeDiscord::start().await;
    let anthropic = FakeAnthropic::start(vec![suggestion()]).await;
    let webhook = FakeWebhook::start(None).await;
    webhook.script([fake_webhook::Reply::Hang(Duration::from_secs(3))]);
    let settings = Settings::new(pool.clone(), true);
    settings
        .set(SettingKey::DiscordWebhooksEnabled, "true", "test")
        .await
        .expect("enable");
    settings
        .set(SettingKey::DiscordWebhookUrl, &webhook.url("tok"), "test")
        .await
        .expect("url");
    let mut record = new_record("problem_report");
    record.machine_id = Some(add_machine(&pool, "gorgar", "Gorgar").await);
    create_record(&pool, &shipped_workflows().kinds, &record)
        .await
        .expect("record");

    let url = database_url(&pool);
    let mut bot = BotProcess::start(&url, &fake, &anthropic.base_url, &[]);
    tokio::time::timeout(Duration::from_secs(60), webhook.wait_for_started(1))
        .await
        .unwrap_or_else(|_| panic!("no POST: {}", bot.stderr()));
    bot.sigterm();
    let signalled = std::time::Instant::now();
    let status = bot
        .wait_exit(Duration::from_secs(20))
        .await
        .unwrap_or_else(|| panic!("did not exit: {}", bot.stderr()));
    println!(
        "SIGTERM during a held POST: exited {:?} after the signal",
        signalled.elapsed()
    );
    assert!(status.success(), "a clean exit: {}", bot.stderr());
    // docs/operating.md "Deployment": "exits within about 10 s" (here the POST is held 3 s).
    assert!(
        signalled.elapsed() <= Duration::from_secs(10),
        "exited {:?} after SIGTERM: {}",
        signalled.elapsed(),
        bot.stderr()
    );
    assert_eq!(webhook.delivered().len(), 1, "the held POST completed");
    let delivered: bool =
        sqlx::query_scalar("SELECT delivered_at IS NOT NULL FROM notification_outbox")
            .fetch_one(&pool)
            .await
            .expect("row");
    assert!(delivered, "marked delivered: {}", bot.stderr());

    // A restart finds nothing to post.
    let restarted = BotProcess::start(&url, &fake, &anthropic.base_url, &[]);
    assert!(
        restarted
            .wait_for_log("serving Discord interactions", Duration::from_secs(60))
            .await,
        "{}",
        restarted.stderr()
    );
    // The dispatcher's first pass runs at start: wait until it is done,
    // then nothing may have been posted again.
    assert!(
        restarted
            .wait_for_log(
                "notification dispatcher: first pass done",
                Duration::from_secs(60)
            )
            .await,
        "{}",
        restarted.stderr()
    );
    let pending: i64 =
        sqlx::query_scalar("SELECT count(*) FROM notification_outbox WHERE delivered_at IS NULL")
            .fetch_one(&pool)
            .await
            .expect("count");
    assert_eq!(pending, 0);
    assert_eq!(webhook.received().len(), 1, "no second post");
}

#[sqlx::test(migrations = "./migrations")]
async fn sigterm_during_an_analysis_closes_the_review_and_tells_the_person(pool: PgPool) {
    let fake = FakeDiscord::start().await;
    let anthropic = FakeAnthropic::start(vec![Reply::Delayed(
        Duration::from_secs(120),
        Box::new(suggestion()),
    )])
    .await;
    let message = target(&fake);
    let mut bot = BotProcess::start(&database_url(&pool), &fake, &anthropic.base_url, &[]);
    fake.wait_for_identify(1).await;
    wait_serving(&bot).await;
    let token = fake.invoke_message_command(&bob(), "Add to Flipfix", &message);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while anthropic.received().is_empty() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the model was not asked: {}",
            bot.stderr()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    bot.sigterm();
    let signalled = std::time::Instant::now();
    let status = bot
        .wait_exit(Duration::from_secs(30))
        .await
        .unwrap_or_else(|| panic!("did not exit: {}", bot.stderr()));
    assert!(status.success(), "a clean exit: {}", bot.stderr());
    println!(
        "SIGTERM during an analysis: exited {:?} after the signal",
        signalled.elapsed()
    );
    assert_eq!(session_statuses(&pool).await, vec!["interrupted"]);
    let told = fake.requests().iter().any(|r| {
        r.method == "PATCH"
            && r.path.contains(&token)
            && r.body["content"]
                .as_str()
                .is_some_and(|c| c.contains("restarting"))
    });
    assert!(told, "the person is told: {}", bot.stderr());
    fake.assert_spec_clean();
}

#[sqlx::test(migrations = "./migrations")]
async fn a_gateway_that_never_becomes_ready_ends_the_process_naming_the_cause(pool: PgPool) {
    let fake = FakeDiscord::start().await;
    fake.withhold_ready();
    let anthropic = FakeAnthropic::start(vec![suggestion()]).await;
    let mut bot = BotProcess::start(
        &database_url(&pool),
        &fake,
        &anthropic.base_url,
        &[("FLIPFIX_STARTUP_TIMEOUT_SECS", "2")],
    );
    let status = bot
        .wait_exit(Duration::from_secs(60))
        .await
        .unwrap_or_else(|| panic!("still running after 60 s: {}", bot.stderr()));
    assert!(!status.success(), "exits non-zero");
    let stderr = bot.stderr();
    let last = stderr
        .lines()
        .rfind(|l| l.starts_with("error:"))
        .unwrap_or_default();
    assert!(
        last.contains("was not READY") && last.contains("DISCORD_TOKEN"),
        "names the cause and what to check: {stderr}"
    );
    assert_eq!(fake.registrations(), 0);
}

/// `RunConfig` is built once at start: without the home server the process
/// ends at once with the one sentence that names the key, after the
/// database step, and never reaches Discord.
#[sqlx::test(migrations = "./migrations")]
async fn without_the_home_server_run_ends_at_start_naming_the_key(pool: PgPool) {
    let fake = FakeDiscord::start().await;
    let anthropic = FakeAnthropic::start(vec![]).await;
    let mut bot = BotProcess::start(
        &database_url(&pool),
        &fake,
        &anthropic.base_url,
        &[("DISCORD_GUILD_ID", "")],
    );
    let status = bot
        .wait_exit(Duration::from_secs(60))
        .await
        .unwrap_or_else(|| panic!("still running after 60 s: {}", bot.stderr()));
    assert!(!status.success(), "exits non-zero");
    let stderr = bot.stderr();
    let errors: Vec<&str> = stderr.lines().filter(|l| l.starts_with("error:")).collect();
    assert_eq!(
        errors,
        ["error: DISCORD_GUILD_ID is not set: put the home server's id in the environment or Secrets.toml (the bot serves that one server only; see docs/security.md)"],
        "{stderr}"
    );
    assert_eq!(fake.identify_count(), 0, "never connected: {stderr}");
}
