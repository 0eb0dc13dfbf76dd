//! Daily summaries (a workflow with a `schedule:` trigger and a `summary:`
//! body, or 0.x's `summaries:` section): at a set local time, one
//! message through the notification outbox listing the day's records per
//! machine, then each declared listing (records of a kind in some
//! statuses, oldest first). `schedule` turns
//! the local time into instants, `content` reads what to say, `post`
//! claims and queues one day's summary exactly once, `scheduler` runs it.
//! Knows no Discord: the outbox's dispatcher posts the message.

pub mod content;
pub mod post;
pub mod schedule;
pub mod scheduler;

pub use post::{Decision, SummaryError};
pub use schedule::Schedule;
pub use scheduler::{Outcome, Scheduler};
