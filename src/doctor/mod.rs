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
    let stored = StoredSettings::read(&mut report, settings.as_ref(), secrets).await;

    // The provider the analysis workflow asks: its key is the one to check.
    let openai_endpoint = openai_endpoint(&inputs.workflows);
    let key_usable = match &openai_endpoint {
        Some(_) => {
            openai::key_shape(&mut report, secrets.openai_api_key.as_ref());
            false
        }
        None => local::model_key_shape(&mut report, stored.model_key.as_deref()),
    };

    if inputs.quick {
        local::media(&mut report, secrets, pool, true).await;
        report.warn("network checks", "skipped (--quick): run without --quick to check Discord, the webhook, the model key and the pages");
        return report;
    }

    check_discord(&mut report, &inputs, &stored.allowed_channels).await;
    let model_check = match (&openai_endpoint, &stored.model_key, key_usable) {
        (Some(endpoint), _, _) => ModelCheck::OpenAiCompatible(endpoint),
        (None, Some(key), true) => ModelCheck::AnthropicKey(key),
        _ => ModelCheck::Skip,
    };
    check_services(&mut report, &inputs, &stored, model_check).await;
    local::media(&mut report, secrets, pool, false).await;
    report
}

/// Settings that live in the database; unreadable ones count as unset.
#[derive(Default)]
struct StoredSettings {
    webhook: Option<String>,
    webhooks_enabled: bool,
    allowed_channels: Vec<u64>,
    /// The Anthropic key in force: the setting over the secret.
    model_key: Option<String>,
}

impl StoredSettings {
    async fn read(report: &mut Report, settings: Option<&Settings>, secrets: &Secrets) -> Self {
        let mut stored = Self {
            model_key: secrets
                .anthropic_api_key
                .as_ref()
                .map(|k| k.expose().to_string()),
            ..Self::default()
        };
        let Some(settings) = settings else {
            return stored;
        };
        stored.webhook = settings
            .raw(SettingKey::DiscordWebhookUrl)
            .await
            .ok()
            .flatten();
        stored.webhooks_enabled = settings
            .get_bool(SettingKey::DiscordWebhooksEnabled)
            .await
            .unwrap_or(false);
        stored.allowed_channels = settings
            .get_channel_list(SettingKey::DiscordAllowedChannels)
            .await
            .unwrap_or_default();
        if let Ok(Some(key)) = settings.get_secret(SettingKey::AnthropicApiKey).await {
            stored.model_key = Some(key.expose().to_string());
        }
        let role = settings
            .get_role(SettingKey::DiscordMaintainerRole)
            .await
            .ok()
            .flatten();
        local::maintainer_role(report, role);
        stored
    }
}

/// The OpenAI-compatible endpoint and model the analysis workflow asks, if
/// that is its provider.
fn openai_endpoint(workflows: &Result<Arc<Workflows>, String>) -> Option<(String, String)> {
    let menu = crate::analysis::menu(workflows.as_ref().ok()?).ok()?;
    match &menu.provider {
        crate::workflow::ModelProvider::OpenAiCompatible { base_url } => {
            Some((base_url.clone(), menu.model.clone()))
        }
        crate::workflow::ModelProvider::Anthropic => None,
    }
}

/// The token, the home server, the channels and the commands, through
/// Discord's REST API.
async fn check_discord(report: &mut Report, inputs: &Inputs<'_>, allowed_channels: &[u64]) {
    let secrets = inputs.secrets;
    let Some(token) = &secrets.discord_token else {
        return;
    };
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
        allowed_channels,
        commands,
    };
    discord::check(report, http, &expect).await;
}

/// Which model API check applies.
enum ModelCheck<'a> {
    /// The workflow's OpenAI-compatible endpoint and model.
    OpenAiCompatible(&'a (String, String)),
    /// Anthropic, with a key of a usable shape.
    AnthropicKey(&'a str),
    Skip,
}

/// The webhook, the model API and the public pages, over HTTP.
async fn check_services(
    report: &mut Report,
    inputs: &Inputs<'_>,
    stored: &StoredSettings,
    model: ModelCheck<'_>,
) {
    let secrets = inputs.secrets;
    let (client, model_client) =
        match services::client().and_then(|c| Ok((c, services::model_client()?))) {
            Ok(clients) => clients,
            Err(err) => {
                report.fail("HTTP client", format!("could not be built ({err})"));
                return;
            }
        };
    services::webhook(
        report,
        &client,
        stored.webhook.as_deref(),
        stored.webhooks_enabled,
        secrets.allow_loopback_urls,
    )
    .await;
    match model {
        ModelCheck::OpenAiCompatible((base_url, model)) => {
            openai::models(
                report,
                &model_client,
                base_url,
                secrets.openai_api_key.as_ref(),
                model,
            )
            .await;
        }
        ModelCheck::AnthropicKey(key) => {
            let model = inputs
                .workflows
                .as_ref()
                .ok()
                .and_then(|w| crate::analysis::menu(w).ok().map(|m| m.model.clone()))
                .unwrap_or_else(|| FALLBACK_MODEL.to_string());
            services::model_key(
                report,
                &model_client,
                &secrets.anthropic_base_url,
                key,
                &model,
            )
            .await;
        }
        ModelCheck::Skip => {}
    }
    services::public_url(report, &client, secrets.public_base_url.as_deref()).await;
}
