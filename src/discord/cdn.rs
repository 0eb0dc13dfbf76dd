//! Attachment downloads from Discord's CDN live in the core
//! (`media::cdn`); the adapter re-exports them for its commands.

pub use crate::media::cdn::*;
