//! Opening and closing a session: start (one active review per message),
//! storing its suggestions, failing and cancelling.

use chrono::{DateTime, Utc};

use super::rows::load_in;
use super::{
    NewSession, ReviewError, ReviewItem, ReviewStore, Session, SessionStatus, StartOutcome,
};
use crate::domain::Snowflake;

impl ReviewStore {
    /// Starts a review of a message, unless one is active (database-guarded:
    /// two people invoking at once get one session).
    pub async fn start(
        &self,
        new: &NewSession,
        now: DateTime<Utc>,
    ) -> Result<StartOutcome, ReviewError> {
        self.start_as(new, now, None).await
    }

    /// [`ReviewStore::start`] on behalf of the running process `instance`
    /// (its liveness-lock key, see `db::locks`): an analysing review whose
    /// process is gone no longer blocks the message.
    pub async fn start_as(
        &self,
        new: &NewSession,
        now: DateTime<Utc>,
        instance: Option<i32>,
    ) -> Result<StartOutcome, ReviewError> {
        let mut tx = self.pool.begin().await?;
        crate::review::recovery::close_orphans_of_message(&mut tx, new.target_message_id).await?;
        // An expired review must not block a new one.
        sqlx::query(
            "UPDATE review_sessions SET status = 'expired', updated_at = now()
             WHERE target_message_id = $1 AND status IN ('analysing', 'reviewing') AND expires_at <= $2",
        )
        .bind(Snowflake(new.target_message_id))
        .bind(now)
        .execute(&mut *tx)
        .await?;
        let inserted: Option<i64> = sqlx::query_scalar(
            "INSERT INTO review_sessions (guild_id, channel_id, target_message_id, owner_user_id, owner_name, status, expires_at, instance_key, created_at)
             VALUES ($1, $2, $3, $4, $5, 'analysing', $6, $7, $8)
             ON CONFLICT (target_message_id) WHERE status IN ('analysing', 'reviewing') DO NOTHING
             RETURNING id",
        )
        .bind(new.guild_id.map(Snowflake))
        .bind(Snowflake(new.channel_id))
        .bind(Snowflake(new.target_message_id))
        .bind(Snowflake(new.owner_user_id))
        .bind(&new.owner_name)
        .bind(new.expires_at)
        .bind(instance)
        .bind(now)
        .fetch_optional(&mut *tx)
        .await?;
        let outcome = match inserted {
            Some(id) => StartOutcome::Started(id),
            None => {
                let (session_id, owner, owner_name, status, review_message): (
                    i64,
                    Snowflake,
                    String,
                    SessionStatus,
                    Option<Snowflake>,
                ) = sqlx::query_as(
                    "SELECT id, owner_user_id, owner_name, status, review_message_id FROM review_sessions
                     WHERE target_message_id = $1 AND status IN ('analysing', 'reviewing')",
                )
                .bind(Snowflake(new.target_message_id))
                .fetch_one(&mut *tx)
                .await?;
                StartOutcome::AlreadyActive {
                    session_id,
                    owner_user_id: owner.get(),
                    owner_name,
                    status,
                    review_message_id: review_message.map(Snowflake::get),
                }
            }
        };
        tx.commit().await?;
        Ok(outcome)
    }

    /// Stores the suggestions (each with its parent's position) and opens the
    /// review. With no suggestions the session finishes at once.
    pub async fn set_items(
        &self,
        session_id: i64,
        items: &[(ReviewItem, Option<usize>)],
    ) -> Result<(), ReviewError> {
        let mut tx = self.pool.begin().await?;
        for (position, (item, parent)) in items.iter().enumerate() {
            sqlx::query(
                "INSERT INTO review_items (session_id, position, item, parent_position) VALUES ($1, $2, $3, $4)",
            )
            .bind(session_id)
            .bind(position as i32)
            .bind(sqlx::types::Json(item))
            .bind(parent.map(|p| p as i32))
            .execute(&mut *tx)
            .await?;
        }
        let status = if items.is_empty() {
            "finished"
        } else {
            "reviewing"
        };
        sqlx::query("UPDATE review_sessions SET status = $2, current_position = 0, updated_at = now() WHERE id = $1")
            .bind(session_id)
            .bind(status)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Ends a session that could not start (analysis failed), freeing the message.
    pub async fn fail(&self, session_id: i64) -> Result<(), ReviewError> {
        sqlx::query("UPDATE review_sessions SET status = 'failed', updated_at = now() WHERE id = $1 AND status IN ('analysing', 'reviewing')")
            .bind(session_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Ends the review; nothing more is created.
    pub async fn cancel(
        &self,
        session_id: i64,
        user_id: u64,
        now: DateTime<Utc>,
    ) -> Result<Session, ReviewError> {
        let mut tx = self.pool.begin().await?;
        let session = load_in(&mut tx, session_id, true).await?;
        Self::guard(&mut tx, &session, user_id, now).await?;
        sqlx::query(
            "UPDATE review_sessions SET status = 'cancelled', updated_at = now() WHERE id = $1",
        )
        .bind(session_id)
        .execute(&mut *tx)
        .await?;
        crate::runs::settle_for_review(&mut tx, session_id, now).await?;
        tx.commit().await?;
        self.load(session_id).await
    }
}
