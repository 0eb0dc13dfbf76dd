//! Checks around every REST request the fake Discord serves, before and
//! after its handler: the `Authorization` header and the query string
//! against the operation (refused with 401 / 400 as Discord does), and the
//! fake's own answer against the spec's response schema, so a canned body
//! Discord would never send fails the test that got it.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use serde_json::{json, Value};

use super::{json_response, FakeState};
use crate::support::openapi::{check_authorization, check_query, check_response, check_route};

pub(super) async fn conform(
    State(state): State<Arc<FakeState>>,
    request: Request,
    next: Next,
) -> Response {
    if state
        .deferred_checks
        .load(std::sync::atomic::Ordering::Relaxed)
    {
        return next.run(request).await;
    }
    let method = request.method().as_str().to_string();
    let path = request.uri().path().to_string();
    let query = request.uri().query().unwrap_or_default().to_string();
    let api = path.starts_with("/api/")
        && !state.files.lock().unwrap().contains_key(&path)
        && check_route(&method, &path).is_ok();
    if !api {
        return next.run(request).await;
    }
    let authorization = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    // The token endpoint authenticates the client in its form body.
    let token_endpoint = path.ends_with("/oauth2/token");
    if !token_endpoint {
        if let Some(problem) = check_authorization(&method, &path, authorization.as_deref()) {
            state.violations.lock().unwrap().push(problem);
            return json_response(
                StatusCode::UNAUTHORIZED,
                json!({"message": "401: Unauthorized", "code": 0}),
            );
        }
    }
    let problems = check_query(&method, &path, &query);
    if !problems.is_empty() {
        let message = problems.join("; ");
        state.violations.lock().unwrap().extend(problems);
        return json_response(
            StatusCode::BAD_REQUEST,
            json!({"message": format!("Invalid Form Body: {message}"), "code": 50035}),
        );
    }
    let response = next.run(request).await;
    let (parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    let value = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes).unwrap_or_else(|_| Value::String("<not JSON>".into()))
    };
    let problems = check_response(&method, &path, parts.status.as_u16(), &value);
    state.violations.lock().unwrap().extend(problems);
    Response::from_parts(parts, Body::from(bytes))
}
