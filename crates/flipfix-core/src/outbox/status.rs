//! What `/flipfix status` shows of the queue.

use chrono::{DateTime, Utc};
use sqlx::PgPool;

/// What `/flipfix status` shows of the queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueStatus {
    /// Rows waiting to be delivered (failed rows excepted).
    pub pending: i64,
    /// Rows set aside as failed.
    pub failed: i64,
    /// The most recent error of an undelivered row, if any.
    pub last_error: Option<String>,
    pub last_delivered_at: Option<DateTime<Utc>>,
}

pub async fn queue_status(pool: &PgPool) -> Result<QueueStatus, sqlx::Error> {
    let (pending, failed, last_delivered_at): (i64, i64, Option<DateTime<Utc>>) = sqlx::query_as(
        "SELECT count(*) FILTER (WHERE delivered_at IS NULL AND failed_at IS NULL),
                count(*) FILTER (WHERE failed_at IS NOT NULL),
                max(delivered_at)
         FROM notification_outbox",
    )
    .fetch_one(pool)
    .await?;
    let last_error: Option<String> = sqlx::query_scalar(
        "SELECT last_error FROM notification_outbox
         WHERE delivered_at IS NULL AND failed_at IS NULL AND last_error IS NOT NULL
         ORDER BY next_attempt_at DESC LIMIT 1",
    )
    .fetch_optional(pool)
    .await?;
    Ok(QueueStatus {
        pending,
        failed,
        last_error,
        last_delivered_at,
    })
}
