//! The summary scheduler: every process runs one. `step` decides, as of an
//! explicit "now", each summary (each `schedule:` workflow's, and 0.x's
//! `summaries:` entries) whose time has come, reading the workflows in
//! force at that step, so a reload changes the schedule without a restart.
//! `run` loops on it, sleeping until the next due time (or a retry after a
//! failure), and stops when shutdown is requested. Replicas are harmless: the claim in
//! `post::decide` lets one of them post.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use sqlx::PgPool;

use super::post::{decide, window_for, Decision, SummaryError};
use super::Schedule;
use crate::clock::Clock;
use crate::notify::WorkflowSource;
use crate::runs;
use crate::shutdown::Shutdown;
use crate::workflow::Summary;

/// How late a summary may still go out: a process that starts (or gets
/// the database back) within this long after the due time posts that day's
/// summary; after it, the day is skipped as stale, so a bot that was down
/// overnight does not post yesterday's news in the morning.
pub(crate) const CATCH_UP: Duration = Duration::hours(6);

/// After a failure (database, template), the summary is tried again this
/// much later, until `CATCH_UP` runs out.
pub const RETRY_AFTER: Duration = Duration::minutes(5);

/// The longest sleep: workflows may be reloaded with new summaries, and a
/// suspended machine's timers may drift; the schedule is looked at again
/// at least this often.
pub const MAX_SLEEP: Duration = Duration::minutes(15);

/// What one step did for one summary.
#[derive(Debug)]
pub enum Outcome {
    /// Its latest due time is older than `CATCH_UP`.
    Stale,
    Decided(Decision),
    Failed(SummaryError),
}

pub struct Scheduler {
    pool: PgPool,
    workflows: WorkflowSource,
    clock: Arc<dyn Clock>,
    /// `PUBLIC_BASE_URL`, for links to records.
    base_url: Option<crate::config::PublicBaseUrl>,
}

impl Scheduler {
    pub fn new(
        pool: PgPool,
        workflows: WorkflowSource,
        clock: Arc<dyn Clock>,
        base_url: Option<crate::config::PublicBaseUrl>,
    ) -> Self {
        Self {
            pool,
            workflows,
            clock,
            base_url,
        }
    }

    /// Decides every summary whose latest due time is at or before `now`
    /// and not older than `CATCH_UP`.
    pub async fn step(&self, now: DateTime<Utc>) -> Vec<(String, Outcome)> {
        let workflows = (self.workflows)();
        let mut outcomes = Vec::with_capacity(workflows.summaries.len());
        for summary in &workflows.summaries {
            let schedule = schedule_of(summary);
            let (date, due) = schedule.latest_due(now);
            let outcome = if now - due > CATCH_UP {
                Outcome::Stale
            } else {
                let window = window_for(&schedule, date);
                match decide(
                    &self.pool,
                    &workflows,
                    summary,
                    window,
                    self.base_url.as_ref(),
                    now,
                )
                .await
                {
                    Ok(decision) => {
                        log_decision(summary, date, &decision);
                        Outcome::Decided(decision)
                    }
                    Err(error) => {
                        tracing::error!(
                            summary = %summary.name,
                            %date,
                            error = %error,
                            retry_in_minutes = RETRY_AFTER.num_minutes(),
                            "the daily summary could not be prepared; it is tried again until {} h after its time",
                            CATCH_UP.num_hours()
                        );
                        Outcome::Failed(error)
                    }
                }
            };
            // A schedule workflow's own version; 0.x's `summaries:` entries
            // have only the bundle's.
            let version = workflows
                .get(&summary.name)
                .map_or(&workflows.version, |w| &w.version);
            self.record_run(version, summary, &outcome, now).await;
            outcomes.push((summary.name.clone(), outcome));
        }
        outcomes
    }

    /// Records the run of a schedule workflow: posted, skipped or failed. A
    /// day another process decided, or a stale one, is no run of this one.
    async fn record_run(
        &self,
        version: &str,
        summary: &Summary,
        outcome: &Outcome,
        now: DateTime<Utc>,
    ) {
        let (ended, reason) = match outcome {
            Outcome::Decided(Decision::Queued { records, .. }) => (
                runs::Outcome::Posted,
                format!("a summary of {records} record(s) was queued for the webhook"),
            ),
            Outcome::Decided(Decision::NothingToSay) => (
                runs::Outcome::Skipped,
                "no records since the last summary".to_string(),
            ),
            Outcome::Decided(Decision::WebhooksOff) => (
                runs::Outcome::Skipped,
                "webhook posting is off (DISCORD_WEBHOOKS_ENABLED)".to_string(),
            ),
            Outcome::Failed(error) => (runs::Outcome::Failed, error.to_string()),
            Outcome::Decided(Decision::AlreadyDecided) | Outcome::Stale => return,
        };
        let run = runs::NewRun {
            workflow: &summary.name,
            version,
            trigger: runs::Trigger::Schedule,
            user: None,
            guild_id: None,
            channel_id: None,
            target_message_id: None,
            instance: None,
        };
        if let Err(err) = runs::record_finished(&self.pool, &run, ended, &reason, now).await {
            tracing::warn!(summary = %summary.name, error = %err, "could not record the summary's run");
        }
    }

    /// When to look again after a step at `now`: the next due time of any
    /// summary, sooner after a failure, and never later than `MAX_SLEEP`.
    pub fn next_wake(&self, now: DateTime<Utc>, outcomes: &[(String, Outcome)]) -> DateTime<Utc> {
        let workflows = (self.workflows)();
        let mut wake = now + MAX_SLEEP;
        for summary in &workflows.summaries {
            wake = wake.min(schedule_of(summary).next_due(now));
        }
        if outcomes
            .iter()
            .any(|(_, outcome)| matches!(outcome, Outcome::Failed(_)))
        {
            wake = wake.min(now + RETRY_AFTER);
        }
        wake
    }

    /// Runs until shutdown is requested. A step in progress finishes (it is
    /// one short transaction per summary).
    pub async fn run(self, shutdown: Shutdown) {
        let config = crate::jobs::RunConfig {
            pool: self.pool.clone(),
            clock: self.clock.clone(),
            poll_interval: MAX_SLEEP.to_std().unwrap_or_default(),
            min_sleep: Duration::seconds(1),
            listen: false,
        };
        crate::jobs::run(self, config, shutdown).await;
    }
}

impl crate::jobs::Job for Scheduler {
    fn name(&self) -> &'static str {
        "the daily-summary scheduler"
    }

    /// Time alone makes a summary due: nothing to listen for.
    fn channel(&self) -> Option<&'static str> {
        None
    }

    async fn step(&mut self, now: DateTime<Utc>) -> crate::jobs::Next {
        let outcomes = Scheduler::step(self, now).await;
        crate::jobs::Next::At(self.next_wake(now, &outcomes))
    }
}

fn schedule_of(summary: &Summary) -> Schedule {
    Schedule::new(summary.at, summary.timezone)
}

fn log_decision(summary: &Summary, date: chrono::NaiveDate, decision: &Decision) {
    match decision {
        Decision::Queued { post, records, .. } => tracing::info!(
            summary = %summary.name, %date, post, records,
            "daily summary queued for the webhook"
        ),
        Decision::NothingToSay => tracing::info!(
            summary = %summary.name, %date,
            "no records since the last summary; nothing posted today"
        ),
        Decision::WebhooksOff => tracing::info!(
            summary = %summary.name, %date,
            "webhook posting is off (DISCORD_WEBHOOKS_ENABLED); today's summary was not posted"
        ),
        Decision::AlreadyDecided => tracing::debug!(
            summary = %summary.name, %date,
            "daily summary already decided by this or another process"
        ),
    }
}
