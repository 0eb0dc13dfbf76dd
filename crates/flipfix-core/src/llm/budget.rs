//! Spend controls that hold under concurrency. Before a model call, its
//! estimated maximum cost is reserved in the same transaction that checks
//! the daily budget (serialised by an advisory lock), and the reservation is
//! settled when the call's real attempts are recorded. Ten simultaneous
//! analyses therefore overshoot the budget by at most one estimate.

use chrono::{DateTime, Duration, Utc};
use sqlx::PgPool;

/// How long an unsettled reservation counts against the budget: longer than
/// any one analysis (timeouts and retries included). A reservation older
/// than this belongs to a process that died mid-call.
pub const RESERVATION_HOLD: Duration = Duration::minutes(10);

/// Serialises budget checks across every process on the database.
const BUDGET_LOCK: i64 = 0x666c_6970_6669_7801; // "flipfix" + 1

/// The limits in force (settings `LLM_DAILY_BUDGET_USD`,
/// `LLM_DAILY_ANALYSES_PER_USER`).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct SpendLimits {
    pub daily_budget_usd: Option<f64>,
    pub analyses_per_user: Option<u32>,
}

/// Why an analysis may not run now. Display is the sentence for the person.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SpendRefusal {
    #[error("Today's analysis budget is spent (${spent:.2} of ${budget:.2}). It resets at 00:00 UTC ({}); an admin can raise LLM_DAILY_BUDGET_USD.", in_words(*resets_in))]
    BudgetSpent {
        spent: f64,
        budget: f64,
        resets_in: Duration,
    },
    #[error("You have run your {limit} analyses for today. The limit resets at 00:00 UTC ({}); an admin can raise LLM_DAILY_ANALYSES_PER_USER.", in_words(*resets_in))]
    PersonalLimit { limit: u32, resets_in: Duration },
}

/// A held reservation; settle it once the call's attempts are recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reservation {
    pub id: i64,
}

/// Checks the limits for `requested_by` without reserving anything (a
/// cheap early answer before any work).
pub async fn check(
    pool: &PgPool,
    limits: SpendLimits,
    requested_by: &str,
    now: DateTime<Utc>,
) -> Result<Result<(), SpendRefusal>, sqlx::Error> {
    let mut conn = pool.acquire().await?;
    refusal(&mut conn, limits, requested_by, now)
        .await
        .map(|r| match r {
            Some(refusal) => Err(refusal),
            None => Ok(()),
        })
}

/// Checks the limits and, when they allow it, reserves `estimate_usd`, all
/// in one transaction under the budget lock.
pub async fn reserve(
    pool: &PgPool,
    limits: SpendLimits,
    requested_by: &str,
    estimate_usd: f64,
    now: DateTime<Utc>,
) -> Result<Result<Reservation, SpendRefusal>, sqlx::Error> {
    let mut tx = pool.begin().await?;
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(BUDGET_LOCK)
        .execute(&mut *tx)
        .await?;
    if let Some(refusal) = refusal(&mut tx, limits, requested_by, now).await? {
        return Ok(Err(refusal));
    }
    let id = sqlx::query_scalar(
        "INSERT INTO llm_reservations (created_at, requested_by, estimate_micro_usd)
         VALUES ($1, $2, $3) RETURNING id",
    )
    .bind(now)
    .bind(requested_by)
    .bind(super::usage::micro(estimate_usd.max(0.0)))
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Ok(Reservation { id }))
}

/// Releases the reservation: the real cost is in `llm_usage` now. Called on
/// the connection that recorded the attempts, so both commit together.
pub async fn settle(
    conn: &mut sqlx::PgConnection,
    reservation: Reservation,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE llm_reservations SET settled_at = now() WHERE id = $1")
        .bind(reservation.id)
        .execute(conn)
        .await?;
    Ok(())
}

async fn refusal(
    conn: &mut sqlx::PgConnection,
    limits: SpendLimits,
    requested_by: &str,
    now: DateTime<Utc>,
) -> Result<Option<SpendRefusal>, sqlx::Error> {
    let day_start = start_of_day(now);
    let resets_in = day_start + Duration::days(1) - now;
    if let Some(limit) = limits.analyses_per_user {
        let runs: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM llm_reservations WHERE requested_by = $1 AND created_at >= $2",
        )
        .bind(requested_by)
        .bind(day_start)
        .fetch_one(&mut *conn)
        .await?;
        if runs >= i64::from(limit) {
            return Ok(Some(SpendRefusal::PersonalLimit { limit, resets_in }));
        }
    }
    if let Some(budget) = limits.daily_budget_usd {
        let committed: i64 = sqlx::query_scalar(
            "SELECT ((SELECT coalesce(sum(cost_micro_usd), 0) FROM llm_usage WHERE created_at >= $1)
                  + (SELECT coalesce(sum(estimate_micro_usd), 0) FROM llm_reservations
                     WHERE created_at >= $1 AND created_at > $2 AND settled_at IS NULL))::BIGINT",
        )
        .bind(day_start)
        .bind(now - RESERVATION_HOLD)
        .fetch_one(&mut *conn)
        .await?;
        let spent = committed as f64 / 1_000_000.0;
        if spent >= budget {
            return Ok(Some(SpendRefusal::BudgetSpent {
                spent,
                budget,
                resets_in,
            }));
        }
    }
    Ok(None)
}

/// 00:00 UTC of `now`'s day.
pub(crate) fn start_of_day(now: DateTime<Utc>) -> DateTime<Utc> {
    now.date_naive()
        .and_hms_opt(0, 0, 0)
        .unwrap_or_default()
        .and_utc()
}

/// "in 5 h 12 min", "in 40 min".
fn in_words(duration: Duration) -> String {
    let minutes = duration.num_minutes().max(1);
    match (minutes / 60, minutes % 60) {
        (0, m) => format!("in {m} min"),
        (h, 0) => format!("in {h} h"),
        (h, m) => format!("in {h} h {m} min"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_say_when_the_limit_resets() {
        let refusal = SpendRefusal::PersonalLimit {
            limit: 3,
            resets_in: Duration::minutes(312),
        };
        assert_eq!(
            refusal.to_string(),
            "You have run your 3 analyses for today. The limit resets at 00:00 UTC (in 5 h 12 min); an admin can raise LLM_DAILY_ANALYSES_PER_USER."
        );
        assert_eq!(in_words(Duration::seconds(20)), "in 1 min");
        assert_eq!(in_words(Duration::hours(2)), "in 2 h");
    }
}
