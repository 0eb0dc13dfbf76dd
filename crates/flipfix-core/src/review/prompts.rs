//! Review prompts: the message the bot posts in a channel for a review
//! started without an interaction to answer (a reaction, a new thread),
//! whose Review button only the owner may use. Kept in the database so a
//! click after a restart finds its review, and the end of the review
//! edits the message exactly once.

use chrono::{DateTime, Utc};
use sqlx::PgPool;

use crate::domain::Snowflake;

/// A posted prompt and the review it opens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReviewPrompt {
    pub session_id: i64,
    pub channel_id: u64,
    pub message_id: u64,
    pub owner_user_id: u64,
}

#[derive(sqlx::FromRow)]
struct Row {
    session_id: i64,
    channel_id: Snowflake,
    message_id: Snowflake,
    owner_user_id: Snowflake,
}

impl From<Row> for ReviewPrompt {
    fn from(row: Row) -> Self {
        Self {
            session_id: row.session_id,
            channel_id: row.channel_id.get(),
            message_id: row.message_id.get(),
            owner_user_id: row.owner_user_id.get(),
        }
    }
}

/// Remembers a posted prompt.
pub async fn remember(pool: &PgPool, prompt: &ReviewPrompt) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO review_prompts (session_id, channel_id, message_id, owner_user_id)
         VALUES ($1, $2, $3, $4)
         ON CONFLICT (session_id) DO UPDATE SET channel_id = $2, message_id = $3",
    )
    .bind(prompt.session_id)
    .bind(Snowflake(prompt.channel_id))
    .bind(Snowflake(prompt.message_id))
    .bind(Snowflake(prompt.owner_user_id))
    .execute(pool)
    .await?;
    Ok(())
}

/// Marks the prompt of `session_id` closed: `Some` the first time only, so
/// that one instance edits it once.
pub async fn close(pool: &PgPool, session_id: i64) -> Result<Option<ReviewPrompt>, sqlx::Error> {
    let row: Option<Row> = sqlx::query_as(
        "UPDATE review_prompts SET closed = true
         WHERE session_id = $1 AND NOT closed
         RETURNING session_id, channel_id, message_id, owner_user_id",
    )
    .bind(session_id)
    .fetch_optional(pool)
    .await?;
    Ok(row.map(ReviewPrompt::from))
}

/// Prompts still showing their button whose review is over, or past its
/// expiry at `now` without a click: the expiry sweep edits them to say so.
pub async fn due(pool: &PgPool, now: DateTime<Utc>) -> Result<Vec<ReviewPrompt>, sqlx::Error> {
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT p.session_id, p.channel_id, p.message_id, p.owner_user_id
         FROM review_prompts p JOIN review_sessions s ON s.id = p.session_id
         WHERE NOT p.closed
           AND (s.status NOT IN ('analysing', 'reviewing') OR s.expires_at <= $1)
         ORDER BY s.expires_at, p.session_id",
    )
    .bind(now)
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().map(ReviewPrompt::from).collect())
}

/// When the next prompt still showing its button expires, if any does.
pub async fn next_expiry(pool: &PgPool) -> Result<Option<DateTime<Utc>>, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT min(s.expires_at) FROM review_prompts p
         JOIN review_sessions s ON s.id = p.session_id
         WHERE NOT p.closed AND s.status IN ('analysing', 'reviewing')",
    )
    .fetch_one(pool)
    .await
}
