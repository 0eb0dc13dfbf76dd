//! Durable media: the photos and videos of records, copied out of Discord's
//! expiring CDN URLs by a background worker (`worker`) into Postgres
//! (`store`), after checking the bytes (`sniff`). Knows neither Discord's
//! API nor the HTTP server: `cdn` is a plain HTTPS download restricted to
//! Discord's CDN hosts; `web::media` serves the copies.

pub mod blobs;
pub mod cdn;
pub mod sniff;
pub mod store;
pub mod worker;

pub use blobs::{BlobError, BlobStore};
pub use store::{CopyState, MediaItem};
pub use worker::{CopyStep, MediaError, MediaWorker, WorkerConfig};
