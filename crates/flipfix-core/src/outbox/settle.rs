//! What happens to a claimed batch after the attempt: delivered, released
//! for a retry, postponed, failed, or split into single posts.

use chrono::{DateTime, Utc};
use sqlx::PgPool;

/// Marks a batch delivered. The first row carried the message; the others
/// (a digest's) point at it.
pub async fn mark_delivered(
    pool: &PgPool,
    ids: &[i64],
    now: DateTime<Utc>,
    message_id: Option<u64>,
) -> Result<(), sqlx::Error> {
    let Some(&carrier) = ids.first() else {
        return Ok(());
    };
    sqlx::query(
        "UPDATE notification_outbox
         SET delivered_at = $2, discord_message_id = $3, claimed_until = NULL, last_error = NULL,
             digest_of = CASE WHEN id = $4 THEN NULL ELSE $4 END
         WHERE id = ANY($1)",
    )
    .bind(ids)
    .bind(now)
    .bind(message_id.map(crate::domain::Snowflake))
    .bind(carrier)
    .execute(pool)
    .await?;
    Ok(())
}

/// Gives a batch back to the queue, due again at `retry_at`.
pub async fn release(
    pool: &PgPool,
    ids: &[i64],
    retry_at: DateTime<Utc>,
    error: Option<&str>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE notification_outbox
         SET claimed_until = NULL, next_attempt_at = $2, last_error = COALESCE($3, last_error)
         WHERE id = ANY($1)",
    )
    .bind(ids)
    .bind(retry_at)
    .bind(error)
    .execute(pool)
    .await?;
    Ok(())
}

/// Puts rows back without counting the claim as an attempt: they were not
/// tried, only postponed (a record whose photos are still being copied).
pub async fn postpone(pool: &PgPool, ids: &[i64], at: DateTime<Utc>) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE notification_outbox
         SET claimed_until = NULL, next_attempt_at = $2, attempts = GREATEST(attempts - 1, 0)
         WHERE id = ANY($1)",
    )
    .bind(ids)
    .bind(at)
    .execute(pool)
    .await?;
    Ok(())
}

/// Sets rows aside as failed, with their error: they are no longer due and
/// hold up nothing, until an admin retries or drops them.
pub async fn fail(
    pool: &PgPool,
    ids: &[i64],
    now: DateTime<Utc>,
    error: &str,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE notification_outbox
         SET failed_at = $2, last_error = $3, claimed_until = NULL
         WHERE id = ANY($1)",
    )
    .bind(ids)
    .bind(now)
    .bind(error)
    .execute(pool)
    .await?;
    Ok(())
}

/// Splits a digest Discord refused: its rows go back to the queue, due at
/// once, each to be posted on its own, so the one Discord refuses is found
/// (and ends failed) while the others go out.
pub async fn split(pool: &PgPool, ids: &[i64], error: &str) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE notification_outbox
         SET claimed_until = NULL, post_alone = TRUE, last_error = $2
         WHERE id = ANY($1)",
    )
    .bind(ids)
    .bind(error)
    .execute(pool)
    .await?;
    Ok(())
}
