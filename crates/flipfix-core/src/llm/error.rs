//! What can go wrong asking the model, and what a user is told.

/// A failed API call. `user_message` is what a person in Discord reads;
/// the `Display` form (with details) is for logs.
#[derive(Debug, thiserror::Error)]
pub enum LlmError {
    #[error("no Anthropic API key is configured")]
    NoApiKey,
    #[error("the API is overloaded (HTTP {status}) after {attempts} attempts")]
    Overloaded { status: u16, attempts: u32 },
    #[error("rate-limited by the API after {attempts} attempts")]
    RateLimited { attempts: u32 },
    /// `key` names the secret that was refused.
    #[error("the API key was refused (HTTP {status}): check {key}")]
    Unauthorized { status: u16, key: &'static str },
    #[error("the API refused the request (HTTP {status}): {message}")]
    Rejected { status: u16, message: String },
    #[error("no answer within {seconds} s")]
    Timeout { seconds: u64 },
    /// Redirects are not followed: they could carry the key elsewhere.
    #[error("the model API at {host} answered with a redirect (HTTP {status}) to {to}; redirects are not followed: set the base URL to the address that serves the API")]
    Redirected {
        status: u16,
        host: String,
        to: String,
    },
    /// A key is sent over plain http:// to loopback addresses only.
    #[error("{key} is not sent over plain http:// to {host}: use an https:// base URL (http:// is for loopback addresses only)")]
    KeyOverPlainHttp { key: &'static str, host: String },
    #[error("could not reach the API: {0}")]
    Network(String),
    #[error("unexpected API answer: {0}")]
    BadResponse(String),
    /// The answer is there but is no usable tool call: none at all, or
    /// arguments that are not a JSON object.
    #[error("the answer breaks the tool schema: {0}")]
    ToolCall(String),
}

impl LlmError {
    /// Short and actionable; never includes the key or raw API text.
    pub fn user_message(&self) -> &'static str {
        match self {
            Self::NoApiKey => {
                "No Anthropic API key is configured. An admin can set ANTHROPIC_API_KEY."
            }
            Self::Overloaded { .. } | Self::Network(_) => {
                "The analysis service is overloaded right now. Please try again in a minute."
            }
            Self::RateLimited { .. } => {
                "Too many analyses at once (rate-limited). Please try again in a minute."
            }
            Self::Unauthorized {
                key: "OPENAI_API_KEY",
                ..
            } => "The model API refused its key. An admin should check OPENAI_API_KEY.",
            Self::Unauthorized { .. } => {
                "The Anthropic API key was refused. An admin should check ANTHROPIC_API_KEY."
            }
            Self::Timeout { .. } => "The analysis took too long. Please try again.",
            Self::ToolCall(_) => "The analysis returned something unusable. Please try again.",
            Self::Redirected { .. } | Self::KeyOverPlainHttp { .. } => {
                "The model API is not set up safely (a redirect, or a key over plain http). An admin should run `flipfix-bot doctor`."
            }
            Self::Rejected { .. } | Self::BadResponse(_) => {
                "The analysis failed. Please try again; if it keeps failing, tell an admin."
            }
        }
    }

    /// The model answered without calling `tool`; `said` is its text.
    pub(crate) fn no_tool_call(tool: &str, said: &str) -> Self {
        let said = crate::text::truncate_chars(said.trim(), 200);
        if said.is_empty() {
            Self::ToolCall(format!("the model did not call {tool}"))
        } else {
            Self::ToolCall(format!(
                "the model did not call {tool}; it wrote: \"{said}\""
            ))
        }
    }

    /// A 400 saying the model or server does not take a forced tool choice
    /// (then `auto` with an instruction is the way). The wordings are the
    /// real ones: Anthropic with extended thinking ("Thinking may not be
    /// enabled when tool_choice forces tool use."), DeepSeek ("deepseek-
    /// reasoner does not support this tool_choice", "Thinking mode does not
    /// support this tool_choice"), Qwen on DashScope ("The tool_choice
    /// parameter does not support being set to required or object in
    /// thinking mode"), and servers that say "tool_choice … not supported" /
    /// "unsupported tool_choice".
    pub fn refuses_forced_tool_choice(&self) -> bool {
        let Self::Rejected {
            status: 400,
            message,
        } = self
        else {
            return false;
        };
        let message = message.to_lowercase();
        let about_tool_choice = message.contains("tool_choice") || message.contains("tool choice");
        about_tool_choice
            && [
                "forces tool use",
                "not support",
                "unsupported",
                "not supported",
                "may not be",
                "not allowed",
            ]
            .iter()
            .any(|phrase| message.contains(phrase))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rejected(message: &str) -> LlmError {
        LlmError::Rejected {
            status: 400,
            message: message.into(),
        }
    }

    #[test]
    fn real_refusals_of_a_forced_tool_choice_are_recognised() {
        for message in [
            "Thinking may not be enabled when tool_choice forces tool use.",
            "deepseek-reasoner does not support this tool_choice",
            "Thinking mode does not support this tool_choice",
            "<400> InternalError.Algo.InvalidParameter: The tool_choice parameter does not support being set to required or object in thinking mode",
            "tool_choice is not supported by this model",
        ] {
            assert!(rejected(message).refuses_forced_tool_choice(), "{message}");
        }
        for message in [
            "max_tokens: field required",
            "When using `tool_choice`, `tools` must be set.",
            "prompt is too long: 250000 tokens > 200000 maximum",
        ] {
            assert!(!rejected(message).refuses_forced_tool_choice(), "{message}");
        }
        let other_status = LlmError::Rejected {
            status: 422,
            message: "tool_choice is not supported".into(),
        };
        assert!(!other_status.refuses_forced_tool_choice());
    }
}
