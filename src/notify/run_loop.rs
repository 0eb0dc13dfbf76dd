//! `Dispatcher::run`: the loop around `step`. It sleeps until the earliest
//! time a row can be claimed (retry time, lease end, coalescing quiet
//! period), or a NOTIFY (a record was queued, a setting changed, a failed
//! row was re-queued), or shutdown, whichever comes first, so a waiting
//! digest costs a handful of queries, not a busy loop.

use chrono::{DateTime, Duration, Utc};
use sqlx::postgres::PgListener;

use super::dispatcher::{DispatchError, Dispatcher, Step};
use super::outbox;
use crate::clock::Clock;
use crate::shutdown::Shutdown;

/// The shortest sleep when the queue says a row is due but none could be
/// claimed (another dispatcher holds it for a moment, or clocks disagree):
/// without it that would be a hot loop.
const MIN_SLEEP: Duration = Duration::milliseconds(250);

/// After the LISTEN connection fails, wait at least this long before the
/// next step (PgListener reconnects on the next receive).
const RECONNECT_PAUSE: Duration = Duration::seconds(1);

impl Dispatcher {
    /// Runs until shutdown is requested or it cannot listen for
    /// notifications. Once shutdown is requested it claims nothing new; a
    /// POST in flight completes and its outcome is recorded before this
    /// returns.
    pub async fn run(mut self, mut shutdown: Shutdown) -> Result<(), DispatchError> {
        let mut listener = if self.config.listen {
            let mut listener = PgListener::connect_with(&self.pool).await?;
            listener.listen(outbox::CHANNEL).await?;
            Some(listener)
        } else {
            None
        };
        let clock = self.config.clock.clone();
        let clock = clock.as_ref();
        loop {
            if shutdown.is_requested() {
                tracing::info!("notification dispatcher stopped");
                return Ok(());
            }
            let now = self.config.clock.now();
            let step = self.step(now).await;
            self.activity.send_modify(|a| a.steps += 1);
            let wake_at = match step {
                Ok(
                    Step::Delivered { .. }
                    | Step::Retry { .. }
                    | Step::RenderFailed { .. }
                    | Step::Failed { .. }
                    | Step::WaitingForPhotos { .. },
                ) => continue,
                Ok(Step::Paced { until }) => {
                    // Nothing can be posted before then, whatever arrives;
                    // only shutdown cuts the wait short.
                    tokio::select! {
                        () = sleep_until(clock, until) => {}
                        () = shutdown.requested() => {}
                    }
                    continue;
                }
                Ok(Step::Idle) => match outbox::next_claimable(&self.pool, self.coalesce).await {
                    Ok(at) => at.map(|at| at.max(self.config.clock.now() + MIN_SLEEP)),
                    Err(err) => {
                        tracing::warn!(error = %err, "could not read when the next notification is due; retrying after the poll interval");
                        None
                    }
                },
                // Settings changes NOTIFY; the poll backs that up.
                Ok(Step::Disabled | Step::NoUrl | Step::Parked) => None,
                // A database hiccup must not stop the dispatcher.
                Err(err) => {
                    tracing::warn!(error = %err, "notification step failed; retrying after the poll interval");
                    None
                }
            };
            let poll = self.config.clock.now()
                + Duration::from_std(self.config.poll_interval).unwrap_or(Duration::seconds(60));
            let wake_at = wake_at.map_or(poll, |at| at.min(poll));
            if self.activity.borrow().sleeps == 0 {
                // Once per process: what was due at start has been handled
                // (tests of a restart wait for this line).
                tracing::info!(next_wake = %wake_at, "notification dispatcher: first pass done");
            }
            self.activity.send_modify(|a| a.sleeps += 1);
            tokio::select! {
                woken = notified(listener.as_mut()) => {
                    if let Err(err) = woken {
                        tracing::warn!(error = %err, "LISTEN connection lost; reconnecting, polling meanwhile");
                        tokio::select! {
                            () = sleep_until(clock, wake_at.max(clock.now() + RECONNECT_PAUSE)) => {}
                            () = shutdown.requested() => {}
                        }
                    }
                }
                () = sleep_until(clock, wake_at) => {}
                () = shutdown.requested() => {}
            }
        }
    }
}

/// Waits for a NOTIFY, then takes the others already buffered with it: one
/// step serves them all. Never resolves without a listener.
async fn notified(listener: Option<&mut PgListener>) -> Result<(), sqlx::Error> {
    let Some(listener) = listener else {
        return std::future::pending().await;
    };
    listener.recv().await?;
    while listener.next_buffered().is_some() {}
    Ok(())
}

async fn sleep_until(clock: &dyn Clock, at: DateTime<Utc>) {
    if let Ok(wait) = (at - clock.now()).to_std() {
        tokio::time::sleep(wait).await;
    }
}
