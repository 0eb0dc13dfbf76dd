//! The dispatcher under faults (issue #10): poison rows end failed after
//! `NOTIFY_MAX_ATTEMPTS` and block nothing; a waiting digest costs a
//! handful of queries, not a busy loop; shutdown lets the POST in flight
//! finish and be recorded. Real Postgres, the real dispatcher, the fake
//! webhook.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration as StdDuration;

use chrono::{Duration, Utc};
use flipfix_bot::config::{SettingKey, Settings};
use flipfix_bot::notify::failed::{self, Target};
use flipfix_bot::notify::outbox::{self, Coalescing};
use flipfix_bot::notify::{Dispatcher, DispatcherConfig, Step};
use flipfix_bot::records::{Author, NewRecord};
use flipfix_bot::workflow::{load_workflows, Workflows};
use sqlx::postgres::PgPoolOptions;
use sqlx::PgPool;

use super::notify::{config, description, drain, part_request_update, title, Env};
use crate::support::fake_webhook::Reply;
use crate::support::{add_machine, add_maintainer, copy_workflows, new_record, shipped_workflows};

/// Workflows the test can swap, as `/flipfix workflows reload` does.
#[derive(Clone)]
struct Reloadable(Arc<Mutex<Arc<Workflows>>>);

impl Reloadable {
    fn new(workflows: Arc<Workflows>) -> Self {
        Self(Arc::new(Mutex::new(workflows)))
    }

    fn reload(&self, workflows: Arc<Workflows>) {
        *self.0.lock().unwrap() = workflows;
    }

    fn dispatcher(&self, env: &Env, config: DispatcherConfig) -> Dispatcher {
        let source = self.0.clone();
        Dispatcher::new(
            env.pool.clone(),
            env.settings.clone(),
            Arc::new(move || source.lock().unwrap().clone()),
            config,
        )
        .unwrap()
    }
}

/// The shipped workflows without the `part_request_update` kind (the last
/// one declared), as an author might reload them.
fn without_part_updates() -> Arc<Workflows> {
    let dir = copy_workflows();
    let kinds_path = dir.path().join("workflows/record_kinds.yaml");
    let kinds = std::fs::read_to_string(&kinds_path).unwrap();
    let cut = kinds.find("  - name: part_request_update").unwrap();
    std::fs::write(&kinds_path, &kinds[..cut]).unwrap();
    let menu_path = dir.path().join("workflows/add_to_flipfix.yaml");
    let menu = std::fs::read_to_string(&menu_path).unwrap();
    std::fs::write(&menu_path, menu.replace(", part_request_update]", "]")).unwrap();
    let workflows = load_workflows(&dir.path().join("workflows"), &dir.path().join("prompts"))
        .unwrap_or_else(|problems| panic!("{problems}"));
    assert!(workflows.kinds.get("part_request_update").is_none());
    workflows
}

#[derive(Debug, PartialEq)]
struct RowState {
    attempts: i32,
    delivered: bool,
    failed: bool,
    error: Option<String>,
}

async fn row_of(pool: &PgPool, record_id: i64) -> RowState {
    let (attempts, delivered, failed, error): (i32, bool, bool, Option<String>) = sqlx::query_as(
        "SELECT attempts, delivered_at IS NOT NULL, failed_at IS NOT NULL, last_error
         FROM notification_outbox WHERE record_id = $1",
    )
    .bind(record_id)
    .fetch_one(pool)
    .await
    .unwrap();
    RowState {
        attempts,
        delivered,
        failed,
        error,
    }
}

fn by(who: i64, kind: &str) -> NewRecord {
    NewRecord {
        author: Author::Maintainer(who),
        ..new_record(kind)
    }
}

#[sqlx::test(migrations = "./migrations")]
async fn poison_rows_end_failed_and_block_neither_the_queue_nor_the_digest(pool: PgPool) {
    let env = Env::new(pool).await;
    env.set(SettingKey::DiscordWebhooksCoalesce, "true").await;
    let ada = add_maintainer(&env.pool, "ada").await;
    // Ada's burst: a problem report, a part request and an update of it.
    let problem = env.create(by(ada, "problem_report")).await;
    let part = env.create(by(ada, "part_request")).await;
    let update = env
        .create(NewRecord {
            author: Author::Maintainer(ada),
            ..part_request_update(part)
        })
        .await;
    // Records by no one are posted at once: one Discord refuses every time,
    // one it takes.
    env.fake.refuse_containing("POISONED PAYLOAD", 400);
    let refused = env
        .create(NewRecord {
            description: "POISONED PAYLOAD".into(),
            ..new_record("part_request")
        })
        .await;
    let fine = env.create(new_record("part_request")).await;

    // The update's kind is removed by a reload before it is posted.
    let workflows = Reloadable::new(shipped_workflows());
    workflows.reload(without_part_updates());
    let mut dispatcher = workflows.dispatcher(&env, config());

    // Past Ada's quiet period; each round is past any backoff (capped at
    // 60 s in this config).
    let start = Utc::now() + Duration::minutes(6);
    for round in 0..8 {
        drain(&mut dispatcher, start + Duration::minutes(15 * round)).await;
    }

    for (record, expect) in [(update, "no longer declare"), (refused, "HTTP 400")] {
        let row = row_of(&env.pool, record).await;
        assert!(row.failed && !row.delivered, "{row:?}");
        assert_eq!(row.attempts, 5, "the default attempt limit: {row:?}");
        assert!(
            row.error.as_deref().unwrap_or_default().contains(expect),
            "{row:?}"
        );
    }
    for record in [problem, part, fine] {
        assert!(row_of(&env.pool, record).await.delivered);
    }
    let refusals = env
        .fake
        .received()
        .iter()
        .filter(|r| r.status == 400)
        .count();
    assert_eq!(
        refusals, 5,
        "the refused row was tried five times, then never again"
    );
    let bodies = env.checked_bodies();
    let titles: Vec<&str> = bodies.iter().map(title).collect();
    assert!(
        titles.contains(&"🗂️ 2 new records by ada"),
        "Ada's digest went out without the update: {titles:?}"
    );
    assert_eq!(
        bodies.len(),
        2,
        "the digest and the fine record: {titles:?}"
    );
    let status = outbox::queue_status(&env.pool).await.unwrap();
    assert_eq!((status.pending, status.failed), (0, 2));
    // A failed row is not due any more.
    assert_eq!(
        dispatcher.step(start + Duration::days(1)).await.unwrap(),
        Step::Idle
    );

    // Causes fixed (the kind is back, Discord takes the payload): retry
    // delivers both, each once.
    workflows.reload(shipped_workflows());
    env.fake.stop_refusing();
    assert_eq!(failed::retry(&env.pool, Target::One(-1)).await.unwrap(), 0);
    assert_eq!(failed::retry(&env.pool, Target::All).await.unwrap(), 2);
    assert_eq!(
        row_of(&env.pool, update).await.attempts,
        0,
        "attempts reset"
    );
    drain(&mut dispatcher, Utc::now() + Duration::minutes(16)).await;
    for record in [update, refused] {
        let row = row_of(&env.pool, record).await;
        assert!(row.delivered && !row.failed, "{row:?}");
    }
    let bodies = env.checked_bodies();
    assert_eq!(bodies.len(), 4);
    assert!(bodies
        .iter()
        .any(|b| title(b).starts_with("💬 Part request update")));
    assert!(bodies
        .iter()
        .any(|b| description(b).starts_with("POISONED PAYLOAD")));
    assert_eq!(failed::count(&env.pool).await.unwrap(), 0);
}

#[sqlx::test(migrations = "./migrations")]
async fn a_refused_digest_is_split_and_only_the_refused_record_fails(pool: PgPool) {
    let env = Env::new(pool).await;
    env.set(SettingKey::DiscordWebhooksCoalesce, "true").await;
    env.set(SettingKey::NotifyMaxAttempts, "3").await;
    let ada = add_maintainer(&env.pool, "ada").await;
    // Discord refuses anything that names this machine, digest lines too.
    let bad_machine = add_machine(&env.pool, "poisoned", "Poisoned").await;
    sqlx::query("UPDATE machines SET short_name = 'ZZPOISON' WHERE id = $1")
        .bind(bad_machine)
        .execute(&env.pool)
        .await
        .unwrap();
    env.fake.refuse_containing("ZZPOISON", 400);
    let first = env.create(by(ada, "problem_report")).await;
    let bad = env
        .create(NewRecord {
            machine_id: Some(bad_machine),
            ..by(ada, "problem_report")
        })
        .await;
    let last = env.create(by(ada, "part_request")).await;

    let mut dispatcher = env.dispatcher();
    let start = Utc::now() + Duration::minutes(6);
    let steps = drain(&mut dispatcher, start).await;
    assert!(
        matches!(&steps[0], Step::Retry { rows, .. } if rows.len() == 3),
        "the digest was refused: {steps:?}"
    );
    for round in 1..6 {
        drain(&mut dispatcher, start + Duration::minutes(15 * round)).await;
    }
    let row = row_of(&env.pool, bad).await;
    assert!(row.failed, "{row:?}");
    assert_eq!(row.attempts, 3, "NOTIFY_MAX_ATTEMPTS=3: {row:?}");
    for record in [first, last] {
        assert!(row_of(&env.pool, record).await.delivered);
    }
    let bodies = env.checked_bodies();
    assert_eq!(bodies.len(), 2, "the two others, each on its own");
    assert!(bodies.iter().all(|b| !title(b).starts_with("🗂️")));
    // One refused digest, then the refused record alone until its limit.
    let refusals = env
        .fake
        .received()
        .iter()
        .filter(|r| r.status == 400)
        .count();
    assert_eq!(refusals, 3);
}

#[sqlx::test(migrations = "./migrations")]
async fn the_attempt_limit_must_be_a_whole_number_of_at_least_one(pool: PgPool) {
    let settings = Settings::new(pool, true);
    for bad in ["0", "-1", "five", "2.5", ""] {
        assert!(
            settings
                .set(SettingKey::NotifyMaxAttempts, bad, "test")
                .await
                .is_err(),
            "{bad:?} must be refused"
        );
    }
    assert_eq!(
        settings
            .get_count(SettingKey::NotifyMaxAttempts)
            .await
            .unwrap(),
        5
    );
    settings
        .set(SettingKey::NotifyMaxAttempts, " 12 ", "test")
        .await
        .unwrap();
    assert_eq!(
        settings
            .get_count(SettingKey::NotifyMaxAttempts)
            .await
            .unwrap(),
        12
    );
}

#[sqlx::test(migrations = "./migrations")]
async fn dropping_removes_only_failed_rows(pool: PgPool) {
    let env = Env::new(pool).await;
    env.set(SettingKey::NotifyMaxAttempts, "1").await;
    env.fake.refuse_containing("DROP ME", 400);
    let doomed = env
        .create(NewRecord {
            description: "DROP ME".into(),
            ..new_record("problem_report")
        })
        .await;
    let steps = drain(&mut env.dispatcher(), Utc::now()).await;
    assert!(matches!(&steps[0], Step::Failed { .. }), "{steps:?}");
    let id: i64 = sqlx::query_scalar("SELECT id FROM notification_outbox WHERE record_id = $1")
        .bind(doomed)
        .fetch_one(&env.pool)
        .await
        .unwrap();
    let pending = env.create(new_record("problem_report")).await;
    let pending_id: i64 =
        sqlx::query_scalar("SELECT id FROM notification_outbox WHERE record_id = $1")
            .bind(pending)
            .fetch_one(&env.pool)
            .await
            .unwrap();
    assert!(!failed::drop_failed(&env.pool, pending_id).await.unwrap());
    assert!(failed::drop_failed(&env.pool, id).await.unwrap());
    assert!(!failed::drop_failed(&env.pool, id).await.unwrap());
    assert_eq!(env.queued().await, 1, "the pending row stays");
}

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
    let first_round = queries.load(Ordering::SeqCst);
    // Five seconds of a waiting digest: a busy loop makes thousands of
    // queries here; a sleeping dispatcher none.
    tokio::time::sleep(StdDuration::from_secs(5)).await;
    let waiting = queries.load(Ordering::SeqCst) - first_round;
    let steps = activity.borrow().steps;
    trigger.request();
    tokio::time::timeout(StdDuration::from_secs(30), task)
        .await
        .expect("the dispatcher stops")
        .unwrap()
        .unwrap();
    println!("first round: {first_round} pool checkouts; then {waiting} in 5 s of waiting; {steps} step(s)");
    assert!(
        first_round <= 8,
        "one round is a handful of queries: {first_round}"
    );
    assert_eq!(waiting, 0, "no query while the digest waits");
    assert_eq!(steps, 1);
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
            .step(Utc::now() + Duration::minutes(10))
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

/// A row set aside is logged once at ERROR, with its id and what to do; the
/// retries before it at WARN, once each. Logs are captured for this test's
/// thread only (the test drives the dispatcher on it).
#[sqlx::test(migrations = "./migrations")]
async fn a_set_aside_row_is_logged_once_with_what_to_do(pool: PgPool) {
    let logs = crate::support::logs::CapturedLogs::default();
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new("flipfix_bot=info"))
        .with_writer(logs.clone())
        .with_ansi(false)
        .finish();
    let _scope = tracing::subscriber::set_default(subscriber);

    let env = Env::new(pool).await;
    env.set(SettingKey::NotifyMaxAttempts, "2").await;
    env.fake.refuse_containing("REFUSED", 400);
    let record = env
        .create(NewRecord {
            description: "REFUSED".into(),
            ..new_record("problem_report")
        })
        .await;
    let id: i64 = sqlx::query_scalar("SELECT id FROM notification_outbox WHERE record_id = $1")
        .bind(record)
        .fetch_one(&env.pool)
        .await
        .unwrap();
    let mut dispatcher = env.dispatcher();
    for round in 0..4 {
        drain(&mut dispatcher, Utc::now() + Duration::minutes(15 * round)).await;
    }
    let text = logs.text();
    let errors: Vec<&str> = text.lines().filter(|l| l.contains(" ERROR ")).collect();
    assert_eq!(errors.len(), 1, "{text}");
    assert!(
        errors[0].contains(&format!(
            "notification {id} failed after 2 attempts: Discord answered HTTP 400"
        )) && errors[0].contains(&format!("/flipfix notifications retry {id}")),
        "{}",
        errors[0]
    );
    let warnings = text
        .lines()
        .filter(|l| l.contains(" WARN ") && l.contains("will retry"))
        .count();
    assert_eq!(warnings, 1, "the first attempt's retry: {text}");
    assert!(
        !text.contains("/tok"),
        "the webhook token is never logged: {text}"
    );
}
