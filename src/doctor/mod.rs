//! `flipfix-bot doctor` and `/flipfix doctor`: every configuration mistake we
//! know of, checked at once, each with one line of what to do.
//!
//! `report`, `permissions`, `local` and `services` know nothing of Discord;
//! `discord` turns serenity's answers into their plain facts.

pub mod discord;
pub mod health;
pub mod local;
pub mod openai;
pub mod permissions;
pub mod report;
pub mod run;
pub mod services;

use std::sync::Arc;

use poise::serenity_prelude as serenity;
use sqlx::PgPool;

use crate::config::settings::{SettingKey, Settings};
use crate::config::Secrets;
use crate::workflow::Workflows;
pub use report::{Check, Report, Status};

/// The model asked for the token count when no workflow names one.
const FALLBACK_MODEL: &str = "claude-haiku-4-5";

/// What doctor works from.
pub struct Inputs<'a> {
    pub secrets: &'a Secrets,
    /// The database, or why it could not be reached.
    pub pool: Result<&'a PgPool, String>,
    /// The loaded workflows, or a summary of their problems.
    pub workflows: Result<Arc<Workflows>, String>,
    /// The bot's REST client when it runs inside the bot; else one is built.
    pub http: Option<&'a serenity::Http>,
    /// Skip every network check (Discord, webhook, model, pages).
    pub quick: bool,
}

pub async fn diagnose(inputs: Inputs<'_>) -> Report {
    let mut report = Report::default();
    let secrets = inputs.secrets;
    local::secrets(&mut report, secrets);

    let pool = inputs.pool.as_ref().ok().copied();
    let settings = match &inputs.pool {
        Ok(pool) => {
            report.ok("database", "reachable");
            local::migrations(&mut report, pool).await;
            Some(Settings::new((*pool).clone(), secrets.allow_loopback_urls))
        }
        Err(err) => {
            report.fail(
                "database",
                format!("{err}: check DATABASE_URL and that Postgres runs"),
            );
            None
        }
    };
    local::workflows(&mut report, &inputs.workflows);

    // Settings that live in the database; unreadable ones count as unset.
    let mut webhook = None;
    let mut webhooks_enabled = false;
    let mut allowed_channels = Vec::new();
    let mut model_key = secrets
        .anthropic_api_key
        .as_ref()
        .map(|k| k.expose().to_string());
    if let Some(settings) = &settings {
        webhook = settings
            .raw(SettingKey::DiscordWebhookUrl)
            .await
            .ok()
            .flatten();
        webhooks_enabled = settings
            .get_bool(SettingKey::DiscordWebhooksEnabled)
            .await
            .unwrap_or(false);
        allowed_channels = settings
            .get_channel_list(SettingKey::DiscordAllowedChannels)
            .await
            .unwrap_or_default();
        if let Ok(Some(key)) = settings.get_secret(SettingKey::AnthropicApiKey).await {
            model_key = Some(key.expose().to_string());
        }
        let role = settings
            .get_role(SettingKey::DiscordMaintainerRole)
            .await
            .ok()
            .flatten();
        local::maintainer_role(&mut report, role);
    }
    // The provider the analysis workflow asks: its key is the one to check.
    let openai_endpoint = inputs.workflows.as_ref().ok().and_then(|w| {
        let menu = w.context_menu.as_ref()?;
        match &menu.provider {
            crate::workflow::ModelProvider::OpenAiCompatible { base_url } => {
                Some((base_url.clone(), menu.model.clone()))
            }
            crate::workflow::ModelProvider::Anthropic => None,
        }
    });
    let key_usable = match &openai_endpoint {
        Some(_) => {
            openai::key_shape(&mut report, secrets.openai_api_key.as_ref());
            false
        }
        None => local::model_key_shape(&mut report, model_key.as_deref()),
    };

    if inputs.quick {
        local::media(&mut report, secrets, pool, true).await;
        report.warn("network checks", "skipped (--quick): run without --quick to check Discord, the webhook, the model key and the pages");
        return report;
    }

    if let Some(token) = &secrets.discord_token {
        let built;
        let http = match inputs.http {
            Some(http) => http,
            None => {
                built = discord::http(token.expose(), secrets.discord_proxy_url.as_deref());
                &built
            }
        };
        let commands = match &inputs.workflows {
            Ok(workflows) => crate::discord::commands(workflows)
                .iter()
                .map(|c| {
                    c.context_menu_name
                        .as_deref()
                        .unwrap_or(&c.name)
                        .to_string()
                })
                .collect(),
            Err(_) => Vec::new(),
        };
        let expect = discord::Expect {
            guild_id: secrets.discord_guild_id,
            allowed_channels: &allowed_channels,
            commands,
        };
        discord::check(&mut report, http, &expect).await;
    }

    match services::client().and_then(|c| Ok((c, services::model_client()?))) {
        Ok((client, model_client)) => {
            services::webhook(
                &mut report,
                &client,
                webhook.as_deref(),
                webhooks_enabled,
                secrets.allow_loopback_urls,
            )
            .await;
            if let Some((base_url, model)) = &openai_endpoint {
                openai::models(
                    &mut report,
                    &model_client,
                    base_url,
                    secrets.openai_api_key.as_ref(),
                    model,
                )
                .await;
            } else if let (Some(key), true) = (&model_key, key_usable) {
                let model = inputs
                    .workflows
                    .as_ref()
                    .ok()
                    .and_then(|w| w.context_menu.as_ref().map(|m| m.model.clone()))
                    .unwrap_or_else(|| FALLBACK_MODEL.to_string());
                services::model_key(
                    &mut report,
                    &model_client,
                    &secrets.anthropic_base_url,
                    key,
                    &model,
                )
                .await;
            }
            services::public_url(&mut report, &client, secrets.public_base_url.as_deref()).await;
        }
        Err(err) => report.fail("HTTP client", format!("could not be built ({err})")),
    }
    local::media(&mut report, secrets, pool, false).await;
    report
}
