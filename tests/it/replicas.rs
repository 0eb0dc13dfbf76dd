//! Two `run` processes on one database and one fake Discord: exactly one
//! holds the gateway; after kill -9 of the holder the other takes over.

use std::time::{Duration, Instant};

use serde_json::json;
use sqlx::PgPool;

use crate::support::anthropic::{FakeAnthropic, Reply};
use crate::support::fake_discord::FakeDiscord;
use crate::support::process::{bob, database_url, flipper_message, flipper_suggestion, BotProcess};

#[sqlx::test(migrations = "./migrations")]
async fn one_replica_holds_the_gateway_and_a_standby_takes_over_after_kill_9(pool: PgPool) {
    let fake = FakeDiscord::start().await;
    let anthropic = FakeAnthropic::start(vec![flipper_suggestion()]).await;
    let message = flipper_message(&fake, 1_100_000_000_000_000_077);
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
    let token = fake.invoke_message_command(&bob(), "Add to Flipfix", &message);
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
         WHERE locktype = 'advisory' AND classid::int8 = $1 AND objsubid = 2 AND granted
           AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
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
