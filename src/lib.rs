//! flipfix-bot: a Discord bot that turns a maintenance team's conversations
//! into records (problem reports, log entries, part requests), and posts new
//! records back to Discord.
//!
//! This crate holds the adapters: `discord` (poise commands, components),
//! `web` (axum: record pages, sign-in, health, metrics), `cli` and `doctor`,
//! and the process (`app`, `serve`). The domain and storage live in
//! `flipfix-core`, re-exported here under their own names so a path reads
//! the same from either side.

pub use flipfix_core::{
    analysis, catalog, clock, config, db, diagnostics, domain, jobs, lifecycle, llm, media, notify,
    outbox, records, review, runs, shutdown, summary, template_check, templates, text, workflow,
};

pub mod app;
pub mod cli;
pub mod discord;
pub mod doctor;
pub mod serve;
pub mod startup_memory;
pub mod telemetry;
pub mod tools;
pub mod web;
