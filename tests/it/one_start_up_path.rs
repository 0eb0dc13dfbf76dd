//! One start-up path. CI ships the `flipfix-bot` binary (the Dockerfile's);
//! the Shuttle adapter (`--features shuttle`, compile-checked by `.ci/run`)
//! runs the same `serve`. This starts the shipped binary as a process, makes
//! one record through Discord, and sees exactly one webhook post for it:
//! gateway, command, record, outbox and dispatcher, all on the real path.

use std::time::Duration;

use flipfix_bot::config::{SettingKey, Settings};
use serde_json::json;
use sqlx::PgPool;

use crate::support::anthropic::FakeAnthropic;
use crate::support::fake_discord::FakeDiscord;
use crate::support::fake_webhook::FakeWebhook;
use crate::support::process::{bob, database_url, BotProcess};
use crate::support::{add_machine, repo_root};

#[sqlx::test(migrations = "./migrations")]
async fn the_shipped_binary_posts_one_webhook_message_for_one_record(pool: PgPool) {
    let fake = FakeDiscord::start().await;
    let anthropic = FakeAnthropic::start(Vec::new()).await;
    let webhook = FakeWebhook::start(None).await;
    let settings = Settings::new(pool.clone(), true);
    settings
        .set(SettingKey::DiscordWebhooksEnabled, "true", "test")
        .await
        .unwrap();
    settings
        .set(SettingKey::DiscordWebhookUrl, &webhook.url("tok"), "test")
        .await
        .unwrap();
    add_machine(&pool, "gorgar", "Gorgar").await;

    let bot = BotProcess::start(&database_url(&pool), &fake, &anthropic.base_url, &[]);
    assert!(
        bot.wait_for_log("serving Discord interactions", Duration::from_secs(60))
            .await,
        "{}",
        bot.stderr()
    );
    let token = fake.invoke_slash(
        &bob(),
        "problem",
        json!([{"type": 3, "name": "description", "value": "Left flipper is weak"},
               {"type": 3, "name": "machine", "value": "gorgar"}]),
    );
    fake.reply(&token).await;
    tokio::time::timeout(Duration::from_secs(30), webhook.wait_for_requests(1))
        .await
        .unwrap_or_else(|_| panic!("no webhook post: {}", bot.stderr()));
    // The positive signal that the dispatcher is done with the row: it is
    // marked delivered (after the POST); only then count the posts.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let delivered: Option<bool> =
            sqlx::query_scalar("SELECT delivered_at IS NOT NULL FROM notification_outbox")
                .fetch_optional(&pool)
                .await
                .unwrap();
        if delivered == Some(true) {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "{}", bot.stderr());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let records: i64 = sqlx::query_scalar("SELECT count(*) FROM records")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(records, 1);
    let posts = webhook.delivered();
    assert_eq!(posts.len(), 1, "one post for one record");
    let description = posts[0]["embeds"][0]["description"]
        .as_str()
        .unwrap_or_default();
    assert!(description.contains("Left flipper is weak"), "{}", posts[0]);
    fake.assert_spec_clean();
}

/// The Shuttle adapter cannot be started here (it needs Shuttle's
/// provisioning API, and the platform is gone), so its shape is checked:
/// it hands over to the same `serve` and builds no Discord client of its own.
#[test]
fn the_shuttle_entry_runs_the_same_serve() {
    let entry = std::fs::read_to_string(repo_root().join("src/bin/shuttle.rs")).unwrap();
    assert!(entry.contains("use flipfix_bot::serve::{serve, Signals};"));
    assert!(entry.contains("serve(&self.pool, self.secrets, signals).await?"));
    assert!(
        !entry.contains("build_client"),
        "no start-up path of its own"
    );
}
