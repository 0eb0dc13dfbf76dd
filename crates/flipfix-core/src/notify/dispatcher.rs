//! The dispatcher: takes due rows from the outbox, renders them, posts them
//! and records the outcome. `step` does one unit of work at an explicit
//! "now" (tests drive it deterministically); `run` (in `run_loop`) loops on
//! it, sleeping until a row can be claimed or a NOTIFY arrives.
//!
//! A row that cannot be posted as it is goes to `poison`: retried, then set
//! aside as failed.

use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};
use sqlx::PgPool;
use tokio::sync::watch;

use super::message::{digest_payload, record_payload};
use super::rate_limit::Pacer;
use super::render::{render_record, RenderError, Rendered};
use super::webhook_client::{PostError, WebhookClient};
use crate::config::settings::SettingsError;
use crate::config::{SettingKey, Settings, WebhookUrl};
use crate::outbox::{self, ClaimRules, Claimed, Coalescing};
use crate::workflow::Workflows;

/// Where the dispatcher gets the current workflows (they can be reloaded
/// while the bot runs).
pub type WorkflowSource = Arc<dyn Fn() -> Arc<Workflows> + Send + Sync>;

#[derive(Debug, Clone)]
pub struct DispatcherConfig {
    /// How long a claim keeps other dispatchers off a row; longer than the
    /// HTTP timeout, so a live dispatcher never loses its claim mid-call.
    pub lease: Duration,
    pub coalescing: Coalescing,
    /// First retry delay after a 5xx or network error; doubles per attempt.
    pub backoff_base: Duration,
    pub backoff_cap: Duration,
    /// The timer that backs up LISTEN/NOTIFY (a notification lost while
    /// the LISTEN connection reconnected). Due rows, retries and coalescing
    /// periods wake the dispatcher at their own time; records and settings
    /// changes NOTIFY.
    pub poll_interval: StdDuration,
    /// LISTEN for NOTIFY wake-ups. Off only in tests that show what the
    /// dispatcher does without them.
    pub listen: bool,
    pub http_timeout: StdDuration,
    /// `PUBLIC_BASE_URL`, for links to records.
    pub public_base_url: Option<crate::config::PublicBaseUrl>,
    /// Where the photo copies are read from, to upload them.
    pub media: crate::media::BlobStore,
    /// The one clock (see `clock`): due times, leases and backoff.
    pub clock: std::sync::Arc<dyn crate::clock::Clock>,
}

impl Default for DispatcherConfig {
    fn default() -> Self {
        Self {
            lease: Duration::minutes(2),
            coalescing: Coalescing::default(),
            backoff_base: Duration::seconds(2),
            backoff_cap: Duration::minutes(10),
            poll_interval: StdDuration::from_secs(60),
            listen: true,
            http_timeout: super::webhook_client::DEFAULT_TIMEOUT,
            public_base_url: None,
            media: crate::media::BlobStore::default(),
            clock: crate::clock::system(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DispatchError {
    #[error("database error in the notification dispatcher")]
    Database(#[from] sqlx::Error),
    #[error(transparent)]
    Settings(#[from] SettingsError),
    #[error("could not build the HTTP client: {0}")]
    Client(String),
}

/// What one step did.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// `DISCORD_WEBHOOKS_ENABLED` is off: queued rows wait.
    Disabled,
    /// No valid `DISCORD_WEBHOOK_URL`: queued rows wait.
    NoUrl,
    /// The webhook URL was refused; rows wait until it changes.
    Parked,
    /// The rate limit asks to wait until then.
    Paced { until: DateTime<Utc> },
    /// Nothing due.
    Idle,
    Delivered {
        rows: Vec<i64>,
        message_id: Option<u64>,
    },
    /// The rows went back to the queue, due at `at`.
    Retry {
        rows: Vec<i64>,
        at: DateTime<Utc>,
        error: PostError,
    },
    /// The rows could not be rendered; they retry later (a workflow reload
    /// may fix the template).
    RenderFailed {
        rows: Vec<i64>,
        at: DateTime<Utc>,
        error: String,
    },
    /// The rows used their last attempt and were set aside as failed.
    Failed { rows: Vec<i64>, error: String },
    /// The rows' records have photos still being copied; they are due
    /// again at `at` (for at most [`PHOTO_WAIT`] after the record).
    WaitingForPhotos { rows: Vec<i64>, at: DateTime<Utc> },
}

/// How long a notification waits for its record's photos to be copied
/// before it goes out with Discord's own (expiring) URLs instead.
pub const PHOTO_WAIT: Duration = Duration::minutes(2);
/// How often a waiting notification looks again.
const PHOTO_RECHECK: Duration = Duration::seconds(2);

pub struct Dispatcher {
    pub(super) pool: PgPool,
    pub(super) settings: Settings,
    workflows: WorkflowSource,
    client: WebhookClient,
    pub(super) pacer: Pacer,
    pub(super) config: DispatcherConfig,
    /// The coalescing rule of the last step, for computing the next wake-up.
    pub(super) coalesce: Option<Coalescing>,
    pub(super) activity: watch::Sender<Activity>,
}

/// What a running dispatcher has done, for tests and diagnostics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Activity {
    /// Steps taken.
    pub steps: u64,
    /// Times it went to sleep waiting for a NOTIFY or its wake-up time.
    pub sleeps: u64,
}

impl Dispatcher {
    pub fn new(
        pool: PgPool,
        settings: Settings,
        workflows: WorkflowSource,
        config: DispatcherConfig,
    ) -> Result<Self, DispatchError> {
        let client = WebhookClient::new(config.http_timeout)
            .map_err(|err| DispatchError::Client(err.to_string()))?;
        Ok(Self {
            pool,
            settings,
            workflows,
            client,
            pacer: Pacer::default(),
            config,
            coalesce: None,
            activity: watch::channel(Activity::default()).0,
        })
    }

    /// Follows what the dispatcher does once it runs.
    pub fn activity(&self) -> watch::Receiver<Activity> {
        self.activity.subscribe()
    }

    /// Does at most one post, as of `now`.
    pub async fn step(&mut self, now: DateTime<Utc>) -> Result<Step, DispatchError> {
        // Rate-limit waits count from when Discord answered: `now` plus the
        // time this step took until then (database work included, or a slow
        // claim would make the next request early).
        let started = std::time::Instant::now();
        let url = match self.webhook_to_post_to(now).await? {
            Ok(url) => url,
            Err(waiting) => return Ok(waiting),
        };
        let coalesce = self
            .settings
            .get_bool(SettingKey::DiscordWebhooksCoalesce)
            .await?;
        self.coalesce = coalesce.then_some(self.config.coalescing);
        let rules = ClaimRules {
            lease: self.config.lease,
            coalesce: self.coalesce,
        };
        let batch = outbox::claim(&self.pool, now, rules).await?;
        if batch.is_empty() {
            return Ok(Step::Idle);
        }

        // Rows that do not render are handled one by one, so a digest goes
        // out without them.
        let (batch, waiting) = match self.photos_ready(batch, now).await {
            Ok(split) => split,
            Err(err) => return Err(err.into()),
        };
        if !waiting.is_empty() {
            let at = now + PHOTO_RECHECK;
            outbox::postpone(&self.pool, &waiting, at).await?;
            if batch.is_empty() {
                return Ok(Step::WaitingForPhotos { rows: waiting, at });
            }
        }
        let (rendered, unrenderable) = match self.render(&batch).await {
            Ok(split) => split,
            Err(err) => {
                // The database failed, not the rows: back to the queue
                // without a verdict on them.
                let ids: Vec<i64> = batch.iter().map(|row| row.id).collect();
                outbox::release(&self.pool, &ids, now + self.backoff(&batch), None).await?;
                return Err(err.into());
            }
        };
        if rendered.is_empty() {
            return self.unrenderable(&unrenderable, now).await;
        }
        if !unrenderable.is_empty() {
            self.unrenderable(&unrenderable, now).await?;
        }
        let batch: Vec<Claimed> = rendered.iter().map(|(row, _)| row.clone()).collect();
        let rows: Vec<i64> = batch.iter().map(|row| row.id).collect();
        let messages: Vec<Rendered> = rendered.into_iter().map(|(_, r)| r).collect();
        let payload = payload_of(&messages);
        // A digest links each record's page and shows no photos.
        let files = match messages.as_slice() {
            [single] => single.files.as_slice(),
            _ => &[],
        };

        let result = self.client.post_with_files(&url, &payload, files).await;
        let answered_at = now + Duration::from_std(started.elapsed()).unwrap_or_default();
        match result {
            Ok(posted) => {
                self.pacer
                    .observe(url.webhook_id(), posted.rate, answered_at);
                outbox::mark_delivered(&self.pool, &rows, now, posted.message_id).await?;
                tracing::info!(rows = ?rows, message_id = ?posted.message_id, "notification posted");
                Ok(Step::Delivered {
                    rows,
                    message_id: posted.message_id,
                })
            }
            Err(error) => {
                self.after_failed_post(&url, &batch, error, now, answered_at)
                    .await
            }
        }
    }

    /// Whether the webhook can be posted to now: on, set, not parked on a
    /// refused URL and not rate limited. Otherwise the step that waits.
    async fn webhook_to_post_to(
        &mut self,
        now: DateTime<Utc>,
    ) -> Result<Result<WebhookUrl, Step>, DispatchError> {
        if !self
            .settings
            .get_bool(SettingKey::DiscordWebhooksEnabled)
            .await?
        {
            return Ok(Err(Step::Disabled));
        }
        let Some(url) = self.settings.get_webhook_url().await? else {
            return Ok(Err(Step::NoUrl));
        };
        if let Some(parked) = outbox::parked(&self.pool).await? {
            if parked.url == url.expose().as_str() {
                return Ok(Err(Step::Parked));
            }
            outbox::unpark(&self.pool).await?;
            tracing::info!(webhook = %url, "webhook URL changed; notifications resume");
        }
        if let Some(until) = self.pacer.wait_until(url.webhook_id(), now) {
            return Ok(Err(Step::Paced { until }));
        }
        Ok(Ok(url))
    }

    /// Splits off the rows whose records' photos are still being copied
    /// (and young enough to wait for them).
    async fn photos_ready(
        &self,
        batch: Vec<Claimed>,
        now: DateTime<Utc>,
    ) -> Result<(Vec<Claimed>, Vec<i64>), sqlx::Error> {
        let all: Vec<i64> = batch.iter().map(|row| row.id).collect();
        let mut ready = Vec::with_capacity(batch.len());
        let mut waiting = Vec::new();
        for row in batch {
            let Some(record_id) = row.record_id else {
                ready.push(row); // a summary has no photos
                continue;
            };
            let pending =
                crate::media::store::copies_pending(&self.pool, record_id, now - PHOTO_WAIT).await;
            match pending {
                Ok(true) => waiting.push(row.id),
                Ok(false) => ready.push(row),
                Err(err) => {
                    // The database failed, not the rows: all go back untried.
                    outbox::postpone(&self.pool, &all, now + PHOTO_RECHECK).await?;
                    return Err(err);
                }
            }
        }
        Ok((ready, waiting))
    }

    /// Renders each row: the ones that rendered, and the others with their
    /// error. A database error is no fault of a row and stops the step.
    async fn render(&self, batch: &[Claimed]) -> Result<RenderSplit, sqlx::Error> {
        let workflows = (self.workflows)();
        let base_url = self.config.public_base_url.as_ref();
        let mut rendered = Vec::with_capacity(batch.len());
        let mut failed = Vec::new();
        for row in batch {
            let outcome = match (row.record_id, row.summary_post_id) {
                (Some(record_id), _) => {
                    render_record(
                        &self.pool,
                        &workflows,
                        base_url,
                        &self.config.media,
                        record_id,
                    )
                    .await
                }
                (None, Some(summary_post_id)) => {
                    super::render::render_summary(&self.pool, summary_post_id).await
                }
                (None, None) => Err(RenderError::NoSubject(row.id)),
            };
            match outcome {
                Ok(message) => rendered.push((row.clone(), message)),
                Err(RenderError::Database(err)) => return Err(err),
                Err(err) => failed.push((row.clone(), err.to_string())),
            }
        }
        Ok((rendered, failed))
    }

    /// Exponential backoff with jitter (50–100 % of the step), capped, so
    /// many failed rows do not retry in lockstep.
    pub(super) fn backoff(&self, batch: &[Claimed]) -> Duration {
        let attempts = batch.iter().map(|row| row.attempts).max().unwrap_or(1);
        crate::jobs::Backoff {
            base: self.config.backoff_base,
            cap: self.config.backoff_cap,
        }
        .after(attempts)
    }
}

/// Rows that rendered, and rows that did not with their error.
type RenderSplit = (Vec<(Claimed, Rendered)>, Vec<(Claimed, String)>);

/// One record's rich message, or a digest of several by one person.
fn payload_of(messages: &[Rendered]) -> serde_json::Value {
    match messages {
        [single] => record_payload(&single.message),
        many => {
            let lines: Vec<_> = many.iter().map(|r| r.message.clone()).collect();
            digest_payload(many[0].author.as_deref(), &lines)
        }
    }
}
