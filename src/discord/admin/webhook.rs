//! `/flipfix webhook test`: post a test message and report Discord's answer.

use serde_json::json;

use crate::discord::{reply, Context, Error};
use crate::notify::webhook_client::{PostError, WebhookClient, DEFAULT_TIMEOUT};

/// The notification webhook.
#[poise::command(slash_command, subcommands("test"), subcommand_required)]
pub async fn webhook(_ctx: Context<'_>) -> Result<(), Error> {
    Ok(())
}

/// Post a test message to DISCORD_WEBHOOK_URL and show Discord's answer.
#[poise::command(slash_command)]
async fn test(ctx: Context<'_>) -> Result<(), Error> {
    ctx.defer_ephemeral().await?;
    let app = ctx.data();
    let Some(url) = app.settings.get_webhook_url().await? else {
        return reply::ephemeral(ctx, "No webhook is configured. Set one with `/flipfix config set DISCORD_WEBHOOK_URL <url>`.").await;
    };
    let payload = json!({
        "content": format!("✅ flipfix-bot webhook test, sent by {}.", ctx.author().name),
        "allowed_mentions": {"parse": []},
    });
    let client = WebhookClient::new(DEFAULT_TIMEOUT)?;
    let answer = match client.post(&url, &payload).await {
        Ok(posted) => match posted.message_id {
            Some(id) => {
                format!("✅ Discord accepted the test message (message id {id}) on `{url}`.")
            }
            None => format!("✅ Discord accepted the test message on `{url}`."),
        },
        Err(err @ PostError::WebhookGone { .. }) => {
            format!("❌ {err}. The webhook was deleted or the URL is wrong: set a new one with `/flipfix config set DISCORD_WEBHOOK_URL`.")
        }
        Err(err) => format!("❌ {err}."),
    };
    reply::ephemeral(ctx, answer).await
}
