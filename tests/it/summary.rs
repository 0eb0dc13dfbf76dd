//! Daily summaries end to end: real Postgres, the real scheduler and
//! dispatcher, the fake webhook (every body checked against Discord's
//! spec). Time comes from an injected clock or an explicit "now", so the
//! 18:00 summary is tested without waiting for 18:00. This file holds the
//! shared helpers and the once-a-day rules; `summary_runs` and
//! `summary_check` the rest.

use std::path::Path;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use flipfix_bot::clock::ManualClock;
use flipfix_bot::notify::Step;
use flipfix_bot::records::NewRecord;
use flipfix_bot::summary::{Decision, Outcome, Scheduler};
use flipfix_bot::template_check::load_workflows;
use flipfix_bot::workflow::Workflows;
use sqlx::PgPool;

use crate::notify::{description, title, Env};
use crate::support::time::{pinned, pinned_date};
use crate::support::{copy_workflows, new_record};

/// 18:00 in London on 24 November 2026 (GMT, so 18:00 UTC), before the
/// shift CI applies (see `support::time`).
pub(crate) const DUE: &str = "2026-11-24T18:00:00Z";

/// A pinned instant: every clock in these tests is pinned with it.
pub(crate) fn at(text: &str) -> DateTime<Utc> {
    pinned(text)
}

/// A pinned local date, as `summary_posts.local_date` prints it.
pub(crate) fn day(text: &str) -> String {
    pinned_date(text)
}

/// The shipped workflows with the daily summary switched on.
pub(crate) fn workflows_with_summary() -> Arc<Workflows> {
    let dir = copy_workflows();
    write_daily_summary(dir.path(), "18:00", "Europe/London");
    load_workflows(&dir.path().join("workflows"), &dir.path().join("prompts"))
        .unwrap_or_else(|problems| panic!("{problems}"))
}

/// Replaces the shipped (off) daily summary with the schedule workflow
/// `daily` at `at` in `timezone`, with the default listings.
pub(crate) fn write_daily_summary(dir: &Path, at: &str, timezone: &str) {
    let yaml = format!(
        "workflows:\n  - name: daily\n    triggers:\n      - schedule: {{at: \"{at}\", timezone: {timezone}}}\n    summary:\n      template: summaries/daily.md.j2\n"
    );
    std::fs::write(dir.join("workflows/daily_summary.yaml"), yaml)
        .expect("write daily_summary.yaml");
}

/// Writes 0.x's `summaries:` section, which still loads (with a warning).
pub(crate) fn write_summaries(dir: &Path, yaml: &str) {
    std::fs::write(dir.join("workflows/summaries.yaml"), yaml).expect("write summaries.yaml");
}

pub(crate) fn scheduler(env: &Env, workflows: &Arc<Workflows>) -> Scheduler {
    let workflows = workflows.clone();
    Scheduler::new(
        env.pool.clone(),
        Arc::new(move || workflows.clone()),
        Arc::new(ManualClock::at(at(DUE))),
        Some(crate::support::public_url("https://flipfix.example")),
    )
}

/// Creates a record on the test machine (or `machine`), then puts it at
/// `created` (when it entered the bot) and `occurred` (when it happened).
pub(crate) async fn record_at(
    env: &Env,
    record: NewRecord,
    created: &str,
    occurred: &str,
    machine: Option<i64>,
) -> i64 {
    record_at_time(env, record, at(created), at(occurred), machine).await
}

/// [`record_at`] for tests written relative to the real now.
pub(crate) async fn record_at_time(
    env: &Env,
    record: NewRecord,
    created: DateTime<Utc>,
    occurred: DateTime<Utc>,
    machine: Option<i64>,
) -> i64 {
    let record = NewRecord {
        machine_id: machine.or(record.machine_id),
        created_at: created,
        occurred_at: occurred,
        ..record
    };
    env.create(record).await
}

pub(crate) fn with(kind: &str, description: &str, fields: &[(&str, &str)]) -> NewRecord {
    let mut record = new_record(kind);
    record.description = description.into();
    for (name, value) in fields {
        record.fields.insert((*name).into(), (*value).into());
    }
    record
}

/// A day with records: two on EBD, one on a second machine; one open
/// report from four days before, one closed; a part ordered a week before
/// and one received. The records' own notifications are cleared, so the
/// outbox holds summaries only.
pub(crate) async fn a_busy_day(env: &Env) {
    let medieval =
        crate::support::add_machine(&env.pool, "medieval-madness", "Medieval Madness").await;
    record_at(
        env,
        with("problem_report", "Left flipper weak\nmore detail", &[]),
        "2026-11-24T09:00:00Z",
        "2026-11-24T09:00:00Z",
        None,
    )
    .await;
    record_at(
        env,
        with("log_entry", "Rebuilt the left flipper", &[]),
        "2026-11-24T11:00:00Z",
        "2026-11-24T11:00:00Z",
        None,
    )
    .await;
    record_at(
        env,
        with("log_entry", "Cleaned the playfield", &[]),
        "2026-11-24T12:00:00Z",
        "2026-11-24T12:00:00Z",
        Some(medieval),
    )
    .await;
    record_at(
        env,
        with("problem_report", "Castle gate stuck", &[]),
        "2026-11-20T10:00:00Z",
        "2026-11-20T10:00:00Z",
        Some(medieval),
    )
    .await;
    record_at(
        env,
        with("problem_report", "Fixed already", &[("status", "closed")]),
        "2026-11-21T10:00:00Z",
        "2026-11-21T10:00:00Z",
        None,
    )
    .await;
    record_at(
        env,
        with("part_request", "Flipper coil", &[("status", "ordered")]),
        "2026-11-17T10:00:00Z",
        "2026-11-17T10:00:00Z",
        None,
    )
    .await;
    record_at(
        env,
        with("part_request", "Rubber ring kit", &[("status", "received")]),
        "2026-11-16T10:00:00Z",
        "2026-11-16T10:00:00Z",
        None,
    )
    .await;
    // Entered after the summary's time: tomorrow's.
    record_at(
        env,
        with("log_entry", "Late evening fix", &[]),
        "2026-11-24T18:30:00Z",
        "2026-11-24T18:30:00Z",
        None,
    )
    .await;
    clear_outbox(&env.pool).await;
}

pub(crate) async fn clear_outbox(pool: &PgPool) {
    sqlx::query("DELETE FROM notification_outbox")
        .execute(pool)
        .await
        .expect("clear outbox");
}

pub(crate) async fn outbox_rows(pool: &PgPool) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM notification_outbox")
        .fetch_one(pool)
        .await
        .expect("count outbox")
}

pub(crate) async fn claims(pool: &PgPool) -> Vec<(String, String)> {
    sqlx::query_as("SELECT local_date::TEXT, outcome FROM summary_posts ORDER BY local_date")
        .fetch_all(pool)
        .await
        .expect("claims")
}

pub(crate) fn decision(outcomes: &[(String, Outcome)]) -> &Decision {
    match outcomes {
        [(name, Outcome::Decided(decision))] if name == "daily" => decision,
        other => panic!("expected one decision, got {other:?}"),
    }
}

#[sqlx::test(migrations = "./migrations")]
async fn posted_once_by_one_of_two_schedulers_and_dispatchers(pool: PgPool) {
    let env = Env::new(pool).await;
    a_busy_day(&env).await;
    let workflows = workflows_with_summary();
    let (first, second) = (scheduler(&env, &workflows), scheduler(&env, &workflows));
    let now = at(DUE) + Duration::seconds(1);

    let (a, b) = tokio::join!(first.step(now), second.step(now));
    let mut decisions = vec![decision(&a).clone(), decision(&b).clone()];
    decisions.sort_by_key(|d| matches!(d, Decision::AlreadyDecided));
    assert!(
        matches!(decisions[0], Decision::Queued { records: 3, .. }),
        "{decisions:?}"
    );
    assert_eq!(decisions[1], Decision::AlreadyDecided);
    assert_eq!(outbox_rows(&env.pool).await, 1);

    let (mut d1, mut d2) = (env.dispatcher(), env.dispatcher());
    let (s1, s2) = tokio::join!(d1.step(now), d2.step(now));
    let steps = [s1.expect("step"), s2.expect("step")];
    assert_eq!(
        steps
            .iter()
            .filter(|s| matches!(s, Step::Delivered { .. }))
            .count(),
        1,
        "{steps:?}"
    );
    assert!(steps.contains(&Step::Idle), "{steps:?}");

    let bodies = env.checked_bodies();
    assert_eq!(bodies.len(), 1);
    let body = &bodies[0];
    assert_eq!(
        title(body),
        format!("📋 {}: 3 new records", at(DUE).format("%A %-d %B %Y"))
    );
    let text = description(body);
    let ebd = text.find("**EBD**").expect("EBD heading");
    let mm = text
        .find("**Medieval Madness**")
        .expect("second machine heading");
    assert!(ebd < mm, "machines in name order:\n{text}");
    assert!(text.contains("Left flipper weak"), "{text}");
    assert!(
        !text.contains("more detail"),
        "one line per record:\n{text}"
    );
    assert!(text.contains("Rebuilt the left flipper"), "{text}");
    assert!(
        !text.contains("Late evening fix"),
        "after the time: tomorrow's\n{text}"
    );
    let open = text
        .find("**Open problem reports (2), oldest first**")
        .expect(text);
    let castle = text.find("4 d · Medieval Madness").expect(text);
    let today = text.find("0 d · EBD").expect(text);
    assert!(open < castle && castle < today, "oldest first:\n{text}");
    assert!(
        !text.contains("Fixed already"),
        "closed reports are not open:\n{text}"
    );
    assert!(
        text.contains("**Parts waiting (1), oldest first**"),
        "{text}"
    );
    assert!(text.contains("ordered · 7 d · EBD"), "{text}");
    assert!(
        !text.contains("Rubber ring kit"),
        "received parts wait no more:\n{text}"
    );
    assert!(
        text.contains("](https://flipfix.example/problem-reports/"),
        "{text}"
    );

    // Later steps the same day change nothing.
    for scheduler in [&first, &second] {
        let later = scheduler.step(now + Duration::hours(1)).await;
        assert_eq!(decision(&later), &Decision::AlreadyDecided);
    }
    assert_eq!(outbox_rows(&env.pool).await, 1);
    assert_eq!(
        claims(&env.pool).await,
        [(day("2026-11-24"), "queued".into())]
    );
}

#[sqlx::test(migrations = "./migrations")]
async fn nothing_is_posted_on_a_day_with_no_records(pool: PgPool) {
    let env = Env::new(pool).await;
    // Open work from earlier days, but nothing new since yesterday's summary.
    record_at(
        &env,
        with("problem_report", "Old problem", &[]),
        "2026-11-20T10:00:00Z",
        "2026-11-20T10:00:00Z",
        None,
    )
    .await;
    record_at(
        &env,
        with("part_request", "Old part", &[]),
        "2026-11-23T17:59:00Z",
        "2026-11-23T17:59:00Z",
        None,
    )
    .await;
    clear_outbox(&env.pool).await;
    let workflows = workflows_with_summary();
    let outcomes = scheduler(&env, &workflows).step(at(DUE)).await;
    assert_eq!(decision(&outcomes), &Decision::NothingToSay);
    assert_eq!(outbox_rows(&env.pool).await, 0);
    // The schedule run is recorded as skipped, at the scheduler's time.
    let runs = flipfix_bot::runs::latest(&env.pool, None, 5).await.unwrap();
    let seen: Vec<_> = runs
        .iter()
        .map(|r| (r.outcome, r.reason.as_deref(), r.finished_at))
        .collect();
    assert_eq!(
        seen,
        vec![(
            flipfix_bot::runs::Outcome::Skipped,
            Some("no records since the last summary"),
            Some(at(DUE))
        )]
    );
    let steps = crate::notify::drain(&mut env.dispatcher(), at(DUE)).await;
    assert_eq!(steps, [Step::Idle]);
    assert!(env.fake.received().is_empty());
    // Decided once: a record arriving later that evening does not bring
    // back today's summary (it is in tomorrow's).
    record_at(
        &env,
        with("log_entry", "Evening", &[]),
        "2026-11-24T19:00:00Z",
        "2026-11-24T19:00:00Z",
        None,
    )
    .await;
    let outcomes = scheduler(&env, &workflows)
        .step(at("2026-11-24T19:01:00Z"))
        .await;
    assert_eq!(decision(&outcomes), &Decision::AlreadyDecided);
    assert_eq!(
        claims(&env.pool).await,
        [(day("2026-11-24"), "nothing_to_say".into())]
    );
}

#[sqlx::test(migrations = "./migrations")]
async fn a_restart_after_the_time_posts_once_but_a_stale_day_is_skipped(pool: PgPool) {
    let env = Env::new(pool).await;
    a_busy_day(&env).await;
    let workflows = workflows_with_summary();
    // At 17:59 today is not due, and yesterday's time is too long ago.
    let early = scheduler(&env, &workflows)
        .step(at("2026-11-24T17:59:00Z"))
        .await;
    assert!(
        matches!(early.as_slice(), [(_, Outcome::Stale)]),
        "{early:?}"
    );
    assert!(claims(&env.pool).await.is_empty());

    // The process was down at 18:00 and starts at 18:05.
    let restarted = scheduler(&env, &workflows)
        .step(at("2026-11-24T18:05:00Z"))
        .await;
    assert!(matches!(
        decision(&restarted),
        Decision::Queued { records: 3, .. }
    ));
    // And again at 18:20 (another restart): nothing more.
    let again = scheduler(&env, &workflows)
        .step(at("2026-11-24T18:20:00Z"))
        .await;
    assert_eq!(decision(&again), &Decision::AlreadyDecided);
    assert_eq!(outbox_rows(&env.pool).await, 1);

    // Down from before 18:00 on the 25th until 01:00 on the 26th (7 h
    // late): the 25th is stale and skipped, nothing claimed for it.
    record_at(
        &env,
        with("log_entry", "Next day", &[]),
        "2026-11-25T10:00:00Z",
        "2026-11-25T10:00:00Z",
        None,
    )
    .await;
    clear_outbox(&env.pool).await;
    let late = scheduler(&env, &workflows)
        .step(at("2026-11-26T01:00:00Z"))
        .await;
    assert!(matches!(late.as_slice(), [(_, Outcome::Stale)]), "{late:?}");
    assert_eq!(outbox_rows(&env.pool).await, 0);
    assert!(claims(&env.pool)
        .await
        .iter()
        .all(|(date, _)| *date != day("2026-11-25")));
}
