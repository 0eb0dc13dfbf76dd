//! Faults inside one process, through the fake Discord and real Postgres:
//! reviews of a stopped process free their messages, a failed edit closes a
//! review with an answer and frees its message.

use chrono::Duration;
use flipfix_bot::db::locks::Liveness;
use flipfix_bot::review::recovery::{close, close_orphans, list_open};
use flipfix_bot::review::{NewSession, ReviewStore, SessionStatus, StartOutcome};
use serde_json::{json, Value};
use sqlx::PgPool;

use crate::support::anthropic::{FakeAnthropic, Reply};
use crate::support::bot::{test_secrets, TestBot};
use crate::support::fake_discord::{user_message, FakeDiscord, FakeUser, CHANNEL_ID};

const BOB: u64 = 610_000_000_000_000_001;

fn session(message: u64) -> NewSession {
    NewSession {
        guild_id: Some(1),
        channel_id: 2,
        target_message_id: message,
        owner_user_id: BOB,
        owner_name: "Bob Wilson".into(),
        expires_at: crate::support::time::real_now() + Duration::hours(24),
    }
}

async fn status_of(pool: &PgPool, id: i64) -> String {
    sqlx::query_scalar("SELECT status FROM review_sessions WHERE id = $1")
        .bind(id)
        .fetch_one(pool)
        .await
        .expect("session")
}

fn started(outcome: StartOutcome) -> i64 {
    match outcome {
        StartOutcome::Started(id) => id,
        other => panic!("expected a new review, got {other:?}"),
    }
}

#[sqlx::test(migrations = "./migrations")]
async fn an_analysing_review_blocks_its_message_only_while_its_process_lives(pool: PgPool) {
    let store = ReviewStore::new(pool.clone());
    let first = Liveness::acquire(&pool).await.expect("first process");
    let second = Liveness::acquire(&pool).await.expect("second process");
    let id = started(
        store
            .start_as(
                &session(10),
                crate::support::time::real_now(),
                Some(first.key()),
            )
            .await
            .unwrap(),
    );
    let busy = store
        .start_as(
            &session(10),
            crate::support::time::real_now(),
            Some(second.key()),
        )
        .await
        .unwrap();
    assert!(
        matches!(
            busy,
            StartOutcome::AlreadyActive {
                status: SessionStatus::Analysing,
                ..
            }
        ),
        "a live process's analysis is never taken over: {busy:?}"
    );
    first.release().await;
    let again = started(
        store
            .start_as(
                &session(10),
                crate::support::time::real_now(),
                Some(second.key()),
            )
            .await
            .unwrap(),
    );
    assert_ne!(again, id);
    assert_eq!(status_of(&pool, id).await, "interrupted");
    second.release().await;
}

#[sqlx::test(migrations = "./migrations")]
async fn the_startup_sweep_closes_only_reviews_of_processes_that_are_gone(pool: PgPool) {
    let store = ReviewStore::new(pool.clone());
    let alive = Liveness::acquire(&pool).await.expect("live process");
    let dead = Liveness::acquire(&pool).await.expect("dead process");
    let live_review = started(
        store
            .start_as(
                &session(1),
                crate::support::time::real_now(),
                Some(alive.key()),
            )
            .await
            .unwrap(),
    );
    let dead_review = started(
        store
            .start_as(
                &session(2),
                crate::support::time::real_now(),
                Some(dead.key()),
            )
            .await
            .unwrap(),
    );
    let unowned = started(
        store
            .start(&session(3), crate::support::time::real_now())
            .await
            .unwrap(),
    );
    dead.release().await;
    let closed = close_orphans(&pool).await.unwrap();
    assert_eq!(closed.len(), 2, "{closed:?}");
    assert!(closed.contains(&dead_review) && closed.contains(&unowned));
    assert_eq!(status_of(&pool, live_review).await, "analysing");
    assert_eq!(status_of(&pool, dead_review).await, "interrupted");
    alive.release().await;
}

#[sqlx::test(migrations = "./migrations")]
async fn admins_list_open_reviews_and_cancelling_one_frees_its_message(pool: PgPool) {
    let store = ReviewStore::new(pool.clone());
    let process = Liveness::acquire(&pool).await.expect("process");
    let id = started(
        store
            .start_as(
                &session(5),
                crate::support::time::real_now(),
                Some(process.key()),
            )
            .await
            .unwrap(),
    );
    let open = list_open(&pool).await.unwrap();
    assert_eq!(open.len(), 1);
    assert_eq!(
        (
            open[0].id,
            open[0].target_message_id,
            open[0].owner_name.as_str(),
            open[0].status,
            open[0].owner_alive
        ),
        (id, 5, "Bob Wilson", SessionStatus::Analysing, true)
    );
    assert!(
        close(&pool, id, SessionStatus::Cancelled, "cancelled by an admin")
            .await
            .unwrap()
    );
    assert!(
        !close(&pool, id, SessionStatus::Cancelled, "again")
            .await
            .unwrap(),
        "only once"
    );
    assert!(list_open(&pool).await.unwrap().is_empty());
    started(
        store
            .start_as(
                &session(5),
                crate::support::time::real_now(),
                Some(process.key()),
            )
            .await
            .unwrap(),
    );
    process.release().await;
}

fn target(fake: &FakeDiscord) -> Value {
    let author = json!({"id": BOB.to_string(), "username": "bob_the_fixer", "global_name": "Bob Wilson",
                        "discriminator": "0", "avatar": null});
    let message = user_message(
        1_100_000_000_000_000_009,
        CHANNEL_ID,
        author,
        "Ballyhoo needs new flipper rubbers",
        "2025-01-15T13:59:19+00:00",
        None,
    );
    fake.add_message(CHANNEL_ID, message.clone());
    message
}

fn patches_of(fake: &FakeDiscord, token: &str) -> Vec<Value> {
    fake.requests()
        .into_iter()
        .filter(|r| r.method == "PATCH" && r.path.contains(token))
        .map(|r| r.body)
        .collect()
}

#[sqlx::test(migrations = "./migrations")]
async fn a_discord_5xx_on_an_edit_closes_the_review_and_says_so(pool: PgPool) {
    let fake = FakeDiscord::start().await;
    let anthropic = FakeAnthropic::start(vec![Reply::tool_use(json!({"suggestions": [
        {"kind": "part_request", "description": "Need flipper rubbers", "source_message_ids": []}]}))])
    .await;
    let mut secrets = test_secrets(&fake);
    secrets.anthropic_base_url = anthropic.base_url.clone();
    secrets.anthropic_api_key = Some(flipfix_bot::config::Secret::new("sk-ant-test"));
    let bot = TestBot::start_with(pool.clone(), &fake, 1, secrets).await;
    let message = target(&fake);
    let user = FakeUser::member(BOB, "bob_the_fixer");
    // The first edit of the deferred reply ("Reading the conversation…") fails.
    fake.fail_requests("PATCH", "/messages/@original", 500, 1);
    let token = fake.invoke_message_command(&user, "Add to Flipfix", &message);
    fake.wait_until("the closing answer", |requests| {
        requests.iter().any(|r| {
            r.method == "PATCH"
                && r.path.contains(&token)
                && r.body["content"]
                    .as_str()
                    .is_some_and(|c| c.contains("closed it"))
        })
    })
    .await;
    let statuses: Vec<String> = sqlx::query_scalar("SELECT status FROM review_sessions")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert_eq!(statuses, vec!["failed"]);
    // The message is free: the next try runs an analysis and shows a card.
    let again = fake.invoke_message_command(&user, "Add to Flipfix", &message);
    fake.wait_until("the review card", |requests| {
        requests.iter().any(|r| {
            r.method == "PATCH"
                && r.path.contains(&again)
                && r.body["embeds"].as_array().is_some_and(|e| !e.is_empty())
        })
    })
    .await;
    // Stored once Discord answered the edit: wait for it.
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let review_message: Option<i64> = sqlx::query_scalar(
            "SELECT review_message_id FROM review_sessions WHERE status = 'reviewing'",
        )
        .fetch_one(&pool)
        .await
        .unwrap();
        if review_message.is_some() {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the review's message is remembered"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    // A third try is told where the buttons are.
    let third = fake.invoke_message_command(&user, "Add to Flipfix", &message);
    let answer = fake.reply(&third).await;
    let text = answer["content"].as_str().unwrap_or_default();
    assert!(
        text.contains("already reviewing") && text.contains("https://discord.com/channels/"),
        "{answer}"
    );
    assert!(patches_of(&fake, &token)
        .iter()
        .all(|b| b["allowed_mentions"]["parse"] == json!([])));
    bot.stop().await;
    fake.assert_spec_clean();
}

#[sqlx::test(migrations = "./migrations")]
async fn flipfix_reviews_lists_and_cancels_through_discord(pool: PgPool) {
    let fake = FakeDiscord::start().await;
    let bot = TestBot::start(pool.clone(), &fake, 1).await;
    let id = started(
        ReviewStore::new(pool.clone())
            .start(&session(42), crate::support::time::real_now())
            .await
            .unwrap(),
    );
    let admin = FakeUser::admin(600_000_000_000_000_001, "museum_admin");
    let group = |name: &str, options: Value| json!([{"type": 2, "name": "reviews", "options": [{"type": 1, "name": name, "options": options}]}]);
    let token = fake.invoke_slash(&admin, "flipfix", group("list", json!([])));
    let listed = fake.reply(&token).await;
    let text = listed["embeds"][0]["description"]
        .as_str()
        .unwrap_or_default();
    assert!(
        text.contains(&format!("#{id}"))
            && text.contains("Bob Wilson")
            && text.contains("https://discord.com/channels/1/2/42"),
        "{listed}"
    );
    let token = fake.invoke_slash(
        &admin,
        "flipfix",
        group("cancel", json!([{"type": 4, "name": "id", "value": id}])),
    );
    let cancelled = fake.reply(&token).await;
    assert!(
        cancelled["content"]
            .as_str()
            .unwrap_or_default()
            .contains("cancelled"),
        "{cancelled}"
    );
    assert_eq!(status_of(&pool, id).await, "cancelled");
    let token = fake.invoke_slash(&admin, "flipfix", group("list", json!([])));
    let empty = fake.reply(&token).await;
    assert!(
        empty["content"]
            .as_str()
            .unwrap_or_default()
            .contains("No reviews are open"),
        "{empty}"
    );
    bot.stop().await;
    fake.assert_spec_clean();
}
