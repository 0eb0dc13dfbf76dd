//! Integration tests against real Postgres (`#[sqlx::test]`: a fresh
//! database per test, dropped afterwards) and the real binary. One test
//! binary keeps link time down.

#[path = "../support/mod.rs"]
mod support;

mod add_to_flipfix;
mod add_to_flipfix_claims;
mod admin_commands;
mod admin_import;
mod analysis_gather;
mod analysis_llm;
mod catalog_import;
mod check_command;
mod embedded_run;
mod home_server;
mod log_capture;
mod notify;
mod notify_rate_limit;
mod notify_admin;
mod notify_faults;
mod notify_poison;
mod openapi_support;
mod record_commands;
mod records;
mod replay_command;
mod review;
mod review_flow;
mod settings;
mod spend_limits;
