//! Executes a Discord webhook and classifies the answer. Knows HTTP, not the
//! outbox: the dispatcher decides what each outcome means for the queue.

use std::time::Duration as StdDuration;

use chrono::Duration;
use reqwest::StatusCode;

use super::message::{attachments_of, PhotoFile};
use super::rate_limit::{retry_after_429, RateInfo};
use super::WebhookUrl;

/// Longest a single webhook call may take before it counts as failed.
pub const DEFAULT_TIMEOUT: StdDuration = StdDuration::from_secs(15);

/// A posted message.
#[derive(Debug, Clone, PartialEq)]
pub struct Posted {
    /// The message id Discord returned (`?wait=true`); `None` if the body
    /// did not carry one (the post still happened).
    pub message_id: Option<u64>,
    pub rate: RateInfo,
}

/// Why a post failed. Every variant keeps the row in the queue.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PostError {
    #[error("rate limited by Discord; retry after {}ms", retry_after.num_milliseconds())]
    RateLimited { retry_after: Duration },
    /// 401/403/404: the webhook was deleted or the URL is wrong. Retrying the
    /// same URL cannot help.
    #[error("Discord refused the webhook URL (HTTP {status}): {message}")]
    WebhookGone { status: u16, message: String },
    /// 5xx or another unexpected status.
    #[error("Discord answered HTTP {status}: {message}")]
    Http { status: u16, message: String },
    #[error("the webhook call timed out")]
    Timeout,
    #[error("network error calling the webhook: {0}")]
    Network(String),
}

#[derive(Debug, Clone)]
pub struct WebhookClient {
    http: reqwest::Client,
}

impl WebhookClient {
    pub fn new(timeout: StdDuration) -> Result<Self, reqwest::Error> {
        Ok(Self {
            http: reqwest::Client::builder()
                .timeout(timeout)
                .user_agent(concat!("flipfix-bot/", env!("CARGO_PKG_VERSION")))
                .build()?,
        })
    }

    /// POSTs `payload` to `{url}?wait=true`.
    pub async fn post(
        &self,
        url: &WebhookUrl,
        payload: &serde_json::Value,
    ) -> Result<Posted, PostError> {
        self.post_with_files(url, payload, &[]).await
    }

    /// POSTs `payload` with `files` uploaded as `files[n]` (multipart, the
    /// payload as `payload_json`, its `attachments` naming each file), or
    /// as plain JSON when there are none.
    pub(crate) async fn post_with_files(
        &self,
        url: &WebhookUrl,
        payload: &serde_json::Value,
        files: &[PhotoFile],
    ) -> Result<Posted, PostError> {
        let mut target = url.expose().clone();
        target.set_query(Some("wait=true"));
        let request = self.http.post(target);
        let request = if files.is_empty() {
            request.json(payload)
        } else {
            let mut payload = payload.clone();
            payload["attachments"] = attachments_of(files);
            let mut form = reqwest::multipart::Form::new().part(
                "payload_json",
                reqwest::multipart::Part::text(payload.to_string())
                    .mime_str("application/json")
                    .map_err(|_| PostError::Network("could not build the upload".into()))?,
            );
            for (index, file) in files.iter().enumerate() {
                let part = reqwest::multipart::Part::bytes(file.bytes.clone())
                    .file_name(file.name.clone())
                    .mime_str(&file.content_type)
                    .map_err(|_| PostError::Network("could not build the upload".into()))?;
                form = form.part(format!("files[{index}]"), part);
            }
            request.multipart(form)
        };
        let response = request.send().await.map_err(classify_transport)?;
        let status = response.status();
        let headers = response.headers().clone();
        let rate = RateInfo::from_headers(&headers);
        let body = response.text().await.map_err(classify_transport)?;
        if status.is_success() {
            let message_id = serde_json::from_str::<serde_json::Value>(&body)
                .ok()
                .and_then(|v| v.get("id").and_then(|id| id.as_str().map(str::to_string)))
                .and_then(|id| id.parse().ok());
            return Ok(Posted { message_id, rate });
        }
        let message = discord_message(&body);
        Err(match status {
            StatusCode::TOO_MANY_REQUESTS => PostError::RateLimited {
                retry_after: retry_after_429(&headers, &body),
            },
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN | StatusCode::NOT_FOUND => {
                PostError::WebhookGone {
                    status: status.as_u16(),
                    message,
                }
            }
            _ => PostError::Http {
                status: status.as_u16(),
                message,
            },
        })
    }
}

/// reqwest errors print the URL, which carries the webhook token: keep only
/// the kind of failure.
fn classify_transport(err: reqwest::Error) -> PostError {
    if err.is_timeout() {
        PostError::Timeout
    } else if err.is_connect() {
        PostError::Network("could not connect".into())
    } else if err.is_body() || err.is_decode() {
        PostError::Network("the response was cut off".into())
    } else {
        PostError::Network("request failed".into())
    }
}

/// Discord's `{"message": …}`, or a short excerpt of whatever came back.
fn discord_message(body: &str) -> String {
    serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|v| {
            v.get("message")
                .and_then(|m| m.as_str().map(str::to_string))
        })
        .unwrap_or_else(|| body.chars().take(200).collect())
}
