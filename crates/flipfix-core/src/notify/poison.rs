//! Poison rows: a row that cannot be posted as it is (its template fails,
//! Discord refuses its payload with a 4xx) retries with backoff up to
//! `NOTIFY_MAX_ATTEMPTS` attempts, then is set aside as failed, so it never
//! blocks the queue or its author's digest.

use chrono::{DateTime, Utc};

use super::dispatcher::{DispatchError, Dispatcher, Step};
use crate::config::SettingKey;
use crate::outbox::{self, Claimed};

impl Dispatcher {
    /// Rows that did not render: each retries later (a workflow reload may
    /// fix its template) or, out of attempts, is set aside.
    pub(super) async fn unrenderable(
        &self,
        rows: &[(Claimed, String)],
        now: DateTime<Utc>,
    ) -> Result<Step, DispatchError> {
        let mut retry_at: Option<DateTime<Utc>> = None;
        let mut retried = Vec::new();
        let mut failed = Vec::new();
        for (row, error) in rows {
            match self
                .retry_or_fail(std::slice::from_ref(row), now, error)
                .await?
            {
                Some(at) => {
                    retry_at = Some(retry_at.map_or(at, |t| t.min(at)));
                    retried.push(row.id);
                }
                None => failed.push(row.id),
            }
        }
        let error = rows.first().map(|(_, e)| e.clone()).unwrap_or_default();
        Ok(match retry_at {
            Some(at) => Step::RenderFailed {
                rows: retried,
                at,
                error,
            },
            None => Step::Failed {
                rows: failed,
                error,
            },
        })
    }

    /// A row that cannot be posted as it is: back to the queue with backoff
    /// (`Some(when)`), or, once `NOTIFY_MAX_ATTEMPTS` are spent, set aside
    /// as failed (`None`). Logged once either way, with what to do.
    pub(super) async fn retry_or_fail(
        &self,
        rows: &[Claimed],
        now: DateTime<Utc>,
        error: &str,
    ) -> Result<Option<DateTime<Utc>>, DispatchError> {
        let max = self
            .settings
            .get_count(SettingKey::NotifyMaxAttempts)
            .await?
            // The key has a default; only a broken declaration lands here.
            .unwrap_or(1);
        let max = i32::try_from(max).unwrap_or(i32::MAX);
        let ids: Vec<i64> = rows.iter().map(|row| row.id).collect();
        if rows.iter().all(|row| row.attempts < max) {
            let at = now + self.backoff(rows);
            tracing::warn!(rows = ?ids, %error, retry_at = %at, "notification could not be posted; will retry");
            outbox::release(&self.pool, &ids, at, Some(error)).await?;
            return Ok(Some(at));
        }
        outbox::fail(&self.pool, &ids, now, error).await?;
        for row in rows {
            tracing::error!(
                notification = row.id,
                record = ?row.record_id,
                summary = ?row.summary_post_id,
                "notification {} failed after {} attempts: {error}; set aside. Fix the cause, then `/flipfix notifications retry {}` (or `drop {}`)",
                row.id,
                row.attempts,
                row.id,
                row.id
            );
        }
        Ok(None)
    }
}
