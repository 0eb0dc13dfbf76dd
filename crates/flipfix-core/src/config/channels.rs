//! The Postgres LISTEN/NOTIFY channels that wake background work: writers
//! NOTIFY them on commit (a record queued, a setting changed, a photo to
//! copy), the workers LISTEN. Named here, below both sides.

/// Outbox dispatchers: a notification was queued or re-queued, or a
/// setting that decides posting changed.
pub(crate) const OUTBOX: &str = "notification_outbox";

/// Media workers: a photo is waiting to be copied (the `record_media`
/// insert trigger NOTIFYs it; see the durable-media migration).
pub(crate) const MEDIA: &str = "record_media";
