//! docs/commands.md's claims about Add to Flipfix, each checked through the fake
//! Discord: attachments become record media and `occurred_at` is the newest
//! source's time; a 403 while reading history is explained and frees the
//! message; a thread counts as its parent for `DISCORD_ALLOWED_CHANNELS`;
//! the deferral is sent before any database work.

use std::sync::{Arc, Mutex};
use std::time::Instant;

use chrono::{DateTime, TimeZone, Utc};
use flipfix_bot::config::SettingKey;
use serde_json::{json, Value};
use sqlx::postgres::PgPoolOptions;
use sqlx::PgPool;

use super::add_to_flipfix::{bob, count, final_text, start, COMMAND};
use crate::support::add_maintainer;
use crate::support::anthropic::{FakeAnthropic, Reply};
use crate::support::fake_discord::{user_message, FakeDiscord, CHANNEL_ID};

const BOB_ID: &str = "1002000000000000001";

fn author() -> Value {
    json!({"id": BOB_ID, "username": "bob_the_fixer", "global_name": "Bob Wilson",
           "discriminator": "0", "avatar": null})
}

fn attachment(id: u64, filename: &str, content_type: &str) -> Value {
    let url = format!("https://cdn.discordapp.com/attachments/{CHANNEL_ID}/{id}/{filename}");
    json!({"id": id.to_string(), "filename": filename, "size": 2048, "url": url,
           "proxy_url": url, "content_type": content_type})
}

/// A message in CHANNEL_ID, put in the fake's history.
fn message(fake: &FakeDiscord, id: u64, content: &str, at: &str, attachments: Vec<Value>) -> Value {
    let mut message = user_message(id, CHANNEL_ID, author(), content, at, None);
    message["attachments"] = Value::Array(attachments);
    fake.add_message(CHANNEL_ID, message.clone());
    message
}

async fn active_sessions(pool: &PgPool) -> i64 {
    sqlx::query_scalar(
        "SELECT count(*) FROM review_sessions WHERE status IN ('analysing', 'reviewing')",
    )
    .fetch_one(pool)
    .await
    .unwrap()
}

#[sqlx::test(migrations = "./migrations")]
async fn attachments_become_media_and_occurred_at_is_the_newest_source(pool: PgPool) {
    let bob_id = add_maintainer(&pool, "bob_the_fixer").await;
    let fake = FakeDiscord::start().await;
    // Out of id order on purpose: the newest source is not the clicked one.
    message(
        &fake,
        101,
        "the flipper coil looks burnt",
        "2025-03-01T10:00:00Z",
        vec![attachment(901, "coil.JPG", "image/jpeg")],
    );
    message(
        &fake,
        102,
        "video of it buzzing, and the manual",
        "2025-03-01T10:09:30Z",
        vec![
            attachment(902, "buzz.mp4", "video/mp4"),
            attachment(903, "manual.txt", "text/plain"),
        ],
    );
    let target = message(
        &fake,
        103,
        "we need a new coil",
        "2025-03-01T10:05:00Z",
        vec![attachment(904, "not-a-source.png", "image/png")],
    );
    let anthropic = FakeAnthropic::start(vec![Reply::tool_use(json!({"suggestions": [{
        "kind": "part_request", "description": "New flipper coil.", "fields": {"status": "requested"},
        "source_message_ids": ["101", "102"], "author_id": BOB_ID}]}))])
    .await;
    let bot = start(&pool, &fake, &anthropic).await;
    // The attachments point at Discord's real CDN, which no test may reach.
    bot.without_vision();
    let token = fake.invoke_message_command(&bob(), COMMAND, &target);
    fake.wait_until("the card", |requests| {
        requests.iter().any(|r| {
            r.method == "PATCH"
                && r.path.contains(&token)
                && r.body["embeds"].as_array().is_some_and(|e| !e.is_empty())
        })
    })
    .await;
    let session: i64 = sqlx::query_scalar("SELECT id FROM review_sessions")
        .fetch_one(&pool)
        .await
        .unwrap();
    let click = fake.click(&bob(), &format!("ff:{session}:0:c"));
    fake.edit_of(&click).await;

    let (record, occurred_at, author): (i64, DateTime<Utc>, Option<i64>) =
        sqlx::query_as("SELECT id, occurred_at, author_maintainer_id FROM records")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(
        occurred_at,
        Utc.with_ymd_and_hms(2025, 3, 1, 10, 9, 30).unwrap(),
        "the newest source message's time"
    );
    assert_eq!(author, Some(bob_id));
    // The photo and the video of the sources (the clicked message is a
    // source too); the text file is neither.
    let media: Vec<(String, String)> = sqlx::query_as(
        "SELECT filename, url FROM record_media WHERE record_id = $1 ORDER BY filename",
    )
    .bind(record)
    .fetch_all(&pool)
    .await
    .unwrap();
    let names: Vec<&str> = media.iter().map(|(name, _)| name.as_str()).collect();
    assert_eq!(
        names,
        vec!["buzz.mp4", "coil.JPG", "not-a-source.png"],
        "{media:?}"
    );
    assert_eq!(
        media[1].1,
        format!("https://cdn.discordapp.com/attachments/{CHANNEL_ID}/901/coil.JPG")
    );
    let sources: Vec<i64> =
        sqlx::query_scalar("SELECT message_id FROM record_sources ORDER BY message_id")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(sources, vec![101, 102, 103]);
    bot.stop().await;
    fake.assert_spec_clean();
}

#[sqlx::test(migrations = "./migrations")]
async fn a_403_while_reading_history_is_explained_and_the_message_stays_free(pool: PgPool) {
    let fake = FakeDiscord::start().await;
    message(
        &fake,
        201,
        "left flipper weak",
        "2025-03-01T10:00:00Z",
        vec![],
    );
    let target = message(&fake, 202, "on Gorgar", "2025-03-01T10:01:00Z", vec![]);
    let anthropic = FakeAnthropic::start(vec![]).await;
    let bot = start(&pool, &fake, &anthropic).await;
    // The interaction says the bot may read (stale or overwritten
    // permissions); Discord refuses when it tries.
    fake.deny_history(CHANNEL_ID);
    let expected = "Discord would not let me read this conversation. I need the View Channel and Read Message History permissions here.";
    let token = fake.invoke_message_command(&bob(), COMMAND, &target);
    assert_eq!(final_text(&fake, &token).await, expected);
    let refused = fake
        .requests()
        .into_iter()
        .filter(|r| {
            r.method == "GET" && r.path.contains(&format!("/channels/{CHANNEL_ID}/messages"))
        })
        .count();
    assert!(refused >= 1, "the bot did try to read the history");
    assert_eq!(active_sessions(&pool).await, 0, "the message is not locked");
    assert!(anthropic.received().is_empty(), "no model call");
    // Another person can try again at once and gets the same explanation,
    // not "someone is already reviewing".
    let alice =
        crate::support::fake_discord::FakeUser::member(1_002_000_000_000_000_002, "alice_m");
    let again = fake.invoke_message_command(&alice, COMMAND, &target);
    assert_eq!(final_text(&fake, &again).await, expected);
    assert_eq!(count(&pool, "records").await, 0);
    bot.stop().await;
    fake.assert_spec_clean();
}

#[sqlx::test(migrations = "./migrations")]
async fn a_thread_counts_as_its_parent_channel_for_the_allow_list(pool: PgPool) {
    const THREAD: u64 = 700_000_000_000_000_050;
    let fake = FakeDiscord::start().await;
    fake.add_thread(THREAD, CHANNEL_ID);
    let mut target = user_message(
        301,
        THREAD,
        author(),
        "Gorgar drop target stuck",
        "2025-03-01T10:00:00Z",
        None,
    );
    target["channel_id"] = json!(THREAD.to_string());
    fake.add_message(THREAD, target.clone());
    let anthropic = FakeAnthropic::start(vec![Reply::tool_use(json!({"suggestions": []}))]).await;
    let bot = start(&pool, &fake, &anthropic).await;

    // Only the parent channel is allowed: the thread works.
    bot.app
        .settings
        .set(
            SettingKey::DiscordAllowedChannels,
            &CHANNEL_ID.to_string(),
            "tests",
        )
        .await
        .unwrap();
    fake.next_interaction_in(THREAD);
    let token = fake.invoke_message_command(&bob(), COMMAND, &target);
    let text = final_text(&fake, &token).await;
    assert!(!text.contains("works only in"), "{text}");
    assert_eq!(
        anthropic.received().len(),
        1,
        "the thread was analysed: {text}"
    );

    // Another channel allowed: the same thread is refused.
    bot.app
        .settings
        .set(
            SettingKey::DiscordAllowedChannels,
            "123456789012345678",
            "tests",
        )
        .await
        .unwrap();
    fake.next_interaction_in(THREAD);
    let token = fake.invoke_message_command(&bob(), COMMAND, &target);
    assert_eq!(
        final_text(&fake, &token).await,
        "Add to Flipfix works only in <#123456789012345678>."
    );
    assert_eq!(anthropic.received().len(), 1);
    bot.stop().await;
    fake.assert_spec_clean();
}

/// Instrumented, not inferred from request order: every connection the bot
/// takes from its pool (an idle one through `before_acquire`, a new one
/// through `after_connect`) is timed, and none may fall between the
/// interaction's dispatch and the fake's receipt of the deferral.
#[sqlx::test(migrations = "./migrations")]
async fn nothing_is_read_from_the_database_before_the_deferral(pool: PgPool) {
    let fake = FakeDiscord::start().await;
    let target = message(
        &fake,
        401,
        "left flipper weak on Gorgar",
        "2025-03-01T10:00:00Z",
        vec![],
    );
    let anthropic = FakeAnthropic::start(vec![Reply::tool_use(json!({"suggestions": []}))]).await;
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
    let bot = start(&counted, &fake, &anthropic).await;

    let dispatched = Instant::now();
    let token = fake.invoke_message_command(&bob(), COMMAND, &target);
    let deferral = fake
        .wait_for_request("the deferral", |r| {
            r.method == "POST" && r.path.contains(&format!("/{token}/callback"))
        })
        .await;
    assert_eq!(deferral.body["type"], json!(5), "{}", deferral.body);
    final_text(&fake, &token).await;
    let times = acquired.lock().unwrap().clone();
    let before: Vec<_> = times
        .iter()
        .filter(|t| **t >= dispatched && **t <= deferral.at)
        .collect();
    assert!(
        before.is_empty(),
        "{} connection(s) taken before the deferral",
        before.len()
    );
    // The instrument works: the checks after the deferral took connections.
    assert!(
        times.iter().any(|t| *t > deferral.at),
        "no acquisition was seen at all"
    );
    bot.stop().await;
    fake.assert_spec_clean();
}
