//! Record commands (`/problem`, …) make at most one record per interaction,
//! and a reply that fails after the record was saved says it was saved.

use serde_json::{json, Value};
use sqlx::PgPool;

use crate::support::add_machine;
use crate::support::bot::TestBot;
use crate::support::fake_discord::{FakeDiscord, FakeUser, APPLICATION_ID};

const BOB: u64 = 610_000_000_000_000_001;

fn problem_options() -> Value {
    json!([
        {"type": 3, "name": "description", "value": "Left flipper is weak"},
        {"type": 3, "name": "machine", "value": "gorgar"}])
}

async fn count(pool: &PgPool, table: &str) -> i64 {
    sqlx::query_scalar(&format!("SELECT count(*) FROM {table}"))
        .fetch_one(pool)
        .await
        .unwrap()
}

#[sqlx::test(migrations = "./migrations")]
async fn the_same_problem_interaction_dispatched_twice_makes_one_record_and_one_notification(
    pool: PgPool,
) {
    let fake = FakeDiscord::start().await;
    add_machine(&pool, "gorgar", "Gorgar").await;
    let bot = TestBot::start(pool.clone(), &fake, 1).await;
    bot.app
        .settings
        .set(
            flipfix_bot::config::SettingKey::DiscordWebhooksEnabled,
            "true",
            "tests",
        )
        .await
        .unwrap();
    let user = FakeUser::member(BOB, "bob_the_fixer");
    let token = fake.invoke_slash(&user, "problem", problem_options());
    fake.reply(&token).await;
    // The gateway delivers the same interaction again: Discord refuses its
    // second acknowledgement (40060), and the bot answers with a follow-up.
    let payload = fake.interaction_payload(&token).expect("payload");
    fake.redispatch_interaction(payload);
    fake.wait_for_request("the second delivery's follow-up", |r| {
        r.method == "POST"
            && r.path
                .ends_with(&format!("/webhooks/{APPLICATION_ID}/{token}"))
    })
    .await;
    assert_eq!(count(&pool, "records").await, 1);
    assert_eq!(count(&pool, "notification_outbox").await, 1);
    assert_eq!(count(&pool, "record_interactions").await, 1);
    let refused = fake
        .requests()
        .iter()
        .filter(|r| r.method == "POST" && r.path.contains(&format!("/{token}/callback")))
        .count();
    assert_eq!(
        refused, 2,
        "the second delivery was acknowledged again (and refused)"
    );
    bot.stop().await;
    fake.assert_spec_clean();
}

#[sqlx::test(migrations = "./migrations")]
async fn a_reply_that_fails_after_the_record_is_saved_says_it_was_saved(pool: PgPool) {
    let fake = FakeDiscord::start().await;
    add_machine(&pool, "gorgar", "Gorgar").await;
    let bot = TestBot::start(pool.clone(), &fake, 1).await;
    fake.fail_requests("PATCH", "/messages/@original", 502, 1);
    let user = FakeUser::member(BOB, "bob_the_fixer");
    let token = fake.invoke_slash(&user, "problem", problem_options());
    let followup = fake
        .wait_for_request("the follow-up", |r| {
            r.method == "POST"
                && r.path
                    .ends_with(&format!("/webhooks/{APPLICATION_ID}/{token}"))
        })
        .await;
    let id: i64 = sqlx::query_scalar("SELECT id FROM records")
        .fetch_one(&pool)
        .await
        .unwrap();
    let text = followup.body["content"].as_str().unwrap_or_default();
    assert!(
        text.contains(&format!("#{id}")) && text.contains("Saved"),
        "{text}"
    );
    assert!(
        !fake
            .requests()
            .iter()
            .any(|r| r.body.to_string().contains("Something went wrong")),
        "never 'something went wrong' after a successful write"
    );
    assert_eq!(count(&pool, "records").await, 1);
    bot.stop().await;
    fake.assert_spec_clean();
}

#[sqlx::test(migrations = "./migrations")]
async fn a_replay_discord_refuses_to_acknowledge_is_told_the_record_exists(pool: PgPool) {
    let fake = FakeDiscord::start().await;
    add_machine(&pool, "gorgar", "Gorgar").await;
    let bot = TestBot::start(pool.clone(), &fake, 1).await;
    let user = FakeUser::member(BOB, "bob_the_fixer");
    let token = fake.invoke_slash(&user, "problem", problem_options());
    fake.reply(&token).await;
    // The fake refuses a second acknowledgement of the same interaction
    // with 40060, as Discord does.
    let payload = fake.interaction_payload(&token).expect("payload");
    fake.redispatch_interaction(payload);
    let followup = fake
        .wait_for_request("the follow-up", |r| {
            r.method == "POST"
                && r.path
                    .ends_with(&format!("/webhooks/{APPLICATION_ID}/{token}"))
        })
        .await;
    let id: i64 = sqlx::query_scalar("SELECT id FROM records")
        .fetch_one(&pool)
        .await
        .unwrap();
    let text = followup.body["content"].as_str().unwrap_or_default();
    assert!(
        text.contains(&format!("already saved as record #{id}")),
        "{text}"
    );
    assert_eq!(count(&pool, "records").await, 1);
    bot.stop().await;
    fake.assert_spec_clean();
}
