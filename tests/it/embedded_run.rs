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
        errors[0].contains("docs/setting-up-discord.md"),
        "points to the docs: {stderr}"
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

/// As root (as CI runs), the cluster's files the bot writes are outside the
/// directory the `postgres` user owns, and a symlink placed at a log path
/// before start redirects nothing. The server listens on no TCP port: only
/// on a socket in a directory no one else can enter.
#[tokio::test]
async fn a_symlink_at_the_log_path_does_not_redirect_the_write_and_there_is_no_tcp_port() {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let data_dir = dir.path().join("pg");
    let cluster = EmbeddedPostgres::start(&data_dir)
        .await
        .expect("create the cluster");
    cluster.stop().await.expect("stop");

    // What a `postgres`-user process could do inside its data directory
    // (the old log path), and what someone could leave at the new one.
    let victim = dir.path().join("victim");
    std::fs::write(&victim, "root's file\n").unwrap();
    std::os::unix::fs::symlink(&victim, data_dir.join("server.log")).unwrap();
    let log = data_dir.with_extension("log");
    std::fs::remove_file(&log).unwrap();
    std::os::unix::fs::symlink(&victim, &log).unwrap();

    let cluster = EmbeddedPostgres::start(&data_dir)
        .await
        .expect("start again");
    let mut conn = sqlx::PgConnection::connect(cluster.url().expose())
        .await
        .expect("connect over the socket");
    let listen: String = sqlx::query_scalar("SHOW listen_addresses")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(listen, "", "no TCP listener");
    conn.close().await.unwrap();
    assert_eq!(
        std::fs::read_to_string(&victim).unwrap(),
        "root's file\n",
        "the symlinks' target was not written"
    );
    let meta = std::fs::symlink_metadata(&log).unwrap();
    assert!(meta.is_file(), "the log is a regular file again");
    assert!(
        std::fs::read_to_string(&log)
            .unwrap()
            .contains("database system is ready"),
        "the server's output went to the log"
    );
    let socket_dir = cluster.socket_dir().to_path_buf();
    let socket_meta = std::fs::symlink_metadata(&socket_dir).unwrap();
    assert!(socket_meta.is_dir());
    assert_eq!(
        socket_meta.mode() & 0o777,
        0o700,
        "a private socket directory"
    );
    if std::fs::metadata("/proc/self").unwrap().uid() == 0 {
        assert_ne!(
            socket_meta.uid(),
            0,
            "owned by the server's unprivileged user"
        );
        assert_eq!(meta.uid(), 0, "the log belongs to the bot's user");
    }
    cluster.stop().await.expect("stop the cluster");
}
