//! Failed notifications, the admin side: rows the dispatcher set aside after
//! `NOTIFY_MAX_ATTEMPTS` attempts (a template that no longer renders, a
//! payload Discord refuses). They are listed, re-queued once their cause is
//! fixed, or dropped; nothing else touches them.

use chrono::{DateTime, Utc};
use sqlx::PgPool;

use crate::outbox::CHANNEL;

/// One failed row as an admin sees it.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct FailedRow {
    pub id: i64,
    /// `None` for a daily summary.
    pub record_id: Option<i64>,
    /// The record's kind as stored (it may no longer be declared), or
    /// `summary <name> <date>`.
    pub kind: String,
    pub attempts: i32,
    pub error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub failed_at: DateTime<Utc>,
}

/// The most recently failed rows (at most `limit`) and how many there are
/// in all.
pub async fn list(pool: &PgPool, limit: i64) -> Result<(Vec<FailedRow>, i64), sqlx::Error> {
    let rows = sqlx::query_as::<_, FailedRow>(
        "SELECT o.id, o.record_id,
                COALESCE(r.kind, 'summary ' || s.summary || ' ' || s.local_date) AS kind,
                o.attempts, o.last_error AS error, o.created_at, o.failed_at
         FROM notification_outbox o
         LEFT JOIN records r ON r.id = o.record_id
         LEFT JOIN summary_posts s ON s.id = o.summary_post_id
         WHERE o.failed_at IS NOT NULL
         ORDER BY o.failed_at DESC, o.id DESC
         LIMIT $1",
    )
    .bind(limit)
    .fetch_all(pool)
    .await?;
    let total = count(pool).await?;
    Ok((rows, total))
}

pub async fn count(pool: &PgPool) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT count(*) FROM notification_outbox WHERE failed_at IS NOT NULL")
        .fetch_one(pool)
        .await
}

/// Which failed rows an admin means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    One(i64),
    All,
}

/// Re-queues failed rows with their attempts reset, due at once, and wakes
/// the dispatchers. Returns how many rows were re-queued (0: no such failed
/// row).
pub async fn retry(
    pool: &PgPool,
    target: Target,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<u64, sqlx::Error> {
    let id = match target {
        Target::One(id) => Some(id),
        Target::All => None,
    };
    let mut tx = pool.begin().await?;
    let requeued = sqlx::query(
        "UPDATE notification_outbox
         SET failed_at = NULL, attempts = 0, next_attempt_at = $2, claimed_until = NULL
         WHERE failed_at IS NOT NULL AND ($1::BIGINT IS NULL OR id = $1)",
    )
    .bind(id)
    .bind(now)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    if requeued > 0 {
        sqlx::query("SELECT pg_notify($1, '')")
            .bind(CHANNEL)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    tracing::info!(?target, requeued, "failed notifications re-queued");
    Ok(requeued)
}

/// Discards one failed row for good. Returns whether it existed (only
/// failed rows can be dropped: a pending one may be in flight).
pub async fn drop_failed(pool: &PgPool, id: i64) -> Result<bool, sqlx::Error> {
    let dropped =
        sqlx::query("DELETE FROM notification_outbox WHERE id = $1 AND failed_at IS NOT NULL")
            .bind(id)
            .execute(pool)
            .await?
            .rows_affected();
    if dropped > 0 {
        tracing::info!(id, "failed notification dropped");
    }
    Ok(dropped > 0)
}
