//! Replacing a pending suggestion with the person's edited version.

use chrono::{DateTime, Utc};

use super::rows::load_in;
use super::{ReviewError, ReviewItem, ReviewStore, Session};

impl ReviewStore {
    /// Replaces the item at `position` with an edited one.
    pub async fn edit(
        &self,
        session_id: i64,
        position: usize,
        item: &ReviewItem,
        user_id: u64,
        now: DateTime<Utc>,
    ) -> Result<Session, ReviewError> {
        let mut tx = self.pool.begin().await?;
        let session = load_in(&mut tx, session_id, true).await?;
        Self::guard(&mut tx, &session, user_id, now).await?;
        let updated = sqlx::query(
            // A likely duplicate was found for the old machine and kind; after
            // a change of either it no longer applies.
            "UPDATE review_items SET item = $3,
                    duplicate = CASE WHEN item->'machine_id' IS DISTINCT FROM $3->'machine_id'
                                       OR item->'kind' IS DISTINCT FROM $3->'kind'
                                     THEN NULL ELSE duplicate END
             WHERE session_id = $1 AND position = $2 AND state = 'pending'",
        )
        .bind(session_id)
        .bind(position as i32)
        .bind(sqlx::types::Json(item))
        .execute(&mut *tx)
        .await?;
        if updated.rows_affected() == 0 {
            return Err(ReviewError::Over);
        }
        tx.commit().await?;
        self.load(session_id).await
    }
}
