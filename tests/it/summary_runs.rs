//! Daily summaries as they run: the scheduler loop, real bot processes,
//! the DST window, the master switch and record text, and a summary
//! Discord refuses. Helpers are in `summary`.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use flipfix_bot::clock::ManualClock;
use flipfix_bot::config::SettingKey;
use flipfix_bot::notify::DispatcherConfig;
use flipfix_bot::notify::Step;
use flipfix_bot::summary::Decision;
use serde_json::json;
use sqlx::PgPool;

use crate::notify::{description, title, Env};
use crate::summary::{
    a_busy_day, at, claims, clear_outbox, day, decision, outbox_rows, record_at, record_at_time,
    scheduler, with, workflows_with_summary, write_daily_summary, DUE,
};
use crate::support::copy_workflows;

#[sqlx::test(migrations = "./migrations")]
async fn the_running_scheduler_posts_at_the_clock_time_through_the_outbox(pool: PgPool) {
    let env = Env::new(pool).await;
    a_busy_day(&env).await;
    let workflows = workflows_with_summary();
    let (trigger, shutdown) = flipfix_bot::shutdown::channel();
    // Two processes' schedulers and dispatchers, all running, every clock
    // pinned at the summary's time.
    let clock = Arc::new(ManualClock::at(at(DUE)));
    let mut tasks = Vec::new();
    for _ in 0..2 {
        let scheduler = scheduler(&env, &workflows);
        let stop = shutdown.clone();
        tasks.push(tokio::spawn(async move {
            scheduler.run(stop).await;
            Ok::<(), flipfix_bot::notify::DispatchError>(())
        }));
        let dispatcher = env.dispatcher_with(DispatcherConfig {
            clock: clock.clone(),
            ..crate::notify::config()
        });
        tasks.push(tokio::spawn(dispatcher.run(shutdown.clone())));
    }
    env.fake.wait_for_requests(1).await;
    trigger.request();
    for task in tasks {
        task.await.expect("task").expect("stopped cleanly");
    }
    let bodies = env.checked_bodies();
    assert_eq!(bodies.len(), 1, "one post from two processes");
    assert!(title(&bodies[0]).ends_with("3 new records"));
    assert_eq!(
        claims(&env.pool).await,
        [(day("2026-11-24"), "queued".into())]
    );
    // One schedule run is recorded, by the process that posted.
    let runs = flipfix_bot::runs::latest(&env.pool, None, 10)
        .await
        .unwrap();
    let seen: Vec<_> = runs
        .iter()
        .map(|r| (r.trigger, r.outcome, r.reason.as_deref(), r.user_id))
        .collect();
    assert_eq!(
        seen,
        vec![(
            flipfix_bot::runs::Trigger::Schedule,
            flipfix_bot::runs::Outcome::Posted,
            Some("a summary of 3 record(s) was queued for the webhook"),
            None
        )]
    );
}

#[sqlx::test(migrations = "./migrations")]
async fn the_window_across_the_spring_change_is_23_hours(pool: PgPool) {
    let env = Env::new(pool).await;
    // 18:00 London is 18:00 UTC on 28 March 2026 and 17:00 UTC on the 29th.
    record_at(
        &env,
        with("log_entry", "Just after Saturday's summary", &[]),
        "2026-03-28T18:00:01Z",
        "2026-03-28T18:00:01Z",
        None,
    )
    .await;
    record_at(
        &env,
        with("log_entry", "Just after Sunday's time", &[]),
        "2026-03-29T17:00:01Z",
        "2026-03-29T17:00:01Z",
        None,
    )
    .await;
    clear_outbox(&env.pool).await;
    let workflows = workflows_with_summary();
    let scheduler = scheduler(&env, &workflows);
    let due = at("2026-03-29T17:00:00Z");
    // The wake-up before it is Sunday's 17:00 UTC, not 18:00.
    assert_eq!(scheduler.next_wake(at("2026-03-29T16:50:00Z"), &[]), due);
    let outcomes = scheduler.step(due).await;
    assert!(
        matches!(decision(&outcomes), Decision::Queued { records: 1, .. }),
        "{outcomes:?}"
    );
    let window: (DateTime<Utc>, DateTime<Utc>) = sqlx::query_as(
        "SELECT window_start, due_at FROM summary_posts WHERE local_date = $1::DATE",
    )
    .bind(day("2026-03-29"))
    .fetch_one(&env.pool)
    .await
    .expect("claim");
    assert_eq!(window, (at("2026-03-28T18:00:00Z"), due));
    let body: String =
        sqlx::query_scalar("SELECT body FROM summary_posts WHERE local_date = $1::DATE")
            .bind(day("2026-03-29"))
            .fetch_one(&env.pool)
            .await
            .expect("body");
    assert!(body.contains("Just after Saturday"), "{body}");
    assert!(!body.contains("Sunday's time"), "{body}");
    let schedule = flipfix_bot::summary::Schedule::new(
        workflows.summaries[0].at,
        workflows.summaries[0].timezone,
    );
    assert_eq!(schedule.next_due(due), at("2026-03-30T17:00:00Z"));
}

#[sqlx::test(migrations = "./migrations")]
async fn webhooks_off_skips_the_day_and_record_text_is_data(pool: PgPool) {
    let env = Env::new(pool).await;
    record_at(
        &env,
        with(
            "log_entry",
            "@everyone **look** <@123> [x](http://evil.example)",
            &[],
        ),
        "2026-11-24T10:00:00Z",
        "2026-11-24T10:00:00Z",
        None,
    )
    .await;
    clear_outbox(&env.pool).await;
    let workflows = workflows_with_summary();

    env.set(SettingKey::DiscordWebhooksEnabled, "false").await;
    let off = scheduler(&env, &workflows)
        .step(at("2026-11-24T18:00:00Z"))
        .await;
    assert_eq!(decision(&off), &Decision::WebhooksOff);
    assert_eq!(outbox_rows(&env.pool).await, 0);

    env.set(SettingKey::DiscordWebhooksEnabled, "true").await;
    record_at(
        &env,
        with(
            "log_entry",
            "@everyone **look** <@123> [x](http://evil.example)",
            &[],
        ),
        "2026-11-25T10:00:00Z",
        "2026-11-25T10:00:00Z",
        None,
    )
    .await;
    clear_outbox(&env.pool).await;
    let on = scheduler(&env, &workflows)
        .step(at("2026-11-25T18:00:00Z"))
        .await;
    assert!(matches!(decision(&on), Decision::Queued { .. }));
    crate::notify::drain(&mut env.dispatcher(), at("2026-11-25T18:00:00Z")).await;
    let bodies = env.checked_bodies();
    assert_eq!(bodies.len(), 1);
    assert_eq!(bodies[0]["allowed_mentions"], json!({"parse": []}));
    let text = description(&bodies[0]);
    assert!(
        text.contains(r"\@everyone \*\*look\*\* \<\@123\> \[x\]\(http://evil.example\)"),
        "{text}"
    );
}
/// Two real `run` processes whose summary was due two minutes before they
/// started (a restart after the time): one posts it, the other finds it
/// decided, and the webhook gets exactly one message.
#[sqlx::test(migrations = "./migrations")]
async fn two_bot_processes_started_after_the_time_post_it_once(pool: PgPool) {
    use crate::support::anthropic::FakeAnthropic;
    use crate::support::fake_discord::FakeDiscord;
    use crate::support::process::{database_url, BotProcess};
    use std::time::Duration as StdDuration;

    let env = Env::new(pool).await;
    let due = crate::support::time::real_now() - Duration::minutes(2);
    let dir = copy_workflows();
    // The shipped daily summary, as a schedule workflow, switched on.
    write_daily_summary(dir.path(), &due.format("%H:%M").to_string(), "UTC");
    let created = due - Duration::hours(1);
    record_at_time(
        &env,
        with("log_entry", "Replaced a fuse", &[]),
        created,
        created,
        None,
    )
    .await;
    clear_outbox(&env.pool).await;

    let fake = FakeDiscord::start().await;
    let anthropic = FakeAnthropic::start(Vec::new()).await;
    let url = database_url(&env.pool);
    let workflows_dir = dir.path().join("workflows");
    let prompts_dir = dir.path().join("prompts");
    let extra = [
        (
            "FLIPFIX_WORKFLOWS_DIR",
            workflows_dir.to_str().expect("utf-8 path"),
        ),
        (
            "FLIPFIX_PROMPTS_DIR",
            prompts_dir.to_str().expect("utf-8 path"),
        ),
        (
            "RUST_LOG",
            "warn,flipfix_bot=info,flipfix_core=info,flipfix_core::summary=debug",
        ),
    ];
    let processes = [
        BotProcess::start(&url, &fake, &anthropic.base_url, &extra),
        BotProcess::start(&url, &fake, &anthropic.base_url, &extra),
    ];
    env.fake.wait_for_requests(1).await;
    for process in &processes {
        assert!(
            process
                .wait_for_log("daily summary", StdDuration::from_secs(60))
                .await,
            "{}",
            process.stderr()
        );
    }
    let logs: Vec<String> = processes.iter().map(BotProcess::stderr).collect();
    let queued = logs
        .iter()
        .filter(|log| log.contains("daily summary queued"))
        .count();
    let decided = logs
        .iter()
        .filter(|log| log.contains("daily summary already decided"))
        .count();
    assert_eq!((queued, decided), (1, 1), "{logs:#?}");
    let bodies = env.checked_bodies();
    assert_eq!(bodies.len(), 1);
    assert!(description(&bodies[0]).contains("Replaced a fuse"));
    // One run of the schedule workflow, on the workflow's own version.
    let loaded = flipfix_bot::template_check::load_workflows(&workflows_dir, &prompts_dir)
        .unwrap_or_else(|problems| panic!("{problems}"));
    let daily = loaded
        .workflows
        .iter()
        .find(|w| w.name == "daily")
        .expect("the daily workflow");
    let runs = flipfix_bot::runs::latest(&env.pool, None, 10)
        .await
        .expect("runs");
    let seen: Vec<_> = runs
        .iter()
        .map(|r| (r.workflow.as_str(), r.workflow_version.as_str(), r.trigger))
        .collect();
    assert_eq!(
        seen,
        [(
            "daily",
            daily.version.as_str(),
            flipfix_bot::runs::Trigger::Schedule
        )]
    );
}

/// A summary Discord refuses ends like any poison row: failed, listed for
/// admins as the summary it is, and re-queued by `retry`.
#[sqlx::test(migrations = "./migrations")]
async fn a_refused_summary_ends_failed_and_is_listed_as_a_summary(pool: PgPool) {
    use flipfix_bot::notify::failed;

    let env = Env::new(pool).await;
    a_busy_day(&env).await;
    env.set(SettingKey::NotifyMaxAttempts, "1").await;
    env.fake.refuse_containing("new records", 400);
    let workflows = workflows_with_summary();
    let outcomes = scheduler(&env, &workflows).step(at(DUE)).await;
    assert!(matches!(decision(&outcomes), Decision::Queued { .. }));
    let steps = crate::notify::drain(&mut env.dispatcher(), at(DUE)).await;
    assert!(
        steps.iter().any(|s| matches!(s, Step::Failed { .. })),
        "{steps:?}"
    );
    let (rows, total) = failed::list(&env.pool, 10).await.expect("failed list");
    assert_eq!(total, 1);
    assert_eq!(rows[0].record_id, None);
    assert_eq!(rows[0].kind, format!("summary daily {}", day("2026-11-24")));

    env.fake.stop_refusing();
    assert_eq!(
        failed::retry(
            &env.pool,
            failed::Target::All,
            at(DUE) + Duration::minutes(1)
        )
        .await
        .expect("retry"),
        1
    );
    let steps = crate::notify::drain(&mut env.dispatcher(), at(DUE) + Duration::minutes(1)).await;
    assert!(
        steps.iter().any(|s| matches!(s, Step::Delivered { .. })),
        "{steps:?}"
    );
}
