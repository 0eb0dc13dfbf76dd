//! Settling runs whose outcome follows their review, and the way out for
//! runs a stopped process left `in_progress`.

use chrono::{DateTime, Duration, Utc};
use sqlx::{PgConnection, PgPool};

use super::{settle, Outcome};
use crate::db::locks::alive_sql;

/// The reason given to a run its process left unfinished.
pub const LEFTOVER_REASON: &str = "the bot stopped during this run";

/// How long a run with no recorded process (one started outside `run`,
/// e.g. by a tool) may stay in progress before it counts as left over:
/// longer than any analysis with its retries.
pub const UNOWNED_HOLD: Duration = Duration::hours(1);

/// A review as its run's outcome needs it.
#[derive(sqlx::FromRow)]
struct ReviewEnd {
    run_id: i64,
    status: String,
    closed_reason: Option<String>,
    expires_at: DateTime<Utc>,
    created: i64,
}

const REVIEW_END: &str = "SELECT r.id AS run_id, s.status, s.closed_reason, s.expires_at,
        (SELECT count(*) FROM review_items i
         WHERE i.session_id = s.id AND i.state = 'created') AS created
     FROM workflow_runs r JOIN review_sessions s ON s.id = r.review_session_id
     WHERE r.outcome = 'in_progress'";

/// The outcome of a run whose review is over (or past its expiry at
/// `now`); `None` while the review goes on.
fn review_outcome(review: &ReviewEnd, now: DateTime<Utc>) -> Option<(Outcome, String)> {
    let active = matches!(review.status.as_str(), "analysing" | "reviewing");
    let status = if active && review.expires_at <= now {
        "expired"
    } else if active {
        return None;
    } else {
        review.status.as_str()
    };
    if review.created > 0 {
        return Some((
            Outcome::Created,
            format!("{} record(s) created", review.created),
        ));
    }
    let reason = |default: &str| review.closed_reason.clone().unwrap_or(default.to_string());
    Some(match status {
        "finished" => (Outcome::Skipped, "every suggestion was skipped".into()),
        "cancelled" => (Outcome::Skipped, reason("the review was cancelled")),
        "expired" => (Outcome::Skipped, "the review expired".into()),
        _ => (Outcome::Failed, reason("the review failed")),
    })
}

/// Settles the run of review `session_id` when the review is over: records
/// created → created; otherwise skipped, or failed with the review's reason.
/// Called in the transaction that ends the review.
pub async fn settle_for_review(
    conn: &mut PgConnection,
    session_id: i64,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    let ends: Vec<ReviewEnd> = sqlx::query_as(&format!("{REVIEW_END} AND s.id = $1"))
        .bind(session_id)
        .fetch_all(&mut *conn)
        .await?;
    for end in ends {
        if let Some((outcome, reason)) = review_outcome(&end, now) {
            settle(&mut *conn, end.run_id, outcome, &reason, now).await?;
        }
    }
    Ok(())
}

/// [`settle_for_review`] on its own connection: after a review was closed
/// outside the review store (an admin's cancel, a failed preparation).
pub async fn settle_review_run(
    pool: &PgPool,
    session_id: i64,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    let mut conn = pool.acquire().await?;
    settle_for_review(&mut conn, session_id, now).await
}

/// The way out for runs left `in_progress`: a run whose review is over, or
/// past its expiry, takes the review's outcome; a run without an open
/// review whose process is gone (or, with no process recorded, that started
/// more than [`UNOWNED_HOLD`] ago) fails with [`LEFTOVER_REASON`]. A run
/// whose review is still open stays in progress: the review's buttons work
/// from any process. Returns how many runs were settled.
pub async fn settle_leftovers(pool: &PgPool, now: DateTime<Utc>) -> Result<u64, sqlx::Error> {
    let mut settled = 0;
    let ends: Vec<ReviewEnd> = sqlx::query_as(REVIEW_END).fetch_all(pool).await?;
    for end in ends {
        if let Some((outcome, reason)) = review_outcome(&end, now) {
            settled += u64::from(settle(pool, end.run_id, outcome, &reason, now).await?);
        }
    }
    let sql = format!(
        "UPDATE workflow_runs SET outcome = 'failed', reason = $1, finished_at = $2
         WHERE outcome = 'in_progress'
           AND NOT EXISTS (SELECT 1 FROM review_sessions s WHERE s.id = review_session_id
                           AND s.status IN ('analysing', 'reviewing'))
           AND CASE WHEN instance_key IS NULL THEN started_at <= $3
                    ELSE NOT {} END",
        alive_sql("workflow_runs.instance_key")
    );
    let orphans = sqlx::query(&sql)
        .bind(LEFTOVER_REASON)
        .bind(now)
        .bind(now - UNOWNED_HOLD)
        .execute(pool)
        .await?;
    settled += orphans.rows_affected();
    if settled > 0 {
        tracing::info!(
            settled,
            "runs left in progress were settled (their review ended, or their process stopped)"
        );
    }
    Ok(settled)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn end(status: &str, created: i64, expires_in: i64) -> ReviewEnd {
        ReviewEnd {
            run_id: 1,
            status: status.into(),
            closed_reason: None,
            expires_at: DateTime::<Utc>::UNIX_EPOCH + Duration::hours(expires_in),
            created,
        }
    }

    #[test]
    fn a_run_follows_its_review() {
        let now = DateTime::<Utc>::UNIX_EPOCH;
        assert_eq!(review_outcome(&end("reviewing", 0, 1), now), None);
        assert_eq!(
            review_outcome(&end("finished", 2, 1), now),
            Some((Outcome::Created, "2 record(s) created".into()))
        );
        assert_eq!(
            review_outcome(&end("reviewing", 0, 0), now),
            Some((Outcome::Skipped, "the review expired".into()))
        );
        assert_eq!(
            review_outcome(&end("interrupted", 0, 1), now).map(|(o, _)| o),
            Some(Outcome::Failed)
        );
    }
}
