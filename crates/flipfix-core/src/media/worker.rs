//! The copy worker: every process runs one. It claims a pending attachment
//! with a lease (`FOR UPDATE SKIP LOCKED`, like the notification outbox),
//! downloads it from Discord's CDN, checks the bytes and stores them.
//! A failed download is retried with backoff a bounded number of times,
//! then set `failed` with its reason; a refusal that retrying cannot change
//! (too large, not on the CDN, not a photo or video) fails at once.

use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};
use sqlx::PgPool;

use super::blobs::{BlobError, BlobStore};
use super::cdn::{self, CdnError};
use super::sniff;
use crate::config::settings::SettingsError;
use crate::config::{SettingKey, Settings};
use crate::jobs::{Job, Next};
use crate::shutdown::Shutdown;

/// The channel the `record_media` insert trigger NOTIFYs.
pub(crate) const CHANNEL: &str = crate::config::channels::MEDIA;

#[derive(Debug, Clone)]
pub struct WorkerConfig {
    /// Longer than a download may take (the CDN client times out at 15 s).
    pub lease: Duration,
    pub backoff_base: Duration,
    pub backoff_cap: Duration,
    /// Attempts before a download that keeps failing is given up.
    pub max_attempts: i32,
    /// Backs up LISTEN/NOTIFY.
    pub poll_interval: StdDuration,
    /// Tests serve the fake CDN on 127.0.0.1.
    pub allow_loopback: bool,
    /// Where copies go.
    pub blobs: BlobStore,
    /// The one clock (see `clock`): due times, leases and backoff.
    pub clock: std::sync::Arc<dyn crate::clock::Clock>,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        Self {
            lease: Duration::minutes(2),
            backoff_base: Duration::seconds(30),
            backoff_cap: Duration::minutes(30),
            max_attempts: 6,
            poll_interval: StdDuration::from_secs(60),
            allow_loopback: false,
            blobs: BlobStore::default(),
            clock: crate::clock::system(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    #[error("database error in the media worker")]
    Database(#[from] sqlx::Error),
    #[error(transparent)]
    Settings(#[from] SettingsError),
}

/// What one step did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CopyStep {
    Idle,
    Stored {
        id: i64,
        content_type: String,
    },
    Retry {
        id: i64,
        at: DateTime<Utc>,
        error: String,
    },
    Failed {
        id: i64,
        error: String,
    },
}

pub struct MediaWorker {
    pool: PgPool,
    settings: Settings,
    config: WorkerConfig,
}

type Claimed = (i64, String, Option<i64>, i32);

/// A copy that failed but may work later.
enum CopyFailure {
    Download(CdnError),
    Keep(String),
}

impl MediaWorker {
    pub fn new(pool: PgPool, settings: Settings, config: WorkerConfig) -> Self {
        Self {
            pool,
            settings,
            config,
        }
    }

    /// Copies at most one attachment, as of `now`.
    pub async fn step(&self, now: DateTime<Utc>) -> Result<CopyStep, MediaError> {
        let max_mb = self
            .settings
            .get_count(SettingKey::MediaMaxMb)
            .await?
            .unwrap_or(25) as usize;
        let claimed: Option<Claimed> = sqlx::query_as(
            "UPDATE record_media
             SET copy_claimed_until = $2, copy_attempts = copy_attempts + 1
             WHERE id = (
                 SELECT id FROM record_media
                 WHERE copy_state = 'pending' AND copy_due_at <= $1
                   AND (copy_claimed_until IS NULL OR copy_claimed_until <= $1)
                 ORDER BY copy_due_at, id
                 LIMIT 1
                 FOR UPDATE SKIP LOCKED)
             RETURNING id, url, size_bytes, copy_attempts",
        )
        .bind(now)
        .bind(now + self.config.lease)
        .fetch_optional(&self.pool)
        .await?;
        let Some((id, url, declared, attempts)) = claimed else {
            return Ok(CopyStep::Idle);
        };
        let declared = declared.and_then(|size| u64::try_from(size).ok());
        let downloaded = cdn::download(
            &url,
            declared,
            max_mb * 1024 * 1024,
            self.config.allow_loopback,
        )
        .await;
        let error = match downloaded {
            Ok(bytes) => match sniff::sniff(&bytes) {
                Some(content_type) => {
                    match self.config.blobs.put(&self.pool, id, content_type, &bytes).await {
                        Ok(stored) => {
                            if stored {
                                tracing::info!(media = id, content_type, bytes = bytes.len(), storage = self.config.blobs.kind(), "photo copied");
                            }
                            return Ok(CopyStep::Stored {
                                id,
                                content_type: content_type.to_string(),
                            });
                        }
                        Err(BlobError::Database(err)) => return Err(err.into()),
                        // The bucket may be back later: retried like a
                        // failed download.
                        Err(err) => CopyFailure::Keep(err.to_string()),
                    }
                }
                None => {
                    return self
                        .fail(id, &url, "the file is not a photo or video we can show (jpeg, png, gif, webp, heic, mp4, mov, webm)")
                        .await
                }
            },
            Err(error) => {
                let lasting = matches!(
                    error,
                    CdnError::TooLarge { .. } | CdnError::NotCdn | CdnError::BadUrl
                );
                if lasting {
                    return self.fail(id, &url, &error.to_string()).await;
                }
                CopyFailure::Download(error)
            }
        };
        let error = match error {
            CopyFailure::Download(error) => error.to_string(),
            CopyFailure::Keep(error) => error,
        };
        if attempts >= self.config.max_attempts {
            return self
                .fail(
                    id,
                    &url,
                    &format!("gave up after {attempts} attempts: {error}"),
                )
                .await;
        }
        let at = now + self.backoff(attempts);
        sqlx::query(
            "UPDATE record_media SET copy_due_at = $2, copy_claimed_until = NULL, copy_error = $3
             WHERE id = $1 AND copy_state = 'pending'",
        )
        .bind(id)
        .bind(at)
        .bind(&error)
        .execute(&self.pool)
        .await?;
        let attachment = cdn::AttachmentRef::of(&url);
        tracing::warn!(media = id, %attachment, attempts, %error, retry_at = %at, "photo copy failed; will retry");
        Ok(CopyStep::Retry { id, at, error })
    }

    /// `url` is named by attachment id and host only (see `cdn`).
    async fn fail(&self, id: i64, url: &str, reason: &str) -> Result<CopyStep, MediaError> {
        sqlx::query(
            "UPDATE record_media SET copy_state = 'failed', copy_error = $2, copy_claimed_until = NULL
             WHERE id = $1 AND copy_state = 'pending'",
        )
        .bind(id)
        .bind(reason)
        .execute(&self.pool)
        .await?;
        let attachment = cdn::AttachmentRef::of(url);
        tracing::warn!(media = id, %attachment, reason, "photo not copied");
        Ok(CopyStep::Failed {
            id,
            error: reason.to_string(),
        })
    }

    /// Doubles per attempt from the base, capped, with jitter (50–100 %).
    fn backoff(&self, attempts: i32) -> Duration {
        crate::jobs::Backoff {
            base: self.config.backoff_base,
            cap: self.config.backoff_cap,
        }
        .after(attempts)
    }

    /// When the next pending attachment can be claimed.
    async fn next_due(&self) -> Result<Option<DateTime<Utc>>, sqlx::Error> {
        sqlx::query_scalar(
            "SELECT min(GREATEST(copy_due_at, COALESCE(copy_claimed_until, copy_due_at)))
             FROM record_media WHERE copy_state = 'pending'",
        )
        .fetch_one(&self.pool)
        .await
    }

    /// Copies until shutdown: steps while there is work, then sleeps until
    /// the next attachment is due, a NOTIFY, or the poll interval.
    pub async fn run(self, shutdown: Shutdown) -> Result<(), MediaError> {
        let config = crate::jobs::RunConfig {
            pool: self.pool.clone(),
            clock: self.config.clock.clone(),
            poll_interval: self.config.poll_interval,
            min_sleep: Duration::milliseconds(250),
            listen: true,
        };
        crate::jobs::run(self, config, shutdown).await;
        Ok(())
    }

    async fn next_after(&mut self, now: DateTime<Utc>) -> Next {
        match MediaWorker::step(self, now).await {
            Ok(CopyStep::Idle) => {}
            Ok(_) => return Next::Now,
            Err(err) => {
                tracing::warn!(error = %err, "media step failed; retrying after the poll interval")
            }
        }
        match self.next_due().await {
            Ok(Some(at)) => Next::At(at),
            Ok(None) | Err(_) => Next::Idle,
        }
    }
}

impl Job for MediaWorker {
    fn name(&self) -> &'static str {
        "the media worker"
    }

    fn channel(&self) -> Option<&'static str> {
        Some(CHANNEL)
    }

    fn step(&mut self, now: DateTime<Utc>) -> impl std::future::Future<Output = Next> + Send {
        self.next_after(now)
    }
}
