//! The one clock. Every "now" the bot writes or compares (record and outbox
//! times, leases, backoff, review expiry, budgets, summaries, sessions) is a
//! reading of the process's [`Clock`], bound into SQL as a parameter; no
//! query reads the database's `now()` for a time that is compared later
//! (`tests/it/one_clock.rs` checks the source). Tests pin the clock and every
//! comparison moves with it, whatever the calendar says.

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, Utc};

/// Where "now" comes from.
pub trait Clock: Send + Sync + std::fmt::Debug {
    fn now(&self) -> DateTime<Utc>;
}

/// The system's time.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    // The one place the system's time is read (clippy.toml forbids it elsewhere).
    #[allow(clippy::disallowed_methods)]
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that stands still until it is set or advanced (tests, replays).
/// Clones share the same time.
#[derive(Debug, Clone)]
pub struct ManualClock(Arc<Mutex<DateTime<Utc>>>);

impl ManualClock {
    pub fn at(now: DateTime<Utc>) -> Self {
        Self(Arc::new(Mutex::new(now)))
    }

    pub fn set(&self, now: DateTime<Utc>) {
        *self.lock() = now;
    }

    pub fn advance(&self, by: Duration) {
        let mut now = self.lock();
        *now += by;
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, DateTime<Utc>> {
        // A panic elsewhere cannot leave a half-written time behind.
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.lock()
    }
}

/// The clock of a running process: the system's.
pub fn system() -> std::sync::Arc<dyn Clock> {
    std::sync::Arc::new(SystemClock)
}

/// The system clock's reading, for edges that run without an `App` (the
/// CLI's offline tools, workflow load times).
pub fn system_now() -> DateTime<Utc> {
    SystemClock.now()
}
