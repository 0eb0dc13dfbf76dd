//! Integration tests against real Postgres (`#[sqlx::test]`: a fresh
//! database per test, dropped afterwards) and the real binary. One test
//! binary keeps link time down.

#[path = "../support/mod.rs"]
mod support;

mod catalog_import;
mod check_command;
mod embedded_run;
mod notify;
mod openapi_support;
mod records;
mod settings;
