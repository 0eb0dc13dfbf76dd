//! `flipfix-bot run` without DATABASE_URL: the embedded cluster starts,
//! migrations run, and a missing DISCORD_TOKEN ends it with one clear line.

use std::process::Command;

use flipfix_bot::db::embedded::{find_bin_dir, EmbeddedPostgres};
use sqlx::Connection;

use crate::support::repo_root;
use crate::support::tools::{missing, pretended_missing, Tool};

#[tokio::test]
async fn run_without_database_url_uses_the_embedded_cluster_then_asks_for_the_token() {
    if pretended_missing(Tool::Postgres) {
        missing(Tool::Postgres, "FLIPFIX_TEST_WITHOUT names it");
    }
    if let Err(err) = find_bin_dir(None, std::path::Path::new(".")) {
        missing(Tool::Postgres, &err.to_string());
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let data_dir = dir.path().join("pg");
    let output = Command::new(env!("CARGO_BIN_EXE_flipfix-bot"))
        .arg("run")
        .current_dir(repo_root())
        .env_remove("DATABASE_URL")
        .env_remove("DISCORD_TOKEN")
        .env("FLIPFIX_DATA_DIR", &data_dir)
        .env("RUST_LOG", "info")
        .arg("--secrets")
        .arg(dir.path().join("no-secrets.toml"))
        .output()
        .expect("run flipfix-bot");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{stderr}");
    let errors: Vec<&str> = stderr
        .lines()
        .filter(|line| line.starts_with("error:"))
        .collect();
    assert_eq!(errors.len(), 1, "{stderr}");
    assert!(errors[0].contains("DISCORD_TOKEN is not set"), "{stderr}");
    assert!(
        errors[0].contains("README"),
        "points to the README: {stderr}"
    );
    let migrated_at = stderr
        .find("database migrations applied")
        .expect("migrations ran first");
    let error_at = stderr.find("error:").expect("error line");
    assert!(
        migrated_at < error_at,
        "the database step comes before the token check: {stderr}"
    );

    // The cluster persisted and holds the migrated schema; the bot stopped it.
    assert!(data_dir.join("PG_VERSION").exists());
    assert!(!data_dir.join("postmaster.pid").exists(), "stopped on exit");
    let cluster = EmbeddedPostgres::start(&data_dir)
        .await
        .expect("restart the cluster");
    let mut conn = sqlx::PgConnection::connect(cluster.url().expose())
        .await
        .expect("connect");
    let tables: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM information_schema.tables WHERE table_name IN ('records', 'record_sources', 'settings', 'machines')",
    )
    .fetch_one(&mut conn)
    .await
    .expect("query");
    assert_eq!(tables, 4);
    conn.close().await.expect("close");
    cluster.stop().await.expect("stop the cluster");
}
