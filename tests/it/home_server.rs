//! The home server rule through the fake Discord: the bot serves only
//! `DISCORD_GUILD_ID`; every interaction from another server or a DM is
//! refused privately and changes nothing; commands live in the home server
//! only; the bot leaves servers it is added to.

use std::collections::BTreeMap;

use chrono::Duration;
use flipfix_bot::config::SettingKey;
use flipfix_bot::discord::home::REFUSAL;
use flipfix_bot::records::{Author, SourceMessage};
use flipfix_bot::review::{NewSession, ReviewItem, ReviewStore, StartOutcome};
use serde_json::{json, Value};
use sqlx::PgPool;

use crate::support::anthropic::{FakeAnthropic, Reply};
use crate::support::bot::{test_secrets, TestBot};
use crate::support::fake_discord::{user_message, FakeDiscord, FakeUser, CHANNEL_ID, GUILD_ID};
use crate::support::{add_machine, add_maintainer};

const OTHER_GUILD: u64 = 900_000_000_000_000_001;
const INTRUDER: u64 = 900_000_000_000_000_002;

/// An admin of the other server.
fn intruder() -> FakeUser {
    FakeUser::admin(INTRUDER, "other_server_admin")
}

async fn counts(pool: &PgPool) -> BTreeMap<&'static str, i64> {
    let mut counts = BTreeMap::new();
    for table in [
        "settings",
        "settings_history",
        "records",
        "discord_user_links",
        "machines",
        "maintainers",
        "review_items",
        "llm_usage",
        "llm_reservations",
        "notification_outbox",
    ] {
        let count: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM {table}"))
            .fetch_one(pool)
            .await
            .unwrap_or_else(|err| panic!("{table}: {err}"));
        counts.insert(table, count);
    }
    counts
}

/// The private refusal the bot sent as the interaction's first answer.
async fn assert_refused(fake: &FakeDiscord, token: &str) {
    let callback = fake.callback(token).await;
    assert_eq!(
        callback["type"],
        json!(4),
        "an immediate message: {callback}"
    );
    assert_eq!(callback["data"]["content"], json!(REFUSAL));
    assert_eq!(callback["data"]["flags"], json!(64), "private");
    assert_eq!(
        callback["data"]["allowed_mentions"],
        json!({"parse": [], "roles": [], "users": []}),
        "no mentions"
    );
}

async fn open_review(pool: &PgPool, machine_id: i64) -> i64 {
    let store = ReviewStore::new(pool.clone());
    let new = NewSession {
        guild_id: Some(GUILD_ID),
        channel_id: CHANNEL_ID,
        target_message_id: 3,
        owner_user_id: INTRUDER,
        owner_name: "someone".into(),
        expires_at: crate::support::time::real_now() + Duration::hours(1),
    };
    let StartOutcome::Started(id) = store
        .start(&new, crate::support::time::real_now())
        .await
        .unwrap()
    else {
        panic!("not started")
    };
    let item = ReviewItem {
        kind: "problem_report".into(),
        machine_id: Some(machine_id),
        machine_hint: None,
        description: "Left flipper weak".into(),
        fields: BTreeMap::new(),
        parent_record_id: None,
        sources: vec![SourceMessage {
            guild_id: Some(GUILD_ID),
            channel_id: CHANNEL_ID,
            message_id: 3,
        }],
        author: Author::Name("someone".into()),
        author_hint: None,
        occurred_at: crate::support::time::real_now(),
        media: Vec::new(),
        resolves: false,
    };
    store.set_items(id, &[(item, None)]).await.unwrap();
    id
}

#[sqlx::test(migrations = "./migrations")]
async fn every_interaction_from_another_server_is_refused_and_changes_nothing(pool: PgPool) {
    let gorgar = add_machine(&pool, "gorgar", "Gorgar").await;
    add_maintainer(&pool, "ruth").await;
    let anthropic = FakeAnthropic::start(vec![Reply::tool_use(json!({"suggestions": []}))]).await;
    let fake = FakeDiscord::start().await;
    let mut secrets = test_secrets(&fake);
    secrets.anthropic_base_url = anthropic.base_url.clone();
    let bot = TestBot::start_with(pool.clone(), &fake, 1, secrets).await;
    let review = open_review(&pool, gorgar).await;
    let before = counts(&pool).await;

    let author = json!({"id": "900000000000000003", "username": "someone", "discriminator": "0", "global_name": null, "avatar": null});
    let message = user_message(
        900_000_000_000_000_010,
        CHANNEL_ID,
        author,
        "Gorgar left flipper is weak",
        "2026-11-24T10:00:00+00:00",
        None,
    );
    fake.add_message(CHANNEL_ID, message.clone());
    let attachment = fake.add_attachment("machines.json", "[]");
    let attachment_id = fake.next_id().to_string();

    let sub = |group: &str, name: &str, options: Value| json!([{"type": 2, "name": group, "options": [{"type": 1, "name": name, "options": options}]}]);
    let mut tokens = Vec::new();
    for guild in [Some(OTHER_GUILD), None] {
        let slash = [
            (
                "flipfix",
                sub(
                    "config",
                    "set",
                    json!([{"type": 3, "name": "key", "value": "DISCORD_WEBHOOK_URL"},
                           {"type": 3, "name": "value", "value": "https://discord.com/api/webhooks/1/stolen"}]),
                ),
            ),
            (
                "flipfix",
                json!([{"type": 1, "name": "link", "options": [
                    {"type": 6, "name": "user", "value": INTRUDER.to_string()},
                    {"type": 3, "name": "maintainer", "value": "ruth"}]}]),
            ),
            (
                "problem",
                json!([{"type": 3, "name": "description", "value": "junk"},
                       {"type": 3, "name": "machine", "value": "gorgar"}]),
            ),
            ("close", json!([{"type": 4, "name": "id", "value": 1}])),
            ("reopen", json!([{"type": 4, "name": "id", "value": 1}])),
        ];
        for (name, options) in slash {
            fake.next_interaction_from(guild);
            tokens.push(fake.invoke_slash(&intruder(), name, options));
        }
        // The import, with its attachment resolved as Discord sends it.
        fake.next_interaction_from(guild);
        tokens.push(fake.interaction(
            &intruder(),
            2,
            json!({
                "id": fake.command_id("flipfix"), "name": "flipfix", "type": 1,
                "options": [{"type": 1, "name": "import", "options": [
                    {"type": 4, "name": "kind", "value": 0},
                    {"type": 11, "name": "file", "value": attachment_id.clone()}]}],
                "resolved": {"attachments": {attachment_id.clone(): {
                    "id": attachment_id, "filename": "machines.json", "size": 2,
                    "url": attachment, "proxy_url": attachment}}}
            }),
        ));
        fake.next_interaction_from(guild);
        tokens.push(fake.invoke_message_command(&intruder(), "Add to Flipfix", &message));
        fake.next_interaction_from(guild);
        tokens.push(fake.click(&intruder(), &format!("ff:{review}:0:c")));
        fake.next_interaction_from(guild);
        tokens.push(fake.submit_modal(
            &intruder(),
            &format!("ff:{review}:0:m"),
            &[("description", "rewritten"), ("machine", "gorgar")],
        ));
    }
    for token in &tokens {
        assert_refused(&fake, token).await;
    }

    // Autocomplete cannot carry a message: its one choice says why.
    fake.next_interaction_from(Some(OTHER_GUILD));
    let token = fake.invoke_autocomplete(
        &intruder(),
        "problem",
        json!([{"type": 3, "name": "machine", "value": "gor", "focused": true}]),
    );
    let callback = fake.callback(&token).await;
    assert_eq!(callback["type"], json!(8));
    assert_eq!(
        callback["data"]["choices"],
        json!([{"name": "flipfix-bot serves one Discord server only", "value": "-"}])
    );

    assert_eq!(counts(&pool).await, before, "nothing changed");
    assert!(
        anthropic.received().is_empty(),
        "the model was never called"
    );
    let status: String = sqlx::query_scalar("SELECT status FROM review_sessions WHERE id = $1")
        .bind(review)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(status, "reviewing", "the home review is untouched");
    assert!(
        !fake
            .requests()
            .iter()
            .any(|r| r.path.contains("/attachments/")),
        "the import attachment was never fetched"
    );

    // The same admin command from the home server works.
    let token = fake.invoke_slash(
        &FakeUser::admin(INTRUDER + 10, "museum_admin"),
        "flipfix",
        sub(
            "config",
            "set",
            json!([{"type": 3, "name": "key", "value": "DISCORD_BOT_ENABLED"},
                   {"type": 3, "name": "value", "value": "false"}]),
        ),
    );
    let reply = fake.reply(&token).await;
    assert!(
        reply["content"]
            .as_str()
            .unwrap_or_default()
            .starts_with("✅ `DISCORD_BOT_ENABLED` is now"),
        "{reply}"
    );
    bot.stop().await;
    fake.assert_spec_clean();
}

#[sqlx::test(migrations = "./migrations")]
async fn commands_live_in_the_home_server_only(pool: PgPool) {
    let fake = FakeDiscord::start().await;
    // Left over from an earlier version that registered globally.
    fake.set_global_commands(vec![json!({
        "id": "1", "application_id": "2", "version": "1", "type": 1,
        "name": "flipfix", "description": "old"
    })]);
    let bot = TestBot::start(pool.clone(), &fake, 1).await;
    fake.wait_until("the global commands removed", |requests| {
        requests.iter().any(|r| {
            r.method == "PUT"
                && r.path.ends_with(&format!(
                    "/applications/{}/commands",
                    crate::support::fake_discord::APPLICATION_ID
                ))
        })
    })
    .await;
    assert_eq!(fake.global_commands(), Vec::<Value>::new());
    // Every command went to the home server, one create each, none global
    // and no bulk overwrite.
    let home = crate::support::fake_discord::home_commands_path();
    let writes: Vec<(String, String)> = fake
        .requests()
        .iter()
        .filter(|r| r.method != "GET" && r.path.contains("/commands"))
        .filter(|r| {
            !r.path.ends_with(&format!(
                "/applications/{}/commands",
                crate::support::fake_discord::APPLICATION_ID
            ))
        })
        .map(|r| (r.method.clone(), r.path.clone()))
        .collect();
    assert!(!writes.is_empty());
    assert!(
        writes
            .iter()
            .all(|(method, path)| method == "POST" && path.ends_with(&home)),
        "{writes:?}"
    );
    assert_eq!(writes.len(), fake.registered_commands().len());

    // The home server is bootstrap configuration, not a setting.
    let token = fake.invoke_slash(
        &FakeUser::admin(INTRUDER, "museum_admin"),
        "flipfix",
        json!([{"type": 2, "name": "config", "options": [{"type": 1, "name": "set", "options": [
            {"type": 3, "name": "key", "value": "DISCORD_GUILD_ID"},
            {"type": 3, "name": "value", "value": OTHER_GUILD.to_string()}]}]}]),
    );
    let reply = fake.reply(&token).await;
    assert_eq!(
        reply["content"],
        json!("❌ DISCORD_GUILD_ID is not a setting: the home server is set in the environment or Secrets.toml only, so no one can move the bot or its data from Discord")
    );
    let settings: i64 = sqlx::query_scalar("SELECT count(*) FROM settings")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(settings, 0);
    bot.stop().await;
    fake.assert_spec_clean();
}

#[sqlx::test(migrations = "./migrations")]
async fn the_bot_leaves_a_server_it_is_added_to(pool: PgPool) {
    let logs = crate::support::logs::CapturedLogs::capture();
    let fake = FakeDiscord::start().await;
    let bot = TestBot::start(pool.clone(), &fake, 1).await;
    let leave_path = format!("/api/v10/users/@me/guilds/{OTHER_GUILD}");

    // The home server's GUILD_CREATE is just the home server.
    fake.guild_create(GUILD_ID, "Pinball Museum");
    fake.guild_create(OTHER_GUILD, "Somebody's server");
    fake.wait_for_request("leaving the other server", |r| {
        r.method == "DELETE" && r.path == leave_path
    })
    .await;
    let leaves: Vec<String> = fake
        .requests()
        .iter()
        .filter(|r| r.method == "DELETE" && r.path.starts_with("/api/v10/users/@me/guilds/"))
        .map(|r| r.path.clone())
        .collect();
    assert_eq!(leaves, vec![leave_path.clone()], "never the home server");

    // With DISCORD_LEAVE_OTHER_SERVERS off it stays (and still refuses).
    bot.app
        .settings
        .set(SettingKey::DiscordLeaveOtherServers, "false", "tests")
        .await
        .unwrap();
    fake.guild_create(OTHER_GUILD + 1, "Another server");
    // An interaction dispatched after the GUILD_CREATE is handled after it.
    fake.next_interaction_from(Some(OTHER_GUILD + 1));
    let token = fake.invoke_slash(
        &intruder(),
        "flipfix",
        json!([{"type": 1, "name": "status", "options": []}]),
    );
    assert_refused(&fake, &token).await;
    // Events are handled concurrently: wait for the bot's decision on the
    // GUILD_CREATE (its warning that it stays), then look for a leave.
    let stays = format!("guild_id={}", OTHER_GUILD + 1);
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(60);
    while !logs
        .text()
        .lines()
        .any(|line| line.contains(&stays) && line.contains("DISCORD_LEAVE_OTHER_SERVERS is off"))
    {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the bot never decided to stay: {}",
            logs.text()
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(
        !fake
            .requests()
            .iter()
            .any(|r| r.method == "DELETE" && r.path.ends_with(&(OTHER_GUILD + 1).to_string())),
        "stayed in the server"
    );
    bot.stop().await;
    fake.assert_spec_clean();
}
