//! Shared helpers for integration tests.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{TimeZone, Utc};
use flipfix_bot::records::{Author, CreatedVia, NewRecord, SourceMessage};
use flipfix_bot::template_check::load_workflows;
use flipfix_bot::workflow::Workflows;
use sqlx::PgPool;

/// Serves `app` on a free loopback port until the returned task is aborted
/// (or the test ends): what every fake external service runs on.
pub async fn serve_on_loopback(
    app: axum::Router,
    what: &str,
) -> (std::net::SocketAddr, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap_or_else(|err| panic!("bind {what}: {err}"));
    let address = listener.local_addr().expect("local addr");
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (address, server)
}

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `../shared` beside the project: real fixtures and Discord's API spec.
pub fn shared_dir() -> PathBuf {
    repo_root().join("../shared")
}

/// The shipped workflows and templates.
pub fn shipped_workflows() -> Arc<Workflows> {
    load_workflows(&repo_root().join("workflows"), &repo_root().join("prompts"))
        .unwrap_or_else(|problems| panic!("shipped workflows must load:\n{problems}"))
}

/// A run configuration over `secrets`, with a made-up token and the fake
/// Discord's home server where `secrets` has none (pages and media tests
/// never reach Discord).
pub fn run_config(mut secrets: flipfix_bot::config::Secrets) -> flipfix_bot::app::RunConfig {
    secrets
        .discord_token
        .get_or_insert_with(|| flipfix_bot::config::Secret::new("test-token-unused"));
    secrets
        .discord_guild_id
        .get_or_insert(fake_discord::GUILD_ID);
    flipfix_bot::app::RunConfig::from_secrets(secrets).expect("token and home server are set")
}

/// Copies the shipped workflows and prompts into a temporary directory, for
/// tests that break them on purpose.
pub fn copy_workflows() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    copy_dir(
        &repo_root().join("workflows"),
        &dir.path().join("workflows"),
    );
    copy_dir(&repo_root().join("prompts"), &dir.path().join("prompts"));
    dir
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create dir");
    for entry in std::fs::read_dir(from).expect("read dir") {
        let path = entry.expect("entry").path();
        let target = to.join(path.file_name().expect("file name"));
        if path.is_dir() {
            copy_dir(&path, &target);
        } else {
            std::fs::copy(&path, &target).expect("copy file");
        }
    }
}

pub async fn add_machine(pool: &PgPool, slug: &str, name: &str) -> i64 {
    sqlx::query_scalar("INSERT INTO machines (slug, name) VALUES ($1, $2) RETURNING id")
        .bind(slug)
        .bind(name)
        .fetch_one(pool)
        .await
        .expect("insert machine")
}

pub async fn add_maintainer(pool: &PgPool, username: &str) -> i64 {
    sqlx::query_scalar("INSERT INTO maintainers (username) VALUES ($1) RETURNING id")
        .bind(username)
        .fetch_one(pool)
        .await
        .expect("insert maintainer")
}

/// A record of `kind` with a description and nothing else.
pub fn new_record(kind: &str) -> NewRecord {
    NewRecord {
        kind: kind.to_string(),
        machine_id: None,
        parent_id: None,
        description: format!("a {kind} from a test"),
        fields: BTreeMap::new(),
        author: Author::Name("Test Person".into()),
        occurred_at: Utc
            .with_ymd_and_hms(2025, 1, 15, 15, 23, 8)
            .single()
            .expect("valid date"),
        created_at: time::real_now(),
        created_via: CreatedVia::Cli,
        created_by: Some("tests".into()),
        sources: Vec::new(),
        media: Vec::new(),
    }
}

pub fn source(message_id: u64) -> SourceMessage {
    SourceMessage {
        guild_id: Some(900_000_000_000_000_001),
        channel_id: 900_000_000_000_000_002,
        message_id,
    }
}
pub mod anthropic;
pub mod anthropic_request;
pub mod bot;
pub mod doc_blocks;
pub mod fake_cdn;
pub mod fake_discord;
pub mod fake_webhook;
pub mod logs;
pub mod markdown;
pub mod model_api;
pub mod multipart;
pub mod openai;
pub mod openai_spec;
pub mod openapi;
pub mod process;
pub mod time;
pub mod tools;
pub mod web;
pub mod worked_example;

/// A `PUBLIC_BASE_URL` for tests.
pub fn public_url(url: &str) -> flipfix_bot::config::PublicBaseUrl {
    flipfix_bot::config::PublicBaseUrl::parse(url).expect("a valid test base URL")
}
