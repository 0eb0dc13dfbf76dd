//! `/flipfix links` says how each link was made, so admins can review the
//! links that older versions made by matching display names.

use flipfix_bot::catalog::links;
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
