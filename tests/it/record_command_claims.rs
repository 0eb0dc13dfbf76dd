//! docs/commands.md on record commands (`/problem` …): they obey
//! `DISCORD_ALLOWED_CHANNELS` like Add to Flipfix, and acknowledge before
//! any database work.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use flipfix_bot::config::SettingKey;
use serde_json::{json, Value};
use sqlx::postgres::PgPoolOptions;
use sqlx::PgPool;

use crate::support::add_machine;
use crate::support::bot::TestBot;
use crate::support::fake_discord::{FakeDiscord, FakeUser, CHANNEL_ID};

fn bob() -> FakeUser {
    FakeUser::member(610_000_000_000_000_001, "bob_the_fixer")
}

fn problem() -> Value {
    json!([
        {"type": 3, "name": "description", "value": "Left flipper is weak"},
        {"type": 3, "name": "machine", "value": "gorgar"}])
}

async fn records(pool: &PgPool) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM records")
        .fetch_one(pool)
        .await
        .unwrap()
}

#[sqlx::test(migrations = "./migrations")]
async fn a_record_command_outside_the_allowed_channels_is_refused_and_saves_nothing(pool: PgPool) {
    let fake = FakeDiscord::start().await;
    add_machine(&pool, "gorgar", "Gorgar").await;
    let bot = TestBot::start(pool.clone(), &fake, 1).await;
    let elsewhere = CHANNEL_ID + 100;
    bot.app
        .settings
        .set(
            SettingKey::DiscordAllowedChannels,
            &elsewhere.to_string(),
            "tests",
        )
        .await
        .unwrap();
    let token = fake.invoke_slash(&bob(), "problem", problem());
    let reply = fake.reply(&token).await;
    let text = reply["content"].as_str().unwrap_or_default();
    assert!(
        text.contains(&format!("works only in <#{elsewhere}>")),
        "{reply}"
    );
    assert_eq!(records(&pool).await, 0, "nothing saved");

    // In an allowed channel the same command saves the record.
    bot.app
        .settings
        .set(
            SettingKey::DiscordAllowedChannels,
            &CHANNEL_ID.to_string(),
            "tests",
        )
        .await
        .unwrap();
    let token = fake.invoke_slash(&bob(), "problem", problem());
    fake.reply(&token).await;
    assert_eq!(records(&pool).await, 1);
    bot.stop().await;
    fake.assert_spec_clean();
}

#[sqlx::test(migrations = "./migrations")]
async fn a_record_command_is_acknowledged_before_any_database_work(pool: PgPool) {
    let fake = FakeDiscord::start().await;
    add_machine(&pool, "gorgar", "Gorgar").await;
    // Every connection the bot takes is timed (as in add_to_flipfix_claims).
    let acquired: Arc<Mutex<Vec<Instant>>> = Arc::default();
    let (on_connect, on_acquire) = (acquired.clone(), acquired.clone());
    let counted = PgPoolOptions::new()
        .max_connections(4)
        .after_connect(move |_, _| {
            let log = on_connect.clone();
            Box::pin(async move {
                log.lock().unwrap().push(Instant::now());
                Ok(())
            })
        })
        .before_acquire(move |_, _| {
            let log = on_acquire.clone();
            Box::pin(async move {
                log.lock().unwrap().push(Instant::now());
                Ok(true)
            })
        })
        .connect_with((*pool.connect_options()).clone())
        .await
        .unwrap();
    let bot = TestBot::start(counted, &fake, 1).await;

    let dispatched = Instant::now();
    let token = fake.invoke_slash(&bob(), "problem", problem());
    let deferral = fake
        .wait_for_request("the deferral", |r| {
            r.method == "POST" && r.path.contains(&format!("/{token}/callback"))
        })
        .await;
    assert_eq!(deferral.body["type"], json!(5), "{}", deferral.body);
    fake.reply(&token).await;
    let times = acquired.lock().unwrap().clone();
    let before = times
        .iter()
        .filter(|t| **t >= dispatched && **t <= deferral.at)
        .count();
    assert_eq!(before, 0, "connection(s) taken before the deferral");
    assert!(
        times.iter().any(|t| *t > deferral.at),
        "the instrument works: the record was saved after it"
    );
    assert_eq!(records(&pool).await, 1);
    bot.stop().await;
    fake.assert_spec_clean();
}
