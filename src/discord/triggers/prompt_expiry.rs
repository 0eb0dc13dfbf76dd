//! The expiry of review prompts: a prompt whose review expired without a
//! click (or ended some other way, e.g. an admin's cancel) is edited to say
//! so, and its button removed. A [`Job`] on the one background mechanism
//! (`jobs`): each step edits the prompts that are due and sleeps until the
//! next review's expiry. Every process runs it; the claim in
//! `review::prompts::close` lets exactly one edit each prompt.

use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};
use poise::serenity_prelude as serenity;

use super::review_prompt;
use crate::app::App;
use crate::jobs::{self, Job, Next};
use crate::review::{prompts, ReviewStore};
use crate::shutdown::Shutdown;

/// The fallback wake-up: a review expiry setting lowered meanwhile, or a
/// prompt posted by another process, is seen within this.
const POLL: StdDuration = StdDuration::from_secs(60);

/// The sweep that edits expired review prompts.
pub struct PromptExpiry {
    app: Arc<App>,
    http: serenity::Http,
}

impl PromptExpiry {
    pub fn new(app: Arc<App>) -> Self {
        let http = crate::discord::rest_client(&app);
        Self { app, http }
    }

    /// Runs until shutdown on the app's clock.
    pub async fn run(self, shutdown: Shutdown) {
        let config = jobs::RunConfig {
            pool: self.app.pool.clone(),
            clock: self.app.clock.clone(),
            poll_interval: POLL,
            min_sleep: Duration::seconds(1),
            listen: false,
        };
        jobs::run(self, config, shutdown).await;
    }

    /// Edits every prompt due at `now`; says when the next one is due.
    /// A prompt whose edit fails is logged and not retried (its review is
    /// over either way; the button then answers that it is over).
    pub async fn sweep(&self, now: DateTime<Utc>) -> Result<Next, sqlx::Error> {
        let store = ReviewStore::new(self.app.pool.clone());
        for prompt in prompts::due(&self.app.pool, now).await? {
            let session = async {
                store.expire_if_due(prompt.session_id, now).await?;
                store.load(prompt.session_id).await
            }
            .await;
            match session {
                Ok(session) => review_prompt::close(&self.http, &self.app, &session).await,
                Err(err) => {
                    tracing::warn!(session = prompt.session_id, error = %err, "could not expire a review for its prompt");
                }
            }
        }
        Ok(match prompts::next_expiry(&self.app.pool).await? {
            Some(at) => Next::At(at),
            None => Next::Idle,
        })
    }
}

impl Job for PromptExpiry {
    fn name(&self) -> &'static str {
        "the review-prompt expiry"
    }

    fn channel(&self) -> Option<&'static str> {
        None
    }

    async fn step(&mut self, now: DateTime<Utc>) -> Next {
        match self.sweep(now).await {
            Ok(next) => next,
            Err(err) => {
                tracing::warn!(error = %err, "the review-prompt expiry could not read the prompts; trying again at the next poll");
                Next::Idle
            }
        }
    }
}
