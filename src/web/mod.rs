//! The web adapter: record pages, sign-in, media, health and metrics, served
//! by every `run` process on `HTTP_BIND`. Thin over the core: handlers read
//! through `records`/`catalog`, render through `templates`, and never show a
//! members-only record to a visitor (see [`viewer`]).

pub mod auth;
pub mod auth_discord;
pub mod health;
pub mod media;
pub mod metrics;
pub mod pages;
pub mod session;
pub mod viewer;

use std::sync::Arc;

use axum::routing::get;
use axum::Router;

use crate::app::App;
use crate::shutdown::Shutdown;

/// State every handler gets.
#[derive(Clone)]
pub struct WebState {
    pub app: Arc<App>,
}

/// Every route the web adapter serves.
pub fn router(state: WebState) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        // Record pages, search, readiness and metrics (W1).
        .merge(pages::routes(&state))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(metrics::metrics))
        // Discord sign-in for members (W2).
        .merge(auth::routes())
        // Stored copies of photos (M).
        .merge(media::routes())
        .with_state(state)
}

/// Alive: the process answers.
async fn healthz() -> &'static str {
    "ok\n"
}

/// Binds `HTTP_BIND` and serves until shutdown is requested. A bind failure
/// is returned at once, naming the address, so `run` ends with the cause.
pub async fn start(
    app: Arc<App>,
    mut shutdown: Shutdown,
) -> anyhow::Result<tokio::task::JoinHandle<std::io::Result<()>>> {
    let address = app.secrets.http_bind.0;
    let listener = tokio::net::TcpListener::bind(address)
        .await
        .map_err(|err| {
            anyhow::anyhow!("cannot serve the record pages on {address} (HTTP_BIND): {err}")
        })?;
    tracing::info!(address = %listener.local_addr()?, "serving record pages");
    let router = router(WebState { app });
    Ok(tokio::spawn(async move {
        axum::serve(listener, router)
            .with_graceful_shutdown(async move { shutdown.requested().await })
            .await
    }))
}
