//! The notification outbox: rows written in the record's transaction, claimed
//! by dispatchers with a lease, and marked delivered (kept as history) or,
//! when they cannot be posted, failed (see `failed` for the admin side).
//!
//! Claims commit at once (no row lock is held across the HTTP call); the
//! lease (`claimed_until`) keeps other dispatchers off the row meanwhile, and
//! its expiry hands the row to another dispatcher when the claimer died.
//!
//! Split by concern: `enqueue` (writing rows), `claim` (choosing due rows
//! under a lease, and when the next one is due), `settle` (what happens to a
//! claimed batch after the attempt), `parking` (the queue parked on a failed
//! webhook URL) and `status` (what `/flipfix status` shows).

mod claim;
mod enqueue;
mod parking;
mod settle;
mod status;

pub use claim::{claim, next_claimable, ClaimRules, Claimed, Coalescing};
pub use enqueue::{enqueue_in, enqueue_summary_in, Enqueued};
pub use parking::{park, parked, unpark, Parked};
pub use settle::{fail, mark_delivered, postpone, release, split};
pub use status::{queue_status, QueueStatus};

/// The channel dispatchers LISTEN on; record creation NOTIFYs it on commit.
pub(crate) const CHANNEL: &str = crate::config::channels::OUTBOX;
