//! Daily summaries end to end: real Postgres, the real scheduler and
//! dispatcher, the fake webhook (every body checked against Discord's
//! spec). Time comes from an injected clock or an explicit "now", so the
//! 18:00 summary is tested without waiting for 18:00.

use std::path::Path;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use flipfix_bot::clock::ManualClock;
use flipfix_bot::config::SettingKey;
use flipfix_bot::notify::Step;
use flipfix_bot::records::NewRecord;
use flipfix_bot::summary::content::{Line, Listing, MachineGroup, SummaryView};
use flipfix_bot::summary::post::render_fitted;
use flipfix_bot::summary::{Decision, Outcome, Scheduler};
use flipfix_bot::template_check::load_workflows;
use flipfix_bot::workflow::Workflows;
use serde_json::json;
use sqlx::PgPool;

use crate::notify::{description, title, Env};
use crate::support::{copy_workflows, new_record};

/// 18:00 in London on 24 November 2026 (GMT, so 18:00 UTC).
const DUE: &str = "2026-11-24T18:00:00Z";

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .expect("test time")
        .with_timezone(&Utc)
}

/// The shipped workflows with the daily summary switched on.
fn workflows_with_summary() -> Arc<Workflows> {
    let dir = copy_workflows();
    write_summaries(
        dir.path(),
        "summaries:\n  - name: daily\n    at: \"18:00\"\n    timezone: Europe/London\n    template: summaries/daily.md.j2\n",
    );
    load_workflows(&dir.path().join("workflows"), &dir.path().join("prompts"))
        .unwrap_or_else(|problems| panic!("{problems}"))
}

fn write_summaries(dir: &Path, yaml: &str) {
    std::fs::write(dir.join("workflows/summaries.yaml"), yaml).expect("write summaries.yaml");
}

fn scheduler(env: &Env, workflows: &Arc<Workflows>) -> Scheduler {
    let workflows = workflows.clone();
    Scheduler::new(
        env.pool.clone(),
        Arc::new(move || workflows.clone()),
        Arc::new(ManualClock::at(at(DUE))),
        Some("https://flipfix.example".into()),
    )
}

/// Creates a record on the test machine (or `machine`), then puts it at
/// `created` (when it entered the bot) and `occurred` (when it happened).
async fn record_at(
    env: &Env,
    record: NewRecord,
    created: &str,
    occurred: &str,
    machine: Option<i64>,
) -> i64 {
    let record = NewRecord {
        machine_id: machine.or(record.machine_id),
        ..record
    };
    let id = env.create(record).await;
    sqlx::query("UPDATE records SET created_at = $2, occurred_at = $3 WHERE id = $1")
        .bind(id)
        .bind(at(created))
        .bind(at(occurred))
        .execute(&env.pool)
        .await
        .expect("move record in time");
    id
}

fn with(kind: &str, description: &str, fields: &[(&str, &str)]) -> NewRecord {
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
async fn a_busy_day(env: &Env) {
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

async fn clear_outbox(pool: &PgPool) {
    sqlx::query("DELETE FROM notification_outbox")
        .execute(pool)
        .await
        .expect("clear outbox");
}

async fn outbox_rows(pool: &PgPool) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM notification_outbox")
        .fetch_one(pool)
        .await
        .expect("count outbox")
}

async fn claims(pool: &PgPool) -> Vec<(String, String)> {
    sqlx::query_as("SELECT local_date::TEXT, outcome FROM summary_posts ORDER BY local_date")
        .fetch_all(pool)
        .await
        .expect("claims")
}

fn decision(outcomes: &[(String, Outcome)]) -> &Decision {
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
    assert_eq!(title(body), "📋 Tuesday 24 November 2026: 3 new records");
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
    assert!(text.contains("**Parts waiting (1)**"), "{text}");
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
        [("2026-11-24".into(), "queued".into())]
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
        [("2026-11-24".into(), "nothing_to_say".into())]
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
        .all(|(date, _)| date != "2026-11-25"));
}

#[sqlx::test(migrations = "./migrations")]
async fn the_running_scheduler_posts_at_the_clock_time_through_the_outbox(pool: PgPool) {
    let env = Env::new(pool).await;
    a_busy_day(&env).await;
    let workflows = workflows_with_summary();
    let (trigger, shutdown) = flipfix_bot::shutdown::channel();
    // Two processes' schedulers and dispatchers, all running.
    let mut tasks = Vec::new();
    for _ in 0..2 {
        let scheduler = scheduler(&env, &workflows);
        let stop = shutdown.clone();
        tasks.push(tokio::spawn(async move {
            scheduler.run(stop).await;
            Ok::<(), flipfix_bot::notify::DispatchError>(())
        }));
        tasks.push(tokio::spawn(env.dispatcher().run(shutdown.clone())));
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
        [("2026-11-24".into(), "queued".into())]
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
        "SELECT window_start, due_at FROM summary_posts WHERE local_date = '2026-03-29'",
    )
    .fetch_one(&env.pool)
    .await
    .expect("claim");
    assert_eq!(window, (at("2026-03-28T18:00:00Z"), due));
    let body: String =
        sqlx::query_scalar("SELECT body FROM summary_posts WHERE local_date = '2026-03-29'")
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

fn line(id: i64) -> Line {
    Line {
        id,
        kind: "log_entry".into(),
        label: "Log entry".into(),
        emoji: "🗒️".into(),
        text: "x".repeat(100),
        status: Some("open".into()),
        machine: format!("Machine {}", id % 40),
        age_days: id,
        url: Some(format!("https://flipfix.example/logs/{id}/")),
    }
}

#[test]
fn a_huge_day_fits_one_embed_and_says_how_many_more() {
    let workflows = workflows_with_summary();
    let summary = &workflows.summaries[0];
    let mut view = SummaryView::sample(summary, true);
    view.record_count = 1200;
    view.machines = (0..40)
        .map(|m| MachineGroup {
            name: format!("Machine {m}"),
            records: (0..30).map(|i| line(m * 100 + i)).collect(),
            more: 0,
        })
        .collect();
    view.machines_more = 0;
    let listing = |n: i64| Listing {
        items: (0..n).map(line).collect(),
        total: n as usize,
        more: 0,
    };
    view.open_reports = listing(300);
    view.parts_waiting = listing(200);
    let message = render_fitted(&workflows.templates, &summary.template, &view).expect("renders");
    let length = message.body.chars().count();
    assert!(length <= 4096, "{length}");
    assert!(length > 2000, "the space is used: {length}");
    let body = &message.body;
    assert!(body.contains("more machines"), "{body}");
    assert!(
        body.contains("**Open problem reports (300), oldest first**"),
        "{body}"
    );
    assert!(body.contains("**Parts waiting (200)**"), "{body}");
    assert!(body.matches("…and ").count() >= 3, "{body}");
}

#[test]
fn check_lists_a_sound_summary() {
    let dir = copy_workflows();
    write_summaries(
        dir.path(),
        "summaries:\n  - name: daily\n    at: \"7:30\"\n    timezone: America/New_York\n    template: summaries/daily.md.j2\n",
    );
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_flipfix-bot"))
        .arg("check")
        .arg("--workflows")
        .arg(dir.path().join("workflows"))
        .arg("--prompts")
        .arg(dir.path().join("prompts"))
        .env_remove("DATABASE_URL")
        .output()
        .expect("run flipfix-bot check");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{stdout}");
    assert!(
        stdout.contains(", summaries daily at 07:30 America/New_York,"),
        "{stdout}"
    );
}

#[test]
fn check_names_bad_summaries_with_their_lines() {
    let dir = copy_workflows();
    write_summaries(
        dir.path(),
        "summaries:\n  - name: daily\n    at: \"25:00\"\n    timezone: Europe/Londn\n    template: summaries/nope.md.j2\n    parts_waiting: {kind: part_request, statuses: [lost]}\n",
    );
    let problems = load_workflows(&dir.path().join("workflows"), &dir.path().join("prompts"))
        .expect_err("bad summary must be refused")
        .to_string();
    let file = dir.path().join("workflows/summaries.yaml");
    let file = file.display();
    for expected in [
        format!("{file}:3:9: summary `daily`: at `25:00` must be a 24-hour time"),
        format!("{file}:4:15: summary `daily`: timezone `Europe/Londn` is not an IANA timezone name (did you mean `Europe/London`?)"),
        format!("{file}:5:15: summary `daily`: template `summaries/nope.md.j2` not found"),
        "parts_waiting: status `lost` is not a choice of `part_request`.status".to_string(),
    ] {
        assert!(problems.contains(&expected), "missing {expected:?} in:\n{problems}");
    }

    // A template that uses an unknown variable is found by rendering the sample.
    write_summaries(
        dir.path(),
        "summaries:\n  - name: daily\n    at: \"18:00\"\n    timezone: Europe/London\n    template: summaries/daily.md.j2\n",
    );
    let template = dir.path().join("prompts/summaries/daily.md.j2");
    let text = std::fs::read_to_string(&template).expect("read template");
    std::fs::write(&template, text.replace("{{ r.text }}", "{{ r.txet }}")).expect("write");
    let problems = load_workflows(&dir.path().join("workflows"), &dir.path().join("prompts"))
        .expect_err("bad template must be refused")
        .to_string();
    assert!(
        problems.contains("rendering a sample of summary `daily`"),
        "{problems}"
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
    let due = Utc::now() - Duration::minutes(2);
    let dir = copy_workflows();
    write_summaries(
        dir.path(),
        &format!(
            "summaries:\n  - name: daily\n    at: \"{}\"\n    timezone: UTC\n    template: summaries/daily.md.j2\n",
            due.format("%H:%M")
        ),
    );
    let created = (due - Duration::hours(1)).to_rfc3339();
    record_at(
        &env,
        with("log_entry", "Replaced a fuse", &[]),
        &created,
        &created,
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
            "warn,flipfix_bot=info,flipfix_bot::summary=debug",
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
    assert_eq!(rows[0].kind, "summary daily 2026-11-24");

    env.fake.stop_refusing();
    assert_eq!(
        failed::retry(&env.pool, failed::Target::All)
            .await
            .expect("retry"),
        1
    );
    let steps = crate::notify::drain(&mut env.dispatcher(), Utc::now()).await;
    assert!(
        steps.iter().any(|s| matches!(s, Step::Delivered { .. })),
        "{steps:?}"
    );
}
