//! What a post Discord did not accept means for its rows: wait out a rate
//! limit, park the queue on a refused webhook, split a refused digest or
//! retry-then-fail a refused row, back off while Discord fails.

use chrono::{DateTime, Utc};

use super::dispatcher::{DispatchError, Dispatcher, Step};
use super::outbox::{self, Claimed};
use super::webhook_client::PostError;
use crate::config::WebhookUrl;

impl Dispatcher {
    /// What a failed post means for its rows: wait out a rate limit, park
    /// on a refused webhook, split or fail a refused payload, back off while
    /// Discord fails.
    pub(super) async fn after_failed_post(
        &mut self,
        url: &WebhookUrl,
        batch: &[Claimed],
        error: PostError,
        now: DateTime<Utc>,
        answered_at: DateTime<Utc>,
    ) -> Result<Step, DispatchError> {
        let rows: Vec<i64> = batch.iter().map(|row| row.id).collect();
        let at = match &error {
            PostError::RateLimited { retry_after } => {
                let until = answered_at + *retry_after;
                self.pacer.block(url.webhook_id(), until);
                tracing::warn!(webhook = %url, wait_ms = retry_after.num_milliseconds(), "rate limited by Discord");
                until
            }
            PostError::WebhookGone { .. } => {
                // Logged once: later steps see the queue parked and
                // do not call Discord until the URL changes.
                tracing::error!(webhook = %url, %error, "webhook refused; notifications parked until DISCORD_WEBHOOK_URL changes");
                outbox::park(&self.pool, url.expose().as_str(), &error.to_string(), now).await?;
                now
            }
            PostError::Http { status, .. } if *status < 500 => {
                // Discord refuses this payload; the others go on
                // meanwhile. A digest is split so the refused row
                // is found; a single row retries, then fails.
                let text = error.to_string();
                if batch.len() > 1 {
                    tracing::warn!(rows = ?rows, error = %text, "Discord refused a digest; its records will be posted one by one");
                    outbox::split(&self.pool, &rows, &text).await?;
                    return Ok(Step::Retry {
                        rows,
                        at: answered_at,
                        error,
                    });
                }
                return Ok(match self.retry_or_fail(batch, answered_at, &text).await? {
                    Some(at) => Step::Retry { rows, at, error },
                    None => Step::Failed { rows, error: text },
                });
            }
            PostError::Http { .. } | PostError::Timeout | PostError::Network(_) => {
                // While Discord fails (5xx, timeouts, network) the
                // whole webhook waits: the rest of the queue would
                // only fail the same way. These never fail a row:
                // they say nothing about the row.
                let at = answered_at + self.backoff(batch);
                self.pacer.block(url.webhook_id(), at);
                tracing::warn!(rows = ?rows, %error, retry_at = %at, "notification failed; will retry");
                at
            }
        };
        outbox::release(&self.pool, &rows, at, Some(&error.to_string())).await?;
        Ok(Step::Retry { rows, at, error })
    }
}
