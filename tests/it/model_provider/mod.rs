//! No model lock-in: the workflow's `provider`, `base_url` and `tool_choice`
//! (validated with file:line:column), the fallback from a refused forced tool
//! choice to `auto`, and the fake OpenAI-compatible API's own strictness;
//! `tools` runs `replay --live`, `eval --live` and doctor against either
//! provider's fake.

mod tools;

use std::time::Duration;

use flipfix_bot::analysis::scenario::Scenario;
use flipfix_bot::analysis::{analyze, Analysis, AnalysisDeps, AnalysisError, AnalysisRequest};
use flipfix_bot::llm::{LlmClient, LlmError};
use flipfix_bot::template_check::load_workflows;
use serde_json::json;
use sqlx::PgPool;

use crate::support::logs::CapturedLogs;
use crate::support::model_api::{Fake, Provider, Say};
use crate::support::openai::{FakeOpenAi, Reply};
use crate::support::openai_spec::check_chat_request;
use crate::support::{copy_workflows, shared_dir};

crate::for_both_providers!(
    a_refused_forced_tool_choice_falls_back_to_auto_once_and_is_remembered,
    tool_choice_auto_in_the_workflow_is_sent_as_auto,
);

const SECOND: Duration = Duration::from_secs(5);

/// The real refusals (see `LlmError::refuses_forced_tool_choice`).
fn refusal(provider: Provider) -> &'static str {
    match provider {
        Provider::Anthropic => "Thinking may not be enabled when tool_choice forces tool use.",
        Provider::OpenAiCompatible => "deepseek-reasoner does not support this tool_choice",
    }
}

fn scenario(name: &str) -> Scenario {
    Scenario::load(&shared_dir().join(format!("scenarios/flipfix-eval/{name}.yaml"))).unwrap()
}

/// Analyses the social scenario through `client` against `fake`, with
/// `extra_yaml` appended to the workflow (shared with `model_transport`).
pub(crate) async fn analyse(
    pool: &PgPool,
    fake: &Fake,
    client: &LlmClient,
    extra_yaml: &str,
) -> Result<Analysis, AnalysisError> {
    let scenario = scenario("no_maintenance_social");
    let workflows = fake.workflows(extra_yaml);
    let key = fake.key();
    let deps = AnalysisDeps {
        pool,
        workflows: &workflows,
        client,
        api_key: Some(&key),
        progress: None,
        limits: None,
        allow_loopback_urls: false,
        clock: &flipfix_bot::clock::SystemClock,
    };
    let request = AnalysisRequest {
        guild_id: None,
        channel_id: scenario.target_channel_id,
        target_id: scenario.target_id,
        requested_by: "1002000000000000001".into(),
        run_id: None,
    };
    analyze(&deps, &scenario, &request).await
}

async fn a_refused_forced_tool_choice_falls_back_to_auto_once_and_is_remembered(
    pool: PgPool,
    provider: Provider,
) {
    let logs = CapturedLogs::capture();
    let fake = Fake::start(provider, vec![Say::Tool(json!({"suggestions": []}))])
        .await
        .refusing_forced_tool_choice(refusal(provider));
    let client = fake.client(SECOND);

    let analysis = analyse(&pool, &fake, &client, "").await.unwrap();
    assert!(analysis.is_empty());
    let bodies = fake.bodies();
    assert_eq!(bodies.len(), 2, "the refused request and one retry");
    assert_eq!(fake.tool_choice(&bodies[0]), "forced");
    assert!(!fake
        .prompt_text(&bodies[0])
        .contains("Answer only by calling"));
    assert_eq!(fake.tool_choice(&bodies[1]), "auto");
    assert!(
        fake.prompt_text(&bodies[1])
            .contains("Answer only by calling the `record_suggestions` tool"),
        "request 2 carries the instruction"
    );

    // The next analysis on that model goes straight to auto.
    analyse(&pool, &fake, &client, "").await.unwrap();
    let bodies = fake.bodies();
    assert_eq!(bodies.len(), 3);
    assert_eq!(fake.tool_choice(&bodies[2]), "auto");

    let text = logs.text();
    assert_eq!(
        text.matches("refuses a forced tool choice").count(),
        1,
        "warned once:\n{text}"
    );
    assert!(text.contains("WARN"), "{text}");
    logs.assert_never_logged(&[fake.key().expose()]);
    // Every attempt is accounted: the refused one (free) and two answers.
    let outcomes: Vec<String> = sqlx::query_scalar("SELECT outcome FROM llm_usage ORDER BY id")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert_eq!(outcomes, ["HTTP 400", "ok", "ok"]);
}

async fn tool_choice_auto_in_the_workflow_is_sent_as_auto(pool: PgPool, provider: Provider) {
    let fake = Fake::start(provider, vec![Say::Tool(json!({"suggestions": []}))]).await;
    let client = fake.client(SECOND);
    let model = match provider {
        Provider::Anthropic => "claude-haiku-4-5",
        Provider::OpenAiCompatible => "\"qwen3:8b\"",
    };
    let yaml = format!("tool_choice:\n  default: forced\n  models:\n    {model}: auto");
    analyse(&pool, &fake, &client, &yaml).await.unwrap();
    let bodies = fake.bodies();
    assert_eq!(bodies.len(), 1);
    assert_eq!(fake.tool_choice(&bodies[0]), "auto");
    assert!(fake
        .prompt_text(&bodies[0])
        .contains("Answer only by calling the `record_suggestions` tool"));

    // `tool_choice: forced` for every model is the shipped behaviour.
    let fake = Fake::start(provider, vec![Say::Tool(json!({"suggestions": []}))]).await;
    analyse(&pool, &fake, &fake.client(SECOND), "tool_choice: forced")
        .await
        .unwrap();
    assert_eq!(fake.tool_choice(&fake.bodies()[0]), "forced");
}

#[sqlx::test(migrations = "./migrations")]
async fn an_auto_answer_without_a_tool_call_is_a_schema_error_and_not_retried(pool: PgPool) {
    let fake = Fake::start(
        Provider::OpenAiCompatible,
        vec![Say::Text("There is nothing to record in this chat.")],
    )
    .await;
    let err = analyse(&pool, &fake, &fake.client(SECOND), "tool_choice: auto")
        .await
        .unwrap_err();
    assert!(
        matches!(&err, AnalysisError::Llm(LlmError::ToolCall(m)) if m.contains("did not call record_suggestions")),
        "{err}"
    );
    assert_eq!(
        err.user_message(),
        "The analysis returned something unusable. Please try again."
    );
    assert_eq!(fake.bodies().len(), 1, "no retry loop");
}

#[sqlx::test(migrations = "./migrations")]
async fn a_400_about_something_else_is_not_retried_as_auto(pool: PgPool) {
    let fake = FakeOpenAi::start(vec![Reply::error_saying(
        400,
        "invalid_request_error",
        "This model's maximum context length is 8192 tokens.",
        None,
    )])
    .await;
    let fake = Fake::OpenAi(fake);
    let err = analyse(&pool, &fake, &fake.client(SECOND), "")
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            AnalysisError::Llm(LlmError::Rejected { status: 400, .. })
        ),
        "{err}"
    );
    assert_eq!(fake.bodies().len(), 1);
}

#[test]
fn the_fake_refuses_what_openai_would_refuse() {
    // The Anthropic shape is not a Chat Completions request.
    let anthropic_shaped = json!({
        "model": "m", "max_tokens": 10,
        "system": [{"type": "text", "text": "s"}],
        "messages": [{"role": "user", "content": "u"}],
        "tools": [{"name": "t", "input_schema": {"type": "object"}}],
        "tool_choice": {"type": "tool", "name": "t"},
    });
    let problems = check_chat_request(&anthropic_shaped);
    assert!(
        problems.iter().any(|p| p.contains("/system")),
        "{problems:#?}"
    );
    assert!(
        problems.iter().any(|p| p.contains("/tools/0")),
        "{problems:#?}"
    );
    // Missing messages, a temperature out of range.
    let problems = check_chat_request(&json!({"model": "m", "temperature": 3}));
    assert!(
        problems.iter().any(|p| p.contains("messages")),
        "{problems:#?}"
    );
    assert!(
        problems.iter().any(|p| p.contains("/temperature")),
        "{problems:#?}"
    );
    // What the client sends passes.
    let good = json!({
        "model": "m", "max_tokens": 10, "temperature": 0.0,
        "messages": [{"role": "system", "content": "s"}, {"role": "user", "content": "u"}],
        "tools": [{"type": "function", "function": {"name": "t", "description": "d",
            "parameters": {"type": "object", "properties": {"x": {"type": "string"}}}}}],
        "tool_choice": {"type": "function", "function": {"name": "t"}},
    });
    assert_eq!(check_chat_request(&good), Vec::<String>::new());
}

/// Writes `analyze` lines into a copy of the shipped workflow and
/// returns every problem `check` would print.
fn problems_with(lines: &str) -> Vec<String> {
    let dir = copy_workflows();
    let file = dir.path().join("workflows/add_to_flipfix.yaml");
    let yaml = std::fs::read_to_string(&file).unwrap();
    let model_line = "      model: claude-haiku-4-5\n";
    let mut with = String::from(model_line);
    for line in lines.lines() {
        with.push_str(&format!("      {line}\n"));
    }
    std::fs::write(&file, yaml.replace(model_line, &with)).unwrap();
    match load_workflows(&dir.path().join("workflows"), &dir.path().join("prompts")) {
        Ok(_) => Vec::new(),
        Err(problems) => problems
            .iter()
            .map(|p| p.to_string().replace(&dir.path().display().to_string(), ""))
            .collect(),
    }
}

#[test]
fn provider_and_tool_choice_mistakes_are_reported_at_their_line() {
    // The shipped file has `model:` on line 32; added lines follow it, so
    // the first is line 33 and its value starts at column 17 or 20.
    let file = "/workflows/add_to_flipfix.yaml";
    assert_eq!(
        problems_with("provider: openai_compatible"),
        [format!("{file}:33:17: analyze: provider openai_compatible needs base_url (e.g. http://127.0.0.1:11434/v1 for Ollama, https://api.openai.com/v1 for OpenAI)")]
    );
    assert_eq!(
        problems_with("provider: openai_compatible\nbase_url: localhost:11434"),
        [format!(
            "{file}:34:17: analyze: base_url `localhost:11434` must start with http:// or https://"
        )]
    );
    assert_eq!(
        problems_with("base_url: https://api.openai.com/v1"),
        [format!("{file}:33:17: analyze: base_url is for provider openai_compatible; the Anthropic API's URL is the ANTHROPIC_BASE_URL secret")]
    );
    let unknown_provider = problems_with("provider: openai");
    assert_eq!(unknown_provider.len(), 1, "{unknown_provider:?}");
    assert!(
        unknown_provider[0].starts_with(&format!("{file}:33:"))
            && unknown_provider[0].contains("openai"),
        "{unknown_provider:?}"
    );
    let bad_choice = problems_with("tool_choice: sometimes");
    assert_eq!(bad_choice.len(), 1, "{bad_choice:?}");
    assert!(
        bad_choice[0].starts_with(&format!("{file}:33:"))
            && bad_choice[0].contains("\"sometimes\", expected `forced` or `auto`"),
        "{bad_choice:?}"
    );
    let typo = problems_with("tool_choice: {default: forced, modles: {}}");
    assert!(
        typo.len() == 1
            && typo[0].contains("unknown field `modles`, expected one of default, models"),
        "{typo:?}"
    );
    assert_eq!(
        problems_with("tool_choice:\n  models:\n    claude-haiku-4.5: auto"),
        [format!("{file}:34:9: analyze: tool_choice.models.claude-haiku-4.5: `claude-haiku-4.5` has no entry in prices; name models as prices does")]
    );
    // Zero prices are allowed (a local model costs nothing).
    assert_eq!(
        problems_with("provider: openai_compatible\nbase_url: http://127.0.0.1:11434/v1/\ntool_choice: {default: auto, models: {claude-haiku-4-5: forced}}"),
        Vec::<String>::new()
    );
}
