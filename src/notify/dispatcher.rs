//! The dispatcher: takes due rows from the outbox, renders them, posts them
//! and records the outcome. `step` does one unit of work at an explicit
//! "now" (tests drive it deterministically); `run` loops on it, waking on
//! LISTEN/NOTIFY and on a timer.

use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};
use sqlx::postgres::PgListener;
use sqlx::PgPool;

use super::message::{digest_payload, record_payload};
use super::outbox::{self, ClaimRules, Claimed, Coalescing};
use super::rate_limit::Pacer;
use super::render::{render_record, Rendered};
use super::webhook_client::{PostError, WebhookClient};
use crate::config::settings::SettingsError;
use crate::config::{SettingKey, Settings};
use crate::shutdown::Shutdown;
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
    /// The timer that backs up LISTEN/NOTIFY (missed notifications, rows
    /// that became due, coalescing periods that ended).
    pub poll_interval: StdDuration,
    pub http_timeout: StdDuration,
    /// `PUBLIC_BASE_URL`, for links to records.
    pub public_base_url: Option<String>,
}

impl Default for DispatcherConfig {
    fn default() -> Self {
        Self {
            lease: Duration::minutes(2),
            coalescing: Coalescing::default(),
            backoff_base: Duration::seconds(2),
            backoff_cap: Duration::minutes(10),
            poll_interval: StdDuration::from_secs(15),
            http_timeout: super::webhook_client::DEFAULT_TIMEOUT,
            public_base_url: None,
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
}

pub struct Dispatcher {
    pool: PgPool,
    settings: Settings,
    workflows: WorkflowSource,
    client: WebhookClient,
    pacer: Pacer,
    config: DispatcherConfig,
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
        })
    }

    /// Does at most one post, as of `now`.
    pub async fn step(&mut self, now: DateTime<Utc>) -> Result<Step, DispatchError> {
        // Rate-limit waits count from when Discord answered: `now` plus the
        // time this step took until then (database work included, or a slow
        // claim would make the next request early).
        let started = std::time::Instant::now();
        if !self
            .settings
            .get_bool(SettingKey::DiscordWebhooksEnabled)
            .await?
        {
            return Ok(Step::Disabled);
        }
        let Some(url) = self.settings.get_webhook_url().await? else {
            return Ok(Step::NoUrl);
        };
        if let Some(parked) = outbox::parked(&self.pool).await? {
            if parked.url == url.expose().as_str() {
                return Ok(Step::Parked);
            }
            outbox::unpark(&self.pool).await?;
            tracing::info!(webhook = %url, "webhook URL changed; notifications resume");
        }
        if let Some(until) = self.pacer.wait_until(url.webhook_id(), now) {
            return Ok(Step::Paced { until });
        }
        let coalesce = self
            .settings
            .get_bool(SettingKey::DiscordWebhooksCoalesce)
            .await?;
        let rules = ClaimRules {
            lease: self.config.lease,
            coalesce: coalesce.then_some(self.config.coalescing),
        };
        let batch = outbox::claim(&self.pool, now, rules).await?;
        if batch.is_empty() {
            return Ok(Step::Idle);
        }
        let rows: Vec<i64> = batch.iter().map(|row| row.id).collect();

        let payload = match self.payload(&batch).await {
            Ok(payload) => payload,
            Err(error) => {
                let at = now + self.backoff(&batch);
                tracing::warn!(rows = ?rows, %error, "could not render a notification; will retry");
                outbox::release(&self.pool, &rows, at, Some(&error)).await?;
                return Ok(Step::RenderFailed { rows, at, error });
            }
        };

        let result = self.client.post(&url, &payload).await;
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
                        outbox::park(&self.pool, url.expose().as_str(), &error.to_string(), now)
                            .await?;
                        now
                    }
                    PostError::Http { .. } | PostError::Timeout | PostError::Network(_) => {
                        let at = answered_at + self.backoff(&batch);
                        // While Discord fails (5xx, timeouts, network) the
                        // whole webhook waits: the rest of the queue would
                        // only fail the same way. A 4xx refuses this one
                        // payload, so the others go on meanwhile.
                        let discord_failing =
                            !matches!(&error, PostError::Http { status, .. } if *status < 500);
                        if discord_failing {
                            self.pacer.block(url.webhook_id(), at);
                        }
                        tracing::warn!(rows = ?rows, %error, retry_at = %at, "notification failed; will retry");
                        at
                    }
                };
                outbox::release(&self.pool, &rows, at, Some(&error.to_string())).await?;
                Ok(Step::Retry { rows, at, error })
            }
        }
    }

    async fn payload(&self, batch: &[Claimed]) -> Result<serde_json::Value, String> {
        let workflows = (self.workflows)();
        let base_url = self.config.public_base_url.as_deref();
        let mut rendered: Vec<Rendered> = Vec::with_capacity(batch.len());
        for row in batch {
            rendered.push(
                render_record(&self.pool, &workflows, base_url, row.record_id)
                    .await
                    .map_err(|err| err.to_string())?,
            );
        }
        Ok(match rendered.as_slice() {
            [single] => record_payload(&single.message),
            many => {
                let messages: Vec<_> = many.iter().map(|r| r.message.clone()).collect();
                digest_payload(many[0].author.as_deref(), &messages)
            }
        })
    }

    /// Exponential backoff with jitter (50–100 % of the step), capped, so
    /// many failed rows do not retry in lockstep.
    fn backoff(&self, batch: &[Claimed]) -> Duration {
        let attempts = batch.iter().map(|row| row.attempts).max().unwrap_or(1);
        let exponent = attempts.saturating_sub(1).clamp(0, 20) as u32;
        let full = self
            .config
            .backoff_base
            .checked_mul(1_i32 << exponent)
            .unwrap_or(self.config.backoff_cap)
            .min(self.config.backoff_cap);
        let millis = full.num_milliseconds().max(1);
        Duration::milliseconds(millis / 2 + fastrand::i64(0..=millis / 2))
    }

    /// Runs until shutdown is requested or it cannot listen for
    /// notifications. Wakes on NOTIFY (a record was queued), when the rate
    /// limit or a retry says, and on the poll timer.
    pub async fn run(mut self, mut shutdown: Shutdown) -> Result<(), DispatchError> {
        let mut listener = PgListener::connect_with(&self.pool).await?;
        listener.listen(outbox::CHANNEL).await?;
        loop {
            if shutdown.is_requested() {
                return Ok(());
            }
            let now = Utc::now();
            let wake_at = match self.step(now).await {
                Ok(Step::Delivered { .. } | Step::Retry { .. } | Step::RenderFailed { .. }) => {
                    continue
                }
                Ok(Step::Paced { until }) => {
                    // Nothing can be posted before then, whatever arrives.
                    sleep_until(until).await;
                    continue;
                }
                // A database hiccup must not stop the dispatcher: the timer
                // retries.
                Ok(Step::Idle) => outbox::next_due(&self.pool).await.unwrap_or_else(|err| {
                    tracing::warn!(error = %err, "could not read when the next notification is due");
                    None
                }),
                Ok(Step::Disabled | Step::NoUrl | Step::Parked) => None,
                Err(err) => {
                    tracing::warn!(error = %err, "notification step failed; retrying after the poll interval");
                    None
                }
            };
            let poll = Utc::now()
                + Duration::from_std(self.config.poll_interval).unwrap_or(Duration::seconds(15));
            let wake_at = wake_at.map_or(poll, |at| at.min(poll));
            tokio::select! {
                notification = listener.recv() => {
                    if let Err(err) = notification {
                        // PgListener reconnects by itself; avoid a hot loop meanwhile.
                        tracing::warn!(error = %err, "LISTEN connection lost; polling");
                        sleep_until(wake_at).await;
                    }
                }
                () = sleep_until(wake_at) => {}
                () = shutdown.requested() => return Ok(()),
            }
        }
    }
}

async fn sleep_until(at: DateTime<Utc>) {
    if let Ok(wait) = (at - Utc::now()).to_std() {
        tokio::time::sleep(wait).await;
    }
}
