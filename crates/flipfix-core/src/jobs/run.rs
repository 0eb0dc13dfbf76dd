//! The loop around a job's step: sleep until the job's next time, a NOTIFY
//! on its channel, the poll fallback or shutdown.
//!
//! One policy when LISTEN fails (at start or later): the job keeps running
//! on the poll interval, the failure is logged once, and LISTEN is tried
//! again at each wake until it works (logged when it does).

use std::future::Future;
use std::sync::Arc;
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};
use sqlx::postgres::PgListener;
use sqlx::PgPool;

use crate::clock::Clock;
use crate::shutdown::Shutdown;

/// When a job wants its next step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Next {
    /// There is more to do: step again at once.
    Now,
    /// Something is due then; a NOTIFY or the poll may come first.
    At(DateTime<Utc>),
    /// Nothing is known to be due: wait for a NOTIFY or the poll.
    Idle,
    /// Nothing can be done before then, whatever arrives (a rate limit);
    /// only shutdown cuts the wait short.
    NotBefore(DateTime<Utc>),
}

/// A unit of background work.
pub trait Job: Send {
    /// For logs: "the notification dispatcher".
    fn name(&self) -> &'static str;
    /// The LISTEN channel that wakes it (`config::channels`), if any.
    fn channel(&self) -> Option<&'static str>;
    /// Does one step as of `now`.
    fn step(&mut self, now: DateTime<Utc>) -> impl Future<Output = Next> + Send;
    /// Called before each sleep (the dispatcher counts them for tests).
    fn sleeping(&mut self) {}
}

/// How [`run`] waits.
#[derive(Debug, Clone)]
pub struct RunConfig {
    pub pool: PgPool,
    pub clock: Arc<dyn Clock>,
    /// The fallback for a NOTIFY lost while LISTEN reconnected.
    pub poll_interval: StdDuration,
    /// The shortest sleep when a job says something is due but it could not
    /// take it (another process holds it for a moment, or clocks disagree):
    /// without it that would be a hot loop.
    pub min_sleep: Duration,
    /// LISTEN on the job's channel. Off only in tests that show what a job
    /// does without NOTIFY.
    pub listen: bool,
}

/// Runs `job` until shutdown is requested. A step in progress completes.
pub async fn run<J: Job>(mut job: J, config: RunConfig, mut shutdown: Shutdown) {
    let mut listener = Listener::new(&config, job.channel(), job.name());
    loop {
        if shutdown.is_requested() {
            break;
        }
        listener.connect().await;
        let now = config.clock.now();
        let next = job.step(now).await;
        let poll = config.clock.now()
            + Duration::from_std(config.poll_interval).unwrap_or(Duration::seconds(60));
        let wake_at = match next {
            Next::Now => continue,
            Next::NotBefore(until) => {
                tokio::select! {
                    () = sleep_until(config.clock.as_ref(), until) => {}
                    () = shutdown.requested() => {}
                }
                continue;
            }
            Next::At(at) => at.max(config.clock.now() + config.min_sleep).min(poll),
            Next::Idle => poll,
        };
        job.sleeping();
        tokio::select! {
            () = listener.notified() => {}
            () = sleep_until(config.clock.as_ref(), wake_at) => {}
            () = shutdown.requested() => {}
        }
    }
    tracing::info!(job = job.name(), "stopped");
}

async fn sleep_until(clock: &dyn Clock, at: DateTime<Utc>) {
    if let Ok(wait) = (at - clock.now()).to_std() {
        tokio::time::sleep(wait).await;
    }
}

/// LISTEN on a job's channel, falling back to polling while it fails.
struct Listener {
    pool: PgPool,
    channel: Option<&'static str>,
    job: &'static str,
    listener: Option<PgListener>,
    failing: bool,
}

impl Listener {
    fn new(config: &RunConfig, channel: Option<&'static str>, job: &'static str) -> Self {
        Self {
            pool: config.pool.clone(),
            channel: channel.filter(|_| config.listen),
            job,
            listener: None,
            failing: false,
        }
    }

    /// (Re)connects when there is a channel and no listener.
    async fn connect(&mut self) {
        let Some(channel) = self.channel else { return };
        if self.listener.is_some() {
            return;
        }
        let connected = async {
            let mut listener = PgListener::connect_with(&self.pool).await?;
            listener.listen(channel).await?;
            Ok::<_, sqlx::Error>(listener)
        }
        .await;
        match connected {
            Ok(listener) => {
                if self.failing {
                    tracing::info!(job = self.job, channel, "listening for wake-ups again");
                }
                self.failing = false;
                self.listener = Some(listener);
            }
            Err(error) => self.failed(&error),
        }
    }

    fn failed(&mut self, error: &sqlx::Error) {
        self.listener = None;
        if !self.failing {
            tracing::warn!(job = self.job, %error, "cannot LISTEN for wake-ups; polling until it works again");
        }
        self.failing = true;
    }

    /// Waits for a NOTIFY, then takes the others already buffered with it
    /// (one step serves them all). Never resolves without a listener; a
    /// lost connection resolves at once, so the loop reconnects.
    async fn notified(&mut self) {
        let Some(listener) = self.listener.as_mut() else {
            return std::future::pending().await;
        };
        match listener.recv().await {
            Ok(_) => while listener.next_buffered().is_some() {},
            Err(error) => {
                self.failed(&error);
                // The pause the poll would give, not a hot reconnect loop.
                tokio::time::sleep(StdDuration::from_secs(1)).await;
            }
        }
    }
}
