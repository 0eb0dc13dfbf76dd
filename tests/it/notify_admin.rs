//! `/flipfix notifications list | retry | drop` and the failed count in
//! `/flipfix status`, through the fake Discord with real Postgres. Every
//! request the bot makes is checked against Discord's OpenAPI spec.

use serde_json::{json, Value};
use sqlx::PgPool;

use crate::support::bot::TestBot;
use crate::support::fake_discord::{FakeDiscord, FakeUser};

const ADMIN: u64 = 600_000_000_000_000_001;
const MEMBER: u64 = 600_000_000_000_000_002;

fn admin() -> FakeUser {
    FakeUser::admin(ADMIN, "museum_admin")
}

fn notifications(name: &str, options: Value) -> Value {
    json!([{"type": 2, "name": "notifications", "options": [{"type": 1, "name": name, "options": options}]}])
}

fn text_of(reply: &Value) -> String {
    let mut text = reply["content"].as_str().unwrap_or_default().to_string();
    for embed in reply["embeds"].as_array().into_iter().flatten() {
        text.push('\n');
        text.push_str(embed["title"].as_str().unwrap_or_default());
        text.push('\n');
        text.push_str(embed["description"].as_str().unwrap_or_default());
    }
    text
}

async fn run(fake: &FakeDiscord, user: &FakeUser, options: Value) -> (String, Value) {
    let token = fake.invoke_slash(user, "flipfix", options);
    let reply = fake.reply(&token).await;
    (text_of(&reply), reply)
}

/// An outbox row for a new record; failed with `error` when given.
async fn outbox_row(pool: &PgPool, error: Option<&str>) -> (i64, i64) {
    let record = sqlx::query_scalar::<_, i64>(
        "INSERT INTO records (kind, description, author_name, occurred_at, created_via)
         VALUES ('part_request', 'x', 'Bob', now(), 'cli') RETURNING id",
    )
    .fetch_one(pool)
    .await
    .unwrap();
    let id = sqlx::query_scalar::<_, i64>(
        "INSERT INTO notification_outbox (record_id, attempts, last_error, failed_at, created_at)
         VALUES ($1, CASE WHEN $2::TEXT IS NULL THEN 0 ELSE 5 END, $2,
                 CASE WHEN $2::TEXT IS NULL THEN NULL ELSE now() END, now() - interval '2 hours')
         RETURNING id",
    )
    .bind(record)
    .bind(error)
    .fetch_one(pool)
    .await
    .unwrap();
    (id, record)
}

async fn state(pool: &PgPool, id: i64) -> Option<(bool, i32)> {
    sqlx::query_as("SELECT failed_at IS NOT NULL, attempts FROM notification_outbox WHERE id = $1")
        .bind(id)
        .fetch_optional(pool)
        .await
        .unwrap()
}

#[sqlx::test(migrations = "./migrations")]
async fn failed_notifications_are_listed_counted_retried_and_dropped(pool: PgPool) {
    let fake = FakeDiscord::start().await;
    let bot = TestBot::start(pool.clone(), &fake, 1).await;
    let (refused, refused_record) =
        outbox_row(&pool, Some("Discord answered HTTP 400: Invalid Form Body")).await;
    let (gone_kind, _) = outbox_row(
        &pool,
        Some("record 9 is of kind `old_kind`, which the workflows no longer declare"),
    )
    .await;
    let (pending, _) = outbox_row(&pool, None).await;

    let (text, _) = run(
        &fake,
        &admin(),
        json!([{"type": 1, "name": "status", "options": []}]),
    )
    .await;
    assert!(
        text.contains("**Webhook queue:** 1 waiting, 2 failed (`/flipfix notifications list`)"),
        "{text}"
    );

    let (text, reply) = run(&fake, &admin(), notifications("list", json!([]))).await;
    assert_eq!(
        reply["flags"].as_u64().unwrap_or_default() & 64,
        64,
        "ephemeral"
    );
    assert!(text.contains("2 failed notification(s)"), "{text}");
    assert!(
        text.contains(&format!(
            "**#{refused}** · record {refused_record} · `part\\_request` · 5 attempt(s) · queued <t:"
        )),
        "{text}"
    );
    assert!(
        text.contains("↳ Discord answered HTTP 400: Invalid Form Body"),
        "{text}"
    );
    assert!(text.contains("no longer declare"), "{text}");
    assert!(
        !text.contains(&format!("**#{pending}**")),
        "pending rows are not failed: {text}"
    );

    let (text, _) = run(
        &fake,
        &admin(),
        notifications(
            "retry",
            json!([{"type": 3, "name": "target", "value": refused.to_string()}]),
        ),
    )
    .await;
    assert!(
        text.contains(&format!("✅ Notification {refused} is queued again")),
        "{text}"
    );
    assert_eq!(
        state(&pool, refused).await,
        Some((false, 0)),
        "pending, attempts reset"
    );

    let (text, _) = run(
        &fake,
        &admin(),
        notifications(
            "retry",
            json!([{"type": 3, "name": "target", "value": pending.to_string()}]),
        ),
    )
    .await;
    assert!(
        text.contains(&format!(
            "❌ Notification {pending} is not a failed notification"
        )),
        "{text}"
    );
    let (text, _) = run(
        &fake,
        &admin(),
        notifications(
            "retry",
            json!([{"type": 3, "name": "target", "value": "soon"}]),
        ),
    )
    .await;
    assert!(text.contains("❌ Give a notification id"), "{text}");

    let (text, _) = run(
        &fake,
        &admin(),
        notifications("drop", json!([{"type": 4, "name": "id", "value": pending}])),
    )
    .await;
    assert!(text.contains("nothing was dropped"), "{text}");
    assert!(
        state(&pool, pending).await.is_some(),
        "a pending row cannot be dropped"
    );
    let (text, _) = run(
        &fake,
        &admin(),
        notifications(
            "drop",
            json!([{"type": 4, "name": "id", "value": gone_kind}]),
        ),
    )
    .await;
    assert!(
        text.contains(&format!("✅ Notification {gone_kind} dropped")),
        "{text}"
    );
    assert_eq!(state(&pool, gone_kind).await, None);

    let (text, _) = run(&fake, &admin(), notifications("list", json!([]))).await;
    assert!(text.contains("✅ No failed notifications."), "{text}");
    let (text, _) = run(
        &fake,
        &admin(),
        notifications(
            "retry",
            json!([{"type": 3, "name": "target", "value": "all"}]),
        ),
    )
    .await;
    assert!(text.contains("No failed notifications to retry"), "{text}");
    let (text, _) = run(
        &fake,
        &admin(),
        json!([{"type": 1, "name": "status", "options": []}]),
    )
    .await;
    assert!(!text.contains("failed"), "{text}");

    bot.stop().await;
    fake.assert_spec_clean();
}

#[sqlx::test(migrations = "./migrations")]
async fn retry_all_requeues_every_failed_row_and_members_are_refused(pool: PgPool) {
    let fake = FakeDiscord::start().await;
    let bot = TestBot::start(pool.clone(), &fake, 1).await;
    let (first, _) = outbox_row(&pool, Some("Discord answered HTTP 400: a")).await;
    let (second, _) = outbox_row(&pool, Some("Discord answered HTTP 400: b")).await;

    let member = FakeUser::member(MEMBER, "bob_the_fixer");
    let (text, _) = run(
        &fake,
        &member,
        notifications(
            "retry",
            json!([{"type": 3, "name": "target", "value": "all"}]),
        ),
    )
    .await;
    assert!(text.contains("Manage Server"), "{text}");
    assert_eq!(
        state(&pool, first).await,
        Some((true, 5)),
        "nothing changed"
    );

    let (text, _) = run(
        &fake,
        &admin(),
        notifications(
            "retry",
            json!([{"type": 3, "name": "target", "value": "ALL"}]),
        ),
    )
    .await;
    assert!(
        text.contains("✅ 2 failed notification(s) queued again"),
        "{text}"
    );
    for id in [first, second] {
        assert_eq!(state(&pool, id).await, Some((false, 0)));
    }
    bot.stop().await;
    fake.assert_spec_clean();
}
