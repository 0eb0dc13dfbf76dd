//! The model check for a workflow with `provider: openai_compatible`: the
//! server at `base_url` answers `GET /models` and lists the workflow's model
//! (free on every server, and the request a misconfiguration fails first).

use serde_json::Value;

use super::report::Report;
use crate::config::Secret;

const NAME: &str = "model API";

/// `OPENAI_API_KEY`'s shape: optional (local servers need none).
pub fn key_shape(report: &mut Report, key: Option<&Secret>) {
    match key {
        None => report.ok(
            "OPENAI_API_KEY",
            "not set: requests go without a key (right for Ollama, vLLM and llama.cpp's server; OpenAI needs one)",
        ),
        Some(key) if key.expose().chars().any(char::is_whitespace) => report.fail(
            "OPENAI_API_KEY",
            "contains spaces: copy it again, without them",
        ),
        Some(_) => report.ok("OPENAI_API_KEY", "set"),
    }
}

/// `GET {base_url}/models` answers and lists `model`.
pub async fn models(
    report: &mut Report,
    client: &reqwest::Client,
    base_url: &str,
    key: Option<&Secret>,
    model: &str,
) {
    if key.is_some() {
        if let Err(refused) = crate::llm::check_key_transport(base_url, "OPENAI_API_KEY") {
            report.fail(NAME, refused.to_string());
            return;
        }
    }
    let url = format!("{}/models", base_url.trim_end_matches('/'));
    let mut request = client.get(&url);
    if let Some(key) = key {
        request = request.bearer_auth(key.expose());
    }
    let response = match request.send().await {
        Ok(response) => response,
        Err(err) => {
            let why = if err.is_timeout() {
                "timed out"
            } else if err.is_connect() {
                "connection failed"
            } else {
                "request failed"
            };
            report.fail(
                NAME,
                format!("{url} unreachable ({why}): check the workflow's base_url and that the server runs"),
            );
            return;
        }
    };
    let status = response.status().as_u16();
    let body: Value = response.json().await.unwrap_or_default();
    match status {
        200..=299 => {
            let ids: Vec<&str> = body["data"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|m| m["id"].as_str())
                .collect();
            if ids.contains(&model) {
                report.ok(NAME, format!("{url} lists {model}"));
            } else {
                let listed = if ids.is_empty() {
                    "none".to_string()
                } else {
                    crate::text::truncate_chars(&ids.join(", "), 200)
                };
                report.fail(
                    NAME,
                    format!("{url} does not list {model} (it lists: {listed}): fix the workflow's model, or pull the model on the server"),
                );
            }
        }
        300..=399 => report.fail(
            NAME,
            format!("{url} answered with a redirect ({status}); redirects are not followed: set the workflow's base_url to the address that serves the API"),
        ),
        401 | 403 => report.fail(
            NAME,
            format!("{url} refused the key ({status}): set OPENAI_API_KEY to a key this server accepts"),
        ),
        404 => report.fail(
            NAME,
            format!("{url} answered 404: base_url must end where /chat/completions follows (often …/v1)"),
        ),
        429 => report.warn(
            NAME,
            format!("{url} is rate limited (429) just now: try again in a minute"),
        ),
        _ => report.fail(NAME, format!("{url} answered {status}: try again later")),
    }
}
