//! Review sessions in Postgres. Every transition locks the rows it changes,
//! so double clicks, retries and two instances agree on one outcome.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::{PgConnection, PgPool};

use super::machine::{descendants, next_pending, ItemState};
use crate::records::open::LikelyDuplicate;
use crate::records::{
    create_record_in, from_db_id, to_db_id, Author, CreatedVia, Media, NewRecord, RecordError,
    SourceMessage,
};
use crate::workflow::RecordKinds;

/// One suggestion as the person will confirm it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReviewItem {
    pub kind: String,
    /// `None` with `machine_hint` set: the model named a machine the
    /// catalog does not know; the person must choose one before Create.
    pub machine_id: Option<i64>,
    pub machine_hint: Option<String>,
    pub description: String,
    pub fields: BTreeMap<String, String>,
    /// An existing record this one belongs to.
    pub parent_record_id: Option<i64>,
    pub sources: Vec<SourceMessage>,
    pub author: Author,
    /// What the reviewer should know about the author (a display name
    /// that looks like a maintainer's but is not linked).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author_hint: Option<String>,
    pub occurred_at: DateTime<Utc>,
    pub media: Vec<Media>,
}

impl ReviewItem {
    /// True while the kind needs a machine and none is chosen (the model's
    /// was unmatched, or it named none), unless a parent will supply one.
    pub fn needs_machine(&self, kinds: &RecordKinds, has_parent_in_review: bool) -> bool {
        let Some(kind) = kinds.get(&self.kind) else {
            return false;
        };
        let parent_supplies =
            kind.inherit_machine && (has_parent_in_review || self.parent_record_id.is_some());
        self.machine_id.is_none()
            && !parent_supplies
            && kind.machine == crate::workflow::MachineRule::Required
    }
}

#[derive(Debug, Clone)]
pub struct NewSession {
    pub guild_id: Option<u64>,
    pub channel_id: u64,
    pub target_message_id: u64,
    pub owner_user_id: u64,
    pub owner_name: String,
    pub expires_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartOutcome {
    Started(i64),
    /// Someone is already reviewing this message.
    AlreadyActive {
        session_id: i64,
        owner_user_id: u64,
        owner_name: String,
        status: SessionStatus,
        /// The message with the review's buttons, once it is shown.
        review_message_id: Option<u64>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionStatus {
    Analysing,
    Reviewing,
    Finished,
    Cancelled,
    Failed,
    Expired,
    /// Its process stopped (restart, crash, shutdown) before it was shown.
    Interrupted,
}

impl SessionStatus {
    pub(super) fn parse(raw: &str) -> Self {
        match raw {
            "analysing" => Self::Analysing,
            "reviewing" => Self::Reviewing,
            "finished" => Self::Finished,
            "cancelled" => Self::Cancelled,
            "failed" => Self::Failed,
            "interrupted" => Self::Interrupted,
            _ => Self::Expired,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Analysing => "analysing",
            Self::Reviewing => "reviewing",
            Self::Finished => "finished",
            Self::Cancelled => "cancelled",
            Self::Failed => "failed",
            Self::Expired => "expired",
            Self::Interrupted => "interrupted",
        }
    }

    pub fn is_active(self) -> bool {
        matches!(self, Self::Analysing | Self::Reviewing)
    }
}

#[derive(Debug, Clone)]
pub struct SessionItem {
    pub position: usize,
    pub item: ReviewItem,
    pub parent_position: Option<usize>,
    pub state: ItemState,
    pub record_id: Option<i64>,
    /// The open record this suggestion looks like (see `review::duplicates`).
    pub duplicate: Option<LikelyDuplicate>,
    /// Set once "Attach" made this suggestion a child of that record.
    pub attached_to: Option<i64>,
}

#[derive(Debug, Clone)]
pub struct Session {
    pub id: i64,
    pub guild_id: Option<u64>,
    pub channel_id: u64,
    pub target_message_id: u64,
    pub owner_user_id: u64,
    pub owner_name: String,
    pub status: SessionStatus,
    pub current_position: usize,
    pub expires_at: DateTime<Utc>,
    pub items: Vec<SessionItem>,
}

impl Session {
    /// Whether `user_id` may act on this session at `now` (no database).
    pub fn check_actor(&self, user_id: u64, now: DateTime<Utc>) -> Result<(), ReviewError> {
        if self.owner_user_id != user_id {
            return Err(ReviewError::NotOwner {
                owner_name: self.owner_name.clone(),
            });
        }
        let expired = self.status == SessionStatus::Expired
            || (self.status.is_active() && self.expires_at <= now);
        match self.status {
            _ if expired => Err(ReviewError::Expired),
            SessionStatus::Reviewing => Ok(()),
            _ => Err(ReviewError::Over),
        }
    }

    /// The existing record the item at `position` will be created under: its
    /// parent suggestion's record (or, when that suggestion was attached to
    /// an existing record, that record), else the model's parent_record_id.
    pub fn parent_record_id(&self, position: usize) -> Option<i64> {
        let entry = self.items.get(position)?;
        match entry.parent_position.and_then(|p| self.items.get(p)) {
            Some(parent) => parent.attached_to.or(parent.record_id),
            None => entry.item.parent_record_id,
        }
    }

    pub fn current(&self) -> Option<&SessionItem> {
        self.items
            .get(self.current_position)
            .filter(|i| i.state == ItemState::Pending)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Create,
    Skip,
    /// Create it as a child of its likely duplicate instead (see
    /// `review::duplicates::attached_item`).
    Attach,
}

/// What a decision did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecisionOutcome {
    Created {
        record_id: i64,
    },
    Skipped {
        also_skipped: Vec<usize>,
    },
    /// The item was decided before (a double click): nothing changed.
    AlreadyDecided {
        state: ItemState,
        record_id: Option<i64>,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum ReviewError {
    #[error("this review no longer exists")]
    NotFound,
    #[error("this review belongs to {owner_name}; only they can act on it")]
    NotOwner { owner_name: String },
    #[error("this review expired; run Add to Flipfix again")]
    Expired,
    #[error("this review is already over")]
    Over,
    #[error("{0}")]
    CannotAttach(String),
    #[error("choose a machine first (the menu on the card, or Edit): the model named `{0}`, which is not in the catalog")]
    MachineUnknown(String),
    #[error("{0}")]
    Record(#[from] RecordError),
    #[error("database error in the review")]
    Database(#[from] sqlx::Error),
}

/// Access to review sessions. Cheap to clone.
#[derive(Debug, Clone)]
pub struct ReviewStore {
    pub(super) pool: PgPool,
}

impl ReviewStore {
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }

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
        super::recovery::close_orphans_of_message(&mut tx, new.target_message_id).await?;
        // An expired review must not block a new one.
        sqlx::query(
            "UPDATE review_sessions SET status = 'expired', updated_at = now()
             WHERE target_message_id = $1 AND status IN ('analysing', 'reviewing') AND expires_at <= $2",
        )
        .bind(to_db_id(new.target_message_id))
        .bind(now)
        .execute(&mut *tx)
        .await?;
        let inserted: Option<i64> = sqlx::query_scalar(
            "INSERT INTO review_sessions (guild_id, channel_id, target_message_id, owner_user_id, owner_name, status, expires_at, instance_key)
             VALUES ($1, $2, $3, $4, $5, 'analysing', $6, $7)
             ON CONFLICT (target_message_id) WHERE status IN ('analysing', 'reviewing') DO NOTHING
             RETURNING id",
        )
        .bind(new.guild_id.map(to_db_id))
        .bind(to_db_id(new.channel_id))
        .bind(to_db_id(new.target_message_id))
        .bind(to_db_id(new.owner_user_id))
        .bind(&new.owner_name)
        .bind(new.expires_at)
        .bind(instance)
        .fetch_optional(&mut *tx)
        .await?;
        let outcome = match inserted {
            Some(id) => StartOutcome::Started(id),
            None => {
                let (session_id, owner, owner_name, status, review_message): (
                    i64,
                    i64,
                    String,
                    String,
                    Option<i64>,
                ) = sqlx::query_as(
                    "SELECT id, owner_user_id, owner_name, status, review_message_id FROM review_sessions
                     WHERE target_message_id = $1 AND status IN ('analysing', 'reviewing')",
                )
                .bind(to_db_id(new.target_message_id))
                .fetch_one(&mut *tx)
                .await?;
                StartOutcome::AlreadyActive {
                    session_id,
                    owner_user_id: from_db_id(owner),
                    owner_name,
                    status: SessionStatus::parse(&status),
                    review_message_id: review_message.map(from_db_id),
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
            // Record the expiry so the message is free for a new review.
            sqlx::query(
                "UPDATE review_sessions SET status = 'expired', updated_at = now() WHERE id = $1",
            )
            .bind(session.id)
            .execute(&mut *conn)
            .await?;
        }
        verdict
    }

    /// Creates or skips the item at `position`. Idempotent: a second click
    /// on a decided item changes nothing and says what happened the first time.
    pub async fn decide(
        &self,
        kinds: &RecordKinds,
        session_id: i64,
        position: usize,
        decision: Decision,
        user_id: u64,
        now: DateTime<Utc>,
    ) -> Result<(DecisionOutcome, Session), ReviewError> {
        let mut tx = self.pool.begin().await?;
        // Locking the session row serialises every click on this review.
        let session = load_in(&mut tx, session_id, true).await?;
        let item = session
            .items
            .get(position)
            .ok_or(ReviewError::NotFound)?
            .clone();
        if item.state != ItemState::Pending {
            tx.rollback().await?;
            return Ok((
                DecisionOutcome::AlreadyDecided {
                    state: item.state,
                    record_id: item.record_id,
                },
                self.load(session_id).await?,
            ));
        }
        if let Err(err) = Self::guard(&mut tx, &session, user_id, now).await {
            // Keep an expiry mark; refuse the action.
            tx.commit().await?;
            return Err(err);
        }
        let outcome = match decision {
            Decision::Create | Decision::Attach => {
                let (to_create, parent_record_id) = if decision == Decision::Attach {
                    let attached = super::duplicates::attached_item(kinds, &item)
                        .map_err(ReviewError::CannotAttach)?;
                    super::duplicates::store_attached(&mut tx, session_id, position, &attached)
                        .await?;
                    let parent = attached.parent_record_id;
                    (attached, parent)
                } else {
                    if item
                        .item
                        .needs_machine(kinds, item.parent_position.is_some())
                    {
                        return Err(ReviewError::MachineUnknown(
                            item.item.machine_hint.clone().unwrap_or_default(),
                        ));
                    }
                    (item.item.clone(), session.parent_record_id(position))
                };
                let new = NewRecord {
                    kind: to_create.kind.clone(),
                    machine_id: to_create.machine_id,
                    parent_id: parent_record_id,
                    description: to_create.description.clone(),
                    fields: to_create.fields.clone(),
                    author: to_create.author.clone(),
                    occurred_at: to_create.occurred_at,
                    created_via: CreatedVia::DiscordMessage,
                    created_by: Some(format!("discord:{user_id}")),
                    sources: to_create.sources.clone(),
                    media: to_create.media.clone(),
                };
                let record = create_record_in(&mut tx, kinds, &new).await?;
                set_state(
                    &mut tx,
                    session_id,
                    position,
                    ItemState::Created,
                    Some(record.id),
                )
                .await?;
                DecisionOutcome::Created {
                    record_id: record.id,
                }
            }
            Decision::Skip => {
                set_state(&mut tx, session_id, position, ItemState::Skipped, None).await?;
                let parents: Vec<Option<usize>> =
                    session.items.iter().map(|i| i.parent_position).collect();
                let mut also_skipped = Vec::new();
                for child in descendants(&parents, position) {
                    if session.items[child].state == ItemState::Pending {
                        set_state(&mut tx, session_id, child, ItemState::Skipped, None).await?;
                        also_skipped.push(child);
                    }
                }
                DecisionOutcome::Skipped { also_skipped }
            }
        };
        advance(&mut tx, session_id, position).await?;
        tx.commit().await?;
        Ok((outcome, self.load(session_id).await?))
    }

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
        tx.commit().await?;
        self.load(session_id).await
    }
}

async fn set_state(
    conn: &mut PgConnection,
    session_id: i64,
    position: usize,
    state: ItemState,
    record_id: Option<i64>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE review_items SET state = $3, record_id = $4, decided_at = now() WHERE session_id = $1 AND position = $2",
    )
    .bind(session_id)
    .bind(position as i32)
    .bind(state.as_str())
    .bind(record_id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Moves the session to the next pending item, or finishes it.
async fn advance(conn: &mut PgConnection, session_id: i64, from: usize) -> Result<(), sqlx::Error> {
    let states: Vec<String> = sqlx::query_scalar(
        "SELECT state FROM review_items WHERE session_id = $1 ORDER BY position",
    )
    .bind(session_id)
    .fetch_all(&mut *conn)
    .await?;
    let states: Vec<ItemState> = states.iter().filter_map(|s| ItemState::parse(s)).collect();
    match next_pending(&states, from + 1) {
        Some(next) => {
            sqlx::query("UPDATE review_sessions SET current_position = $2, updated_at = now() WHERE id = $1")
                .bind(session_id)
                .bind(next as i32)
                .execute(&mut *conn)
                .await?;
        }
        None => {
            sqlx::query(
                "UPDATE review_sessions SET status = 'finished', updated_at = now() WHERE id = $1",
            )
            .bind(session_id)
            .execute(&mut *conn)
            .await?;
        }
    }
    Ok(())
}

#[derive(sqlx::FromRow)]
struct SessionRow {
    id: i64,
    guild_id: Option<i64>,
    channel_id: i64,
    target_message_id: i64,
    owner_user_id: i64,
    owner_name: String,
    status: String,
    current_position: i32,
    expires_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct ItemRow {
    position: i32,
    item: sqlx::types::Json<ReviewItem>,
    parent_position: Option<i32>,
    state: String,
    record_id: Option<i64>,
    duplicate: Option<sqlx::types::Json<LikelyDuplicate>>,
    attached_to: Option<i64>,
}

pub(super) async fn load_in(
    conn: &mut PgConnection,
    session_id: i64,
    lock: bool,
) -> Result<Session, ReviewError> {
    let sql = format!(
        "SELECT id, guild_id, channel_id, target_message_id, owner_user_id, owner_name, status, current_position, expires_at
         FROM review_sessions WHERE id = $1{}",
        if lock { " FOR UPDATE" } else { "" }
    );
    let row: SessionRow = sqlx::query_as(&sql)
        .bind(session_id)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or(ReviewError::NotFound)?;
    let items: Vec<ItemRow> = sqlx::query_as(
        "SELECT position, item, parent_position, state, record_id, duplicate, attached_to
         FROM review_items WHERE session_id = $1 ORDER BY position",
    )
    .bind(session_id)
    .fetch_all(&mut *conn)
    .await?;
    Ok(Session {
        id: row.id,
        guild_id: row.guild_id.map(from_db_id),
        channel_id: from_db_id(row.channel_id),
        target_message_id: from_db_id(row.target_message_id),
        owner_user_id: from_db_id(row.owner_user_id),
        owner_name: row.owner_name,
        status: SessionStatus::parse(&row.status),
        current_position: usize::try_from(row.current_position).unwrap_or_default(),
        expires_at: row.expires_at,
        items: items
            .into_iter()
            .map(|row| SessionItem {
                position: usize::try_from(row.position).unwrap_or_default(),
                item: row.item.0,
                parent_position: row.parent_position.and_then(|p| usize::try_from(p).ok()),
                state: ItemState::parse(&row.state).unwrap_or(ItemState::Pending),
                record_id: row.record_id,
                duplicate: row.duplicate.map(|d| d.0),
                attached_to: row.attached_to,
            })
            .collect(),
    })
}
