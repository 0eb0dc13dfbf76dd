//! The one mechanism background work runs on. A job (the outbox dispatcher,
//! the photo copier, the daily-summary scheduler) is a [`Job`]: one `step`
//! as of a time, which says when it wants the next. [`run`] loops on it,
//! sleeping until then, a NOTIFY on the job's channel, the poll fallback or
//! shutdown, whichever comes first. Leases and attempts live in each job's
//! table (claims commit before any slow work, so no row lock is held across
//! an HTTP call); [`Backoff`] spaces retries the same way for all of them.
//! [`Workers`] is the process's supervised set: the first worker to stop
//! while the process is not shutting down is reported with its name and
//! why, and the process ends (docs/development.md "Development", one rule).

mod backoff;
mod run;
mod workers;

pub use backoff::Backoff;
pub use run::{run, Job, Next, RunConfig};
pub use workers::{Stopped, Workers};
