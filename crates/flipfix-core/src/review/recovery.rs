//! Ways out for reviews that faults leave open: a review whose process is
//! gone is closed as interrupted; a review whose preparation failed is
//! closed with its reason; admins list open reviews and free one.
//!
//! Ownership: an analysing review records the instance key of the process
//! running it (`db::locks::Liveness`). That process holds a Postgres session
//! advisory lock on the key for as long as it lives, so "the owner is gone"
//! is a fact Postgres knows, safe with any number of replicas: no timeouts,
//! no clocks, and a live replica's analysis is never closed by another.

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};

use super::store::SessionStatus;
use crate::db::locks::alive_sql;
use crate::domain::Snowflake;

/// Why a review was closed, stored with it.
pub(crate) const REASON_PROCESS_GONE: &str = "the process analysing it stopped";

/// One open review, for admins.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpenReview {
    pub id: i64,
    pub guild_id: Option<u64>,
    pub channel_id: u64,
    pub target_message_id: u64,
    pub owner_user_id: u64,
    pub owner_name: String,
    pub status: SessionStatus,
    pub created_at: DateTime<Utc>,
    /// Whether the process analysing it is alive (always true once reviewing:
    /// the buttons work from any process).
    pub owner_alive: bool,
}

/// Closes every analysing review whose process is gone (or unknown: rows
/// from before ownership was recorded). Returns their ids.
pub async fn close_orphans(pool: &PgPool) -> Result<Vec<i64>, sqlx::Error> {
    let sql = format!(
        "UPDATE review_sessions SET status = 'interrupted', closed_reason = $1, updated_at = now()
         WHERE status = 'analysing' AND (instance_key IS NULL OR NOT {})
         RETURNING id",
        alive_sql("review_sessions.instance_key")
    );
    sqlx::query_scalar(&sql)
        .bind(REASON_PROCESS_GONE)
        .fetch_all(pool)
        .await
}

/// Closes analysing reviews recorded under `instance`, a key this process
/// has just taken: any such review is from a dead process that drew the
/// same key, and would otherwise look alive.
pub async fn close_of_reused_key(pool: &PgPool, instance: i32) -> Result<u64, sqlx::Error> {
    let closed = sqlx::query(
        "UPDATE review_sessions SET status = 'interrupted', closed_reason = $2, updated_at = now()
         WHERE status = 'analysing' AND instance_key = $1",
    )
    .bind(instance)
    .bind(REASON_PROCESS_GONE)
    .execute(pool)
    .await?;
    Ok(closed.rows_affected())
}

/// Closes the analysing review of one message when its (recorded) process
/// is gone, inside the caller's transaction.
pub(super) async fn close_orphans_of_message(
    conn: &mut PgConnection,
    target_message_id: u64,
) -> Result<(), sqlx::Error> {
    let sql = format!(
        "UPDATE review_sessions SET status = 'interrupted', closed_reason = $2, updated_at = now()
         WHERE target_message_id = $1 AND status = 'analysing'
           AND instance_key IS NOT NULL AND NOT {}",
        alive_sql("review_sessions.instance_key")
    );
    let closed = sqlx::query(&sql)
        .bind(Snowflake(target_message_id))
        .bind(REASON_PROCESS_GONE)
        .execute(&mut *conn)
        .await?;
    if closed.rows_affected() > 0 {
        tracing::warn!(
            target_message_id,
            "a review left open by a stopped process was closed as interrupted; the message is free again"
        );
    }
    Ok(())
}

/// Closes an active review with `status` (failed, interrupted, cancelled)
/// and a reason, freeing its message. False when it was no longer active.
pub async fn close(
    pool: &PgPool,
    session_id: i64,
    status: SessionStatus,
    reason: &str,
) -> Result<bool, sqlx::Error> {
    let closed = sqlx::query(
        "UPDATE review_sessions SET status = $2, closed_reason = $3, updated_at = now()
         WHERE id = $1 AND status IN ('analysing', 'reviewing')",
    )
    .bind(session_id)
    .bind(status)
    .bind(reason)
    .execute(pool)
    .await?;
    Ok(closed.rows_affected() > 0)
}

/// Remembers the message that carries the review's buttons.
pub async fn set_review_message(
    pool: &PgPool,
    session_id: i64,
    message_id: u64,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE review_sessions SET review_message_id = $2 WHERE id = $1")
        .bind(session_id)
        .bind(Snowflake(message_id))
        .execute(pool)
        .await?;
    Ok(())
}

/// Every active review, oldest first.
pub async fn list_open(pool: &PgPool) -> Result<Vec<OpenReview>, sqlx::Error> {
    let sql = format!(
        "SELECT id, guild_id, channel_id, target_message_id, owner_user_id, owner_name, status, created_at,
                (status = 'reviewing' OR (instance_key IS NOT NULL AND {})) AS owner_alive
         FROM review_sessions WHERE status IN ('analysing', 'reviewing') ORDER BY created_at, id",
        alive_sql("review_sessions.instance_key")
    );
    let rows: Vec<OpenRow> = sqlx::query_as(&sql).fetch_all(pool).await?;
    Ok(rows
        .into_iter()
        .map(|row| OpenReview {
            id: row.id,
            guild_id: row.guild_id.map(Snowflake::get),
            channel_id: row.channel_id.get(),
            target_message_id: row.target_message_id.get(),
            owner_user_id: row.owner_user_id.get(),
            owner_name: row.owner_name,
            status: row.status,
            created_at: row.created_at,
            owner_alive: row.owner_alive,
        })
        .collect())
}

#[derive(sqlx::FromRow)]
struct OpenRow {
    id: i64,
    guild_id: Option<Snowflake>,
    channel_id: Snowflake,
    target_message_id: Snowflake,
    owner_user_id: Snowflake,
    owner_name: String,
    status: SessionStatus,
    created_at: DateTime<Utc>,
    owner_alive: bool,
}
