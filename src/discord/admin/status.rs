//! `/flipfix status`: is everything the bot needs in order?

use crate::config::SettingKey;
use crate::discord::{reply, Context, Error};

/// Show the bot's health.
#[poise::command(slash_command)]
pub async fn status(ctx: Context<'_>) -> Result<(), Error> {
    let app = ctx.data();
    let database = match sqlx::query_scalar::<_, i32>("SELECT 1")
        .fetch_one(&app.pool)
        .await
    {
        Ok(_) => "✅ reachable".to_string(),
        Err(err) => format!("❌ {err}"),
    };
    let workflows = app.workflows();
    let key_set = app
        .settings
        .get_secret(SettingKey::AnthropicApiKey)
        .await?
        .is_some()
        || app.secrets.anthropic_api_key.is_some();
    let webhooks_on = app
        .settings
        .get_bool(SettingKey::DiscordWebhooksEnabled)
        .await?;
    let webhook = app.settings.get_webhook_url().await?;
    let lines = [
        format!("**Version:** {}", env!("CARGO_PKG_VERSION")),
        format!("**Database:** {database}"),
        format!(
            "**Workflows:** version `{}`, loaded <t:{}:R>, kinds: {}",
            workflows.version,
            workflows.loaded_at.timestamp(),
            workflows.kinds.names().join(", ")
        ),
        format!(
            "**Claude API key:** {}",
            if key_set { "set" } else { "not set" }
        ),
        format!(
            "**Webhook notifications:** {}; URL {}",
            if webhooks_on { "on" } else { "off" },
            webhook
                .map(|url| format!("`{url}`"))
                .unwrap_or_else(|| "not set".into())
        ),
    ];
    reply::ephemeral_embed(ctx, "flipfix status", &lines.join("\n")).await
}
