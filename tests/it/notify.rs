//! Notifications end to end: real Postgres, the real dispatcher, and a local
//! fake of Discord's webhook endpoint. Every body the fake receives is
//! checked against Discord's OpenAPI spec. Time is passed to `step`
//! explicitly, so retries and coalescing are tested without waiting.

use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};
use flipfix_bot::config::{Key, SettingKey, Settings, SwitchKey};
use flipfix_bot::notify::outbox::{self, ClaimRules};
use flipfix_bot::notify::webhook_client::PostError;
use flipfix_bot::notify::{Dispatcher, DispatcherConfig, Step};
use flipfix_bot::records::{create_record, create_record_in, Author, CreatedVia, NewRecord};
use serde_json::{json, Value};
use sqlx::PgPool;

use crate::support::fake_webhook::{FakeWebhook, Reply};
use crate::support::openapi::validate_request;
use crate::support::{add_machine, add_maintainer, new_record, shipped_workflows};

const BASE_URL: &str = "https://flipfix.example";

pub(crate) fn config() -> DispatcherConfig {
    DispatcherConfig {
        // Generous: a local reply on a loaded 2-core CI can take a while,
        // and a timeout here would fail the assertions. The one test that
        // wants a timeout sets its own (server_errors_and_timeouts_…).
        http_timeout: StdDuration::from_secs(5),
        backoff_base: Duration::seconds(2),
        backoff_cap: Duration::seconds(60),
        public_base_url: Some(crate::support::public_url(BASE_URL)),
        ..Default::default()
    }
}

pub(crate) struct Env {
    pub(crate) pool: PgPool,
    pub(crate) settings: Settings,
    pub(crate) fake: FakeWebhook,
    pub(crate) machine: i64,
}

impl Env {
    /// Webhooks on, pointing at a fresh fake.
    pub(crate) async fn new(pool: PgPool) -> Self {
        let fake = FakeWebhook::start(None).await;
        let settings = Settings::new(pool.clone(), true);
        settings
            .set(SettingKey::DiscordWebhooksEnabled, "true", "test")
            .await
            .unwrap();
        settings
            .set(SettingKey::DiscordWebhookUrl, &fake.url("tok"), "test")
            .await
            .unwrap();
        let machine = add_machine(&pool, "eight-ball-deluxe", "Eight Ball Deluxe").await;
        sqlx::query("UPDATE machines SET short_name = 'EBD' WHERE id = $1")
            .bind(machine)
            .execute(&pool)
            .await
            .unwrap();
        Self {
            pool,
            settings,
            fake,
            machine,
        }
    }

    pub(crate) fn dispatcher(&self) -> Dispatcher {
        self.dispatcher_with(config())
    }

    pub(crate) fn dispatcher_with(&self, config: DispatcherConfig) -> Dispatcher {
        let workflows = shipped_workflows();
        Dispatcher::new(
            self.pool.clone(),
            self.settings.clone(),
            Arc::new(move || workflows.clone()),
            config,
        )
        .unwrap()
    }

    pub(crate) async fn set(&self, key: impl Into<Key>, value: &str) {
        self.settings.set(key, value, "test").await.unwrap();
    }

    pub(crate) async fn create(&self, mut record: NewRecord) -> i64 {
        if record.machine_id.is_none() && record.kind != "part_request_update" {
            record.machine_id = Some(self.machine);
        }
        create_record(&self.pool, &shipped_workflows().kinds, &record)
            .await
            .unwrap()
            .id
    }

    pub(crate) async fn queued(&self) -> i64 {
        sqlx::query_scalar("SELECT count(*) FROM notification_outbox")
            .fetch_one(&self.pool)
            .await
            .unwrap()
    }

    pub(crate) async fn undelivered(&self) -> i64 {
        sqlx::query_scalar("SELECT count(*) FROM notification_outbox WHERE delivered_at IS NULL")
            .fetch_one(&self.pool)
            .await
            .unwrap()
    }

    /// Every body the fake received, checked against Discord's spec and our
    /// own invariants.
    pub(crate) fn checked_bodies(&self) -> Vec<Value> {
        let received = self.fake.received();
        for request in &received {
            assert_eq!(request.query.as_deref(), Some("wait=true"));
            check_body(&request.body);
        }
        self.fake.delivered()
    }
}

pub(crate) fn check_body(body: &Value) {
    validate_request("POST", "/api/v10/webhooks/1/tok", body).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(body["allowed_mentions"], json!({"parse": []}));
    let embeds = body["embeds"].as_array().unwrap();
    assert!(embeds.len() <= 10);
    let total: usize = embeds
        .iter()
        .map(|e| {
            e["title"].as_str().map_or(0, |s| s.chars().count())
                + e["description"].as_str().map_or(0, |s| s.chars().count())
        })
        .sum();
    assert!(total <= 6000);
}

pub(crate) fn title(body: &Value) -> &str {
    body["embeds"][0]["title"].as_str().unwrap_or_default()
}

pub(crate) fn description(body: &Value) -> &str {
    body["embeds"][0]["description"]
        .as_str()
        .unwrap_or_default()
}

/// Steps until nothing more happens at `now`; returns every step.
pub(crate) async fn drain(dispatcher: &mut Dispatcher, now: DateTime<Utc>) -> Vec<Step> {
    let mut steps = Vec::new();
    for _ in 0..10_000 {
        let step = dispatcher.step(now).await.unwrap();
        let more = matches!(
            step,
            Step::Delivered { .. }
                | Step::Retry { .. }
                | Step::RenderFailed { .. }
                | Step::Failed { .. }
        );
        steps.push(step);
        if !more {
            return steps;
        }
    }
    panic!("dispatcher did not settle");
}

/// A kind's webhook switch, by the name its YAML gives.
pub(crate) fn switch(name: &str) -> SwitchKey {
    SwitchKey::parse(name).unwrap_or_else(|err| panic!("{err}"))
}

pub(crate) fn part_request_update(parent: i64) -> NewRecord {
    NewRecord {
        parent_id: Some(parent),
        ..new_record("part_request_update")
    }
}

#[sqlx::test(migrations = "./migrations")]
async fn one_message_per_record_per_kind(pool: PgPool) {
    let env = Env::new(pool).await;
    let problem = env.create(new_record("problem_report")).await;
    env.create(NewRecord {
        parent_id: Some(problem),
        ..new_record("log_entry")
    })
    .await;
    let part = env.create(new_record("part_request")).await;
    env.create(part_request_update(part)).await;
    assert_eq!(env.queued().await, 4);

    let mut dispatcher = env.dispatcher();
    let steps = drain(&mut dispatcher, crate::support::time::real_now()).await;
    assert_eq!(steps.last(), Some(&Step::Idle));
    let bodies = env.checked_bodies();
    let titles: Vec<&str> = bodies.iter().map(title).collect();
    assert_eq!(
        titles,
        [
            "⚠️ Problem report: EBD",
            "🗒️ Log entry: EBD",
            "📦 Part request: EBD",
            "💬 Part request update: EBD",
        ]
    );
    assert_eq!(
        bodies[0]["embeds"][0]["url"],
        format!("{BASE_URL}/problem-reports/{problem}/")
    );
    assert_eq!(bodies[0]["embeds"][0]["color"], 0xe67e22);
    assert!(description(&bodies[1]).contains(&format!(
        "↳ Problem report #{problem}: {BASE_URL}/problem-reports/{problem}/"
    )));
    assert!(description(&bodies[3]).ends_with("— Test Person"));
    assert_eq!(env.undelivered().await, 0);
    let message_ids: Vec<Option<i64>> =
        sqlx::query_scalar("SELECT discord_message_id FROM notification_outbox ORDER BY id")
            .fetch_all(&env.pool)
            .await
            .unwrap();
    assert!(message_ids.iter().all(Option::is_some), "{message_ids:?}");

    // Nothing is posted twice.
    assert_eq!(
        dispatcher
            .step(crate::support::time::real_now())
            .await
            .unwrap(),
        Step::Idle
    );
    assert_eq!(env.fake.received().len(), 4);
}

#[sqlx::test(migrations = "./migrations")]
async fn switched_off_kinds_and_discord_records_are_not_queued(pool: PgPool) {
    let env = Env::new(pool).await;
    env.set(switch("DISCORD_WEBHOOKS_PARTS"), "false").await;
    let part = env.create(new_record("part_request")).await;
    env.create(part_request_update(part)).await;
    assert_eq!(env.queued().await, 0, "parts are switched off");

    env.set(switch("DISCORD_WEBHOOKS_LOG_ENTRIES"), "false")
        .await;
    env.create(new_record("log_entry")).await;
    assert_eq!(env.queued().await, 0, "log entries are switched off");

    env.set(SettingKey::DiscordWebhooksFromDiscord, "false")
        .await;
    env.create(NewRecord {
        created_via: CreatedVia::DiscordMessage,
        ..new_record("problem_report")
    })
    .await;
    assert_eq!(
        env.queued().await,
        0,
        "records from Discord are switched off"
    );
    env.create(new_record("problem_report")).await;
    assert_eq!(
        env.queued().await,
        1,
        "a CLI problem report is still posted"
    );

    drain(&mut env.dispatcher(), crate::support::time::real_now()).await;
    let bodies = env.checked_bodies();
    assert_eq!(bodies.len(), 1);
    assert!(title(&bodies[0]).starts_with("⚠️"));
}

#[sqlx::test(migrations = "./migrations")]
async fn master_switch_off_queues_nothing_and_holds_what_was_queued(pool: PgPool) {
    let env = Env::new(pool).await;
    env.create(new_record("problem_report")).await;
    env.set(SettingKey::DiscordWebhooksEnabled, "false").await;
    env.create(new_record("problem_report")).await;
    assert_eq!(
        env.queued().await,
        1,
        "records made while off are not queued"
    );

    let mut dispatcher = env.dispatcher();
    assert_eq!(
        dispatcher
            .step(crate::support::time::real_now())
            .await
            .unwrap(),
        Step::Disabled
    );
    assert!(env.fake.received().is_empty());
    assert_eq!(env.undelivered().await, 1, "the queued row waits");

    env.set(SettingKey::DiscordWebhooksEnabled, "true").await;
    drain(&mut dispatcher, crate::support::time::real_now()).await;
    assert_eq!(env.checked_bodies().len(), 1);
    assert_eq!(env.undelivered().await, 0);
}

#[sqlx::test(migrations = "./migrations")]
async fn the_outbox_row_commits_and_rolls_back_with_its_record(pool: PgPool) {
    let env = Env::new(pool).await;
    let kinds = shipped_workflows().kinds.clone();
    let mut tx = env.pool.begin().await.unwrap();
    let mut record = new_record("problem_report");
    record.machine_id = Some(env.machine);
    create_record_in(&mut tx, &kinds, &record).await.unwrap();
    tx.rollback().await.unwrap();
    assert_eq!(env.queued().await, 0);
    let records: i64 = sqlx::query_scalar("SELECT count(*) FROM records")
        .fetch_one(&env.pool)
        .await
        .unwrap();
    assert_eq!(records, 0);
}

#[sqlx::test(migrations = "./migrations")]
async fn a_huge_description_keeps_attribution_and_parent_link(pool: PgPool) {
    let env = Env::new(pool).await;
    let problem = env.create(new_record("problem_report")).await;
    let entry = env
        .create(NewRecord {
            parent_id: Some(problem),
            ..new_record("log_entry")
        })
        .await;
    // Longer than any kind allows today: records from older versions or other
    // writers must still fit.
    sqlx::query("UPDATE records SET description = $2 WHERE id = $1")
        .bind(entry)
        .bind("ø".repeat(10_000))
        .execute(&env.pool)
        .await
        .unwrap();

    drain(&mut env.dispatcher(), crate::support::time::real_now()).await;
    let bodies = env.checked_bodies();
    let body = &bodies[1];
    let text = description(body);
    assert_eq!(text.chars().count(), 4096);
    assert!(text.ends_with(&format!(
        "↳ Problem report #{problem}: {BASE_URL}/problem-reports/{problem}/\n\n— Test Person"
    )));
    assert!(text.starts_with("øøø"));
    assert!(text.contains('…'));
    assert_eq!(
        body["embeds"][0]["url"],
        format!("{BASE_URL}/logs/{entry}/")
    );
}

/// Each way Discord says when to retry; `expected` is the wait before the
/// dispatcher's small safety margin and the time the step itself took.
#[sqlx::test(migrations = "./migrations")]
async fn rate_limits_wait_as_told_and_lose_nothing(pool: PgPool) {
    let env = Env::new(pool).await;
    let cases = [
        (Some("3"), None, None, Duration::seconds(3)),
        (
            Some("1.5"),
            Some("9"),
            Some(json!(9)),
            Duration::milliseconds(1500),
        ),
        (None, Some("0.75"), None, Duration::milliseconds(750)),
        (
            Some("soon"),
            None,
            Some(json!(2.25)),
            Duration::milliseconds(2250),
        ),
        (None, None, Some(json!("4")), Duration::seconds(4)),
        (
            Some("junk"),
            Some("-1"),
            Some(json!("junk")),
            Duration::seconds(1),
        ),
    ];
    let mut dispatcher = env.dispatcher();
    let mut now = crate::support::time::real_now();
    for (index, (retry_after, reset_after, body, expected)) in cases.into_iter().enumerate() {
        env.create(new_record("problem_report")).await;
        // Rows are due from their insertion (the database's clock).
        now = now.max(crate::support::time::real_now());
        env.fake.script([Reply::TooMany {
            retry_after: retry_after.map(str::to_string),
            reset_after: reset_after.map(str::to_string),
            body_retry_after: body,
        }]);
        let step = dispatcher.step(now).await.unwrap();
        let Step::Retry { at, error, .. } = step else {
            panic!("case {index}: expected a retry, got {step:?}");
        };
        assert!(matches!(error, PostError::RateLimited { .. }), "{error:?}");
        let wait = at - now;
        assert!(
            wait >= expected && wait <= expected + Duration::milliseconds(500),
            "case {index}: waited {wait:?}, expected {expected:?}"
        );
        // Before the wait is over nothing is sent.
        assert_eq!(
            dispatcher
                .step(at - Duration::milliseconds(1))
                .await
                .unwrap(),
            Step::Paced { until: at }
        );
        now = at;
        assert!(matches!(
            dispatcher.step(now).await.unwrap(),
            Step::Delivered { .. }
        ));
    }
    assert_eq!(env.undelivered().await, 0);
    let received = env.fake.received();
    assert_eq!(received.len(), 12);
    assert_eq!(env.checked_bodies().len(), 6);
}

#[sqlx::test(migrations = "./migrations")]
async fn server_errors_and_timeouts_back_off_exponentially(pool: PgPool) {
    let env = Env::new(pool).await;
    env.create(new_record("problem_report")).await;
    // The timeout is 2 s (no shorter: a 500 answered slowly on a loaded
    // machine must not count as a timeout) and the hang outlasts it.
    let timeout = StdDuration::from_secs(2);
    env.fake.script([
        Reply::Status(500),
        Reply::Status(502),
        Reply::Hang(timeout * 3),
    ]);
    let mut dispatcher = env.dispatcher_with(DispatcherConfig {
        http_timeout: timeout,
        ..config()
    });
    let mut now = crate::support::time::real_now();
    // Attempt n waits between half and all of 2 s · 2^(n-1).
    for (attempt, expect_timeout) in [(1, false), (2, false), (3, true)] {
        let Step::Retry { at, error, .. } = dispatcher.step(now).await.unwrap() else {
            panic!("attempt {attempt}: expected a retry");
        };
        assert_eq!(
            matches!(error, PostError::Timeout),
            expect_timeout,
            "{error:?}"
        );
        let full = Duration::seconds(2) * (1 << (attempt - 1));
        let wait = at - now;
        // Plus the time the step took (the wait counts from the answer): a
        // timeout's 2 s, or a local reply on a loaded machine.
        let slack = Duration::milliseconds(if expect_timeout { 3_500 } else { 1_500 });
        assert!(
            wait >= full / 2 && wait <= full + slack,
            "attempt {attempt}: {wait:?}"
        );
        // Meanwhile the webhook is not called at all.
        assert_eq!(
            dispatcher
                .step(at - Duration::milliseconds(1))
                .await
                .unwrap(),
            Step::Paced { until: at }
        );
        now = at;
    }
    let error: Option<String> = sqlx::query_scalar("SELECT last_error FROM notification_outbox")
        .fetch_one(&env.pool)
        .await
        .unwrap();
    assert_eq!(error.as_deref(), Some("the webhook call timed out"));
    assert!(matches!(
        dispatcher.step(now).await.unwrap(),
        Step::Delivered { .. }
    ));
    assert_eq!(env.checked_bodies().len(), 1);
    assert_eq!(env.undelivered().await, 0);
}

#[sqlx::test(migrations = "./migrations")]
async fn backoff_is_capped(pool: PgPool) {
    let env = Env::new(pool).await;
    env.create(new_record("problem_report")).await;
    env.fake.script((0..8).map(|_| Reply::Status(503)));
    let mut dispatcher = env.dispatcher();
    let mut now = crate::support::time::real_now();
    let mut last_wait = Duration::zero();
    for _ in 0..8 {
        let Step::Retry { at, .. } = dispatcher.step(now).await.unwrap() else {
            panic!("expected a retry");
        };
        last_wait = at - now;
        assert!(last_wait <= Duration::seconds(60) + Duration::milliseconds(500));
        now = at;
    }
    assert!(last_wait >= Duration::seconds(30), "{last_wait:?}");
    assert!(matches!(
        dispatcher.step(now).await.unwrap(),
        Step::Delivered { .. }
    ));
}

#[sqlx::test(migrations = "./migrations")]
async fn a_refused_webhook_parks_the_queue_until_the_url_changes(pool: PgPool) {
    let env = Env::new(pool).await;
    env.create(new_record("problem_report")).await;
    env.create(new_record("part_request")).await;
    env.fake.script([Reply::Status(404)]);
    let mut dispatcher = env.dispatcher();
    let now = crate::support::time::real_now();
    let Step::Retry { error, .. } = dispatcher.step(now).await.unwrap() else {
        panic!("expected the 404 to be reported");
    };
    assert!(matches!(error, PostError::WebhookGone { status: 404, .. }));
    for _ in 0..3 {
        assert_eq!(
            dispatcher.step(now + Duration::hours(1)).await.unwrap(),
            Step::Parked
        );
    }
    assert_eq!(
        env.fake.received().len(),
        1,
        "a parked queue does not call Discord"
    );
    let parked = outbox::parked(&env.pool).await.unwrap().unwrap();
    assert!(parked.error.contains("Unknown Webhook"), "{}", parked.error);
    assert_eq!(env.undelivered().await, 2, "nothing is dropped");

    // A restarted dispatcher stays parked too: the state is in the database.
    assert_eq!(env.dispatcher().step(now).await.unwrap(), Step::Parked);

    env.set(SettingKey::DiscordWebhookUrl, &env.fake.url("newtoken"))
        .await;
    drain(&mut dispatcher, now).await;
    assert_eq!(env.undelivered().await, 0);
    assert!(outbox::parked(&env.pool).await.unwrap().is_none());
    let received = env.fake.received();
    assert_eq!(received.len(), 3);
    assert!(received[1..].iter().all(|r| r.path.ends_with("/newtoken")));
    env.checked_bodies();
}

#[sqlx::test(migrations = "./migrations")]
async fn rows_of_a_dispatcher_killed_mid_delivery_are_retried(pool: PgPool) {
    let env = Env::new(pool).await;
    for _ in 0..3 {
        env.create(new_record("problem_report")).await;
    }
    let now = crate::support::time::real_now();
    // A dispatcher claims a row and dies before posting it.
    let rules = ClaimRules {
        lease: Duration::minutes(2),
        coalesce: None,
    };
    let claimed = outbox::claim(&env.pool, now, rules).await.unwrap();
    assert_eq!(claimed.len(), 1);

    // The restarted dispatcher delivers the rest at once, and the dead
    // one's row when its lease has run out.
    let mut restarted = env.dispatcher();
    drain(&mut restarted, now).await;
    assert_eq!(env.fake.received().len(), 2);
    assert_eq!(env.undelivered().await, 1);
    drain(&mut restarted, now + Duration::minutes(3)).await;
    assert_eq!(env.undelivered().await, 0);
    assert_eq!(env.checked_bodies().len(), 3);
}

#[sqlx::test(migrations = "./migrations")]
async fn two_dispatchers_deliver_every_row_once(pool: PgPool) {
    let env = Env::new(pool).await;
    let count = 60;
    for i in 0..count {
        env.create(NewRecord {
            description: format!("record number {i}"),
            ..new_record("part_request")
        })
        .await;
    }
    let mut first = env.dispatcher();
    let mut second = env.dispatcher();
    let now = crate::support::time::real_now();
    let (a, b) = tokio::join!(drain(&mut first, now), drain(&mut second, now));
    let delivered = |steps: &[Step]| {
        steps
            .iter()
            .filter(|s| matches!(s, Step::Delivered { .. }))
            .count()
    };
    assert_eq!(delivered(&a) + delivered(&b), count);
    let mut seen: Vec<String> = env
        .checked_bodies()
        .iter()
        .map(|b| {
            description(b)
                .lines()
                .next()
                .unwrap_or_default()
                .to_string()
        })
        .collect();
    seen.sort();
    let mut expected: Vec<String> = (0..count).map(|i| format!("record number {i}")).collect();
    expected.sort();
    assert_eq!(seen, expected, "every record exactly once");
    assert_eq!(env.undelivered().await, 0);
}

#[sqlx::test(migrations = "./migrations")]
async fn coalescing_posts_a_burst_as_one_digest_and_a_lone_record_richly(pool: PgPool) {
    let env = Env::new(pool).await;
    env.set(SettingKey::DiscordWebhooksCoalesce, "true").await;
    let ada = add_maintainer(&env.pool, "ada").await;
    let bob = add_maintainer(&env.pool, "bob").await;
    let by = |who: i64, kind: &str| NewRecord {
        author: Author::Maintainer(who),
        ..new_record(kind)
    };
    for kind in ["problem_report", "log_entry", "part_request"] {
        env.create(by(ada, kind)).await;
    }
    env.create(by(bob, "problem_report")).await;
    // No person: posted at once.
    env.create(new_record("part_request")).await;

    let mut dispatcher = env.dispatcher();
    let now = crate::support::time::real_now();
    drain(&mut dispatcher, now).await;
    let bodies = env.checked_bodies();
    assert_eq!(
        bodies.len(),
        1,
        "only the record without a person goes at once"
    );
    assert!(title(&bodies[0]).starts_with("📦"));

    // After five quiet minutes: one digest for Ada, the rich message for Bob.
    drain(&mut dispatcher, now + Duration::minutes(4)).await;
    assert_eq!(
        env.fake.received().len(),
        1,
        "still within the quiet period"
    );
    drain(
        &mut dispatcher,
        now + Duration::minutes(5) + Duration::seconds(1),
    )
    .await;
    let bodies = env.checked_bodies();
    assert_eq!(bodies.len(), 3);
    assert_eq!(title(&bodies[1]), "🗂️ 3 new records by ada");
    let digest = description(&bodies[1]);
    assert_eq!(digest.lines().count(), 3, "{digest}");
    assert!(digest.contains("[⚠️ Problem report: EBD](https://flipfix.example/problem-reports/"));
    assert_eq!(title(&bodies[2]), "⚠️ Problem report: EBD");
    assert!(description(&bodies[2]).ends_with("— bob"));
    assert_eq!(env.undelivered().await, 0);
    let digest_members: i64 =
        sqlx::query_scalar("SELECT count(*) FROM notification_outbox WHERE digest_of IS NOT NULL")
            .fetch_one(&env.pool)
            .await
            .unwrap();
    assert_eq!(digest_members, 2);
}

#[sqlx::test(migrations = "./migrations")]
async fn coalescing_never_holds_a_record_longer_than_the_maximum(pool: PgPool) {
    let env = Env::new(pool).await;
    env.set(SettingKey::DiscordWebhooksCoalesce, "true").await;
    let ada = add_maintainer(&env.pool, "ada").await;
    env.create(NewRecord {
        author: Author::Maintainer(ada),
        ..new_record("problem_report")
    })
    .await;
    // Ada keeps posting every few minutes: never quiet for five minutes.
    sqlx::query(
        "INSERT INTO notification_outbox (record_id, author_key, created_at)
         SELECT record_id, author_key, now() + interval '14 minutes' FROM notification_outbox",
    )
    .execute(&env.pool)
    .await
    .unwrap();
    let mut dispatcher = env.dispatcher();
    let now = crate::support::time::real_now();
    drain(&mut dispatcher, now + Duration::minutes(14)).await;
    assert!(env.fake.received().is_empty());
    drain(
        &mut dispatcher,
        now + Duration::minutes(15) + Duration::seconds(1),
    )
    .await;
    let bodies = env.checked_bodies();
    assert_eq!(bodies.len(), 1);
    assert_eq!(title(&bodies[0]), "🗂️ 2 new records by ada");
    assert_eq!(env.undelivered().await, 0);
}

/// How long a NOTIFY may take to wake the dispatcher and get the record
/// posted: seconds of margin for a loaded CI; without NOTIFY the wait is
/// the hour-long poll.
const NOTIFY_WINDOW: StdDuration = StdDuration::from_secs(5);

/// Whether a record queued while the dispatcher sleeps is posted within
/// `NOTIFY_WINDOW`. The dispatcher starts with nothing queued and is asleep
/// before the record is created (so no step after a delivery can find it),
/// and its poll is an hour: only a NOTIFY can wake it in time.
async fn posted_while_asleep(env: &Env, listen: bool) -> bool {
    let dispatcher = env.dispatcher_with(DispatcherConfig {
        poll_interval: StdDuration::from_secs(3600),
        listen,
        ..config()
    });
    let mut activity = dispatcher.activity();
    let task = tokio::spawn(dispatcher.run(flipfix_bot::shutdown::Shutdown::never()));
    tokio::time::timeout(
        StdDuration::from_secs(30),
        activity.wait_for(|a| a.sleeps >= 1),
    )
    .await
    .expect("the dispatcher went to sleep")
    .unwrap();
    env.create(new_record("part_request")).await;
    let posted = tokio::time::timeout(NOTIFY_WINDOW, env.fake.wait_for_requests(1))
        .await
        .is_ok();
    let steps = activity.borrow().steps;
    task.abort();
    if !posted {
        assert_eq!(steps, 1, "never woken");
    }
    posted
}

#[sqlx::test(migrations = "./migrations")]
async fn the_running_dispatcher_wakes_on_notify(pool: PgPool) {
    let env = Env::new(pool).await;
    assert!(
        posted_while_asleep(&env, true).await,
        "the NOTIFY woke the dispatcher and the record was posted"
    );
    let bodies = env.checked_bodies();
    assert_eq!(bodies.len(), 1);
    assert!(title(&bodies[0]).starts_with("📦"));
}

/// The same check with LISTEN off fails: nothing else wakes the dispatcher
/// in time, so the check above proves the NOTIFY path.
#[sqlx::test(migrations = "./migrations")]
async fn without_listen_the_wake_up_check_fails(pool: PgPool) {
    let env = Env::new(pool).await;
    assert!(
        !posted_while_asleep(&env, false).await,
        "without LISTEN the record waits for the poll"
    );
    assert!(env.fake.received().is_empty());
}

#[test]
fn a_photo_gallery_payload_is_valid_for_discord() {
    use flipfix_bot::notify::message::{record_payload, RecordMessage};
    let payload = record_payload(&RecordMessage {
        title: "⚠️ Problem report: EBD".into(),
        body: "Flipper coil burnt.\n\n— Ada".into(),
        url: Some(format!("{BASE_URL}/problem-reports/1/")),
        color: Some(0xe67e22),
        photo_urls: (1..=5)
            .map(|i| format!("https://cdn.discordapp.com/attachments/1/2/{i}.jpg"))
            .collect(),
    });
    check_body(&payload);
    let embeds = payload["embeds"].as_array().unwrap();
    assert_eq!(embeds.len(), 4, "at most four photos");
    assert!(embeds
        .iter()
        .all(|e| e["url"] == format!("{BASE_URL}/problem-reports/1/")));
}

#[sqlx::test(migrations = "./migrations")]
async fn a_refused_payload_is_retried_without_holding_up_the_others(pool: PgPool) {
    let env = Env::new(pool).await;
    env.create(new_record("problem_report")).await;
    env.create(new_record("part_request")).await;
    env.fake.script([Reply::Status(400)]);
    let mut dispatcher = env.dispatcher();
    let now = crate::support::time::real_now();
    let steps = drain(&mut dispatcher, now).await;
    let Step::Retry { at, .. } = &steps[0] else {
        panic!("expected the 400 to be retried: {steps:?}");
    };
    assert!(matches!(steps[1], Step::Delivered { .. }), "{steps:?}");
    assert_eq!(env.undelivered().await, 1, "the refused row is kept");
    drain(&mut dispatcher, *at).await;
    assert_eq!(env.undelivered().await, 0);
    let bodies = env.checked_bodies();
    assert!(title(&bodies[0]).starts_with("📦"));
    assert!(title(&bodies[1]).starts_with("⚠️"));
}

#[sqlx::test(migrations = "./migrations")]
async fn record_photos_become_a_gallery_of_at_most_four(pool: PgPool) {
    let env = Env::new(pool).await;
    let media = (0..6)
        .map(|i| flipfix_bot::records::Media {
            url: format!("https://cdn.discordapp.com/attachments/1/{i}/photo{i}.jpg"),
            filename: format!("photo{i}.jpg"),
            content_type: Some(if i == 1 {
                "video/mp4".into()
            } else {
                "image/jpeg".into()
            }),
            size_bytes: Some(1000),
        })
        .collect();
    env.create(NewRecord {
        media,
        ..new_record("part_request")
    })
    .await;
    let mut dispatcher = env.dispatcher();
    // Past the wait for the copies (none is made here): Discord's URLs.
    let after_wait = crate::support::time::real_now()
        + flipfix_bot::notify::dispatcher::PHOTO_WAIT
        + Duration::seconds(1);
    drain(&mut dispatcher, after_wait).await;
    let bodies = env.checked_bodies();
    let images: Vec<&str> = bodies[0]["embeds"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["image"]["url"].as_str())
        .collect();
    assert_eq!(images.len(), 4, "{}", bodies[0]);
    assert!(
        images.iter().all(|url| !url.contains("photo1")),
        "the video is not an image: {images:?}"
    );
}
