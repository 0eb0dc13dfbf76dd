//! The database: connecting, migrating, and the embedded default cluster.

pub mod embedded;
pub mod locks;
mod pg_binaries;

use std::time::Duration;

use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::PgPool;

use crate::config::Secret;

/// The migrations in `migrations/`, compiled into the binary.
pub static MIGRATOR: Migrator = sqlx::migrate!("../../migrations");

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("DATABASE_URL is not a valid Postgres URL: {0}")]
    BadUrl(String),
    #[error("cannot connect to Postgres at {target}: {source}")]
    Connect { target: String, source: sqlx::Error },
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

/// How long after its last use a pooled connection is trusted without a
/// ping (as connection pools such as HikariCP do, whose default is 500 ms).
const TRUSTED_AFTER_USE: Duration = Duration::from_millis(500);

/// Connects to `url` (never logged: it may hold a password).
pub async fn connect(url: &Secret) -> Result<PgPool, DbError> {
    let options: PgConnectOptions = url
        .expose()
        .parse()
        // sqlx's message may quote the URL; describe the problem generically.
        .map_err(|_| {
            DbError::BadUrl("expected postgres://user:password@host:port/database".into())
        })?;
    let target = format!(
        "{}:{}/{}",
        options.get_host(),
        options.get_port(),
        options.get_database().unwrap_or("(default)")
    );
    // No JIT compilation: the bot's queries are short, and Postgres JIT-
    // compiles any plan whose estimate passes `jit_above_cost`, which the
    // machines overview's does on 100,000 records: 40 ms of compiling for a
    // 22 ms query (`EXPLAIN ANALYZE`: 62 → 22 ms with `jit = off`). Set per
    // connection, so a server's own setting for other clients stays.
    let options = options.options([("jit", "off")]);
    PgPoolOptions::new()
        .max_connections(10)
        .acquire_timeout(Duration::from_secs(10))
        // A connection is pinged before it is handed out only when it has
        // been idle a while. sqlx pings every connection as it is given back
        // (a broken one is closed then), so one given back just now was just
        // checked; pinging it again cost a round trip on every page and job
        // step (under load, a third of a record page's trips to Postgres).
        // A failed ping closes the connection and the pool opens another, as
        // sqlx's own check does.
        .test_before_acquire(false)
        .before_acquire(|conn, meta| {
            Box::pin(async move {
                if meta.idle_for >= TRUSTED_AFTER_USE {
                    sqlx::Connection::ping(conn).await?;
                }
                Ok(true)
            })
        })
        .connect_with(options)
        .await
        .map_err(|source| DbError::Connect { target, source })
}

/// Brings the schema up to date.
pub async fn migrate(pool: &PgPool) -> Result<(), DbError> {
    MIGRATOR.run(pool).await?;
    tracing::info!("database migrations applied");
    Ok(())
}
