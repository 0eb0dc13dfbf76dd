//! One face over both model fakes (Anthropic's Messages API and the
//! OpenAI-compatible Chat Completions API), so a test states its script once
//! and runs against either provider, with workflows that name that provider.

use std::sync::Arc;
use std::time::Duration;

use flipfix_bot::config::Secret;
use flipfix_bot::llm::{LlmClient, RetryPolicy};
use flipfix_bot::template_check::load_workflows;
use flipfix_bot::workflow::Workflows;
use serde_json::{json, Value};

use super::anthropic::{self, FakeAnthropic};
use super::openai::{self, FakeOpenAi};
use super::{copy_workflows, repo_root};

/// Each named `async fn NAME(pool, provider)` of the calling module runs
/// once per provider, as the tests `NAME::anthropic` and
/// `NAME::openai_compatible`.
#[macro_export]
macro_rules! for_both_providers {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[sqlx::test(migrations = "./migrations")]
            async fn anthropic(pool: sqlx::PgPool) {
                super::$name(pool, $crate::support::model_api::Provider::Anthropic).await
            }
            #[sqlx::test(migrations = "./migrations")]
            async fn openai_compatible(pool: sqlx::PgPool) {
                super::$name(pool, $crate::support::model_api::Provider::OpenAiCompatible).await
            }
        }
    )*};
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Provider {
    Anthropic,
    OpenAiCompatible,
}

/// The token counts every scripted answer reports, whichever the provider:
/// 412 plain input, 5,200 read from the cache, 118 output.
pub const INPUT: i64 = 412;
pub const CACHE_READ: i64 = 5200;
pub const OUTPUT: i64 = 118;

/// A scripted answer, in provider-neutral terms.
#[derive(Debug, Clone)]
pub enum Say {
    /// A `record_suggestions` call with this input.
    Tool(Value),
    /// An API error with this status and `retry-after`.
    Error(u16, Option<&'static str>),
    /// Plain text instead of the tool call.
    Text(&'static str),
    /// No answer for this long.
    Slow(Duration),
    /// A 307 to this URL.
    Redirect(String),
}

pub enum Fake {
    Anthropic(FakeAnthropic),
    OpenAi(FakeOpenAi),
}

impl Fake {
    pub async fn start(provider: Provider, script: Vec<Say>) -> Self {
        match provider {
            Provider::Anthropic => Self::Anthropic(
                FakeAnthropic::start(script.into_iter().map(anthropic_reply).collect()).await,
            ),
            Provider::OpenAiCompatible => Self::OpenAi(
                FakeOpenAi::start(script.into_iter().map(openai_reply).collect()).await,
            ),
        }
    }

    /// Answers every forced tool choice with a 400 saying `message`.
    pub fn refusing_forced_tool_choice(self, message: &str) -> Self {
        match self {
            Self::Anthropic(fake) => Self::Anthropic(fake.refusing_forced_tool_choice(message)),
            Self::OpenAi(fake) => Self::OpenAi(fake.refusing_forced_tool_choice(message)),
        }
    }

    pub fn provider(&self) -> Provider {
        match self {
            Self::Anthropic(_) => Provider::Anthropic,
            Self::OpenAi(_) => Provider::OpenAiCompatible,
        }
    }

    pub fn base_url(&self) -> &str {
        match self {
            Self::Anthropic(fake) => &fake.base_url,
            Self::OpenAi(fake) => &fake.base_url,
        }
    }

    /// Request bodies, in order.
    pub fn bodies(&self) -> Vec<Value> {
        match self {
            Self::Anthropic(fake) => fake.received().into_iter().map(|r| r.body).collect(),
            Self::OpenAi(fake) => {
                let violations = fake.violations();
                assert!(
                    violations.is_empty(),
                    "requests OpenAI would refuse: {violations:#?}"
                );
                fake.received().into_iter().map(|r| r.body).collect()
            }
        }
    }

    /// The conversation part of a request body (the user message).
    pub fn user_text(&self, body: &Value) -> String {
        let at = match self {
            Self::Anthropic(_) => "/messages/0/content",
            Self::OpenAi(_) => "/messages/1/content",
        };
        body.pointer(at)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    }

    /// What a request asked of the tool: `forced` or `auto`.
    pub fn tool_choice(&self, body: &Value) -> &'static str {
        let forced = match self {
            Self::Anthropic(_) => {
                body["tool_choice"] == json!({"type": "tool", "name": "record_suggestions"})
            }
            Self::OpenAi(_) => {
                body["tool_choice"]
                    == json!({"type": "function", "function": {"name": "record_suggestions"}})
            }
        };
        let auto = match self {
            Self::Anthropic(_) => body["tool_choice"] == json!({"type": "auto"}),
            Self::OpenAi(_) => body["tool_choice"] == json!("auto"),
        };
        match (forced, auto) {
            (true, _) => "forced",
            (_, true) => "auto",
            _ => "neither",
        }
    }

    /// The whole prompt a request carries (system and conversation).
    pub fn prompt_text(&self, body: &Value) -> String {
        match self {
            Self::Anthropic(_) => body["system"]
                .as_array()
                .into_iter()
                .flatten()
                .chain(std::iter::once(&body["messages"][0]))
                .map(|b| {
                    b["text"]
                        .as_str()
                        .or_else(|| b["content"].as_str())
                        .unwrap_or_default()
                        .to_string()
                })
                .collect::<Vec<_>>()
                .join("\n"),
            Self::OpenAi(_) => body["messages"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|m| m["content"].as_str())
                .collect::<Vec<_>>()
                .join("\n"),
        }
    }

    /// The model id the fake answers as (what `llm_usage.model` records).
    pub fn answering_model(&self) -> &'static str {
        match self {
            Self::Anthropic(_) => "claude-haiku-4-5-20251001",
            Self::OpenAi(_) => openai::MODEL,
        }
    }

    pub fn request_id(&self) -> &'static str {
        match self {
            Self::Anthropic(_) => "req_011FakeRequestId",
            Self::OpenAi(_) => "req_fake_openai_1",
        }
    }

    /// The key the provider's client sends.
    pub fn key(&self) -> Secret {
        match self {
            Self::Anthropic(_) => Secret::new("sk-ant-test-key"),
            Self::OpenAi(_) => Secret::new("sk-openai-test-key"),
        }
    }

    /// The shipped workflows, pointed at this fake: for the OpenAI-compatible
    /// one, `provider`, `base_url` and the fake's model (priced at `price`)
    /// are written into a copy of the YAML, so the real loader reads them.
    pub fn workflows(&self, extra_yaml: &str) -> Arc<Workflows> {
        let price = "{input: 0.15, output: 0.60, cache_write: 0, cache_read: 0.075}";
        workflows_for(self.provider(), self.base_url(), price, extra_yaml)
    }

    /// A client for this fake with quick retries.
    pub fn client(&self, timeout: Duration) -> LlmClient {
        let workflows = self.workflows("");
        let menu = flipfix_bot::analysis::menu(&workflows).expect("a context menu");
        LlmClient::new(&menu.provider, self.base_url(), timeout, quick_retries()).expect("client")
    }
}

/// Short delays: the tests exercise the policy, not the wall clock.
pub fn quick_retries() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 3,
        base_delay: Duration::from_millis(5),
        max_delay: Duration::from_secs(2),
        max_total: Duration::from_secs(10),
    }
}

/// The shipped workflows for `provider` (`base_url` is the OpenAI-compatible
/// server's), with `extra_yaml` lines added to the context menu.
pub fn workflows_for(
    provider: Provider,
    base_url: &str,
    price: &str,
    extra_yaml: &str,
) -> Arc<Workflows> {
    let dir = workflow_dir_for(provider, base_url, price, extra_yaml);
    load_workflows(&dir.path().join("workflows"), &dir.path().join("prompts"))
        .unwrap_or_else(|problems| panic!("test workflows must load:\n{problems}"))
}

/// A copy of the shipped `workflows/` and `prompts/` whose context menu
/// asks `provider` (see [`workflows_for`]), for the binary to read.
pub fn workflow_dir_for(
    provider: Provider,
    base_url: &str,
    price: &str,
    extra_yaml: &str,
) -> tempfile::TempDir {
    let dir = copy_workflows();
    let file = dir.path().join("workflows/add_to_flipfix.yaml");
    let yaml = std::fs::read_to_string(&file).expect("read workflow");
    let model_line = "      model: claude-haiku-4-5\n";
    assert!(
        yaml.contains(model_line),
        "the shipped workflow names its model"
    );
    let mut head = String::new();
    if provider == Provider::OpenAiCompatible {
        head.push_str(&format!(
            "      provider: openai_compatible\n      base_url: {base_url}\n      model: \"{}\"\n",
            openai::MODEL
        ));
    } else {
        head.push_str(model_line);
    }
    for line in extra_yaml.lines() {
        head.push_str(&format!("      {line}\n"));
    }
    let mut yaml = yaml.replace(model_line, &head);
    if provider == Provider::OpenAiCompatible {
        yaml = yaml.replace(
            "      prices:\n",
            &format!("      prices:\n        \"{}\": {price}\n", openai::MODEL),
        );
    }
    std::fs::write(&file, yaml).expect("write workflow");
    dir
}

/// The tool input of a reference answer (`tests/fixtures/reference_answers`).
pub fn reference_input(name: &str) -> Value {
    let path = repo_root().join(format!("tests/fixtures/reference_answers/{name}.json"));
    let body: Value =
        serde_json::from_str(&std::fs::read_to_string(path).expect("read")).expect("json");
    body["content"][0]["input"].clone()
}

fn anthropic_reply(say: Say) -> anthropic::Reply {
    match say {
        Say::Tool(input) => anthropic::Reply::body(json!({
            "id": "msg_01FakeFakeFakeFakeFake",
            "type": "message",
            "role": "assistant",
            "model": "claude-haiku-4-5-20251001",
            "content": [{"type": "tool_use", "id": "toolu_01Fake", "name": "record_suggestions", "input": input}],
            "stop_reason": "tool_use",
            "stop_sequence": null,
            "usage": {"input_tokens": INPUT, "cache_creation_input_tokens": 0,
                      "cache_read_input_tokens": CACHE_READ, "output_tokens": OUTPUT,
                      "service_tier": "standard"},
        })),
        Say::Text(text) => anthropic::Reply::body(json!({
            "id": "msg_01FakeFakeFakeFakeFake",
            "type": "message",
            "role": "assistant",
            "model": "claude-haiku-4-5-20251001",
            "content": [{"type": "text", "text": text}],
            "stop_reason": "end_turn",
            "stop_sequence": null,
            "usage": {"input_tokens": INPUT, "cache_creation_input_tokens": 0,
                      "cache_read_input_tokens": CACHE_READ, "output_tokens": OUTPUT},
        })),
        Say::Error(status, retry_after) => {
            let kind = match status {
                400 => "invalid_request_error",
                401 => "authentication_error",
                429 => "rate_limit_error",
                529 => "overloaded_error",
                _ => "api_error",
            };
            anthropic::Reply::error(status, kind, retry_after)
        }
        Say::Slow(delay) => anthropic::Reply::Slow(delay),
        Say::Redirect(to) => anthropic::Reply::Json {
            status: 307,
            headers: vec![("location".into(), to)],
            body: json!({}),
        },
    }
}

fn openai_reply(say: Say) -> openai::Reply {
    let usage = json!({"prompt_tokens": INPUT + CACHE_READ, "completion_tokens": OUTPUT,
        "total_tokens": INPUT + CACHE_READ + OUTPUT,
        "prompt_tokens_details": {"cached_tokens": CACHE_READ}});
    let with_usage = |reply: openai::Reply| match reply {
        openai::Reply::Json {
            status,
            headers,
            mut body,
        } => {
            body["usage"] = usage.clone();
            openai::Reply::Json {
                status,
                headers,
                body,
            }
        }
        other => other,
    };
    match say {
        Say::Tool(input) => with_usage(openai::Reply::tool_call(input)),
        Say::Text(text) => with_usage(openai::Reply::text(text)),
        Say::Error(status, retry_after) => {
            let kind = match status {
                400 | 401 => "invalid_request_error",
                429 => "requests",
                _ => "server_error",
            };
            openai::Reply::error(status, kind, retry_after)
        }
        Say::Slow(delay) => openai::Reply::Slow(delay),
        Say::Redirect(to) => openai::Reply::Json {
            status: 307,
            headers: vec![("location".into(), to)],
            body: json!({}),
        },
    }
}
