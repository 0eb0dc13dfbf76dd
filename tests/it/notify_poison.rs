//! Poison rows (issue #10): a row that cannot be rendered, or that Discord
//! refuses with a 4xx, ends failed after `NOTIFY_MAX_ATTEMPTS` attempts,
//! blocks neither the queue nor its author's digest, is logged once, and is
//! delivered by `retry` once its cause is fixed. Real Postgres, the real
//! dispatcher, the fake webhook.

use std::sync::{Arc, Mutex};

use chrono::Duration;
use flipfix_bot::config::{SettingKey, Settings};
use flipfix_bot::notify::failed::{self, Target};
use flipfix_bot::notify::outbox;
use flipfix_bot::notify::{Dispatcher, DispatcherConfig, Step};
use flipfix_bot::records::{Author, NewRecord};
use flipfix_bot::template_check::load_workflows;
use flipfix_bot::workflow::Workflows;
use sqlx::PgPool;

use super::notify::{config, description, drain, part_request_update, title, Env};
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
/// one declared) and the worked example that uses it, as an author might
/// reload them.
fn without_part_updates() -> Arc<Workflows> {
    let dir = copy_workflows();
    let kinds_path = dir.path().join("workflows/record_kinds.yaml");
    let kinds = std::fs::read_to_string(&kinds_path).unwrap();
    let cut = kinds.find("  - name: part_request_update").unwrap();
    std::fs::write(&kinds_path, &kinds[..cut]).unwrap();
    let menu_path = dir.path().join("workflows/add_to_flipfix.yaml");
    let menu = std::fs::read_to_string(&menu_path)
        .unwrap()
        .replace(", part_request_update]", "]");
    // The worked example that shows an update goes with the kind.
    let start = menu
        .find("  - name: ordered_gives_a_part_request_with_an_update")
        .unwrap();
    let end = menu
        .find("  - name: todo_list_over_several_machines")
        .unwrap();
    let menu = format!("{}{}", &menu[..start], &menu[end..]);
    std::fs::write(&menu_path, menu).unwrap();
    let workflows = load_workflows(&dir.path().join("workflows"), &dir.path().join("prompts"))
        .unwrap_or_else(|problems| panic!("{problems}"));
    assert!(workflows.kinds.get("part_request_update").is_none());
    workflows
}

#[derive(Debug, PartialEq)]
pub(crate) struct RowState {
    pub(crate) attempts: i32,
    pub(crate) delivered: bool,
    pub(crate) failed: bool,
    pub(crate) error: Option<String>,
}

pub(crate) async fn row_of(pool: &PgPool, record_id: i64) -> RowState {
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

pub(crate) fn by(who: i64, kind: &str) -> NewRecord {
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
    let start = crate::support::time::real_now() + Duration::minutes(6);
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
    assert_eq!(
        failed::retry(&env.pool, Target::One(-1), crate::support::time::real_now())
            .await
            .unwrap(),
        0
    );
    assert_eq!(
        failed::retry(&env.pool, Target::All, crate::support::time::real_now())
            .await
            .unwrap(),
        2
    );
    assert_eq!(
        row_of(&env.pool, update).await.attempts,
        0,
        "attempts reset"
    );
    drain(
        &mut dispatcher,
        crate::support::time::real_now() + Duration::minutes(16),
    )
    .await;
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
    let start = crate::support::time::real_now() + Duration::minutes(6);
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
        Some(5)
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
        Some(12)
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
    let steps = drain(&mut env.dispatcher(), crate::support::time::real_now()).await;
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

/// A row set aside is logged once at ERROR, with its id and what to do; the
/// retries before it at WARN, once each. Logs are captured for this test's
/// thread only (the test drives the dispatcher on it).
#[sqlx::test(migrations = "./migrations")]
async fn a_set_aside_row_is_logged_once_with_what_to_do(pool: PgPool) {
    let logs = crate::support::logs::CapturedLogs::default();
    let subscriber = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(
            "flipfix_bot=info,flipfix_core=info",
        ))
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
        drain(
            &mut dispatcher,
            crate::support::time::real_now() + Duration::minutes(15 * round),
        )
        .await;
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
