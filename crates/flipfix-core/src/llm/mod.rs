//! Model providers (Anthropic's Messages API, OpenAI-compatible Chat
//! Completions) behind one client, and usage accounting.

mod anthropic_body;
pub mod budget;
mod client;
mod error;
mod image;
mod openai;
mod provider;
mod transport;
pub mod usage;

pub use client::{AnthropicClient, ApiAttempt, RetryPolicy, ToolAnswer, ToolRequest};
pub use error::LlmError;
pub use image::ImageInput;
pub use openai::OpenAiClient;
pub use provider::{LlmClient, ToolChoiceMemory};
pub use transport::check_key_transport;

use crate::config::{Secret, Secrets, SettingKey, Settings};

/// What the prompt says when the tool is offered (`tool_choice: auto`)
/// rather than forced: without it, a model may answer in prose.
pub(crate) fn auto_instruction(tool_name: &str) -> String {
    format!(
        "Answer only by calling the `{tool_name}` tool, exactly once, with your complete answer as its input. Do not answer in plain text; if there is nothing to record, call it with an empty list."
    )
}

/// The API key to use: the `ANTHROPIC_API_KEY` setting when an admin set
/// one, else the secret of the same name; `None` when neither is set.
pub(crate) async fn resolve_api_key(
    pool: &sqlx::PgPool,
    secrets: &Secrets,
) -> Result<Option<Secret>, crate::config::settings::SettingsError> {
    let settings = Settings::new(pool.clone(), secrets.allow_loopback_urls);
    let setting = settings.get_secret(SettingKey::AnthropicApiKey).await?;
    Ok(setting.or_else(|| secrets.anthropic_api_key.clone()))
}
