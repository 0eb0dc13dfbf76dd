//! flipfix-bot: a Discord bot that turns a maintenance team's conversations
//! into records (problem reports, log entries, part requests), and posts new
//! records back to Discord.
//!
//! Data flows one way through the modules: `config` and `workflow` describe
//! what the bot does; `catalog` and `records` hold the data; `discord` and
//! `cli` are thin adapters at the edges.

pub mod analysis;
pub mod app;
pub mod catalog;
pub mod cli;
pub mod clock;
pub mod config;
pub mod db;
pub mod discord;
pub mod doctor;
pub mod lifecycle;
pub mod llm;
pub mod media;
pub mod notify;
pub mod records;
pub mod review;
pub mod serve;
pub mod shutdown;
pub mod summary;
pub mod telemetry;
pub mod template_check;
pub mod templates;
pub mod text;
pub mod tools;
pub mod web;
pub mod workflow;
