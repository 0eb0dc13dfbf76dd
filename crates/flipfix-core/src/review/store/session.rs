//! The shapes of a review: a session, its suggestions and their states, as
//! loaded from Postgres, with the checks that need no database.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::ReviewError;
use crate::records::open::LikelyDuplicate;
use crate::records::{Author, Media, SourceMessage};
use crate::review::machine::ItemState;
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
    /// The model said this entry is the fix of its parent: the card's
    /// default is "Create and close".
    #[serde(default)]
    pub resolves: bool,
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

/// Stored as TEXT (its CHECK lists the values); `sqlx::Type` reads and
/// binds it by these snake_case names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::Type)]
#[sqlx(type_name = "text", rename_all = "snake_case")]
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
    pub(crate) fn is_active(self) -> bool {
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
