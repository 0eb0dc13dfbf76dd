//! The Anthropic Messages API client and usage accounting.

pub mod budget;
mod client;
mod error;
mod image;
pub mod usage;

pub use client::{AnthropicClient, ApiAttempt, RetryPolicy, ToolAnswer, ToolRequest};
pub use error::LlmError;
pub use image::ImageInput;

use crate::config::{Secret, Secrets, SettingKey, Settings};

/// The API key to use: the `ANTHROPIC_API_KEY` setting when an admin set
/// one, else the secret of the same name; `None` when neither is set.
pub async fn resolve_api_key(
    pool: &sqlx::PgPool,
    secrets: &Secrets,
) -> Result<Option<Secret>, crate::config::settings::SettingsError> {
    let settings = Settings::new(pool.clone(), secrets.allow_loopback_urls);
    let setting = settings.get_secret(SettingKey::AnthropicApiKey).await?;
    Ok(setting.or_else(|| secrets.anthropic_api_key.clone()))
}
