//! The web adapter: record pages, sign-in, media, health and metrics, served
//! by every `run` process on `HTTP_BIND`. Thin over the core: handlers read
//! through `records`/`catalog`, render through `templates`, and never show a
//! members-only record to a visitor (see [`viewer`]).

pub mod account;
pub mod auth;
pub mod auth_discord;
pub mod error;
pub mod headers;
pub mod health;
pub mod media;
pub mod metrics;
pub mod pages;
pub mod rate_limit;
pub mod server;
pub mod session;
pub mod session_store;
pub mod viewer;

use std::sync::Arc;

use axum::routing::get;
use axum::Router;

use crate::app::App;
use crate::shutdown::Shutdown;

pub use error::Error;

/// State every handler gets.
#[derive(Clone)]
pub struct WebState {
    pub app: Arc<App>,
    /// The sign-in rate limit (per client address, this process).
    pub limiter: Arc<rate_limit::RateLimiter>,
    /// The OAuth2 client id, looked up once per process when
    /// `DISCORD_CLIENT_ID` is unset.
    pub client_id: Arc<tokio::sync::OnceCell<u64>>,
    /// The machines overview's last rows, reused while nothing changed.
    pub overview: Arc<crate::records::browse::OverviewCache>,
}

impl WebState {
    pub fn new(app: Arc<App>) -> Self {
        Self::with_limit(app, rate_limit::SignInLimit::default())
    }

    pub fn with_limit(app: Arc<App>, limit: rate_limit::SignInLimit) -> Self {
        Self {
            app,
            limiter: Arc::new(rate_limit::RateLimiter::new(limit)),
            client_id: Arc::default(),
            overview: Arc::default(),
        }
    }

    /// Cookie names and `Secure` for this site.
    pub fn cookies(&self) -> session::CookiePolicy {
        session::CookiePolicy::for_site(self.app.secrets.public_base_url.as_deref())
    }
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
        .merge(auth::routes(&state))
        // Stored copies of photos (M).
        .merge(media::routes())
        // Before the layer, so an unknown path gets the headers too.
        .fallback(not_found)
        .layer(axum::middleware::from_fn(headers::security_headers))
        .with_state(state)
}

async fn not_found() -> (axum::http::StatusCode, &'static str) {
    (axum::http::StatusCode::NOT_FOUND, "not found\n")
}

/// Alive: the process answers.
async fn healthz() -> &'static str {
    "ok\n"
}

/// Binds `HTTP_BIND` and serves until shutdown is requested. A bind failure
/// or a `SESSION_SECRET` that is too short is returned at once, in one
/// sentence, so `run` ends with the cause.
pub async fn start(
    app: Arc<App>,
    mut shutdown: Shutdown,
) -> anyhow::Result<tokio::task::JoinHandle<std::io::Result<()>>> {
    app.secrets.check_session_secret()?;
    let address = app.secrets.http_bind.0;
    let listener = tokio::net::TcpListener::bind(address)
        .await
        .map_err(|err| {
            anyhow::anyhow!("cannot serve the record pages on {address} (HTTP_BIND): {err}")
        })?;
    tracing::info!(address = %listener.local_addr()?, "serving record pages");
    let router = router(WebState::new(app));
    Ok(tokio::spawn(server::serve(
        listener,
        router,
        server::ServeLimits::default(),
        async move { shutdown.requested().await },
    )))
}
