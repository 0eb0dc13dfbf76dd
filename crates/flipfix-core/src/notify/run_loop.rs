//! The dispatcher as a [`Job`]: `run` is the shared job loop around `step`.
//! It sleeps until the earliest time a row can be claimed (retry time,
//! lease end, coalescing quiet period), a NOTIFY (a record was queued, a
//! setting changed, a failed row was re-queued), the poll, or shutdown,
//! whichever comes first, so a waiting digest costs a handful of queries,
//! not a busy loop.

use chrono::{DateTime, Duration, Utc};

use super::dispatcher::{DispatchError, Dispatcher, Step};
use crate::jobs::{self, Job, Next};
use crate::outbox;
use crate::shutdown::Shutdown;

/// The shortest sleep when the queue says a row is due but none could be
/// claimed (another dispatcher holds it for a moment, or clocks disagree).
const MIN_SLEEP: Duration = Duration::milliseconds(250);

impl Dispatcher {
    /// Runs until shutdown is requested. Once shutdown is requested it
    /// claims nothing new; a POST in flight completes and its outcome is
    /// recorded before this returns.
    pub async fn run(self, shutdown: Shutdown) -> Result<(), DispatchError> {
        let config = jobs::RunConfig {
            pool: self.pool.clone(),
            clock: self.config.clock.clone(),
            poll_interval: self.config.poll_interval,
            min_sleep: MIN_SLEEP,
            listen: self.config.listen,
        };
        jobs::run(self, config, shutdown).await;
        Ok(())
    }

    async fn next_after(&mut self, now: DateTime<Utc>) -> Next {
        let step = self.step(now).await;
        self.activity.send_modify(|a| a.steps += 1);
        match step {
            Ok(
                Step::Delivered { .. }
                | Step::Retry { .. }
                | Step::RenderFailed { .. }
                | Step::Failed { .. }
                | Step::WaitingForPhotos { .. },
            ) => Next::Now,
            // Nothing can be posted before then, whatever arrives.
            Ok(Step::Paced { until }) => Next::NotBefore(until),
            Ok(Step::Idle) => match outbox::next_claimable(&self.pool, self.coalesce).await {
                Ok(Some(at)) => Next::At(at),
                Ok(None) => Next::Idle,
                Err(err) => {
                    tracing::warn!(error = %err, "could not read when the next notification is due; retrying after the poll interval");
                    Next::Idle
                }
            },
            // Settings changes NOTIFY; the poll backs that up.
            Ok(Step::Disabled | Step::NoUrl | Step::Parked) => Next::Idle,
            // A database hiccup must not stop the dispatcher.
            Err(err) => {
                tracing::warn!(error = %err, "notification step failed; retrying after the poll interval");
                Next::Idle
            }
        }
    }
}

impl Job for Dispatcher {
    fn name(&self) -> &'static str {
        "the notification dispatcher"
    }

    fn channel(&self) -> Option<&'static str> {
        Some(outbox::CHANNEL)
    }

    fn step(&mut self, now: DateTime<Utc>) -> impl std::future::Future<Output = Next> + Send {
        self.next_after(now)
    }

    fn sleeping(&mut self) {
        if self.activity.borrow().sleeps == 0 {
            // Once per process: what was due at start has been handled
            // (tests of a restart wait for this line).
            tracing::info!("notification dispatcher: first pass done");
        }
        self.activity.send_modify(|a| a.sleeps += 1);
    }
}
