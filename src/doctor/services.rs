//! Checks against the services the bot talks to over HTTP, besides Discord's
//! API: the notification webhook, the model provider, the bot's own pages.

use std::time::Duration;

use serde_json::json;

use super::report::Report;
use crate::notify::WebhookUrl;

/// Every request doctor sends is bounded: a hung service is a finding too.
const TIMEOUT: Duration = Duration::from_secs(10);

pub fn client() -> Result<reqwest::Client, reqwest::Error> {
    reqwest::Client::builder().timeout(TIMEOUT).build()
}

/// For requests that carry a model API key: no redirects, as the bot's own
/// calls (a redirect could carry the key to another host).
pub fn model_client() -> Result<reqwest::Client, reqwest::Error> {
    reqwest::Client::builder()
        .timeout(TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .build()
}

/// The webhook exists: Discord answers a GET on it with the webhook
/// object and posts nothing.
pub async fn webhook(
    report: &mut Report,
    client: &reqwest::Client,
    raw: Option<&str>,
    enabled: bool,
    allow_loopback: bool,
) {
    const NAME: &str = "webhook";
    let Some(raw) = raw else {
        let say = "not set: notifications are not posted; set one with /flipfix config set DISCORD_WEBHOOK_URL";
        if enabled {
            report.fail(NAME, say);
        } else {
            report.warn(NAME, say);
        }
        return;
    };
    let url = match WebhookUrl::parse(raw, allow_loopback) {
        Ok(url) => url,
        Err(err) => {
            report.fail(
                NAME,
                format!("{err}: copy the URL again from the channel's Integrations → Webhooks"),
            );
            return;
        }
    };
    match client.get(url.expose().clone()).send().await {
        Ok(response) if response.status().is_success() => {
            let body: serde_json::Value = response.json().await.unwrap_or_default();
            let channel = body["channel_id"].as_str().unwrap_or("?");
            let switch = if enabled { "" } else { " (posting is off: DISCORD_WEBHOOKS_ENABLED)" };
            report.ok(NAME, format!("{url} exists, posts to channel {channel}{switch}"));
        }
        Ok(response) if matches!(response.status().as_u16(), 401 | 404) => report.fail(
            NAME,
            format!(
                "{url} answered {}: the webhook was deleted or the URL is wrong; create one and set it with /flipfix config set DISCORD_WEBHOOK_URL",
                response.status().as_u16()
            ),
        ),
        Ok(response) => report.fail(
            NAME,
            format!("{url} answered {}: try again later, or set a new webhook", response.status().as_u16()),
        ),
        Err(err) => report.fail(NAME, format!("{url} unreachable ({}): check the network", short(&err))),
    }
}

/// The model key works: a token count, which Anthropic does not bill.
pub async fn model_key(
    report: &mut Report,
    client: &reqwest::Client,
    base_url: &str,
    key: &str,
    model: &str,
) {
    const NAME: &str = "ANTHROPIC_API_KEY";
    if let Err(refused) = crate::llm::check_key_transport(base_url, NAME) {
        report.fail(NAME, refused.to_string());
        return;
    }
    let url = format!(
        "{}/v1/messages/count_tokens",
        base_url.trim_end_matches('/')
    );
    let body = json!({"model": model, "messages": [{"role": "user", "content": "ping"}]});
    let answer = client
        .post(url)
        .header("x-api-key", key)
        .header("anthropic-version", "2023-06-01")
        .json(&body)
        .send()
        .await;
    let response = match answer {
        Ok(response) => response,
        Err(err) => {
            report.fail(
                NAME,
                format!(
                    "the API is unreachable ({}): check ANTHROPIC_BASE_URL and the network",
                    short(&err)
                ),
            );
            return;
        }
    };
    let status = response.status().as_u16();
    let body: serde_json::Value = response.json().await.unwrap_or_default();
    let message = body["error"]["message"].as_str().unwrap_or_default();
    match status {
        200..=299 => report.ok(
            NAME,
            format!("accepted for {model} (checked with a free token count)"),
        ),
        300..=399 => report.fail(
            NAME,
            format!("the API answered with a redirect ({status}); redirects are not followed: set ANTHROPIC_BASE_URL to the address that serves the API"),
        ),
        401 => report.fail(
            NAME,
            "refused (401): the key is wrong or revoked; create one in the Anthropic console",
        ),
        403 => report.fail(
            NAME,
            format!("not allowed (403: {message}): check the key's workspace and permissions"),
        ),
        404 => report.fail(
            NAME,
            format!("model {model} not found (404): fix the workflow's model"),
        ),
        429 => report.warn(
            NAME,
            "rate limited (429) just now: the key works; try again in a minute",
        ),
        400 if message.contains("credit") => report.fail(
            NAME,
            format!("{message}: add credit in the Anthropic console (Plans & Billing)"),
        ),
        _ => report.fail(
            NAME,
            format!("answered {status} {message}: try again later"),
        ),
    }
}

/// The pages the bot links to answer, reached the way users reach them.
pub async fn public_url(report: &mut Report, client: &reqwest::Client, base: Option<&str>) {
    const NAME: &str = "PUBLIC_BASE_URL";
    let Some(base) = base else {
        report.warn(NAME, "not set: messages carry no links to record pages; set it to where the bot's pages are reachable");
        return;
    };
    let url = format!("{base}/healthz");
    match client.get(&url).send().await {
        Ok(response) if response.status().is_success() => report.ok(NAME, format!("{url} answers")),
        Ok(response) => report.fail(
            NAME,
            format!(
                "{url} answered {}: point it at this bot's pages (HTTP_BIND or PORT)",
                response.status().as_u16()
            ),
        ),
        Err(err) => report.fail(
            NAME,
            format!(
                "{url} unreachable ({}): check DNS, the proxy and that the bot is running",
                short(&err)
            ),
        ),
    }
}

/// reqwest's error without the URL (which may hold a webhook token).
fn short(err: &reqwest::Error) -> &'static str {
    if err.is_timeout() {
        "timed out"
    } else if err.is_connect() {
        "connection failed"
    } else {
        "request failed"
    }
}
