//! The running dispatcher under faults (issue #10): a waiting digest costs
//! a handful of queries, not a busy loop; it wakes when a row is due;
//! shutdown lets the POST in flight finish and be recorded, and cuts waits
//! short. Real Postgres, the real dispatcher, the fake webhook.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::Duration;
use flipfix_bot::config::{SettingKey, Settings};
use flipfix_bot::notify::outbox::Coalescing;
use flipfix_bot::notify::{Dispatcher, DispatcherConfig, Step};
use sqlx::postgres::PgPoolOptions;
use sqlx::PgPool;

use super::notify::{config, title, Env};
use super::notify_poison::{by, row_of};
use crate::support::fake_webhook::Reply;
use crate::support::{add_maintainer, new_record, shipped_workflows};

/// A pool whose every checkout (a query, or a transaction) is counted.
async fn counting_pool(pool: &PgPool, counter: Arc<AtomicU64>) -> PgPool {
    PgPoolOptions::new()
        .max_connections(4)
        .after_release(move |_conn, _meta| {
            counter.fetch_add(1, Ordering::SeqCst);
            Box::pin(async { Ok(true) })
        })
        .connect_with(pool.connect_options().as_ref().clone())
        .await
        .unwrap()
}

/// Issue #10: with coalescing on, the dispatcher spun for the whole quiet
/// period. Now it sleeps until the digest is due: while a digest waits it
/// makes no query at all until the poll timer (a minute by default), so at
/// most one round of a few queries a minute. Counted on the pool, not
/// timed.
#[sqlx::test(migrations = "./migrations")]
async fn a_waiting_digest_costs_a_handful_of_queries_not_a_busy_loop(pool: PgPool) {
    let env = Env::new(pool).await;
    env.set(SettingKey::DiscordWebhooksCoalesce, "true").await;
    let ada = add_maintainer(&env.pool, "ada").await;
    env.create(by(ada, "problem_report")).await;
    env.create(by(ada, "log_entry")).await;

    let queries = Arc::new(AtomicU64::new(0));
    let counted = counting_pool(&env.pool, queries.clone()).await;
    let workflows = shipped_workflows();
    let defaults = DispatcherConfig::default();
    assert_eq!(defaults.poll_interval, StdDuration::from_secs(60));
    let dispatcher = Dispatcher::new(
        counted.clone(),
        Settings::new(counted.clone(), true),
        Arc::new(move || workflows.clone()),
        DispatcherConfig {
            public_base_url: config().public_base_url,
            ..defaults
        },
    )
    .unwrap();
    let mut activity = dispatcher.activity();
    let (trigger, shutdown) = flipfix_bot::shutdown::channel();
    let task = tokio::spawn(dispatcher.run(shutdown));

    // The first step finds only a digest in its quiet period, and the
    // dispatcher goes to sleep.
    tokio::time::timeout(
        StdDuration::from_secs(30),
        activity.wait_for(|a| a.sleeps >= 1),
    )
    .await
    .expect("the dispatcher went to sleep")
    .unwrap();
    // Five seconds of a waiting digest: a busy loop makes thousands of
    // queries here; a sleeping dispatcher none after its first round. (The
    // pool counts a checkout when the connection comes back, which may lag
    // the query a little, so the total is read at the end.)
    tokio::time::sleep(StdDuration::from_secs(5)).await;
    let queries = queries.load(Ordering::SeqCst);
    let seen = *activity.borrow();
    trigger.request();
    tokio::time::timeout(StdDuration::from_secs(30), task)
        .await
        .expect("the dispatcher stops")
        .unwrap()
        .unwrap();
    println!(
        "{queries} pool checkouts, {} step(s), {} sleep(s) while a digest waited ≥ 5 s",
        seen.steps, seen.sleeps
    );
    assert_eq!((seen.steps, seen.sleeps), (1, 1), "one round, then asleep");
    assert!(queries <= 8, "one round is a handful of queries: {queries}");
    assert!(
        env.fake.received().is_empty(),
        "the digest is still waiting"
    );
}

/// The sleeping dispatcher wakes when the quiet period ends, by itself (no
/// NOTIFY, no poll within the test), and posts the digest.
#[sqlx::test(migrations = "./migrations")]
async fn the_dispatcher_wakes_when_a_digest_is_due(pool: PgPool) {
    let env = Env::new(pool).await;
    env.set(SettingKey::DiscordWebhooksCoalesce, "true").await;
    let ada = add_maintainer(&env.pool, "ada").await;
    env.create(by(ada, "problem_report")).await;
    env.create(by(ada, "log_entry")).await;
    let dispatcher = env.dispatcher_with(DispatcherConfig {
        coalescing: Coalescing {
            quiet: Duration::seconds(2),
            max_delay: Duration::minutes(15),
        },
        poll_interval: StdDuration::from_secs(3600),
        listen: false,
        ..config()
    });
    let mut activity = dispatcher.activity();
    let task = tokio::spawn(dispatcher.run(flipfix_bot::shutdown::Shutdown::never()));
    let posted =
        tokio::time::timeout(StdDuration::from_secs(30), env.fake.wait_for_requests(1)).await;
    let sleeps = activity.borrow_and_update().sleeps;
    task.abort();
    assert!(posted.is_ok(), "the digest was posted when due");
    assert!(sleeps >= 1, "it slept meanwhile");
    let bodies = env.checked_bodies();
    assert_eq!(title(&bodies[0]), "🗂️ 2 new records by ada");
}

/// SIGTERM's dispatcher half: shutdown requested while a POST is held for
/// 3 s; the POST completes, the row is marked delivered before `run`
/// returns, and a dispatcher started afterwards posts nothing more.
#[sqlx::test(migrations = "./migrations")]
async fn shutdown_mid_post_finishes_and_records_the_post(pool: PgPool) {
    let env = Env::new(pool).await;
    env.fake.script([Reply::Hang(StdDuration::from_secs(3))]);
    let record = env.create(new_record("problem_report")).await;
    let dispatcher = env.dispatcher_with(DispatcherConfig {
        http_timeout: StdDuration::from_secs(30),
        ..config()
    });
    let (trigger, shutdown) = flipfix_bot::shutdown::channel();
    let task = tokio::spawn(dispatcher.run(shutdown));
    tokio::time::timeout(StdDuration::from_secs(30), env.fake.wait_for_started(1))
        .await
        .expect("the POST started");
    trigger.request();
    assert!(env.fake.received().is_empty(), "the POST is still held");
    tokio::time::timeout(StdDuration::from_secs(30), task)
        .await
        .expect("run returns after the POST")
        .unwrap()
        .unwrap();
    assert_eq!(env.fake.received().len(), 1, "the POST was answered");
    let row = row_of(&env.pool, record).await;
    assert!(row.delivered, "recorded before run returned: {row:?}");

    // A restarted dispatcher, even past the lease, has nothing to post.
    let mut restarted = env.dispatcher();
    assert_eq!(
        restarted
            .step(crate::support::time::real_now() + Duration::minutes(10))
            .await
            .unwrap(),
        Step::Idle
    );
    assert_eq!(env.fake.received().len(), 1);
}

/// A pacing wait (here a 429 asking for an hour) ends at shutdown.
#[sqlx::test(migrations = "./migrations")]
async fn shutdown_cuts_a_pacing_wait_short(pool: PgPool) {
    let env = Env::new(pool).await;
    env.fake.script([Reply::TooMany {
        retry_after: Some("3600".into()),
        reset_after: None,
        body_retry_after: None,
    }]);
    env.create(new_record("problem_report")).await;
    let dispatcher = env.dispatcher();
    let mut activity = dispatcher.activity();
    let (trigger, shutdown) = flipfix_bot::shutdown::channel();
    let task = tokio::spawn(dispatcher.run(shutdown));
    // The 429, then the step that finds the webhook paced.
    tokio::time::timeout(
        StdDuration::from_secs(30),
        activity.wait_for(|a| a.steps >= 2),
    )
    .await
    .expect("the dispatcher is pacing")
    .unwrap();
    trigger.request();
    tokio::time::timeout(StdDuration::from_secs(30), task)
        .await
        .expect("run returns without waiting out the hour")
        .unwrap()
        .unwrap();
    assert_eq!(env.fake.received().len(), 1);
}
