//! A workflow's daily cap (`daily_cap:` runs and/or cost), counted from the
//! run trace: runs started on the app clock's UTC day (refused ones and the
//! run being checked left out) and the cost of their model calls.

use chrono::{DateTime, Utc};
use sqlx::PgPool;

use crate::workflow::DailyCap;

/// Why a run may not start: the workflow's cap for today is reached.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CapReached {
    #[error("`{workflow}` has reached its {limit} runs for today; try again tomorrow.")]
    Runs { workflow: String, limit: u32 },
    #[error(
        "`{workflow}` has reached its ${limit:.2} spending cap for today; try again tomorrow."
    )]
    Cost { workflow: String, limit: f64 },
}

/// `Err` with the member's sentence when `workflow`'s cap is reached today
/// (the day of `now` in UTC). `this_run` is the run asking, not counted.
pub async fn check_daily_cap(
    pool: &PgPool,
    workflow: &str,
    cap: DailyCap,
    this_run: Option<i64>,
    now: DateTime<Utc>,
) -> Result<Result<(), CapReached>, sqlx::Error> {
    let day_start = now
        .date_naive()
        .and_hms_opt(0, 0, 0)
        .unwrap_or_default()
        .and_utc();
    let (runs, micro_usd): (i64, i64) = sqlx::query_as(
        "SELECT COUNT(*),
                COALESCE((SELECT SUM(u.cost_micro_usd)::BIGINT FROM llm_usage u
                          JOIN workflow_runs r2 ON r2.id = u.run_id
                          WHERE r2.workflow = $1 AND r2.started_at >= $2), 0)
         FROM workflow_runs r
         WHERE r.workflow = $1 AND r.started_at >= $2 AND r.outcome <> 'refused'
           AND r.id IS DISTINCT FROM $3",
    )
    .bind(workflow)
    .bind(day_start)
    .bind(this_run)
    .fetch_one(pool)
    .await?;
    if let Some(limit) = cap.runs {
        if runs >= i64::from(limit) {
            return Ok(Err(CapReached::Runs {
                workflow: workflow.to_string(),
                limit,
            }));
        }
    }
    if let Some(limit) = cap.cost_usd {
        if micro_usd as f64 / 1_000_000.0 >= limit {
            return Ok(Err(CapReached::Cost {
                workflow: workflow.to_string(),
                limit,
            }));
        }
    }
    Ok(Ok(()))
}

/// The workflow whose run opened review `session_id` (the run trace links
/// them), for what happens once records exist (`on_created`).
pub async fn workflow_of_review(
    pool: &PgPool,
    session_id: i64,
) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT workflow FROM workflow_runs WHERE review_session_id = $1 ORDER BY id DESC LIMIT 1",
    )
    .bind(session_id)
    .fetch_optional(pool)
    .await
}
