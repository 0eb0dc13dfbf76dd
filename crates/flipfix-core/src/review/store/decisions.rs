//! Deciding the current suggestion: create it, attach it to its likely
//! duplicate, or skip it (with its children), then move to the next one.

use chrono::{DateTime, Utc};
use sqlx::PgConnection;

use super::rows::load_in;
use super::{ReviewError, ReviewStore, Session};
use crate::records::status::create_resolving_in;
use crate::records::{CreatedVia, NewRecord};
use crate::review::machine::{descendants, next_pending, ItemState};
use crate::workflow::RecordKinds;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Create,
    Skip,
    /// Create it as a child of its likely duplicate instead (see
    /// `review::duplicates::attached_item`).
    Attach,
    /// Create it and close its parent (the kind's `resolves_parent`).
    CreateAndClose,
    /// Attach it to its likely duplicate and close that record.
    AttachAndClose,
}

impl Decision {
    fn attaches(self) -> bool {
        matches!(self, Self::Attach | Self::AttachAndClose)
    }

    fn resolves(self) -> bool {
        matches!(self, Self::CreateAndClose | Self::AttachAndClose)
    }
}

/// Who decides: the Discord user the session's owner check applies to, and
/// their unique username when the click told it, kept in the created
/// record's actor (`discord:<id> (<username>)`) as every other path does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reviewer {
    pub user_id: u64,
    pub username: Option<String>,
}

impl Reviewer {
    pub fn new(user_id: u64, username: impl Into<String>) -> Self {
        Self {
            user_id,
            username: Some(username.into()),
        }
    }

    fn actor(&self) -> String {
        match &self.username {
            Some(name) => crate::records::status::discord_actor(self.user_id, name),
            None => format!("discord:{}", self.user_id),
        }
    }
}

/// A bare user id: the actor is `discord:<id>` (callers that do not know
/// the username, such as tests of the review's state machine).
impl From<u64> for Reviewer {
    fn from(user_id: u64) -> Self {
        Self {
            user_id,
            username: None,
        }
    }
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

impl ReviewStore {
    /// Creates or skips the item at `position`. Idempotent: a second click
    /// on a decided item changes nothing and says what happened the first time.
    pub async fn decide(
        &self,
        kinds: &RecordKinds,
        session_id: i64,
        position: usize,
        decision: Decision,
        reviewer: impl Into<Reviewer>,
        now: DateTime<Utc>,
    ) -> Result<(DecisionOutcome, Session), ReviewError> {
        let reviewer = reviewer.into();
        let user_id = reviewer.user_id;
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
            Decision::Create
            | Decision::Attach
            | Decision::CreateAndClose
            | Decision::AttachAndClose => {
                let (to_create, parent_record_id) = if decision.attaches() {
                    let attached = crate::review::duplicates::attached_item(kinds, &item)
                        .map_err(ReviewError::CannotAttach)?;
                    crate::review::duplicates::store_attached(
                        &mut tx, session_id, position, &attached,
                    )
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
                    created_at: now,
                    created_via: CreatedVia::DiscordMessage,
                    created_by: Some(reviewer.actor()),
                    sources: to_create.sources.clone(),
                    media: to_create.media.clone(),
                };
                // Closing is asked for by the button, never assumed: "Create,
                // keep open" creates the fix and leaves its parent as it is.
                let (record, _) =
                    create_resolving_in(&mut tx, kinds, &new, decision.resolves()).await?;
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
        // The last decision ends the review, and with it the run.
        crate::runs::settle_for_review(&mut tx, session_id, now).await?;
        tx.commit().await?;
        Ok((outcome, self.load(session_id).await?))
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
    .bind(state)
    .bind(record_id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Moves the session to the next pending item, or finishes it.
async fn advance(conn: &mut PgConnection, session_id: i64, from: usize) -> Result<(), sqlx::Error> {
    let states: Vec<ItemState> = sqlx::query_scalar(
        "SELECT state FROM review_items WHERE session_id = $1 ORDER BY position",
    )
    .bind(session_id)
    .fetch_all(&mut *conn)
    .await?;
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
