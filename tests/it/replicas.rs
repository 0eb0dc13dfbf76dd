//! Two `run` processes on one database and one fake Discord: exactly one
//! holds the gateway; after kill -9 of the holder the other takes over.

use std::time::{Duration, Instant};

use serde_json::json;
use sqlx::PgPool;

use crate::support::anthropic::{FakeAnthropic, Reply};
use crate::support::fake_discord::{user_message, FakeDiscord, FakeUser, CHANNEL_ID};
use crate::support::process::{database_url, BotProcess};

const BOB: u64 = 1_002_000_000_000_000_001;

#[sqlx::test(migrations = "./migrations")]
async fn one_replica_holds_the_gateway_and_a_standby_takes_over_after_kill_9(pool: PgPool) {
    let fake = FakeDiscord::start().await;
    let anthropic = FakeAnthropic::start(vec![Reply::tool_use(json!({"suggestions": [
        {"kind": "part_request", "description": "Need flipper rubbers", "source_message_ids": []}]}))])
    .await;
    let author = json!({"id": BOB.to_string(), "username": "bob_the_fixer", "global_name": "Bob Wilson",
                        "discriminator": "0", "avatar": null});
    let message = user_message(
        1_100_000_000_000_000_077,
        CHANNEL_ID,
        author,
        "Ballyhoo needs new flipper rubbers",
        "2025-01-15T13:59:19+00:00",
        None,
    );
    fake.add_message(CHANNEL_ID, message.clone());
    let url = database_url(&pool);

    let mut holder = BotProcess::start(&url, &fake, &anthropic.base_url, &[]);
    assert!(
        holder
            .wait_for_log("serving Discord interactions", Duration::from_secs(60))
            .await,
        "{}",
        holder.stderr()
    );
    let standby = BotProcess::start(&url, &fake, &anthropic.base_url, &[]);
    assert!(
        standby
            .wait_for_log("standing by", Duration::from_secs(60))
            .await,
        "{}",
        standby.stderr()
    );
    assert_eq!(fake.identify_count(), 1, "exactly one IDENTIFY");

    holder.kill9();
    let killed = Instant::now();
    fake.wait_for_identify(2).await;
    let takeover = killed.elapsed();
    assert!(
        takeover < Duration::from_secs(15),
        "the standby identified {takeover:?} after the kill"
    );
    println!("standby took over the gateway {takeover:?} after kill -9");
    assert!(
        standby
            .wait_for_log("serving Discord interactions", Duration::from_secs(60))
            .await,
        "{}",
        standby.stderr()
    );
    let token = fake.invoke_message_command(
        &FakeUser::member(BOB, "bob_the_fixer"),
        "Add to Flipfix",
        &message,
    );
    fake.wait_until("the review card", |requests| {
        requests.iter().any(|r| {
            r.method == "PATCH"
                && r.path.contains(&token)
                && r.body["embeds"].as_array().is_some_and(|e| !e.is_empty())
        })
    })
    .await;
    assert_eq!(fake.identify_count(), 2);
    fake.assert_spec_clean();
}

#[sqlx::test(migrations = "./migrations")]
async fn losing_the_lock_connection_stops_the_gateway_and_the_process(pool: PgPool) {
    let fake = FakeDiscord::start().await;
    let anthropic = FakeAnthropic::start(vec![Reply::tool_use(json!({"suggestions": []}))]).await;
    let mut holder = BotProcess::start(&database_url(&pool), &fake, &anthropic.base_url, &[]);
    assert!(
        holder
            .wait_for_log("serving Discord interactions", Duration::from_secs(60))
            .await,
        "{}",
        holder.stderr()
    );
    // What a network cut or a database failover does to that connection.
    let terminated: Vec<bool> = sqlx::query_scalar(
        "SELECT pg_terminate_backend(pid) FROM pg_locks
         WHERE locktype = 'advisory' AND classid::int8 = $1 AND objsubid = 2 AND granted",
    )
    .bind(i64::from(flipfix_bot::db::locks::LEADER_CLASS))
    .fetch_all(&pool)
    .await
    .expect("terminate");
    assert_eq!(terminated, vec![true]);
    let status = holder
        .wait_exit(Duration::from_secs(30))
        .await
        .unwrap_or_else(|| panic!("still running: {}", holder.stderr()));
    assert!(!status.success());
    let stderr = holder.stderr();
    let last = stderr
        .lines()
        .rfind(|l| l.starts_with("error:"))
        .unwrap_or_default();
    assert!(
        last.contains("lost the database connection that holds the gateway lock"),
        "{stderr}"
    );
}
