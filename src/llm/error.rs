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
    #[error("the API key was refused (HTTP {status})")]
    Unauthorized { status: u16 },
    #[error("the API refused the request (HTTP {status}): {message}")]
    Rejected { status: u16, message: String },
    #[error("no answer within {seconds} s")]
    Timeout { seconds: u64 },
    #[error("could not reach the API: {0}")]
    Network(String),
    #[error("unexpected API answer: {0}")]
    BadResponse(String),
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
            Self::Unauthorized { .. } => {
                "The Anthropic API key was refused. An admin should check ANTHROPIC_API_KEY."
            }
            Self::Timeout { .. } => "The analysis took too long. Please try again.",
            Self::Rejected { .. } | Self::BadResponse(_) => {
                "The analysis failed. Please try again; if it keeps failing, tell an admin."
            }
        }
    }
}
