//! The workflow version a review runs on. A review keeps the version of
//! the workflow it started with (its kinds, templates and `on_created`),
//! even when `/flipfix workflows reload` swaps the set while it is open.
//!
//! The process that started the review holds that set in memory
//! ([`ReviewPins`]); the run trace holds the workflow's name and version
//! (`workflow_runs`). Any other process (another replica, or this one after
//! a restart) has only the set in force: it continues the review when that
//! set has the same version of the workflow, and otherwise ends it with one
//! sentence, as it does when a reload removed the workflow. Nothing is ever
//! created from a version the review did not start with.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use sqlx::PgPool;

use super::{recovery, ReviewError, SessionStatus};
use crate::workflow::Workflows;

/// The workflow sets reviews started with in this process, by session id.
/// Entries go once their review's expiry has passed.
#[derive(Debug, Default)]
pub struct ReviewPins {
    pins: Mutex<HashMap<i64, Pin>>,
}

#[derive(Debug, Clone)]
struct Pin {
    workflows: Arc<Workflows>,
    expires_at: DateTime<Utc>,
}

/// The workflow a review started on, from its run.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
struct Started {
    workflow: String,
    workflow_version: String,
    status: SessionStatus,
    expires_at: DateTime<Utc>,
    owner_user_id: crate::domain::Snowflake,
}

impl ReviewPins {
    /// Remembers that review `session_id` started on `workflows`, until
    /// the review's expiry. Reviews past theirs are forgotten here.
    pub async fn pin(
        &self,
        pool: &PgPool,
        session_id: i64,
        workflows: Arc<Workflows>,
        now: DateTime<Utc>,
    ) -> Result<(), sqlx::Error> {
        let expires_at: Option<DateTime<Utc>> =
            sqlx::query_scalar("SELECT expires_at FROM review_sessions WHERE id = $1")
                .bind(session_id)
                .fetch_optional(pool)
                .await?;
        let Some(expires_at) = expires_at else {
            return Ok(());
        };
        let mut pins = self.lock();
        pins.retain(|_, pin| pin.expires_at > now);
        pins.insert(
            session_id,
            Pin {
                workflows,
                expires_at,
            },
        );
        Ok(())
    }

    fn pinned(&self, session_id: i64) -> Option<Arc<Workflows>> {
        self.lock()
            .get(&session_id)
            .map(|pin| pin.workflows.clone())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<i64, Pin>> {
        match self.pins.lock() {
            Ok(guard) => guard,
            // A panic while inserting cannot leave a half-written entry.
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    /// The set review `session_id` runs on, for `user_id` acting on it at
    /// `now`. When that is the review's owner, an
    /// open review whose workflow was removed (or, seen from a process that
    /// did not start it, changed) is closed here, its run settled with the
    /// reason, and the error says so; every later click hears the same.
    /// Anyone else, or a review that is over or past its expiry, gets
    /// `current`: nothing is created from it, and the store's checks say why.
    pub async fn for_action(
        &self,
        pool: &PgPool,
        current: Arc<Workflows>,
        session_id: i64,
        user_id: u64,
        now: DateTime<Utc>,
    ) -> Result<Arc<Workflows>, ReviewError> {
        let Some(started) = started(pool, session_id).await? else {
            // Opened before runs were recorded: the set in force.
            return Ok(current);
        };
        let owner = started.owner_user_id.get() == user_id;
        let open = owner && started.status.is_active() && started.expires_at > now;
        match self.choose(&started, session_id, current.clone()) {
            Ok(workflows) => Ok(workflows),
            // Ended by this rule before: its owner hears the same sentence.
            Err(err) if owner && started.status == SessionStatus::Failed => Err(err),
            Err(_) if !open => Ok(current),
            Err(err) => {
                let reason = err.to_string();
                if recovery::close(pool, session_id, SessionStatus::Failed, &reason).await? {
                    tracing::info!(
                        session_id,
                        workflow = %started.workflow,
                        %reason,
                        "a review's workflow version is no longer available; the review was ended"
                    );
                }
                crate::runs::settle_review_run(pool, session_id, now).await?;
                Err(err)
            }
        }
    }

    /// The set to show review `session_id` with (a card, its summary, the
    /// prompt's ending): its own version when available, else the set in
    /// force (labels of a removed kind fall back to its name).
    pub async fn for_display(
        &self,
        pool: &PgPool,
        current: Arc<Workflows>,
        session_id: i64,
    ) -> Arc<Workflows> {
        match started(pool, session_id).await {
            Ok(Some(started)) => self
                .choose(&started, session_id, current.clone())
                .unwrap_or(current),
            Ok(None) => current,
            Err(err) => {
                tracing::warn!(session_id, error = %err, "could not read the review's workflow version; shown with the workflows in force");
                current
            }
        }
    }

    /// The rule: removed → refused; pinned here → that set; the same
    /// version in force → the set in force; otherwise → refused.
    fn choose(
        &self,
        started: &Started,
        session_id: i64,
        current: Arc<Workflows>,
    ) -> Result<Arc<Workflows>, ReviewError> {
        let Some(in_force) = current.get(&started.workflow) else {
            return Err(ReviewError::WorkflowRemoved {
                workflow: started.workflow.clone(),
            });
        };
        if let Some(pinned) = self.pinned(session_id) {
            return Ok(pinned);
        }
        if in_force.version == started.workflow_version {
            return Ok(current);
        }
        Err(ReviewError::WorkflowChanged {
            workflow: started.workflow.clone(),
        })
    }
}

/// The workflow and version review `session_id`'s run started with, and
/// the review's state; `None` when no run links the review.
async fn started(pool: &PgPool, session_id: i64) -> Result<Option<Started>, sqlx::Error> {
    sqlx::query_as(
        "SELECT r.workflow, r.workflow_version, s.status, s.expires_at, s.owner_user_id
         FROM review_sessions s JOIN workflow_runs r ON r.review_session_id = s.id
         WHERE s.id = $1 ORDER BY r.id DESC LIMIT 1",
    )
    .bind(session_id)
    .fetch_optional(pool)
    .await
}
