//! What the card's select menus need from the review: the machines the
//! conversation mentions (stored with the session), and a race-safe change
//! of one pending item (a machine or a choice picked from a menu).

use chrono::{DateTime, Utc};

use super::store::load_in;
use super::{ItemState, ReviewError, ReviewItem, ReviewStore, Session};

impl ReviewStore {
    /// Remembers the machines the reviewed conversation mentions, in order.
    pub async fn set_machine_mentions(
        &self,
        session_id: i64,
        machine_ids: &[i64],
    ) -> Result<(), ReviewError> {
        let ranks: Vec<i32> = (0..machine_ids.len() as i32).collect();
        sqlx::query(
            "INSERT INTO review_machine_mentions (session_id, machine_id, rank)
             SELECT $1, machine_id, rank FROM unnest($2::bigint[], $3::int[]) AS m(machine_id, rank)
             ON CONFLICT DO NOTHING",
        )
        .bind(session_id)
        .bind(machine_ids)
        .bind(&ranks)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The machines the conversation mentions, first mentioned first.
    pub async fn machine_mentions(&self, session_id: i64) -> Result<Vec<i64>, ReviewError> {
        Ok(sqlx::query_scalar(
            "SELECT machine_id FROM review_machine_mentions WHERE session_id = $1 ORDER BY rank",
        )
        .bind(session_id)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Applies `change` to the pending item at `position` under the session
    /// lock, with the same owner, expiry and status checks as the buttons:
    /// two menus used at once both take effect, and a decided item is
    /// never changed.
    pub async fn change_item(
        &self,
        session_id: i64,
        position: usize,
        user_id: u64,
        now: DateTime<Utc>,
        change: impl FnOnce(&mut ReviewItem),
    ) -> Result<Session, ReviewError> {
        let mut tx = self.pool.begin().await?;
        let session = load_in(&mut tx, session_id, true).await?;
        if let Err(err) = Self::guard(&mut tx, &session, user_id, now).await {
            tx.commit().await?; // keep an expiry mark
            return Err(err);
        }
        let entry = session.items.get(position).ok_or(ReviewError::NotFound)?;
        if entry.state != ItemState::Pending {
            return Err(ReviewError::Over);
        }
        let mut item = entry.item.clone();
        change(&mut item);
        sqlx::query("UPDATE review_items SET item = $3 WHERE session_id = $1 AND position = $2")
            .bind(session_id)
            .bind(position as i32)
            .bind(sqlx::types::Json(&item))
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        self.load(session_id).await
    }
}
