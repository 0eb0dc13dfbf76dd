//! A local fake of Discord's execute-webhook endpoint that speaks its wire
//! format: message objects for `?wait=true`, `X-RateLimit-*` headers, and
//! 429s with `Retry-After` and `{"message","retry_after","global"}`.
//! Used by the `it` tests and the throughput benchmark.
#![allow(dead_code)]

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::{json, Value};

use super::multipart::{boundary, parse_upload, UploadedFile};

/// Discord's limit on the files of one message in a server without boosts
/// (10 MiB); more is refused with 413 and code 40005.
pub const MAX_UPLOAD_BYTES: usize = 10 * 1024 * 1024;

/// What the fake answers to the next request (after the script runs out: 200).
#[derive(Debug, Clone)]
pub enum Reply {
    Ok,
    /// A 429; each part is optional so tests can send each way of saying
    /// when to retry (or garbage).
    TooMany {
        retry_after: Option<String>,
        reset_after: Option<String>,
        body_retry_after: Option<Value>,
    },
    Status(u16),
    /// Answers only after this long (longer than the client's timeout).
    Hang(Duration),
}

/// A request the fake received.
#[derive(Debug, Clone)]
pub struct Received {
    pub path: String,
    pub query: Option<String>,
    /// The JSON body, or `payload_json` of a multipart upload.
    pub body: Value,
    /// The `files[n]` of a multipart upload.
    pub files: Vec<UploadedFile>,
    pub status: u16,
    pub at: Instant,
}

/// A fixed window of `limit` requests per `window` per webhook, as Discord's
/// webhook buckets behave (5 per 2 s).
#[derive(Debug, Clone, Copy)]
pub struct Limit {
    pub limit: u32,
    pub window: Duration,
}

#[derive(Debug, Default)]
struct Inner {
    script: VecDeque<Reply>,
    received: Vec<Received>,
    next_id: u64,
    limit: Option<Limit>,
    window_start: Option<Instant>,
    used: u32,
    answered: Option<tokio::sync::watch::Sender<usize>>,
    started: Option<tokio::sync::watch::Sender<usize>>,
    /// Bodies containing the text are answered with the status, every time
    /// (Discord refusing a payload for its content), whatever the script.
    refuse: Vec<(String, u16)>,
    /// The webhook was deleted: a GET on it answers 404 Unknown Webhook.
    deleted: bool,
    /// Bodies Discord would refuse (answered 400), one line each.
    violations: Vec<String>,
}

#[derive(Clone)]
pub struct FakeWebhook {
    pub addr: SocketAddr,
    inner: Arc<Mutex<Inner>>,
    /// How many requests have been answered, for tests that wait for one.
    answered: tokio::sync::watch::Receiver<usize>,
    /// How many requests have arrived (answered or not yet).
    started: tokio::sync::watch::Receiver<usize>,
}

impl FakeWebhook {
    pub async fn start(limit: Option<Limit>) -> Self {
        let (answered_tx, answered) = tokio::sync::watch::channel(0);
        let (started_tx, started) = tokio::sync::watch::channel(0);
        let inner = Arc::new(Mutex::new(Inner {
            limit,
            next_id: 1_300_000_000_000_000_000,
            answered: Some(answered_tx),
            started: Some(started_tx),
            ..Default::default()
        }));
        let app = Router::new()
            .route("/api/webhooks/{id}/{token}", post(execute).get(get_webhook))
            .route(
                "/api/v10/webhooks/{id}/{token}",
                post(execute).get(get_webhook),
            )
            // Room for Discord's upload limit plus the JSON and multipart
            // framing; the limit itself is checked in `execute`.
            .layer(axum::extract::DefaultBodyLimit::max(
                MAX_UPLOAD_BYTES + 1024 * 1024,
            ))
            .with_state(inner.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind fake webhook");
        let addr = listener.local_addr().expect("local addr");
        tokio::spawn(async move {
            axum::serve(listener, app).await.expect("fake webhook");
        });
        Self {
            addr,
            inner,
            answered,
            started,
        }
    }

    /// Resolves once `count` requests have arrived (answered or not).
    pub async fn wait_for_started(&self, count: usize) {
        let mut started = self.started.clone();
        started
            .wait_for(|n| *n >= count)
            .await
            .expect("fake webhook running");
    }

    pub fn url(&self, token: &str) -> String {
        format!("http://{}/api/webhooks/1/{token}", self.addr)
    }

    /// Resolves once `count` requests have been answered.
    pub async fn wait_for_requests(&self, count: usize) {
        let mut answered = self.answered.clone();
        answered
            .wait_for(|n| *n >= count)
            .await
            .expect("fake webhook running");
    }

    /// Answers `status` to every body that contains `text`, until
    /// [`FakeWebhook::stop_refusing`].
    pub fn refuse_containing(&self, text: &str, status: u16) {
        self.inner
            .lock()
            .unwrap()
            .refuse
            .push((text.to_string(), status));
    }

    /// Deletes the webhook, as a channel admin would: a GET answers 404.
    pub fn delete(&self) {
        self.inner.lock().unwrap().deleted = true;
    }

    pub fn stop_refusing(&self) {
        self.inner.lock().unwrap().refuse.clear();
    }

    pub fn script(&self, replies: impl IntoIterator<Item = Reply>) {
        self.inner.lock().unwrap().script.extend(replies);
    }

    /// Bodies the fake refused as Discord would (400, 50035).
    pub fn violations(&self) -> Vec<String> {
        self.inner.lock().unwrap().violations.clone()
    }

    pub fn received(&self) -> Vec<Received> {
        self.inner.lock().unwrap().received.clone()
    }

    /// Bodies of the requests that were answered 2xx.
    pub fn delivered(&self) -> Vec<Value> {
        self.received()
            .into_iter()
            .filter(|r| r.status < 300)
            .map(|r| r.body)
            .collect()
    }
}

/// `GET /webhooks/{id}/{token}`: the webhook object, without its token
/// field's secrecy mattering here (Discord returns it, posts nothing).
async fn get_webhook(
    State(inner): State<Arc<Mutex<Inner>>>,
    Path((id, token)): Path<(String, String)>,
) -> Response {
    if inner.lock().unwrap().deleted {
        return (
            StatusCode::NOT_FOUND,
            Json(json!({"message": "Unknown Webhook", "code": 10015})),
        )
            .into_response();
    }
    Json(json!({
        "id": id, "type": 1, "guild_id": "700000000000000003",
        "channel_id": "700000000000000004", "name": "Flipfix", "avatar": null,
        "application_id": null, "token": token,
    }))
    .into_response()
}

async fn execute(
    State(inner): State<Arc<Mutex<Inner>>>,
    Path((id, token)): Path<(String, String)>,
    RawQuery(query): RawQuery,
    request_headers: HeaderMap,
    raw: axum::body::Bytes,
) -> Response {
    let now = Instant::now();
    // JSON, or multipart with `payload_json` and `files[n]`; a body Discord
    // could not read is refused as Discord does, before any script.
    let content_type = request_headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let parsed = match boundary(content_type) {
        Some(boundary) => parse_upload(&raw, &boundary),
        None => serde_json::from_slice::<Value>(&raw)
            .map(|body| (body, Vec::new()))
            .map_err(|err| format!("the body is not JSON: {err}")),
    };
    let (body, files) = match parsed {
        Ok(parsed) => parsed,
        Err(problem) => {
            return (
                StatusCode::BAD_REQUEST,
                Json(json!({"message": format!("Invalid Form Body: {problem}"), "code": 50035})),
            )
                .into_response()
        }
    };
    // Every body is checked against the spec, whether or not the test asks:
    // Discord answers 400 (50035) to one it cannot accept.
    let path = format!("/api/v10/webhooks/{id}/{token}");
    let mut problems = super::openapi::check_request("POST", &path, &body);
    problems.extend(super::openapi::check_query(
        "POST",
        &path,
        query.as_deref().unwrap_or_default(),
    ));
    if !problems.is_empty() {
        let message = problems.join("; ");
        inner.lock().unwrap().violations.extend(problems);
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"message": format!("Invalid Form Body: {message}"), "code": 50035})),
        )
            .into_response();
    }
    let uploaded: usize = files.iter().map(|file| file.bytes.len()).sum();
    if uploaded > MAX_UPLOAD_BYTES {
        return (
            StatusCode::PAYLOAD_TOO_LARGE,
            Json(json!({"message": "Request entity too large", "code": 40005})),
        )
            .into_response();
    }
    let (reply, rate, message_id) = {
        let mut inner = inner.lock().unwrap();
        if let Some(started) = &inner.started {
            started.send_modify(|n| *n += 1);
        }
        let text = body.to_string();
        let refused = inner
            .refuse
            .iter()
            .find(|(needle, _)| text.contains(needle.as_str()))
            .map(|(_, status)| Reply::Status(*status));
        let reply = match refused {
            Some(reply) => reply,
            None => inner.script.pop_front().unwrap_or(Reply::Ok),
        };
        let rate = inner
            .limit
            .map(|limit| take_from_window(&mut inner, limit, now));
        inner.next_id += 1;
        (reply, rate, inner.next_id)
    };
    // A request over the enforced limit is refused whatever the script says.
    let reply = match rate {
        Some(Err(reset_after)) => Reply::TooMany {
            retry_after: Some(format!("{:.3}", reset_after.as_secs_f64())),
            reset_after: Some(format!("{:.3}", reset_after.as_secs_f64())),
            body_retry_after: Some(json!(reset_after.as_secs_f64())),
        },
        _ => reply,
    };
    if let Reply::Hang(wait) = &reply {
        tokio::time::sleep(*wait).await;
    }
    let (status, response) = respond(&reply, &body, message_id, rate.and_then(Result::ok));
    let mut inner = inner.lock().unwrap();
    inner.received.push(Received {
        path,
        query,
        body,
        files,
        status,
        at: now,
    });
    let count = inner.received.len();
    if let Some(answered) = &inner.answered {
        answered.send_replace(count);
    }
    response
}

/// Counts the request against the window: `Ok((remaining, reset_after))`
/// or `Err(reset_after)` when the window is used up.
fn take_from_window(
    inner: &mut Inner,
    limit: Limit,
    now: Instant,
) -> Result<(u32, Duration), Duration> {
    let start = match inner.window_start {
        Some(start) if now.duration_since(start) < limit.window => start,
        _ => {
            inner.window_start = Some(now);
            inner.used = 0;
            now
        }
    };
    let reset_after = limit.window.saturating_sub(now.duration_since(start));
    if inner.used >= limit.limit {
        return Err(reset_after);
    }
    inner.used += 1;
    Ok((limit.limit - inner.used, reset_after))
}

fn respond(
    reply: &Reply,
    body: &Value,
    message_id: u64,
    rate: Option<(u32, Duration)>,
) -> (u16, Response) {
    let mut headers = HeaderMap::new();
    let (remaining, reset_after) = rate.unwrap_or((4, Duration::from_secs(2)));
    headers.insert("x-ratelimit-limit", HeaderValue::from_static("5"));
    headers.insert("x-ratelimit-bucket", HeaderValue::from_static("fakebucket"));
    headers.insert("x-ratelimit-remaining", num(remaining));
    headers.insert(
        "x-ratelimit-reset-after",
        text(&format!("{:.3}", reset_after.as_secs_f64())),
    );
    match reply {
        Reply::Ok | Reply::Hang(_) => {
            let message = json!({
                "id": message_id.to_string(),
                "type": 0,
                "channel_id": "1200000000000000001",
                "webhook_id": "1",
                "content": body.get("content").cloned().unwrap_or(json!("")),
                "embeds": body.get("embeds").cloned().unwrap_or(json!([])),
                "attachments": [],
                "mentions": [],
                "mention_roles": [],
                "pinned": false,
                "mention_everyone": false,
                "tts": false,
                "timestamp": "2026-11-23T22:00:00.000000+00:00",
                "edited_timestamp": null,
                "flags": 0,
                "components": [],
                "author": {"id": "1", "username": "Flipfix", "discriminator": "0000", "bot": true, "avatar": null},
            });
            (200, with_headers(StatusCode::OK, headers, message))
        }
        Reply::TooMany {
            retry_after,
            reset_after,
            body_retry_after,
        } => {
            headers.remove("x-ratelimit-reset-after");
            headers.insert("x-ratelimit-remaining", num(0));
            headers.insert("x-ratelimit-scope", HeaderValue::from_static("user"));
            if let Some(value) = retry_after {
                headers.insert("retry-after", text(value));
            }
            if let Some(value) = reset_after {
                headers.insert("x-ratelimit-reset-after", text(value));
            }
            let mut body = json!({"message": "You are being rate limited.", "global": false});
            if let Some(value) = body_retry_after {
                body["retry_after"] = value.clone();
            }
            (
                429,
                with_headers(StatusCode::TOO_MANY_REQUESTS, headers, body),
            )
        }
        Reply::Status(code) => {
            let status = StatusCode::from_u16(*code).expect("status code");
            let (message, error_code) = match code {
                404 => ("Unknown Webhook", 10015),
                401 => ("401: Unauthorized", 0),
                403 => ("Missing Access", 50001),
                400 => ("Invalid Form Body", 50035),
                _ => ("500: Internal Server Error", 0),
            };
            (
                *code,
                with_headers(
                    status,
                    headers,
                    json!({"message": message, "code": error_code}),
                ),
            )
        }
    }
}

fn with_headers(status: StatusCode, headers: HeaderMap, body: Value) -> Response {
    // axum's Json answers `Content-Type: application/json` exactly, as Discord does.
    (status, headers, Json(body)).into_response()
}

fn num(n: u32) -> HeaderValue {
    HeaderValue::from(n)
}

fn text(value: &str) -> HeaderValue {
    HeaderValue::from_str(value).unwrap_or_else(|_| HeaderValue::from_static("garbage"))
}
