//! Entry point for Shuttle-compatible runtimes (`--features shuttle`). The
//! Shuttle platform closed in January 2026; the plain `flipfix-bot run`
//! binary is the default deployment.
//!
//! This is an adapter, not a second bot: the runtime hands over a database
//! pool, the secrets and an address, and [`FlipfixService::bind`] runs the
//! very `serve` that `flipfix-bot run` runs (standby and gateway lock,
//! notification dispatcher, media worker, daily summaries, record pages on
//! the runtime's address, review recovery, orderly shutdown). What differs
//! is only where the pool and the secrets come from.

use std::net::SocketAddr;

use flipfix_bot::config::{secrets::HttpBind, Secrets};
use flipfix_bot::serve::{serve, Signals};
use shuttle_runtime::CustomError;

/// What the runtime provisioned, waiting for its address.
struct FlipfixService {
    pool: sqlx::PgPool,
    secrets: Secrets,
}

#[shuttle_runtime::async_trait]
impl shuttle_runtime::Service for FlipfixService {
    async fn bind(mut self, addr: SocketAddr) -> Result<(), shuttle_runtime::Error> {
        // The runtime proxies HTTP to `addr`: the record pages, health and
        // metrics are served there.
        self.secrets.http_bind = HttpBind(addr);
        let signals = Signals::install()?;
        // A fault ends the process with its cause chain, as `run` does.
        serve(&self.pool, self.secrets, signals).await?;
        Ok(())
    }
}

#[shuttle_runtime::main]
async fn shuttle_main(
    #[shuttle_shared_db::Postgres(local_uri = "{secrets.DATABASE_URL}")] pool: sqlx::PgPool,
    #[shuttle_runtime::Secrets] store: shuttle_runtime::SecretStore,
) -> Result<FlipfixService, shuttle_runtime::Error> {
    // Shuttle hands secrets over as a store; the same keys as Secrets.toml.
    let secrets = Secrets::load_with(std::path::Path::new("/nonexistent"), |key| store.get(key))
        .map_err(CustomError::new)?;
    flipfix_bot::telemetry::init_with(secrets.log_filter.as_deref(), secrets.log_format.as_deref());
    for key in &secrets.unknown_keys {
        tracing::warn!(key = %key, "a secret the bot does not know; is it a typo?");
    }
    flipfix_bot::db::migrate(&pool)
        .await
        .map_err(CustomError::new)?;
    Ok(FlipfixService { pool, secrets })
}
