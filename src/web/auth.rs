//! Sign-in with Discord (OAuth2 code flow, scope `identify`).
//!
//! `/login?next=` sends the browser to Discord with a random `state`, bound
//! to this browser by a short-lived signed cookie and kept in Postgres until
//! used. `/auth/callback` checks that `state` and takes it (once only), then
//! exchanges the code, reads the user, checks membership of the home server
//! with the bot's token, stores the session and sets its cookie. Both routes
//! are rate-limited per client address ([`super::rate_limit`]); only a
//! callback with a genuine, unused state reaches Discord.
//! Sign-out and `/account` live in [`super::account`].

use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{AppendHeaders, Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;

use super::auth_discord::{DiscordAuth, DiscordAuthError};
use super::session::{
    random_token, read_cookie, tokens_match, Purpose, Session, SignInState, SESSION_TTL, STATE_TTL,
};
use super::session_store;
use super::WebState;

/// The sign-in routes, merged into the web router. `/login` and the
/// callback sit behind the per-address rate limit.
pub fn routes(state: &WebState) -> Router<WebState> {
    Router::new()
        .route("/login", get(login))
        .route("/auth/callback", get(callback))
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            super::rate_limit::limit_sign_in,
        ))
        .route("/logout", post(super::account::logout))
        .route("/account", get(super::account::account))
}

/// Where a visitor who opened a members-only page goes: sign in, then back.
pub fn sign_in_redirect(next: &str) -> Response {
    let query = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("next", next)
        .finish();
    Redirect::to(&format!("/login?{query}")).into_response()
}

/// `next` when it is a path on this site, else `/`: never an open redirect
/// (`//host`, `/\host`, schemes, control characters are all refused).
pub fn local_path(next: Option<&str>) -> String {
    match next {
        Some(path)
            if path.starts_with('/')
                && !path.starts_with("//")
                && !path.starts_with("/\\")
                && path.len() <= 2000
                && !path.chars().any(|c| c.is_control() || c == '\\') =>
        {
            path.to_string()
        }
        _ => "/".to_string(),
    }
}

/// A page saying sign-in cannot go on right now (details in the log).
fn unavailable(what: &str, err: &dyn std::fmt::Display) -> Response {
    tracing::error!(error = %err, "sign-in cannot {what}");
    page(
        StatusCode::SERVICE_UNAVAILABLE,
        "Sign-in is unavailable",
        &format!("Sign-in cannot {what} right now. Please try again in a minute."),
    )
}

#[derive(Deserialize)]
struct LoginQuery {
    next: Option<String>,
}

async fn login(State(state): State<WebState>, Query(query): Query<LoginQuery>) -> Response {
    let next = local_path(query.next.as_deref());
    let auth = match DiscordAuth::from_secrets(&state.app.secrets, &state.app.discord) {
        Ok(auth) => auth,
        Err(err) => return failure(&err),
    };
    let client_id = match auth.client_id(&state.client_id).await {
        Ok(id) => id,
        Err(err) => return failure(&err),
    };
    let (key, nonce) = match (
        super::viewer::session_key(&state)
            .await
            .map_err(|err| err.to_string()),
        random_token().map_err(|err| err.to_string()),
    ) {
        (Ok(key), Ok(nonce)) => (key, nonce),
        (Err(err), _) | (_, Err(err)) => return unavailable("start", &err),
    };
    let now = state.app.clock.now();
    if let Err(err) =
        session_store::issue_state(&state.app.pool, &nonce, now + STATE_TTL, now).await
    {
        return unavailable("start", &err);
    }
    let cookie = key.sign(
        Purpose::SignIn,
        &SignInState {
            state: nonce.clone(),
            next,
            expires_at: (now + STATE_TTL).timestamp(),
        },
    );
    let cookies = state.cookies();
    (
        AppendHeaders([(
            header::SET_COOKIE,
            cookies.set(cookies.state, &cookie, STATE_TTL),
        )]),
        Redirect::to(&auth.authorize_url(client_id, &nonce)),
    )
        .into_response()
}

#[derive(Deserialize)]
struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

async fn callback(
    State(state): State<WebState>,
    headers: HeaderMap,
    Query(query): Query<CallbackQuery>,
) -> Response {
    let cookies = state.cookies();
    let clear_state = (
        header::SET_COOKIE,
        cookies.set(cookies.state, "", chrono::Duration::zero()),
    );
    let key = match super::viewer::session_key(&state).await {
        Ok(key) => key,
        Err(err) => return unavailable("finish", &err),
    };
    let pending: Option<SignInState> = read_cookie(&headers, cookies.state)
        .and_then(|cookie| key.verify(Purpose::SignIn, cookie))
        .filter(|pending: &SignInState| pending.expires_at > state.app.clock.now().timestamp());
    let Some(pending) = pending.filter(|pending| {
        query
            .state
            .as_deref()
            .is_some_and(|state| tokens_match(state, &pending.state))
    }) else {
        tracing::info!("sign-in refused: state missing, stale or from another browser");
        return (
            AppendHeaders([clear_state]),
            page(
                StatusCode::BAD_REQUEST,
                "Sign-in did not match",
                "This sign-in was started in another browser tab or window, or took too long. <a href=\"/login\">Start again</a>.",
            ),
        )
            .into_response();
    };
    // Single use: the first callback with this state takes it; a replay of
    // the same URL (or a second tab) is refused before any Discord call.
    match session_store::take_state(&state.app.pool, &pending.state, state.app.clock.now()).await {
        Ok(true) => {}
        Ok(false) => {
            tracing::info!("sign-in refused: the state was already used");
            return (
                AppendHeaders([clear_state]),
                page(
                    StatusCode::BAD_REQUEST,
                    "Sign-in already used",
                    "This sign-in link was already used once and cannot be used again; <a href=\"/login\">start again</a>.",
                ),
            )
                .into_response();
        }
        Err(err) => return unavailable("finish", &err),
    }
    if query.error.is_some() {
        return (
            AppendHeaders([clear_state]),
            page(
                StatusCode::FORBIDDEN,
                "Sign-in cancelled",
                "Discord did not sign you in (the request was declined). <a href=\"/login\">Try again</a>.",
            ),
        )
            .into_response();
    }
    let Some(code) = query.code.as_deref().filter(|code| !code.is_empty()) else {
        return (
            AppendHeaders([clear_state]),
            page(
                StatusCode::BAD_REQUEST,
                "Sign-in did not finish",
                "Discord sent no sign-in code. <a href=\"/login\">Start again</a>.",
            ),
        )
            .into_response();
    };
    let user = match confirm(&state, code).await {
        Ok(user) => user,
        Err(err) => return (AppendHeaders([clear_state]), failure(&err)).into_response(),
    };
    let Some(user) = user else {
        return (
            AppendHeaders([clear_state]),
            page(
                StatusCode::FORBIDDEN,
                "Members only",
                "You signed in with Discord, but your account is not a member of this team's Discord server, so members-only pages stay closed. Ask the team to invite you, then sign in again.",
            ),
        )
            .into_response();
    };
    let (id, csrf) = match (random_token(), random_token()) {
        (Ok(id), Ok(csrf)) => (id, csrf),
        (Err(err), _) | (_, Err(err)) => return unavailable("finish", &err),
    };
    let now = state.app.clock.now();
    let session = Session {
        id,
        user_id: user.id,
        username: user.username,
        expires_at: (now + SESSION_TTL).timestamp(),
        csrf,
    };
    if let Err(err) = session_store::create(
        &state.app.pool,
        &session.id,
        session.user_id,
        &session.username,
        now + SESSION_TTL,
        now,
    )
    .await
    {
        return unavailable("finish", &err);
    }
    tracing::info!(user_id = session.user_id, "member signed in");
    let cookie = key.sign(Purpose::Session, &session);
    (
        AppendHeaders([
            clear_state,
            (
                header::SET_COOKIE,
                cookies.set(cookies.session, &cookie, SESSION_TTL),
            ),
        ]),
        Redirect::to(&pending.next),
    )
        .into_response()
}

/// The Discord user behind `code` when they are a member; `None` when not.
async fn confirm(
    state: &WebState,
    code: &str,
) -> Result<Option<super::auth_discord::DiscordUser>, DiscordAuthError> {
    let auth = DiscordAuth::from_secrets(&state.app.secrets, &state.app.discord)?;
    let client_id = auth.client_id(&state.client_id).await?;
    let token = auth.exchange_code(client_id, code).await?;
    let user = auth.user(&token).await?;
    if auth.is_member(user.id).await? {
        Ok(Some(user))
    } else {
        tracing::info!(user_id = user.id, "sign-in refused: not a member");
        Ok(None)
    }
}

/// A sentence for each failure; details go to the log, never secrets.
fn failure(err: &DiscordAuthError) -> Response {
    match err {
        DiscordAuthError::NotConfigured(_) => {
            tracing::warn!(error = %err, "sign-in requested but not set up");
            page(
                StatusCode::SERVICE_UNAVAILABLE,
                "Sign-in is not set up",
                "Signing in with Discord is not set up on this site yet, so members-only pages stay closed. The administrator can set it up as docs/pages.md, \"Signing in (members-only records)\", describes.",
            )
        }
        _ => {
            tracing::warn!(error = %err, "sign-in failed at Discord");
            page(
                StatusCode::BAD_GATEWAY,
                "Discord did not answer",
                "Discord did not confirm the sign-in. Please <a href=\"/login\">try again</a> in a moment.",
            )
        }
    }
}

/// A minimal page; `body` is trusted HTML (callers escape what they insert).
pub(super) fn page(status: StatusCode, title: &str, body: &str) -> Response {
    (
        status,
        Html(format!(
            "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
             <title>{title}</title></head><body><main><h1>{title}</h1><p>{body}</p>\
             <p><a href=\"/\">Home</a></p></main></body></html>"
        )),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_is_a_local_path_or_home() {
        for good in ["/", "/account", "/parts/12/?a=b"] {
            assert_eq!(local_path(Some(good)), good);
        }
        for bad in [
            "https://evil.example/",
            "//evil.example/",
            "/\\evil.example",
            "/a\\b",
            "evil",
            "/a\nb",
            "",
        ] {
            assert_eq!(local_path(Some(bad)), "/", "{bad:?}");
        }
        assert_eq!(local_path(None), "/");
    }
}
