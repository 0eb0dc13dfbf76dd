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
    // The key of the provider the workflow asks (a local server needs none).
    let client = app.llm()?;
    let key = match (
        client.resolve_key(&app.pool, &app.secrets).await?.is_some(),
        client.needs_key(),
    ) {
        (true, _) => "set",
        (false, true) => "not set",
        (false, false) => "not set (optional for this provider)",
    };
    let model = crate::analysis::menu(&workflows)
        .map(|menu| menu.model.clone())
        .unwrap_or_else(|_| "not configured".into());
    let today = app
        .clock
        .now()
        .date_naive()
        .and_hms_opt(0, 0, 0)
        .unwrap_or_default()
        .and_utc();
    let spent_today = crate::llm::usage::total_cost_since(&app.pool, today).await?;
    let webhooks_on = app
        .settings
        .get_bool(SettingKey::DiscordWebhooksEnabled)
        .await?;
    let webhook = app.settings.get_webhook_url().await?;
    let queue = crate::notify::outbox::queue_status(&app.pool).await?;
    let parked = crate::notify::outbox::parked(&app.pool).await?;
    let mut delivery = format!("**Webhook queue:** {} waiting", queue.pending);
    if queue.failed > 0 {
        delivery.push_str(&format!(
            ", {} failed (`/flipfix notifications list`)",
            queue.failed
        ));
    }
    if let Some(at) = queue.last_delivered_at {
        delivery.push_str(&format!(", last delivery <t:{}:R>", at.timestamp()));
    }
    if let Some(parked) = &parked {
        delivery.push_str(&format!(
            "\n⛔ **Parked** since <t:{}:R>: {} (fix or change DISCORD_WEBHOOK_URL)",
            parked.at.timestamp(),
            parked.error
        ));
    } else if let Some(error) = &queue.last_error {
        delivery.push_str(&format!("\n⚠️ **Last delivery error:** {error}"));
    }
    let mut summaries = Vec::new();
    for summary in &workflows.summaries {
        let last = match crate::summary::post::last_decision(&app.pool, &summary.name).await? {
            Some(last) => format!(
                "last {}: {} ({} record(s))",
                last.local_date,
                last.outcome.replace('_', " "),
                last.record_count
            ),
            None => "not decided yet".to_string(),
        };
        summaries.push(format!(
            "`{}` at {} {}, {last}",
            summary.name,
            summary.at.format("%H:%M"),
            summary.timezone
        ));
    }
    let summaries = if summaries.is_empty() {
        "none declared".to_string()
    } else {
        summaries.join("; ")
    };
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
            "**Model ({}):** model `{model}`, API key {}, spent today ${spent_today:.4}",
            client.provider_name(),
            key
        ),
        format!(
            "**Webhook notifications:** {}; URL {}",
            if webhooks_on { "on" } else { "off" },
            webhook
                .map(|url| format!("`{url}`"))
                .unwrap_or_else(|| "not set".into())
        ),
        delivery,
        format!("**Daily summaries:** {summaries}"),
    ];
    reply::ephemeral_embed(ctx, "flipfix status", &lines.join("\n")).await
}
