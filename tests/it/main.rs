//! Integration tests against real Postgres (`#[sqlx::test]`: a fresh
//! database per test, dropped afterwards) and the real binary. One test
//! binary keeps link time down.

#[path = "../support/mod.rs"]
mod support;

mod acknowledge;
mod add_to_flipfix;
mod add_to_flipfix_claims;
mod admin_commands;
mod admin_import;
mod analysis_gather;
mod analysis_llm;
mod analysis_prompt;
mod analysis_vision;
mod analysis_vision_config;
mod browser;
mod card_menus;
mod catalog_conflicts;
mod catalog_import;
mod check_command;
mod check_pages;
mod discord_find;
mod dockerfile;
mod doctor;
mod embedded_run;
mod fault_recovery;
mod follow_ups;
mod follow_ups_core;
mod home_server;
mod identity_links;
mod layers;
mod log_capture;
mod logs_json;
mod media;
mod media_acceptance;
mod media_s3;
mod model_provider;
mod model_transport;
mod notify;
mod notify_admin;
mod notify_faults;
mod notify_poison;
mod notify_rate_limit;
mod notify_text;
mod one_clock;
mod openapi_support;
mod process_faults;
mod record_commands;
mod record_once;
mod records;
mod records_import;
mod replay_command;
mod replicas;
mod review;
mod review_flow;
mod settings;
mod spend_limits;
mod summary;
mod summary_check;
mod summary_runs;
mod web_health;
mod web_pages;
mod web_server;
mod web_sessions;
mod web_sign_in;
mod web_sign_in_limits;
