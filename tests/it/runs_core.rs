//! Workflow runs through the core API, on real Postgres: the way out for a
//! run a stopped process left in progress (with the clock), a run that ends
//! with its review, usage split per workflow, and the run metrics.

use chrono::Duration;
use flipfix_bot::llm::usage::{self, UsageRecord};
use flipfix_bot::runs::{self, NewRun, Outcome, Trigger};
use flipfix_bot::workflow::TokenUsage;
use sqlx::PgPool;

use crate::runs::{run_of, RUTH};
use crate::support::fake_discord::CHANNEL_ID;
use crate::support::time::pinned;

#[sqlx::test(migrations = "./migrations")]
async fn a_run_left_in_progress_has_a_way_out(pool: PgPool) {
    use flipfix_bot::review::{NewSession, ReviewStore, StartOutcome};
    let t0 = pinned("2026-11-24T10:00:00Z");

    // Its review expires: the run is skipped as expired, at the clock's time.
    let store = ReviewStore::new(pool.clone());
    let StartOutcome::Started(session) = store
        .start(
            &NewSession {
                guild_id: None,
                channel_id: CHANNEL_ID,
                target_message_id: 4242,
                owner_user_id: RUTH,
                owner_name: "Ruth".into(),
                expires_at: t0 + Duration::hours(24),
            },
            t0,
        )
        .await
        .unwrap()
    else {
        panic!("started");
    };
    let reviewed = runs::start(
        &pool,
        &run_of("add_to_flipfix", Trigger::MessageCommand, None),
        t0,
    )
    .await
    .unwrap();
    runs::attach_review(&pool, reviewed, session).await.unwrap();

    // No process recorded: left over once older than the hold.
    let unowned = runs::start(
        &pool,
        &run_of("add_to_flipfix", Trigger::MessageCommand, None),
        t0,
    )
    .await
    .unwrap();
    // A process that is gone (nobody holds its liveness lock).
    let dead = runs::start(
        &pool,
        &run_of("add_to_flipfix", Trigger::MessageCommand, Some(77)),
        t0,
    )
    .await
    .unwrap();
    // A live process: never settled by another.
    let liveness = flipfix_bot::db::locks::Liveness::acquire(&pool)
        .await
        .unwrap();
    let live = runs::start(
        &pool,
        &run_of(
            "add_to_flipfix",
            Trigger::MessageCommand,
            Some(liveness.key()),
        ),
        t0,
    )
    .await
    .unwrap();

    let state = |id: i64| {
        let pool = pool.clone();
        async move {
            sqlx::query_as::<
                _,
                (
                    Outcome,
                    Option<String>,
                    Option<chrono::DateTime<chrono::Utc>>,
                ),
            >("SELECT outcome, reason, finished_at FROM workflow_runs WHERE id = $1")
            .bind(id)
            .fetch_one(&pool)
            .await
            .unwrap()
        }
    };
    let at = t0 + Duration::minutes(59);
    assert_eq!(runs::settle_leftovers(&pool, at).await.unwrap(), 1);
    assert_eq!(
        state(dead).await,
        (
            Outcome::Failed,
            Some(runs::LEFTOVER_REASON.into()),
            Some(at)
        )
    );
    assert_eq!(
        state(unowned).await.0,
        Outcome::InProgress,
        "within the hold"
    );
    assert_eq!(
        state(reviewed).await.0,
        Outcome::InProgress,
        "its review is open"
    );

    let later = t0 + runs::UNOWNED_HOLD + Duration::minutes(1);
    assert_eq!(runs::settle_leftovers(&pool, later).await.unwrap(), 1);
    assert_eq!(
        state(unowned).await,
        (
            Outcome::Failed,
            Some(runs::LEFTOVER_REASON.into()),
            Some(later)
        )
    );
    assert_eq!(state(reviewed).await.0, Outcome::InProgress);

    let expired = t0 + Duration::hours(24);
    assert_eq!(runs::settle_leftovers(&pool, expired).await.unwrap(), 1);
    assert_eq!(
        state(reviewed).await,
        (
            Outcome::Skipped,
            Some("the review expired".into()),
            Some(expired)
        )
    );
    assert_eq!(
        state(live).await.0,
        Outcome::InProgress,
        "its process lives"
    );
    liveness.release().await;
    assert_eq!(runs::settle_leftovers(&pool, expired).await.unwrap(), 1);
    assert_eq!(
        state(live).await.0,
        Outcome::Failed,
        "once its process is gone"
    );
}

#[sqlx::test(migrations = "./migrations")]
async fn usage_is_split_by_workflow_and_runs_are_counted_in_metrics(pool: PgPool) {
    let now = pinned("2026-11-24T10:00:00Z");
    let add = runs::start(
        &pool,
        &run_of("add_to_flipfix", Trigger::MessageCommand, None),
        now,
    )
    .await
    .unwrap();
    let feedback = runs::start(
        &pool,
        &run_of("visitor_feedback", Trigger::SlashCommand, None),
        now,
    )
    .await
    .unwrap();
    let call = |run_id: Option<i64>, purpose: &'static str, cost: f64, input: u64| UsageRecord {
        purpose,
        requested_by: "discord:1",
        model: "claude-test",
        request_id: None,
        usage: TokenUsage {
            input_tokens: input,
            output_tokens: 10,
            ..TokenUsage::default()
        },
        outcome: "ok",
        cost_usd: Some(cost),
        at: now,
        run_id,
    };
    for row in [
        call(Some(add), "analysis", 0.02, 1000),
        call(Some(add), "analysis", 0.01, 500),
        call(Some(feedback), "analysis", 0.005, 200),
        call(None, "replay", 0.001, 100),
    ] {
        usage::record(&pool, &row).await.unwrap();
    }
    runs::settle(&pool, add, Outcome::Created, "2 record(s) created", now)
        .await
        .unwrap();
    runs::settle(
        &pool,
        feedback,
        Outcome::Failed,
        "The model did not answer.",
        now,
    )
    .await
    .unwrap();
    runs::record_finished(
        &pool,
        &NewRun {
            user: None,
            ..run_of("daily", Trigger::Schedule, None)
        },
        Outcome::Posted,
        "a summary of 3 record(s) was queued for the webhook",
        now,
    )
    .await
    .unwrap();

    let split = usage::totals_by_workflow(&pool, now - Duration::days(1))
        .await
        .unwrap();
    let seen: Vec<(&str, i64, i64, f64)> = split
        .iter()
        .map(|t| {
            (
                t.label.as_str(),
                t.calls,
                t.input_tokens,
                (t.cost_usd * 1e6).round(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        vec![
            ("add_to_flipfix", 2, 1500, 30_000.0),
            ("visitor_feedback", 1, 200, 5_000.0),
            ("(replay)", 1, 100, 1_000.0),
        ]
    );
    let listed = runs::latest(&pool, Some("visitor_feedback"), 5)
        .await
        .unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].cost_micro_usd, Some(5_000));

    let text = flipfix_bot::web::metrics::render(&pool, now).await.unwrap();
    for line in [
        "# TYPE flipfix_workflow_runs_total counter",
        "flipfix_workflow_runs_total{workflow=\"add_to_flipfix\",outcome=\"created\"} 1",
        "flipfix_workflow_runs_total{workflow=\"daily\",outcome=\"posted\"} 1",
        "flipfix_workflow_runs_total{workflow=\"visitor_feedback\",outcome=\"failed\"} 1",
    ] {
        assert!(text.lines().any(|l| l == line), "{line} in:\n{text}");
    }
}

#[sqlx::test(migrations = "./migrations")]
async fn a_run_under_review_ends_with_its_review(pool: PgPool) {
    use flipfix_bot::review::{Decision, NewSession, ReviewStore, StartOutcome};
    let kinds = crate::support::shipped_workflows().kinds.clone();
    let store = ReviewStore::new(pool.clone());
    let now = pinned("2026-11-24T10:00:00Z");
    // A run with a review of two suggestions, on message `message`.
    let reviewed = |message: u64| {
        let (pool, store) = (pool.clone(), store.clone());
        async move {
            let new = NewSession {
                guild_id: None,
                channel_id: CHANNEL_ID,
                target_message_id: message,
                owner_user_id: RUTH,
                owner_name: "Ruth".into(),
                expires_at: now + Duration::hours(24),
            };
            let StartOutcome::Started(session) = store.start(&new, now).await.unwrap() else {
                panic!("started");
            };
            let items = [
                (crate::review::item("part_request", None), None),
                (crate::review::item("part_request", None), None),
            ];
            store.set_items(session, &items).await.unwrap();
            let run = runs::start(
                &pool,
                &run_of("add_to_flipfix", Trigger::MessageCommand, None),
                now,
            )
            .await
            .unwrap();
            runs::attach_review(&pool, run, session).await.unwrap();
            (run, session)
        }
    };
    let ended = |run: i64| {
        let pool = pool.clone();
        async move {
            sqlx::query_as::<_, (Outcome, Option<String>)>(
                "SELECT outcome, reason FROM workflow_runs WHERE id = $1",
            )
            .bind(run)
            .fetch_one(&pool)
            .await
            .unwrap()
        }
    };
    let decide = |session: i64, position: usize, decision: Decision| {
        let (store, kinds) = (store.clone(), kinds.clone());
        async move {
            store
                .decide(&kinds, session, position, decision, RUTH, now)
                .await
                .unwrap();
        }
    };

    // One created, then cancelled: created.
    let (created, session) = reviewed(1).await;
    decide(session, 0, Decision::Create).await;
    assert_eq!(
        ended(created).await.0,
        Outcome::InProgress,
        "still reviewing"
    );
    store.cancel(session, RUTH, now).await.unwrap();
    assert_eq!(
        ended(created).await,
        (Outcome::Created, Some("1 record(s) created".into()))
    );
    let listed = runs::latest(&pool, None, 10).await.unwrap();
    let run = listed.iter().find(|r| r.id == created).unwrap();
    assert_eq!(run.record_ids.len(), 1, "the record it created is linked");

    // Every suggestion skipped: skipped, when the last one is decided.
    let (skipped, session) = reviewed(2).await;
    decide(session, 0, Decision::Skip).await;
    decide(session, 1, Decision::Skip).await;
    assert_eq!(
        ended(skipped).await,
        (
            Outcome::Skipped,
            Some("every suggestion was skipped".into())
        )
    );

    // Cancelled with nothing created.
    let (cancelled, session) = reviewed(3).await;
    store.cancel(session, RUTH, now).await.unwrap();
    assert_eq!(
        ended(cancelled).await,
        (Outcome::Skipped, Some("the review was cancelled".into()))
    );
}
