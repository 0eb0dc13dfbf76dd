//! Sign-out and the member's account page. Sign-out is a POST carrying the
//! session's CSRF token; it deletes the session on the server, so a copy of
//! the cookie is worth nothing afterwards. GET does nothing.

use axum::extract::{Form, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{AppendHeaders, IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::auth::{page, sign_in_redirect};
use super::session::tokens_match;
use super::session_store;
use super::viewer::current_session;
use super::WebState;
use crate::text::escape_html;

#[derive(Deserialize)]
pub struct LogoutForm {
    pub csrf: Option<String>,
}

pub async fn logout(
    State(state): State<WebState>,
    headers: HeaderMap,
    Form(form): Form<LogoutForm>,
) -> Response {
    let session = current_session(&headers, &state).await;
    let genuine = session.as_ref().is_some_and(|session| {
        form.csrf
            .as_deref()
            .is_some_and(|csrf| tokens_match(csrf, &session.csrf))
    });
    if session.is_some() && !genuine {
        tracing::info!("sign-out refused: CSRF token missing or wrong");
        return page(
            StatusCode::FORBIDDEN,
            "Sign-out refused",
            "This sign-out did not come from this site's own button, so you are still signed in. Use the Sign out button on <a href=\"/account\">your account page</a>.",
        );
    }
    // Signed out on the server: a copy of the cookie is worth nothing now.
    if let Some(session) = &session {
        if let Err(err) = session_store::revoke(&state.app.pool, &session.id).await {
            tracing::error!(error = %err, "sign-out cannot reach the database");
            return page(
                StatusCode::SERVICE_UNAVAILABLE,
                "Sign-out failed",
                "You are still signed in because the server could not record the sign-out; please try again in a minute.",
            );
        }
        tracing::info!(user_id = session.user_id, "member signed out");
    }
    let cookies = state.cookies();
    (
        AppendHeaders([(
            header::SET_COOKIE,
            cookies.set(cookies.session, "", chrono::Duration::zero()),
        )]),
        Redirect::to("/"),
    )
        .into_response()
}

/// The member's page: who is signed in, and the sign-out button.
pub async fn account(State(state): State<WebState>, headers: HeaderMap) -> Response {
    let Some(session) = current_session(&headers, &state).await else {
        return sign_in_redirect("/account");
    };
    page(
        StatusCode::OK,
        "Your account",
        &format!(
            "Signed in with Discord as <strong>{}</strong>. Members-only records are visible to you.\
             <form method=\"post\" action=\"/logout\"><input type=\"hidden\" name=\"csrf\" value=\"{}\">\
             <button type=\"submit\">Sign out</button></form>",
            escape_html(&session.username),
            escape_html(&session.csrf)
        ),
    )
}
