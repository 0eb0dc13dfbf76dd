//! What the running process knows about itself, shared with the work it
//! does: its instance key (whose liveness Postgres knows, see
//! `db::locks`), the shutdown signal, the work in flight that shutdown
//! waits for, and whether start-up (gateway READY, commands registered)
//! succeeded — so a failure there ends the process instead of leaving a bot
//! that is online but silently ignores everything.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{watch, Notify};

use crate::shutdown::Shutdown;

/// The process's side of its shared state.
#[derive(Debug, Clone)]
pub struct Lifecycle {
    /// The liveness-lock key of this process; `None` outside `run`.
    pub instance: Option<i32>,
    pub shutdown: Shutdown,
    pub in_flight: Arc<InFlight>,
    pub startup: StartupReport,
}

impl Default for Lifecycle {
    fn default() -> Self {
        Self {
            instance: None,
            shutdown: Shutdown::never(),
            in_flight: Arc::default(),
            startup: StartupReport::new().0,
        }
    }
}

/// Counts work that shutdown waits for (reviews being prepared).
#[derive(Debug, Default)]
pub struct InFlight {
    count: AtomicUsize,
    idle: Notify,
}

/// One piece of work in flight; dropping it ends it.
#[derive(Debug)]
pub struct InFlightGuard(Arc<InFlight>);

impl InFlight {
    pub fn enter(self: &Arc<Self>) -> InFlightGuard {
        self.count.fetch_add(1, Ordering::SeqCst);
        InFlightGuard(self.clone())
    }

    pub fn count(&self) -> usize {
        self.count.load(Ordering::SeqCst)
    }

    /// Waits until nothing is in flight, at most `bound`. True when idle.
    pub async fn wait_idle(&self, bound: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + bound;
        loop {
            let notified = self.idle.notified();
            if self.count() == 0 {
                return true;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return self.count() == 0;
            }
        }
    }
}

impl Drop for InFlightGuard {
    fn drop(&mut self) {
        if self.0.count.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.0.idle.notify_waiters();
        }
    }
}

/// How start-up ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartupState {
    Pending,
    Ready,
    Failed(String),
}

/// Default bound on start-up: gateway READY and commands registered.
pub const DEFAULT_STARTUP_BOUND: Duration = Duration::from_secs(60);

/// The reporting side of start-up (the Discord setup holds it), with the
/// deadline its retries must respect.
#[derive(Debug, Clone)]
pub struct StartupReport {
    state: Arc<watch::Sender<StartupState>>,
    /// Set once this process takes the gateway (`/readyz` then waits for READY).
    leading: Arc<std::sync::atomic::AtomicBool>,
    deadline: Arc<std::sync::Mutex<tokio::time::Instant>>,
}

/// The waiting side (`run` holds it).
#[derive(Debug, Clone)]
pub struct StartupWatch(watch::Receiver<StartupState>);

impl StartupReport {
    pub fn new() -> (Self, StartupWatch) {
        let (sender, receiver) = watch::channel(StartupState::Pending);
        let deadline = tokio::time::Instant::now() + DEFAULT_STARTUP_BOUND;
        let report = Self {
            state: Arc::new(sender),
            leading: Arc::default(),
            deadline: Arc::new(std::sync::Mutex::new(deadline)),
        };
        (report, StartupWatch(receiver))
    }

    /// Start-up begins now (the gateway is being connected) and must end
    /// within `bound`.
    pub fn begin(&self, bound: Duration) {
        self.leading
            .store(true, std::sync::atomic::Ordering::SeqCst);
        let deadline = tokio::time::Instant::now() + bound;
        match self.deadline.lock() {
            Ok(mut guard) => *guard = deadline,
            Err(poisoned) => *poisoned.into_inner() = deadline,
        }
    }

    pub fn deadline(&self) -> tokio::time::Instant {
        match self.deadline.lock() {
            Ok(guard) => *guard,
            Err(poisoned) => *poisoned.into_inner(),
        }
    }

    /// The gateway's start-up state, or `None` on a process that does not
    /// hold the gateway (a standby, a tool).
    pub fn gateway(&self) -> Option<StartupState> {
        self.leading
            .load(std::sync::atomic::Ordering::SeqCst)
            .then(|| self.state.borrow().clone())
    }

    pub fn ready(&self) {
        self.state.send_replace(StartupState::Ready);
    }

    pub fn failed(&self, reason: impl Into<String>) {
        self.state.send_replace(StartupState::Failed(reason.into()));
    }
}

impl StartupWatch {
    /// Waits until start-up ends, at most until `deadline`; `Pending` when
    /// it did not end in time.
    pub async fn outcome(&mut self, deadline: tokio::time::Instant) -> StartupState {
        let waited = tokio::time::timeout_at(
            deadline,
            self.0.wait_for(|state| *state != StartupState::Pending),
        )
        .await;
        match waited {
            Ok(Ok(state)) => state.clone(),
            // The reporter is gone without a word: treat as not ready.
            Ok(Err(_)) | Err(_) => StartupState::Pending,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn shutdown_waits_for_every_guard() {
        let in_flight = Arc::new(InFlight::default());
        let first = in_flight.enter();
        let second = in_flight.enter();
        assert!(!in_flight.wait_idle(Duration::from_millis(10)).await);
        drop(first);
        assert_eq!(in_flight.count(), 1);
        let waiter = {
            let in_flight = in_flight.clone();
            tokio::spawn(async move { in_flight.wait_idle(Duration::from_secs(30)).await })
        };
        drop(second);
        assert!(
            waiter.await.expect("waiter"),
            "idle once the last guard drops"
        );
    }

    #[tokio::test]
    async fn startup_reports_a_failure_with_its_reason() {
        let (report, mut watch) = StartupReport::new();
        report.failed("command registration failed");
        assert_eq!(
            watch
                .outcome(tokio::time::Instant::now() + Duration::from_secs(30))
                .await,
            StartupState::Failed("command registration failed".into())
        );
        let (_report, mut pending) = StartupReport::new();
        assert_eq!(
            pending
                .outcome(tokio::time::Instant::now() + Duration::from_millis(10))
                .await,
            StartupState::Pending
        );
    }
}
