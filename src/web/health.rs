//! `/readyz`: the database answers and, on the process holding the Discord
//! gateway, the gateway is READY with commands registered. A standby is
//! ready with the database alone (it serves pages and delivers posts).
//! Anyone can ask, so the answer is only `ready` or `not ready`; the reason
//! (which may quote a start-up error) goes to the log.

use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;

use super::WebState;
use crate::lifecycle::StartupState;

/// How long the database may take to answer before the process is "not ready".
pub const DATABASE_BOUND: Duration = Duration::from_secs(2);

pub async fn readyz(State(state): State<WebState>) -> (StatusCode, String) {
    let database = tokio::time::timeout(
        DATABASE_BOUND,
        sqlx::query_scalar::<_, i32>("SELECT 1").fetch_one(&state.app.pool),
    )
    .await;
    match database {
        Ok(Ok(_)) => {}
        Ok(Err(err)) => {
            tracing::warn!(error = %err, "readyz: the database did not answer");
            return not_ready("the database is not reachable");
        }
        Err(_) => return not_ready("the database did not answer within 2 s"),
    }
    match state.app.lifecycle.startup.gateway() {
        None | Some(StartupState::Ready) => (StatusCode::OK, "ready\n".into()),
        Some(StartupState::Pending) => not_ready("the Discord gateway is not READY yet"),
        Some(StartupState::Failed(reason)) => {
            not_ready(&format!("the Discord start-up failed: {reason}"))
        }
    }
}

fn not_ready(reason: &str) -> (StatusCode, String) {
    tracing::warn!(reason, "readyz: not ready");
    (StatusCode::SERVICE_UNAVAILABLE, "not ready\n".into())
}
