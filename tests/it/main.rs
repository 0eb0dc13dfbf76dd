//! Integration tests against real Postgres (`#[sqlx::test]`: a fresh
//! database per test, dropped afterwards) and the real binary. One test
//! binary keeps link time down.

#[path = "../support/mod.rs"]
mod support;

mod add_to_flipfix;
mod admin_commands;
mod analysis_gather;
mod analysis_llm;
mod analysis_prompt;
mod catalog_import;
mod check_command;
mod embedded_run;
mod notify;
mod openapi_support;
mod record_commands;
mod records;
mod replay_command;
mod review;
mod review_flow;
mod settings;
