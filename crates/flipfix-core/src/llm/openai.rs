//! A client for any OpenAI-compatible Chat Completions API (OpenAI, Ollama,
//! vLLM, llama.cpp's server): the same tool, as a `function` tool, and the
//! same retries as the Anthropic client.

use std::time::Duration;

use serde_json::{json, Value};

use super::transport::Endpoint;
use super::{auto_instruction, LlmError, RetryPolicy, ToolAnswer, ToolRequest};
use crate::config::Secret;
use crate::workflow::{TokenUsage, ToolChoice};

#[derive(Debug, Clone)]
pub struct OpenAiClient {
    endpoint: Endpoint,
}

impl OpenAiClient {
    /// `base_url` ends where `/chat/completions` follows (`…/v1`).
    pub fn new(base_url: &str, timeout: Duration, retry: RetryPolicy) -> Result<Self, LlmError> {
        Ok(Self {
            endpoint: Endpoint::new(base_url, timeout, retry)?,
        })
    }

    pub fn base_url(&self) -> &str {
        &self.endpoint.base_url
    }

    /// The JSON body sent for `request`.
    pub fn body(request: &ToolRequest<'_>) -> Value {
        let mut user = request.user.to_string();
        if request.tool_choice == ToolChoice::Auto {
            user.push_str("\n\n");
            user.push_str(&auto_instruction(request.tool_name));
        }
        json!({
            "model": request.model,
            "max_tokens": request.max_tokens,
            "temperature": request.temperature,
            // The stable prefix first: servers that cache prefixes (OpenAI
            // does it by itself) reuse it across analyses.
            "messages": [
                {"role": "system", "content": request.system},
                {"role": "user", "content": super::image::openai_user_content(user, request.images)},
            ],
            "tools": [{
                "type": "function",
                "function": {
                    "name": request.tool_name,
                    "description": request.tool_description,
                    "parameters": request.tool_schema,
                },
            }],
            "tool_choice": match request.tool_choice {
                ToolChoice::Forced => json!({"type": "function", "function": {"name": request.tool_name}}),
                ToolChoice::Auto => json!("auto"),
            },
        })
    }

    /// Sends `request`, retrying what is worth retrying; every HTTP attempt
    /// is pushed to `attempts`. The key is optional: local servers need none.
    pub async fn call_tool_logged(
        &self,
        api_key: Option<&Secret>,
        request: &ToolRequest<'_>,
        attempts: &mut Vec<super::ApiAttempt>,
    ) -> Result<ToolAnswer, LlmError> {
        let api_key = api_key.filter(|k| !k.expose().trim().is_empty());
        if api_key.is_some() {
            self.endpoint.check_key_transport("OPENAI_API_KEY")?;
        }
        let body = Self::body(request);
        let url = format!("{}/chat/completions", self.endpoint.base_url);
        let call = self
            .endpoint
            .call("OpenAI-compatible API", "OPENAI_API_KEY", "x-request-id");
        let send = || {
            let mut post = self.endpoint.http.post(&url).json(&body);
            if let Some(key) = api_key {
                post = post.bearer_auth(key.expose());
            }
            post.send()
        };
        let read = |body: Value, request_id, attempt| {
            let usage = usage_of(&body);
            (
                usage,
                Self::parse(body, request_id, request.tool_name, attempt),
            )
        };
        call.run(send, &read, attempts).await
    }

    /// Reads the tool call, usage and model from a Chat Completions body.
    /// The arguments arrive as a JSON string; one that does not parse, or is
    /// not an object, breaks the tool schema.
    pub fn parse(
        body: Value,
        request_id: Option<String>,
        tool_name: &str,
        attempts: u32,
    ) -> Result<ToolAnswer, LlmError> {
        let usage = usage_of(&body).unwrap_or_default();
        let model = body
            .get("model")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let message = body
            .pointer("/choices/0/message")
            .ok_or_else(|| LlmError::BadResponse("no choices[0].message in the answer".into()))?;
        let call = message
            .get("tool_calls")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .find(|call| call.pointer("/function/name").and_then(Value::as_str) == Some(tool_name))
            .ok_or_else(|| {
                let said = message
                    .get("content")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                LlmError::no_tool_call(tool_name, said)
            })?;
        let input = match call.pointer("/function/arguments") {
            Some(Value::String(raw)) => serde_json::from_str::<Value>(raw).map_err(|err| {
                LlmError::ToolCall(format!(
                    "the {tool_name} arguments are not valid JSON ({err}): {}",
                    crate::text::truncate_chars(raw, 120)
                ))
            })?,
            // Some servers send the object itself.
            Some(object @ Value::Object(_)) => object.clone(),
            _ => {
                return Err(LlmError::ToolCall(format!(
                    "the {tool_name} call has no arguments"
                )))
            }
        };
        if !input.is_object() {
            return Err(LlmError::ToolCall(format!(
                "the {tool_name} arguments are not a JSON object"
            )));
        }
        let request_id =
            request_id.or_else(|| body.get("id").and_then(Value::as_str).map(str::to_string));
        tracing::info!(request_id = request_id.as_deref().unwrap_or("-"), model = %model, input_tokens = usage.input_tokens, output_tokens = usage.output_tokens, cache_read = usage.cache_read_input_tokens, "analysis answered");
        Ok(ToolAnswer {
            input,
            usage,
            model,
            request_id,
            attempts,
        })
    }
}

/// `usage` in our terms: cached prompt tokens are cache reads, the rest of
/// the prompt is plain input (OpenAI's `prompt_tokens` includes the cached
/// ones); there is no cache-write charge.
fn usage_of(body: &Value) -> Option<TokenUsage> {
    let usage = body.get("usage")?;
    let count = |pointer: &str| usage.pointer(pointer).and_then(Value::as_u64);
    let prompt = count("/prompt_tokens")?;
    let cached = count("/prompt_tokens_details/cached_tokens")
        .unwrap_or(0)
        .min(prompt);
    Some(TokenUsage {
        input_tokens: prompt - cached,
        output_tokens: count("/completion_tokens").unwrap_or(0),
        cache_creation_input_tokens: 0,
        cache_read_input_tokens: cached,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cached_prompt_tokens_are_cache_reads() {
        let body = json!({"usage": {"prompt_tokens": 5000, "completion_tokens": 120,
            "prompt_tokens_details": {"cached_tokens": 4608}}});
        assert_eq!(
            usage_of(&body),
            Some(TokenUsage {
                input_tokens: 392,
                output_tokens: 120,
                cache_creation_input_tokens: 0,
                cache_read_input_tokens: 4608,
            })
        );
        // Local servers often report no details.
        let body = json!({"usage": {"prompt_tokens": 10, "completion_tokens": 2}});
        assert_eq!(usage_of(&body).map(|u| u.input_tokens), Some(10));
    }

    #[test]
    fn malformed_arguments_name_the_problem() {
        let body = json!({"model": "m", "choices": [{"message": {"role": "assistant",
            "tool_calls": [{"id": "c", "type": "function",
                "function": {"name": "record_suggestions", "arguments": "{\"suggestions\": ["}}]}}]});
        let err = OpenAiClient::parse(body, None, "record_suggestions", 1).unwrap_err();
        assert!(
            matches!(&err, LlmError::ToolCall(m) if m.contains("not valid JSON") && m.contains("EOF")),
            "{err}"
        );
    }
}
