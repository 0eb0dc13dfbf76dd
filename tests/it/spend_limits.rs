//! Spend controls under concurrency, against the fake Anthropic and real
//! Postgres: the budget check and the model call are coupled by a
//! reservation, every API attempt is a usage row, and one person's daily
//! analyses can be limited.

use std::time::Duration;

use flipfix_bot::analysis::scenario::Scenario;
use flipfix_bot::analysis::{
    analyze, estimated_max_cost, for_workflow, prepare, AnalysisDeps, AnalysisError,
    AnalysisRequest, Catalog,
};
use flipfix_bot::config::Secret;
use flipfix_bot::llm::budget::{SpendLimits, SpendRefusal};
use flipfix_bot::llm::{AnthropicClient, LlmClient, RetryPolicy};
use serde_json::json;
use sqlx::PgPool;

use crate::support::anthropic::{FakeAnthropic, Reply};
use crate::support::{shared_dir, shipped_workflows};

fn scenario() -> Scenario {
    Scenario::load(&shared_dir().join("scenarios/flipfix-eval/no_maintenance_social.yaml")).unwrap()
}

async fn analyse(
    pool: &PgPool,
    fake: &FakeAnthropic,
    scenario: &Scenario,
    limits: SpendLimits,
    who: &str,
) -> Result<flipfix_bot::analysis::Analysis, AnalysisError> {
    let workflows = shipped_workflows();
    let retry = RetryPolicy {
        max_attempts: 3,
        base_delay: Duration::from_millis(5),
        max_delay: Duration::from_secs(2),
        max_total: Duration::from_secs(10),
    };
    let client: LlmClient = AnthropicClient::new(&fake.base_url, Duration::from_secs(20), retry)
        .unwrap()
        .into();
    let key = Secret::new("sk-ant-test-key");
    let deps = AnalysisDeps {
        pool,
        workflows: &workflows,
        analyze: flipfix_bot::analysis::for_workflow(&workflows, None).unwrap(),
        client: &client,
        api_key: Some(&key),
        progress: None,
        limits: Some(limits),
        allow_loopback_urls: false,
        clock: &flipfix_bot::clock::SystemClock,
    };
    let request = AnalysisRequest {
        guild_id: None,
        channel_id: scenario.target_channel_id,
        target_id: scenario.target_id,
        requested_by: who.into(),
        run_id: None,
    };
    analyze(&deps, scenario, &request).await
}

/// What one analysis of the scenario reserves.
async fn estimate(pool: &PgPool, scenario: &Scenario) -> f64 {
    let workflows = shipped_workflows();
    let catalog = Catalog::load(pool).await.unwrap();
    let (_, prompt) = prepare(
        &workflows,
        for_workflow(&workflows, None).unwrap(),
        &catalog,
        scenario,
        scenario.target_channel_id,
        scenario.target_id,
    )
    .await
    .unwrap();
    estimated_max_cost(for_workflow(&workflows, None).unwrap(), &prompt)
}

#[sqlx::test(migrations = "./migrations")]
async fn ten_concurrent_analyses_cannot_overshoot_the_budget(pool: PgPool) {
    let scenario = scenario();
    // The first request meets a 500 and is retried; every answer then waits
    // behind a gate the test opens only once all ten budget checks are
    // done (three reservations held, seven refusals returned), so no call
    // settles before the last reservation is decided, however slow the
    // machine.
    let (open, gate) = tokio::sync::watch::channel(false);
    let answer = Reply::tool_use(json!({"suggestions": []}));
    let fake = FakeAnthropic::start(vec![
        Reply::error(500, "api_error", None),
        Reply::Gated(gate, Box::new(answer)),
    ])
    .await;
    let estimate = estimate(&pool, &scenario).await;
    assert!(estimate > 0.0, "the default model has a price");
    // Three reservations fit (0, 1 and 2 estimates are below it), a fourth
    // does not.
    let limits = SpendLimits {
        daily_budget_usd: Some(estimate * 2.5),
        analyses_per_user: None,
    };

    let finished = std::sync::atomic::AtomicUsize::new(0);
    let runs = (0..10).map(|i| {
        let (pool, fake, scenario, finished) = (&pool, &fake, &scenario, &finished);
        async move {
            let result = analyse(pool, fake, scenario, limits, &format!("discord:{i}")).await;
            finished.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            result
        }
    });
    let opener = async {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        loop {
            let held: i64 = sqlx::query_scalar(
                "SELECT count(*) FROM llm_reservations WHERE settled_at IS NULL",
            )
            .fetch_one(&pool)
            .await
            .unwrap();
            let done = finished.load(std::sync::atomic::Ordering::SeqCst);
            // Seven refused (finished) and three reserved: every check done.
            // (More finished than 7, or more held than 3, would be an
            // overshoot: open anyway and let the assertions below say so.)
            if (done >= 7 && held >= 3) || done + held as usize > 10 {
                break;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "the budget checks did not all happen: {done} finished, {held} held"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        open.send_replace(true);
    };
    let (results, ()) = tokio::join!(futures_util::future::join_all(runs), opener);
    let allowed = results.iter().filter(|r| r.is_ok()).count();
    let refused = results
        .iter()
        .filter(|r| {
            matches!(
                r,
                Err(AnalysisError::Spend(SpendRefusal::BudgetSpent { .. }))
            )
        })
        .count();
    assert_eq!((allowed, refused), (3, 7), "{results:?}");
    assert_eq!(
        fake.received().len(),
        4,
        "three analyses, one of them retried"
    );

    let mut outcomes: Vec<String> = sqlx::query_scalar("SELECT outcome FROM llm_usage")
        .fetch_all(&pool)
        .await
        .unwrap();
    outcomes.sort();
    assert_eq!(outcomes, ["HTTP 500", "ok", "ok", "ok"], "every attempt");
    let unsettled: i64 =
        sqlx::query_scalar("SELECT count(*) FROM llm_reservations WHERE settled_at IS NULL")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(unsettled, 0, "every reservation was settled");
}

#[sqlx::test(migrations = "./migrations")]
async fn one_persons_daily_analyses_can_be_limited(pool: PgPool) {
    let scenario = scenario();
    let fake = FakeAnthropic::start(vec![Reply::tool_use(json!({"suggestions": []}))]).await;
    let limits = SpendLimits {
        daily_budget_usd: None,
        analyses_per_user: Some(2),
    };
    for _ in 0..2 {
        analyse(&pool, &fake, &scenario, limits, "discord:1")
            .await
            .unwrap();
    }
    let refused = analyse(&pool, &fake, &scenario, limits, "discord:1")
        .await
        .unwrap_err();
    let AnalysisError::Spend(refusal @ SpendRefusal::PersonalLimit { limit: 2, .. }) = &refused
    else {
        panic!("expected the personal limit, got {refused:?}");
    };
    let text = refusal.to_string();
    assert!(
        text.starts_with(
            "You have run your 2 analyses for today. The limit resets at 00:00 UTC (in "
        ),
        "{text}"
    );
    assert_eq!(fake.received().len(), 2, "the refused one made no call");
    // Somebody else is not affected.
    analyse(&pool, &fake, &scenario, limits, "discord:2")
        .await
        .unwrap();
}

/// docs/security.md: a dead process's reservation stops counting after 10
/// minutes (it never settles; the budget must not stay spent all day).
#[sqlx::test(migrations = "./migrations")]
async fn an_unsettled_reservation_stops_counting_after_10_minutes(pool: PgPool) {
    use flipfix_bot::llm::budget::{check, reserve};
    let limits = SpendLimits {
        daily_budget_usd: Some(1.0),
        analyses_per_user: None,
    };
    let reserved_at = crate::support::time::pinned("2026-03-10T12:00:00Z");
    reserve(&pool, limits, "discord:1", 1.0, reserved_at)
        .await
        .unwrap()
        .expect("the first reservation fits");
    // The process holding it dies: nothing settles it.
    let held = check(
        &pool,
        limits,
        "discord:2",
        reserved_at + chrono::Duration::minutes(9),
    )
    .await
    .unwrap();
    assert!(
        matches!(held, Err(SpendRefusal::BudgetSpent { .. })),
        "counted while it may still be in flight: {held:?}"
    );
    let released = check(
        &pool,
        limits,
        "discord:2",
        reserved_at + chrono::Duration::minutes(10) + chrono::Duration::seconds(1),
    )
    .await
    .unwrap();
    assert_eq!(released, Ok(()), "no longer counted after 10 minutes");
}
