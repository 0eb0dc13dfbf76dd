//! A small client for Anthropic's Messages API: one tool call per request
//! (forced, or offered with an instruction), the system prompt marked
//! cacheable, bounded retries.

use std::time::Duration;

use serde_json::Value;

use super::anthropic_body::MessagesBody;
use super::transport::Endpoint;
use super::LlmError;
use crate::config::Secret;
use crate::workflow::{TokenUsage, ToolChoice};

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
    /// Forced, or offered with an instruction to call it.
    pub tool_choice: ToolChoice,
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
    endpoint: Endpoint,
}

impl AnthropicClient {
    pub fn new(base_url: &str, timeout: Duration, retry: RetryPolicy) -> Result<Self, LlmError> {
        Ok(Self {
            endpoint: Endpoint::new(base_url, timeout, retry)?,
        })
    }

    /// The JSON body sent for `request` (also shown by `replay --show-prompt`).
    pub fn body(request: &ToolRequest<'_>) -> Value {
        serde_json::to_value(MessagesBody::new(request)).unwrap_or(Value::Null)
    }

    /// Sends `request`, retrying what is worth retrying, telling `attempts`
    /// about every HTTP attempt (failed, retried and unparseable ones
    /// included), so each can be accounted for. Callers go through
    /// [`super::LlmClient`], which adds the tool-choice fallback.
    pub async fn call_tool_logged(
        &self,
        api_key: Option<&Secret>,
        request: &ToolRequest<'_>,
        attempts: &mut Vec<ApiAttempt>,
    ) -> Result<ToolAnswer, LlmError> {
        let api_key = api_key
            .filter(|k| !k.expose().trim().is_empty())
            .ok_or(LlmError::NoApiKey)?;
        self.endpoint.check_key_transport("ANTHROPIC_API_KEY")?;
        // Bytes, shared by every attempt: see `anthropic_body`.
        let mut body = serde_json::to_vec(&MessagesBody::new(request)).map_err(|err| {
            // Strings and a JSON value cannot fail to serialize; kept as an
            // error rather than a panic all the same.
            LlmError::Network(format!("cannot write the request body: {err}"))
        })?;
        // It lives as long as the call (the model takes seconds): without
        // the slack its growth left, a third smaller on average.
        body.shrink_to_fit();
        let body = bytes::Bytes::from(body);
        let url = format!("{}/v1/messages", self.endpoint.base_url);
        let call = self
            .endpoint
            .call("Anthropic API", "ANTHROPIC_API_KEY", "request-id");
        let send = || {
            self.endpoint
                .http
                .post(&url)
                .header("x-api-key", api_key.expose())
                .header("anthropic-version", API_VERSION)
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body.clone())
                .send()
        };
        let read = |body: Value, request_id, attempt| {
            let usage = usage_of(&body);
            (
                usage,
                Self::parse((body, request_id), request.tool_name, attempt),
            )
        };
        call.run(send, &read, attempts).await
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
            .ok_or_else(|| LlmError::no_tool_call(tool_name, &said(&body)))?;
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

/// The text blocks of an answer (what the model said instead of calling
/// the tool).
fn said(body: &Value) -> String {
    body.get("content")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|block| block.get("text").and_then(Value::as_str))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The usage block of an answer, when it has a readable one.
fn usage_of(body: &Value) -> Option<TokenUsage> {
    body.get("usage")
        .cloned()
        .and_then(|usage| serde_json::from_value(usage).ok())
}
