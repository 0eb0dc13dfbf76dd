//! `/flipfix links` says how each link was made, so admins can review the
//! links that older versions made by matching display names.

use flipfix_bot::catalog::links;
use flipfix_bot::config::SettingKey;
use serde_json::json;
use sqlx::PgPool;

use crate::support::add_maintainer;
use crate::support::bot::TestBot;
use crate::support::fake_discord::{FakeDiscord, FakeUser};

#[sqlx::test(migrations = "./migrations")]
async fn links_say_how_they_were_made(pool: PgPool) {
    for name in ["alice", "bob", "carol"] {
        add_maintainer(&pool, name).await;
    }
    links::link(&pool, 101, "alice_m", "alice", "discord:9 (museum_admin)")
        .await
        .unwrap();
    for (user, maintainer, method) in [(102_i64, "bob", "username"), (103, "carol", "name_match")] {
        sqlx::query(
            "INSERT INTO discord_user_links (discord_user_id, maintainer_id, discord_username, linked_by, method)
             SELECT $1, id, $2, 'auto', $3 FROM maintainers WHERE username = $2",
        )
        .bind(user)
        .bind(maintainer)
        .bind(method)
        .execute(&pool)
        .await
        .unwrap();
    }
    let fake = FakeDiscord::start().await;
    let bot = TestBot::start(pool.clone(), &fake, 1).await;
    let token = fake.invoke_slash(
        &FakeUser::admin(9, "museum_admin"),
        "flipfix",
        json!([{"type": 1, "name": "links", "options": []}]),
    );
    let reply = fake.reply(&token).await;
    assert_eq!(
        reply["embeds"][0]["description"],
        json!([
            r"<@101> → `alice` — by an admin (discord:9 \(museum\_admin\))",
            "<@102> → `bob` — by username",
            "<@103> → `carol` — ⚠️ by display name (older version): check it, then `/flipfix link` or `/flipfix unlink`",
        ]
        .join("\n"))
    );
    bot.stop().await;
    fake.assert_spec_clean();
}

const MAINTAINERS_ROLE: u64 = 720_000_000_000_000_001;

/// `/log` by `user`; returns who the record is attributed to.
async fn log_by(
    pool: &PgPool,
    fake: &FakeDiscord,
    user: &FakeUser,
    text: &str,
) -> (Option<i64>, Option<String>) {
    let token = fake.invoke_slash(
        user,
        "log",
        json!([{"type": 3, "name": "description", "value": text},
               {"type": 3, "name": "machine", "value": "gorgar"}]),
    );
    fake.reply(&token).await;
    sqlx::query_as("SELECT author_maintainer_id, author_name FROM records WHERE description = $1")
        .bind(text)
        .fetch_one(pool)
        .await
        .unwrap()
}

async fn linked_user(pool: &PgPool, maintainer: i64) -> Option<i64> {
    sqlx::query_scalar("SELECT discord_user_id FROM discord_user_links WHERE maintainer_id = $1")
        .bind(maintainer)
        .fetch_optional(pool)
        .await
        .unwrap()
}

#[sqlx::test(migrations = "./migrations")]
async fn with_a_maintainer_role_a_matching_username_links_only_a_member_holding_it(pool: PgPool) {
    crate::support::add_machine(&pool, "gorgar", "Gorgar").await;
    let ruth = add_maintainer(&pool, "ruth_ng").await;
    let carol = add_maintainer(&pool, "carol").await;
    let fake = FakeDiscord::start().await;
    let bot = TestBot::start(pool.clone(), &fake, 1).await;
    bot.app
        .settings
        .set(
            SettingKey::DiscordMaintainerRole,
            &format!("<@&{MAINTAINERS_ROLE}>"),
            "tests",
        )
        .await
        .unwrap();

    // Someone who took the free username of an old maintainer's login, but
    // was never given the role: named by handle, not linked.
    let impostor = FakeUser::member(730_000_000_000_000_001, "ruth_ng");
    let found = log_by(&pool, &fake, &impostor, "replaced the coil").await;
    assert_eq!(found, (None, Some("@ruth_ng".to_string())));
    assert_eq!(linked_user(&pool, ruth).await, None);

    // The same username with the role the admins grant: linked by id.
    let member = FakeUser::member(730_000_000_000_000_002, "ruth_ng").with_role(MAINTAINERS_ROLE);
    let found = log_by(&pool, &fake, &member, "adjusted the flipper").await;
    assert_eq!(found, (Some(ruth), None));
    assert_eq!(
        linked_user(&pool, ruth).await,
        Some(730_000_000_000_000_002)
    );

    // Unset, today's rule: a matching username is enough.
    bot.app
        .settings
        .reset(SettingKey::DiscordMaintainerRole, "tests")
        .await
        .unwrap();
    let anyone = FakeUser::member(730_000_000_000_000_003, "carol");
    let found = log_by(&pool, &fake, &anyone, "cleaned the playfield").await;
    assert_eq!(found, (Some(carol), None));
    bot.stop().await;
    fake.assert_spec_clean();
}
