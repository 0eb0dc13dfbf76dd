//! The queue parked on a webhook URL that failed, until it changes.

use chrono::{DateTime, Utc};
use sqlx::PgPool;

/// The queue is parked while `DISCORD_WEBHOOK_URL` is the URL that failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parked {
    pub error: String,
    pub url: String,
    pub at: DateTime<Utc>,
}

pub async fn parked(pool: &PgPool) -> Result<Option<Parked>, sqlx::Error> {
    type Row = (Option<String>, Option<String>, Option<DateTime<Utc>>);
    let row: Option<Row> = sqlx::query_as(
        "SELECT parked_error, parked_url, parked_at FROM notification_state WHERE id",
    )
    .fetch_optional(pool)
    .await?;
    Ok(match row {
        Some((Some(error), Some(url), Some(at))) => Some(Parked { error, url, at }),
        _ => None,
    })
}

pub async fn park(
    pool: &PgPool,
    url: &str,
    error: &str,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO notification_state (id, parked_error, parked_url, parked_at)
         VALUES (TRUE, $1, $2, $3)
         ON CONFLICT (id) DO UPDATE
         SET parked_error = $1, parked_url = $2, parked_at = $3",
    )
    .bind(error)
    .bind(url)
    .bind(now)
    .execute(pool)
    .await?;
    Ok(())
}

pub async fn unpark(pool: &PgPool) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE notification_state SET parked_error = NULL, parked_url = NULL, parked_at = NULL",
    )
    .execute(pool)
    .await?;
    Ok(())
}
