//! A fake OpenAI-compatible Chat Completions API on 127.0.0.1: real HTTP,
//! real JSON, scripted replies, every request kept, and every request body
//! checked against OpenAI's published request schema (a body OpenAI would
//! refuse is answered 400 and listed in `violations`).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};

use super::openai_spec::check_chat_request;

/// The model the fake says it is.
pub const MODEL: &str = "qwen3:8b";

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
}

impl Reply {
    /// A tool call of `record_suggestions` with `input` as its arguments.
    pub fn tool_call(input: Value) -> Self {
        Self::tool_call_raw(&input.to_string())
    }

    /// A tool call whose `arguments` string is exactly `arguments`.
    pub fn tool_call_raw(arguments: &str) -> Self {
        Self::body(completion(
            json!({
                "role": "assistant",
                "content": null,
                "tool_calls": [{
                    "id": "call_fake0001",
                    "type": "function",
                    "function": {"name": "record_suggestions", "arguments": arguments},
                }],
            }),
            "tool_calls",
        ))
    }

    /// An answer in plain text, without a tool call.
    pub fn text(content: &str) -> Self {
        Self::body(completion(
            json!({"role": "assistant", "content": content}),
            "stop",
        ))
    }

    /// A 200 with `body` and a request id.
    pub fn body(body: Value) -> Self {
        Self::Json {
            status: 200,
            headers: vec![("x-request-id".into(), "req_fake_openai_1".into())],
            body,
        }
    }

    /// An API error in OpenAI's error shape.
    pub fn error(status: u16, kind: &str, retry_after: Option<&str>) -> Self {
        Self::error_saying(status, kind, &format!("fake {kind}"), retry_after)
    }

    pub fn error_saying(status: u16, kind: &str, message: &str, retry_after: Option<&str>) -> Self {
        let mut headers = vec![("x-request-id".into(), format!("req_err_{status}"))];
        if let Some(seconds) = retry_after {
            headers.push(("retry-after".into(), seconds.into()));
        }
        Self::Json {
            status,
            headers,
            body: json!({"error": {"message": message, "type": kind, "param": null, "code": null}}),
        }
    }
}

/// A chat completion holding `message`, with usage: 5,612 prompt tokens of
/// which 5,200 were cached, 150 completion tokens.
pub fn completion(message: Value, finish_reason: &str) -> Value {
    json!({
        "id": "chatcmpl-fake0001",
        "object": "chat.completion",
        "created": 1_764_000_000,
        "model": MODEL,
        "choices": [{"index": 0, "message": message, "finish_reason": finish_reason, "logprobs": null}],
        "usage": {
            "prompt_tokens": 5612,
            "completion_tokens": 150,
            "total_tokens": 5762,
            "prompt_tokens_details": {"cached_tokens": 5200},
        },
    })
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
    violations: Vec<String>,
    /// Answer 400 with this message to every forced tool choice.
    refuse_forced: Option<String>,
    /// Answer 401 to requests without `Authorization: Bearer <key>`.
    key: Option<String>,
    /// What `GET /models` lists.
    models: Vec<String>,
}

pub struct FakeOpenAi {
    /// Ends in `/v1`, as `base_url` is written for OpenAI-compatible servers.
    pub base_url: String,
    script: Arc<Mutex<Script>>,
    server: tokio::task::JoinHandle<()>,
}

impl FakeOpenAi {
    /// Starts the fake. Replies are used in order; the last one repeats.
    pub async fn start(replies: Vec<Reply>) -> Self {
        let script = Arc::new(Mutex::new(Script {
            replies: replies.into(),
            models: vec![MODEL.to_string()],
            ..Script::default()
        }));
        let app = Router::new()
            .route("/v1/chat/completions", post(chat_completions))
            .route("/v1/models", get(models))
            // As the Anthropic fake: large enough for a request with photos.
            .layer(axum::extract::DefaultBodyLimit::max(32 * 1024 * 1024))
            .with_state(script.clone());
        let (address, server) = super::serve_on_loopback(app, "fake model API").await;
        Self {
            base_url: format!("http://{address}/v1"),
            script,
            server,
        }
    }

    /// Answers every forced tool choice with a 400 saying `message` (as
    /// servers and models without forced tool use do).
    pub fn refusing_forced_tool_choice(self, message: &str) -> Self {
        self.script.lock().expect("lock").refuse_forced = Some(message.to_string());
        self
    }

    /// Requires `Authorization: Bearer <key>`.
    pub fn requiring_key(self, key: &str) -> Self {
        self.script.lock().expect("lock").key = Some(key.to_string());
        self
    }

    /// What `GET /v1/models` lists (default: [`MODEL`]).
    pub fn listing(self, models: &[&str]) -> Self {
        self.script.lock().expect("lock").models = models.iter().map(|m| m.to_string()).collect();
        self
    }

    pub fn received(&self) -> Vec<Received> {
        self.script.lock().expect("lock").received.clone()
    }

    /// Requests OpenAI would have refused, one line each.
    pub fn violations(&self) -> Vec<String> {
        self.script.lock().expect("lock").violations.clone()
    }
}

impl Drop for FakeOpenAi {
    fn drop(&mut self) {
        self.server.abort();
    }
}

fn authorized(script: &Script, headers: &HeaderMap) -> bool {
    let Some(key) = &script.key else {
        return true;
    };
    headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v == format!("Bearer {key}"))
}

fn refuse(status: u16, kind: &str, message: &str) -> Response {
    let status = StatusCode::from_u16(status).expect("status");
    let body = json!({"error": {"message": message, "type": kind, "param": null, "code": null}});
    (status, Json(body)).into_response()
}

async fn models(State(script): State<Arc<Mutex<Script>>>, headers: HeaderMap) -> Response {
    let script = script.lock().expect("lock");
    if !authorized(&script, &headers) {
        return refuse(401, "invalid_request_error", "Incorrect API key provided.");
    }
    let data: Vec<Value> = script
        .models
        .iter()
        .map(|id| json!({"id": id, "object": "model", "created": 1_764_000_000, "owned_by": "library"}))
        .collect();
    Json(json!({"object": "list", "data": data})).into_response()
}

async fn chat_completions(
    State(script): State<Arc<Mutex<Script>>>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    let reply = {
        let mut script = script.lock().expect("lock");
        script.received.push(Received {
            headers: headers.clone(),
            body: body.clone(),
        });
        let problems = check_chat_request(&body);
        if !problems.is_empty() {
            let message = format!("CreateChatCompletionRequest: {}", problems.join("; "));
            script.violations.push(message.clone());
            return refuse(400, "invalid_request_error", &message);
        }
        if !authorized(&script, &headers) {
            return refuse(401, "invalid_request_error", "Incorrect API key provided.");
        }
        if let Some(message) = &script.refuse_forced {
            if body["tool_choice"].is_object() {
                return refuse(400, "invalid_request_error", message);
            }
        }
        if script.replies.len() > 1 {
            script.replies.pop_front()
        } else {
            script.replies.front().cloned()
        }
    };
    match reply {
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
