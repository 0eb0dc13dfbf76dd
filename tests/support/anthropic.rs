//! A fake Anthropic Messages API on 127.0.0.1: real HTTP, real JSON, scripted
//! replies, every request kept for assertions.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{json, Value};

/// One scripted answer.
#[derive(Debug, Clone)]
pub enum Reply {
    Json {
        status: u16,
        headers: Vec<(String, String)>,
        body: Value,
    },
    /// Waits this long before answering 200 (for timeouts).
    Slow(Duration),
    /// Waits this long, then answers like `inner` (a slow but good model).
    Delayed(Duration, Box<Reply>),
    /// Waits until the test opens the gate (sends `true`), then answers
    /// like `inner`: for tests that need every caller in flight at once.
    Gated(tokio::sync::watch::Receiver<bool>, Box<Reply>),
}

impl Reply {
    /// A successful forced tool call with `input` and usage.
    pub fn tool_use(input: Value) -> Self {
        Self::body(json!({
            "id": "msg_01FakeFakeFakeFakeFake",
            "type": "message",
            "role": "assistant",
            "model": "claude-haiku-4-5-20251001",
            "content": [{
                "type": "tool_use",
                "id": "toolu_01FakeFakeFakeFake",
                "name": "record_suggestions",
                "input": input,
            }],
            "stop_reason": "tool_use",
            "stop_sequence": null,
            "usage": {
                "input_tokens": 420,
                "cache_creation_input_tokens": 0,
                "cache_read_input_tokens": 2100,
                "output_tokens": 150,
            },
        }))
    }

    /// A 200 with `body` (such as a reference answer) and a request id.
    pub fn body(body: Value) -> Self {
        Self::Json {
            status: 200,
            headers: vec![("request-id".into(), "req_011FakeRequestId".into())],
            body,
        }
    }

    /// An API error in the Messages API's error shape.
    pub fn error(status: u16, kind: &str, retry_after: Option<&str>) -> Self {
        let mut headers = vec![("request-id".into(), format!("req_err_{status}"))];
        if let Some(seconds) = retry_after {
            headers.push(("retry-after".into(), seconds.into()));
        }
        Self::Json {
            status,
            headers,
            body: json!({"type": "error", "error": {"type": kind, "message": format!("fake {kind}")}}),
        }
    }
}

/// A request the fake received.
#[derive(Debug, Clone)]
pub struct Received {
    pub headers: HeaderMap,
    pub body: Value,
}

#[derive(Default)]
struct Script {
    replies: VecDeque<Reply>,
    received: Vec<Received>,
    /// Requests whose content blocks break the SDK's request types.
    violations: Vec<String>,
    /// Answer 400 with this message to every forced tool choice.
    refuse_forced: Option<String>,
}

pub struct FakeAnthropic {
    pub base_url: String,
    script: Arc<Mutex<Script>>,
    server: tokio::task::JoinHandle<()>,
}

impl FakeAnthropic {
    /// Starts the fake. Replies are used in order; the last one repeats.
    pub async fn start(replies: Vec<Reply>) -> Self {
        let script = Arc::new(Mutex::new(Script {
            replies: replies.into(),
            received: Vec::new(),
            violations: Vec::new(),
            refuse_forced: None,
        }));
        let app = Router::new()
            .route("/v1/messages", post(messages))
            .route("/v1/messages/count_tokens", post(count_tokens))
            // The Messages API takes requests up to 32 MB (axum's default
            // of 2 MB would refuse a request with one large photo).
            .layer(axum::extract::DefaultBodyLimit::max(32 * 1024 * 1024))
            .with_state(script.clone());
        let (address, server) = super::serve_on_loopback(app, "fake model API").await;
        Self {
            base_url: format!("http://{address}"),
            script,
            server,
        }
    }

    /// Answers every forced tool choice (`{"type": "tool"}`) with a 400
    /// `invalid_request_error` saying `message`, as the API does for a model
    /// with extended thinking.
    pub fn refusing_forced_tool_choice(self, message: &str) -> Self {
        self.script.lock().expect("lock").refuse_forced = Some(message.to_string());
        self
    }

    /// Replaces the replies still to come (for an answer that cites an id
    /// known only once the test has started).
    pub fn set_replies(&self, replies: Vec<Reply>) {
        self.script.lock().expect("lock").replies = replies.into();
    }

    pub fn received(&self) -> Vec<Received> {
        self.script.lock().expect("lock").received.clone()
    }

    /// How the requests broke the official SDK's request types (see
    /// `anthropic_request`); such a request was answered 400, as the API
    /// does.
    pub fn violations(&self) -> Vec<String> {
        self.script.lock().expect("lock").violations.clone()
    }
}

impl Drop for FakeAnthropic {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// `POST /v1/messages/count_tokens`: a scripted error or redirect is
/// answered as is (without using it up); anything else counts the tokens.
async fn count_tokens(
    State(script): State<Arc<Mutex<Script>>>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    let scripted = {
        let mut script = script.lock().expect("lock");
        script.received.push(Received { headers, body });
        match script.replies.front() {
            Some(Reply::Json {
                status,
                headers,
                body,
            }) if *status >= 300 => Some((*status, headers.clone(), body.clone())),
            _ => None,
        }
    };
    match scripted {
        Some((status, headers, body)) => {
            let status = StatusCode::from_u16(status).expect("status");
            let mut response = (status, Json(body)).into_response();
            for (name, value) in headers {
                if let (Ok(name), Ok(value)) = (
                    axum::http::HeaderName::try_from(name.as_str()),
                    axum::http::HeaderValue::try_from(value.as_str()),
                ) {
                    response.headers_mut().insert(name, value);
                }
            }
            response
        }
        None => Json(json!({"input_tokens": 8})).into_response(),
    }
}

async fn messages(
    State(script): State<Arc<Mutex<Script>>>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    let violations = super::anthropic_request::violations(&body);
    let reply = {
        let mut script = script.lock().expect("lock");
        let forced = body["tool_choice"]["type"] == "tool";
        script.received.push(Received { headers, body });
        if !violations.is_empty() {
            script.violations.extend(violations.iter().cloned());
            let body = json!({"type": "error", "error": {"type": "invalid_request_error", "message": violations.join("; ")}});
            return (StatusCode::BAD_REQUEST, Json(body)).into_response();
        }
        if let (Some(message), true) = (&script.refuse_forced, forced) {
            let body = json!({"type": "error", "error": {"type": "invalid_request_error", "message": message}});
            return (StatusCode::BAD_REQUEST, Json(body)).into_response();
        }
        if script.replies.len() > 1 {
            script.replies.pop_front()
        } else {
            script.replies.front().cloned()
        }
    };
    let reply = match reply {
        Some(Reply::Delayed(delay, inner)) => {
            tokio::time::sleep(delay).await;
            Some(*inner)
        }
        Some(Reply::Gated(mut gate, inner)) => {
            let _ = gate.wait_for(|open| *open).await;
            Some(*inner)
        }
        other => other,
    };
    match reply {
        Some(Reply::Delayed(..) | Reply::Gated(..)) => {
            (StatusCode::INTERNAL_SERVER_ERROR, "nested delay").into_response()
        }
        Some(Reply::Json {
            status,
            headers,
            body,
        }) => {
            let status = StatusCode::from_u16(status).expect("status");
            let mut response = (status, Json(body)).into_response();
            for (name, value) in headers {
                response.headers_mut().insert(
                    axum::http::HeaderName::from_bytes(name.as_bytes()).expect("header name"),
                    value.parse().expect("header value"),
                );
            }
            response
        }
        Some(Reply::Slow(delay)) => {
            tokio::time::sleep(delay).await;
            (StatusCode::OK, Json(json!({}))).into_response()
        }
        None => (StatusCode::INTERNAL_SERVER_ERROR, "no reply scripted").into_response(),
    }
}
