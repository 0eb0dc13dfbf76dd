//! A small client for Anthropic's Messages API: one forced tool call per
//! request, the system prompt marked cacheable, bounded retries.

use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{json, Value};

use super::LlmError;
use crate::config::Secret;
use crate::workflow::TokenUsage;

const API_VERSION: &str = "2023-06-01";

/// How often and how long to retry 429/500/529.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    /// Attempts in all, the first included.
    pub max_attempts: u32,
    /// First backoff; doubles each attempt, with jitter.
    pub base_delay: Duration,
    /// Longest single wait (a longer `retry-after` gives up instead).
    pub max_delay: Duration,
    /// Give up when the next wait would end past this much time in all.
    pub max_total: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 4,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(20),
            max_total: Duration::from_secs(45),
        }
    }
}

/// One forced-tool request.
#[derive(Debug, Clone)]
pub struct ToolRequest<'a> {
    pub model: &'a str,
    pub max_tokens: u32,
    pub temperature: f32,
    /// The stable prefix, sent as a cacheable system block.
    pub system: &'a str,
    pub user: &'a str,
    /// Images shown with `user` (none: the user message is `user` alone).
    pub images: &'a [super::ImageInput],
    pub tool_name: &'a str,
    pub tool_description: &'a str,
    pub tool_schema: &'a Value,
}

/// The tool input the model gave, and what it cost.
#[derive(Debug, Clone)]
pub struct ToolAnswer {
    pub input: Value,
    pub usage: TokenUsage,
    /// The model that answered (may be a dated id).
    pub model: String,
    pub request_id: Option<String>,
    pub attempts: u32,
}

#[derive(Debug, Clone)]
pub struct AnthropicClient {
    http: reqwest::Client,
    base_url: String,
    timeout: Duration,
    retry: RetryPolicy,
}

impl AnthropicClient {
    pub fn new(base_url: &str, timeout: Duration, retry: RetryPolicy) -> Result<Self, LlmError> {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .build()
            .map_err(|err| LlmError::Network(err.to_string()))?;
        Ok(Self {
            http,
            base_url: base_url.trim_end_matches('/').to_string(),
            timeout,
            retry,
        })
    }

    /// The JSON body sent for `request` (also shown by `replay --show-prompt`).
    pub fn body(request: &ToolRequest<'_>) -> Value {
        json!({
            "model": request.model,
            "max_tokens": request.max_tokens,
            "temperature": request.temperature,
            "system": [{
                "type": "text",
                "text": request.system,
                // The stable prefix (kinds, guidelines, catalog) is the same
                // for every analysis: cached, it costs a tenth.
                "cache_control": {"type": "ephemeral"},
            }],
            "messages": [{
                "role": "user",
                "content": super::image::anthropic_user_content(request.user, request.images),
            }],
            "tools": [{
                "name": request.tool_name,
                "description": request.tool_description,
                "input_schema": request.tool_schema,
            }],
            "tool_choice": {"type": "tool", "name": request.tool_name},
        })
    }

    /// Sends `request`, retrying what is worth retrying.
    pub async fn call_tool(
        &self,
        api_key: Option<&Secret>,
        request: &ToolRequest<'_>,
    ) -> Result<ToolAnswer, LlmError> {
        self.call_tool_logged(api_key, request, &mut Vec::new())
            .await
    }

    /// [`Self::call_tool`], telling `attempts` about every HTTP attempt
    /// (failed, retried and unparseable ones included), so each can be
    /// accounted for.
    pub async fn call_tool_logged(
        &self,
        api_key: Option<&Secret>,
        request: &ToolRequest<'_>,
        attempts: &mut Vec<ApiAttempt>,
    ) -> Result<ToolAnswer, LlmError> {
        let api_key = api_key
            .filter(|k| !k.expose().trim().is_empty())
            .ok_or(LlmError::NoApiKey)?;
        let body = Self::body(request);
        let url = format!("{}/v1/messages", self.base_url);
        let started = Instant::now();
        let mut attempt = 0;
        loop {
            attempt += 1;
            let outcome = self.send_once(&url, api_key, &body).await;
            let (error, retry_after) = match outcome {
                Ok(answer) => {
                    let usage = usage_of(&answer.0);
                    let request_id = answer.1.clone();
                    let parsed = Self::parse(answer, request.tool_name, attempt);
                    attempts.push(ApiAttempt {
                        outcome: match &parsed {
                            Ok(_) => "ok".into(),
                            Err(err) => format!("unusable: {err}"),
                        },
                        request_id,
                        usage,
                    });
                    return parsed;
                }
                Err(failed) => {
                    attempts.push(ApiAttempt {
                        outcome: failed.describe(),
                        request_id: failed.request_id.clone(),
                        usage: None,
                    });
                    match failed.kind {
                        Attempt::Fatal(err) => return Err(err),
                        Attempt::Retryable {
                            status,
                            retry_after,
                        } => {
                            let error = match status {
                                0 => LlmError::Network(format!(
                                    "no connection after {attempt} attempts"
                                )),
                                429 => LlmError::RateLimited { attempts: attempt },
                                _ => LlmError::Overloaded {
                                    status,
                                    attempts: attempt,
                                },
                            };
                            (error, retry_after)
                        }
                    }
                }
            };
            let backoff = self.backoff(attempt);
            // The server knows best when it will have room again.
            let wait = retry_after.unwrap_or(backoff);
            let out_of_time = started.elapsed() + wait > self.retry.max_total;
            if attempt >= self.retry.max_attempts || wait > self.retry.max_delay || out_of_time {
                tracing::warn!(error = %error, "giving up on the Anthropic API");
                return Err(error);
            }
            tracing::info!(attempt, wait_ms = wait.as_millis() as u64, error = %error, "retrying the Anthropic API");
            tokio::time::sleep(wait).await;
        }
    }

    /// Exponential backoff with full jitter between half and all of it.
    fn backoff(&self, attempt: u32) -> Duration {
        let exp = self
            .retry
            .base_delay
            .saturating_mul(2u32.saturating_pow(attempt.saturating_sub(1)))
            .min(self.retry.max_delay);
        exp.mul_f64(0.5 + fastrand::f64() * 0.5)
    }

    async fn send_once(
        &self,
        url: &str,
        api_key: &Secret,
        body: &Value,
    ) -> Result<(Value, Option<String>), FailedAttempt> {
        let response = self
            .http
            .post(url)
            .header("x-api-key", api_key.expose())
            .header("anthropic-version", API_VERSION)
            .json(body)
            .send()
            .await
            .map_err(|err| self.transport_error(err, None))?;
        let status = response.status();
        let request_id = response
            .headers()
            .get("request-id")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let retry_after = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<f64>().ok())
            .filter(|s| s.is_finite() && *s >= 0.0)
            .map(Duration::from_secs_f64);
        let text = response
            .text()
            .await
            .map_err(|err| self.transport_error(err, request_id.clone()))?;
        tracing::info!(
            status = status.as_u16(),
            request_id = request_id.as_deref().unwrap_or("-"),
            "Anthropic API answered"
        );
        let failed = |kind| FailedAttempt {
            kind,
            status: Some(status.as_u16()),
            request_id: request_id.clone(),
        };
        if status.is_success() {
            let json = serde_json::from_str(&text).map_err(|err| {
                failed(Attempt::Fatal(LlmError::BadResponse(format!(
                    "not JSON: {err}"
                ))))
            })?;
            return Ok((json, request_id));
        }
        let code = status.as_u16();
        Err(failed(match status {
            StatusCode::TOO_MANY_REQUESTS | StatusCode::INTERNAL_SERVER_ERROR => {
                Attempt::Retryable {
                    status: code,
                    retry_after,
                }
            }
            _ if code == 529 => Attempt::Retryable {
                status: code,
                retry_after,
            },
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
                Attempt::Fatal(LlmError::Unauthorized { status: code })
            }
            _ => Attempt::Fatal(LlmError::Rejected {
                status: code,
                message: api_error_message(&text),
            }),
        }))
    }

    fn transport_error(&self, err: reqwest::Error, request_id: Option<String>) -> FailedAttempt {
        let kind = if err.is_timeout() {
            Attempt::Fatal(LlmError::Timeout {
                seconds: self.timeout.as_secs().max(1),
            })
        } else {
            // Connection trouble may pass: retried like an overloaded
            // service (status 0 marks it), within the same bounds.
            Attempt::Retryable {
                status: 0,
                retry_after: None,
            }
        };
        FailedAttempt {
            kind,
            status: None,
            request_id,
        }
    }

    /// Reads the tool input, usage and model from a Messages API body.
    pub fn parse(
        (body, request_id): (Value, Option<String>),
        tool_name: &str,
        attempts: u32,
    ) -> Result<ToolAnswer, LlmError> {
        let usage: TokenUsage = body
            .get("usage")
            .cloned()
            .map(serde_json::from_value)
            .transpose()
            .map_err(|err| LlmError::BadResponse(format!("usage: {err}")))?
            .unwrap_or_default();
        let model = body
            .get("model")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let input = body
            .get("content")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .find(|block| {
                block.get("type").and_then(Value::as_str) == Some("tool_use")
                    && block.get("name").and_then(Value::as_str) == Some(tool_name)
            })
            .and_then(|block| block.get("input").cloned())
            .ok_or_else(|| {
                LlmError::BadResponse(format!("no {tool_name} tool call in the answer"))
            })?;
        if let Some(id) = &request_id {
            tracing::info!(request_id = %id, model = %model, input_tokens = usage.input_tokens, output_tokens = usage.output_tokens, cache_read = usage.cache_read_input_tokens, "analysis answered");
        }
        Ok(ToolAnswer {
            input,
            usage,
            model,
            request_id,
            attempts,
        })
    }
}

/// One HTTP attempt, as usage accounting records it.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiAttempt {
    /// `ok`, `HTTP 500`, `timeout`, `unusable: …`.
    pub outcome: String,
    pub request_id: Option<String>,
    /// Tokens, when the API reported them.
    pub usage: Option<TokenUsage>,
}

enum Attempt {
    Retryable {
        status: u16,
        retry_after: Option<Duration>,
    },
    Fatal(LlmError),
}

struct FailedAttempt {
    kind: Attempt,
    status: Option<u16>,
    request_id: Option<String>,
}

impl FailedAttempt {
    fn describe(&self) -> String {
        match (&self.kind, self.status) {
            (Attempt::Fatal(LlmError::Timeout { .. }), _) => "timeout".into(),
            (Attempt::Fatal(LlmError::BadResponse(reason)), _) => format!("unusable: {reason}"),
            (_, Some(status)) => format!("HTTP {status}"),
            (_, None) => "no connection".into(),
        }
    }
}

/// The usage block of an answer, when it has a readable one.
fn usage_of(body: &Value) -> Option<TokenUsage> {
    body.get("usage")
        .cloned()
        .and_then(|usage| serde_json::from_value(usage).ok())
}

/// The `error.message` of an API error body, cut short (it goes to logs).
fn api_error_message(text: &str) -> String {
    let message = serde_json::from_str::<Value>(text)
        .ok()
        .and_then(|v| {
            v.pointer("/error/message")
                .and_then(Value::as_str)
                .map(str::to_string)
        })
        .unwrap_or_else(|| text.to_string());
    crate::text::truncate_chars(&message, 300)
}
