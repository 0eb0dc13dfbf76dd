//! Review sessions in Postgres. Every transition locks the rows it changes,
//! so double clicks, retries and two instances agree on one outcome.
//!
//! This module holds the store handle and the checks every transition
//! shares; the transitions themselves live in one submodule per concern.

mod decisions;
mod edits;
mod error;
mod lifecycle;
mod rows;
mod session;

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};

pub use decisions::{Decision, DecisionOutcome, Reviewer};
pub use error::ReviewError;
pub(super) use rows::load_in;
pub use session::{NewSession, ReviewItem, Session, SessionItem, SessionStatus, StartOutcome};

/// Access to review sessions. Cheap to clone.
#[derive(Debug, Clone)]
pub struct ReviewStore {
    pub(super) pool: PgPool,
}

impl ReviewStore {
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }

    pub async fn load(&self, session_id: i64) -> Result<Session, ReviewError> {
        let mut conn = self.pool.acquire().await?;
        load_in(&mut conn, session_id, false).await
    }

    /// Checks that `user` may act on the session now; marks it expired when
    /// it is past its time.
    pub(super) async fn guard(
        conn: &mut PgConnection,
        session: &Session,
        user_id: u64,
        now: DateTime<Utc>,
    ) -> Result<(), ReviewError> {
        let verdict = session.check_actor(user_id, now);
        if matches!(verdict, Err(ReviewError::Expired)) && session.status.is_active() {
            expire_due(conn, session.id, now).await?;
        }
        verdict
    }

    /// Marks review `session_id` expired when it is open past its expiry at
    /// `now` (nobody clicked in time), and settles its run. True when it did.
    pub async fn expire_if_due(
        &self,
        session_id: i64,
        now: DateTime<Utc>,
    ) -> Result<bool, ReviewError> {
        let mut tx = self.pool.begin().await?;
        let expired = expire_due(&mut tx, session_id, now).await?;
        tx.commit().await?;
        Ok(expired)
    }
}

/// Records the expiry of an open review past its time, so its message is
/// free for a new review, and settles its run.
async fn expire_due(
    conn: &mut PgConnection,
    session_id: i64,
    now: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    let expired = sqlx::query(
        "UPDATE review_sessions SET status = 'expired', updated_at = now()
         WHERE id = $1 AND status IN ('analysing', 'reviewing') AND expires_at <= $2",
    )
    .bind(session_id)
    .bind(now)
    .execute(&mut *conn)
    .await?;
    crate::runs::settle_for_review(conn, session_id, now).await?;
    Ok(expired.rows_affected() > 0)
}
