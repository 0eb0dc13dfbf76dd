//! The fake Discord's OAuth2 side, as the web sign-in uses it: the authorize
//! page (the test plays the browser and the person approving), the token
//! endpoint (RFC 6749 form body, client credentials by HTTP Basic), `GET
//! /users/@me` answered per bearer token, and `GET
//! /guilds/{id}/members/{user}` answered from the members the test added.
//! Anything a real Discord would refuse is refused here too and recorded as
//! a violation, so a wrong request fails the test.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Redirect, Response};
use base64::Engine;
use serde_json::{json, Value};

use super::{
    injected_failure, json_response, rest, FakeDiscord, FakeState, FakeUser, RecordedRequest,
    BOT_USER_ID, GUILD_ID,
};
use crate::support::openapi::check_request;

/// What the OAuth2 endpoints know.
#[derive(Default)]
pub(super) struct OAuthState {
    /// The registered application: client id, secret, redirect URIs.
    client: Mutex<Option<(u64, String)>>,
    redirects: Mutex<Vec<String>>,
    /// Who approves the next authorize request (the browser's Discord login).
    approver: Mutex<Option<FakeUser>>,
    /// code → (user, redirect_uri it was issued for); each code works once.
    codes: Mutex<HashMap<String, (FakeUser, String)>>,
    /// access token → user.
    tokens: Mutex<HashMap<String, FakeUser>>,
    /// Members of the home server.
    members: Mutex<HashSet<u64>>,
    /// `Authorization` scheme of each membership lookup ("Bot", "Bearer").
    member_lookups: Mutex<Vec<String>>,
}

impl FakeDiscord {
    /// Registers the OAuth2 application with its secret and redirect URI.
    pub fn register_oauth_app(&self, client_id: u64, secret: &str, redirect_uri: &str) {
        *self.state.oauth.client.lock().unwrap() = Some((client_id, secret.to_string()));
        self.state
            .oauth
            .redirects
            .lock()
            .unwrap()
            .push(redirect_uri.to_string());
    }

    /// The person signed in to Discord in the browser, who approves.
    pub fn approve_as(&self, user: &FakeUser) {
        *self.state.oauth.approver.lock().unwrap() = Some(user.clone());
    }

    /// Makes `user_id` a member of the home server.
    pub fn add_member(&self, user_id: u64) {
        self.state.oauth.members.lock().unwrap().insert(user_id);
    }

    /// Removes `user_id` from the home server (kicked, or left).
    pub fn remove_member(&self, user_id: u64) {
        self.state.oauth.members.lock().unwrap().remove(&user_id);
    }

    /// Every request sign-in made to Discord's API so far: the application
    /// lookup, code exchanges, user lookups and membership checks.
    pub fn sign_in_calls(&self) -> Vec<String> {
        self.requests()
            .into_iter()
            .filter(|r| {
                r.path.ends_with("/oauth2/applications/@me")
                    || r.path.ends_with("/oauth2/token")
                    || r.path.ends_with("/users/@me")
                    || (r.path.contains("/members/")
                        && !r.path.ends_with(&format!("/members/{BOT_USER_ID}")))
            })
            .map(|r| format!("{} {}", r.method, r.path))
            .collect()
    }

    /// The `Authorization` scheme of every membership lookup so far.
    pub fn member_lookup_schemes(&self) -> Vec<String> {
        self.state.oauth.member_lookups.lock().unwrap().clone()
    }

    /// Where the authorize page lives (what a browser is sent to).
    pub fn authorize_url(&self) -> String {
        format!("{}/oauth2/authorize", self.base_url)
    }
}

fn violation(state: &FakeState, problem: String) {
    state.violations.lock().unwrap().push(problem);
}

/// `GET /oauth2/authorize`: checks the request as Discord does, then plays
/// the approving person: back to `redirect_uri` with a fresh `code` and the
/// `state` unchanged.
pub(super) async fn authorize(
    State(state): State<Arc<FakeState>>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let client = state.oauth.client.lock().unwrap().clone();
    let redirect = query.get("redirect_uri").cloned().unwrap_or_default();
    let mut problems = Vec::new();
    if query.get("response_type").map(String::as_str) != Some("code") {
        problems.push("response_type must be code");
    }
    if !query
        .get("scope")
        .is_some_and(|scope| scope.split(' ').any(|s| s == "identify"))
    {
        problems.push("scope must include identify");
    }
    if client.as_ref().map(|(id, _)| id.to_string()) != query.get("client_id").cloned() {
        problems.push("client_id is not the registered application");
    }
    if !state.oauth.redirects.lock().unwrap().contains(&redirect) {
        problems.push("redirect_uri is not registered");
    }
    if query.get("state").is_none_or(String::is_empty) {
        problems.push("no state (CSRF protection)");
    }
    if !problems.is_empty() {
        let message = format!("GET /oauth2/authorize: {}", problems.join("; "));
        violation(&state, message.clone());
        return (StatusCode::BAD_REQUEST, message).into_response();
    }
    let Some(user) = state.oauth.approver.lock().unwrap().clone() else {
        return (
            StatusCode::OK,
            "fake Discord: nobody is signed in to approve",
        )
            .into_response();
    };
    let code = format!("code-{}", state.next_id.fetch_add(1, Ordering::SeqCst));
    state
        .oauth
        .codes
        .lock()
        .unwrap()
        .insert(code.clone(), (user, redirect.clone()));
    let back = url::Url::parse_with_params(
        &redirect,
        [("code", code.as_str()), ("state", query["state"].as_str())],
    )
    .map(String::from)
    .unwrap_or(redirect);
    Redirect::to(&back).into_response()
}

/// `POST /api/v10/oauth2/token`, authorization_code grant.
pub(super) async fn token(
    State(state): State<Arc<FakeState>>,
    headers: HeaderMap,
    method: Method,
    uri: Uri,
    body: Bytes,
) -> Response {
    // Counted like every request (the OpenAPI description has no token
    // endpoint to check it against: its checks are below).
    state.requests.lock().unwrap().push(RecordedRequest {
        at: std::time::Instant::now(),
        method: method.to_string(),
        path: uri.path().to_string(),
        query: String::new(),
        body: Value::Null,
    });
    let oauth_error =
        |status: StatusCode, error: &str| json_response(status, json!({"error": error}));
    let form: HashMap<String, String> = url::form_urlencoded::parse(&body).into_owned().collect();
    if headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_none_or(|v| !v.starts_with("application/x-www-form-urlencoded"))
    {
        violation(
            &state,
            "POST /oauth2/token: body must be application/x-www-form-urlencoded".into(),
        );
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_request");
    }
    let client = state.oauth.client.lock().unwrap().clone();
    let credentials = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
        .and_then(|b| String::from_utf8(b).ok());
    let expected = client.map(|(id, secret)| format!("{id}:{secret}"));
    if credentials.is_none() || credentials != expected {
        return oauth_error(StatusCode::UNAUTHORIZED, "invalid_client");
    }
    if form.get("grant_type").map(String::as_str) != Some("authorization_code") {
        return oauth_error(StatusCode::BAD_REQUEST, "unsupported_grant_type");
    }
    let issued = form
        .get("code")
        .and_then(|code| state.oauth.codes.lock().unwrap().remove(code));
    let Some((user, redirect)) = issued else {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
    };
    if form.get("redirect_uri") != Some(&redirect) {
        return oauth_error(StatusCode::BAD_REQUEST, "invalid_grant");
    }
    let access = format!("access-{}", state.next_id.fetch_add(1, Ordering::SeqCst));
    state
        .oauth
        .tokens
        .lock()
        .unwrap()
        .insert(access.clone(), user);
    json_response(
        StatusCode::OK,
        json!({
            "access_token": access, "token_type": "Bearer", "expires_in": 604800,
            "refresh_token": "refresh", "scope": "identify"
        }),
    )
}

/// Records the request like every other; answers an injected failure
/// (`fail_requests`) when one matches.
fn record(state: &FakeState, method: &Method, uri: &Uri) -> Option<Response> {
    let path = uri.path().to_string();
    state
        .violations
        .lock()
        .unwrap()
        .extend(check_request(method.as_str(), &path, &Value::Null));
    let request = RecordedRequest {
        at: std::time::Instant::now(),
        method: method.to_string(),
        path,
        query: uri.query().unwrap_or_default().to_string(),
        body: Value::Null,
    };
    let failure = injected_failure(state, &request);
    state.requests.lock().unwrap().push(request);
    state.request_arrived.notify_waiters();
    failure
}

/// `GET /users/@me`: with a bearer token, that token's user (401 for an
/// unknown one); with the bot's token, the bot as before.
pub(super) async fn users_me(
    State(state): State<Arc<FakeState>>,
    headers: HeaderMap,
    method: Method,
    uri: Uri,
    body: Bytes,
) -> Response {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_string);
    let Some(bearer) = bearer else {
        return rest(State(state), method, uri, body).await;
    };
    if let Some(failure) = record(&state, &method, &uri) {
        return failure;
    }
    match state.oauth.tokens.lock().unwrap().get(&bearer) {
        Some(user) => {
            // `identify` without `email`: the user, its locale and MFA flag.
            let mut me = user.user_json();
            me["mfa_enabled"] = json!(false);
            me["locale"] = json!("en-US");
            json_response(StatusCode::OK, me)
        }
        None => json_response(
            StatusCode::UNAUTHORIZED,
            json!({"message": "401: Unauthorized", "code": 0}),
        ),
    }
}

/// `GET /guilds/{id}/members/{user}`: the member, or Discord's 404 Unknown
/// Member. Only the bot's token may ask (a user token with `identify` may not).
pub(super) async fn guild_member(
    State(state): State<Arc<FakeState>>,
    headers: HeaderMap,
    method: Method,
    uri: Uri,
) -> Response {
    // The bot's own member object (read by `doctor` for its roles) is the
    // general fake's business, not sign-in's.
    if uri.path().ends_with(&format!("/members/{BOT_USER_ID}")) {
        return rest(State(state), method, uri, axum::body::Bytes::new()).await;
    }
    if let Some(failure) = record(&state, &method, &uri) {
        return failure;
    }
    let scheme = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .map(|(scheme, _)| scheme.to_string())
        .unwrap_or_default();
    state
        .oauth
        .member_lookups
        .lock()
        .unwrap()
        .push(scheme.clone());
    if scheme != "Bot" {
        return json_response(
            StatusCode::UNAUTHORIZED,
            json!({"message": "401: Unauthorized", "code": 0}),
        );
    }
    let segments: Vec<&str> = uri.path().trim_matches('/').split('/').collect();
    let (guild, user) = match segments.as_slice() {
        [.., "guilds", guild, "members", user] => (
            guild.parse::<u64>().unwrap_or_default(),
            user.parse::<u64>().unwrap_or_default(),
        ),
        _ => (0, 0),
    };
    if guild == GUILD_ID && state.oauth.members.lock().unwrap().contains(&user) {
        let member = FakeUser::member(user, &format!("member{user}"));
        return json_response(StatusCode::OK, member.member_json());
    }
    json_response(
        StatusCode::NOT_FOUND,
        json!({"message": "Unknown Member", "code": 10007}),
    )
}
