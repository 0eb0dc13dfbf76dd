//! flipfix-bot's core: what the bot knows and keeps, with no Discord and no
//! HTTP server in its dependencies (the compiler keeps it so).
//!
//! Data flows one way: `config` and `workflow` describe what the bot does;
//! `catalog` and `records` hold the data; `analysis`, `review`, `notify`,
//! `media` and `summary` act on it. The adapters (`discord`, `web`, `cli` in
//! the `flipfix-bot` crate) sit on top.

pub mod analysis;
pub mod catalog;
pub mod clock;
pub mod config;
pub mod db;
pub mod diagnostics;
pub mod domain;
pub mod jobs;
pub mod lifecycle;
pub mod llm;
pub mod media;
pub mod notify;
pub mod outbox;
pub mod records;
pub mod review;
pub mod runs;
pub mod shutdown;
pub mod summary;
pub mod template_check;
pub mod templates;
pub mod text;
pub mod workflow;
