//! Sign-in states and sessions kept in Postgres, so each is one row every
//! replica agrees on: a state is taken once, a signed-out session is gone
//! everywhere, and the last membership check is shared. Rows hold SHA-256
//! hashes of the tokens, never the tokens. Every time comes from the app's
//! clock; expired rows are swept when new ones are written.

use chrono::{DateTime, Duration, Utc};
use sqlx::PgPool;

use super::session::token_hash;
use crate::domain::Snowflake;

/// Records a sign-in in progress until `expires_at`.
pub async fn issue_state(
    pool: &PgPool,
    state: &str,
    expires_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM web_sign_in_states WHERE expires_at <= $1")
        .bind(now)
        .execute(pool)
        .await?;
    sqlx::query("INSERT INTO web_sign_in_states (state_hash, expires_at) VALUES ($1, $2)")
        .bind(token_hash(state))
        .bind(expires_at)
        .execute(pool)
        .await?;
    Ok(())
}

/// Takes the sign-in state: `true` the first time for an unexpired state,
/// `false` ever after (the row is deleted in the same statement, so two
/// callbacks racing with one state cannot both win).
pub async fn take_state(
    pool: &PgPool,
    state: &str,
    now: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    let taken: Option<DateTime<Utc>> = sqlx::query_scalar(
        "DELETE FROM web_sign_in_states WHERE state_hash = $1 RETURNING expires_at",
    )
    .bind(token_hash(state))
    .fetch_optional(pool)
    .await?;
    Ok(taken.is_some_and(|expires_at| expires_at > now))
}

/// A new session for a member whose membership was just confirmed.
pub async fn create(
    pool: &PgPool,
    id: &str,
    user_id: u64,
    username: &str,
    expires_at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM web_sessions WHERE expires_at <= $1")
        .bind(now)
        .execute(pool)
        .await?;
    sqlx::query(
        "INSERT INTO web_sessions (id_hash, user_id, username, created_at, expires_at, checked_at) \
         VALUES ($1, $2, $3, $4, $5, $4)",
    )
    .bind(token_hash(id))
    .bind(Snowflake(user_id))
    .bind(username)
    .bind(now)
    .bind(expires_at)
    .execute(pool)
    .await?;
    Ok(())
}

/// The session's user and when membership was last confirmed, while the
/// session exists and has not expired.
pub async fn find(
    pool: &PgPool,
    id: &str,
    now: DateTime<Utc>,
) -> Result<Option<(u64, DateTime<Utc>)>, sqlx::Error> {
    let row: Option<(Snowflake, DateTime<Utc>)> = sqlx::query_as(
        "SELECT user_id, checked_at FROM web_sessions WHERE id_hash = $1 AND expires_at > $2",
    )
    .bind(token_hash(id))
    .bind(now)
    .fetch_optional(pool)
    .await?;
    Ok(row.map(|(user, checked)| (user.get(), checked)))
}

/// Claims the membership re-check of a session last checked before
/// `stale_before`, marking it checked at `now`: `true` for exactly one of
/// the requests that race for it, so one re-check goes to Discord.
pub async fn claim_recheck(
    pool: &PgPool,
    id: &str,
    stale_before: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    let claimed = sqlx::query(
        "UPDATE web_sessions SET checked_at = $3 WHERE id_hash = $1 AND checked_at <= $2",
    )
    .bind(token_hash(id))
    .bind(stale_before)
    .bind(now)
    .execute(pool)
    .await?;
    Ok(claimed.rows_affected() == 1)
}

/// Sets when the session counts as last checked (a re-check that Discord
/// did not answer is retried `retry` before the interval runs out again).
pub async fn set_checked(
    pool: &PgPool,
    id: &str,
    checked_at: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE web_sessions SET checked_at = $2 WHERE id_hash = $1")
        .bind(token_hash(id))
        .bind(checked_at)
        .execute(pool)
        .await?;
    Ok(())
}

/// Ends the session everywhere (sign-out, or membership lost).
pub async fn revoke(pool: &PgPool, id: &str) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM web_sessions WHERE id_hash = $1")
        .bind(token_hash(id))
        .execute(pool)
        .await?;
    Ok(())
}

/// When a re-check Discord did not answer is tried again: a minute later.
pub const RECHECK_RETRY: Duration = Duration::minutes(1);
