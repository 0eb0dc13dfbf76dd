//! `analyze` end to end against a fake model API on 127.0.0.1 and real
//! Postgres, for both providers (Anthropic's Messages API and an
//! OpenAI-compatible Chat Completions API, whose fake checks every request
//! against OpenAI's published schema): forced tool use, cache control,
//! retries, errors, validation, usage and cost.

use std::time::{Duration, Instant};

use flipfix_bot::analysis::scenario::Scenario;
use flipfix_bot::analysis::{
    analyze, Analysis, AnalysisDeps, AnalysisError, AnalysisRequest, MachineMatch,
};
use flipfix_bot::config::Secret;
use flipfix_bot::llm::{LlmClient, LlmError, ToolRequest};
use flipfix_bot::records::create_record;
use flipfix_bot::workflow::{ModelProvider, ToolChoice};
use serde_json::{json, Value};
use sqlx::PgPool;

use crate::support::model_api::{
    quick_retries, reference_input, Fake, Provider, Say, CACHE_READ, INPUT, OUTPUT,
};
use crate::support::{add_machine, new_record, shared_dir, source};

crate::for_both_providers!(
    success_uses_the_tool_and_stores_usage_and_cost,
    already_saved_messages_are_not_sent,
    an_empty_list_means_no_records_and_still_costs,
    rate_limits_honour_retry_after,
    a_retry_after_beyond_the_limit_gives_up_at_once,
    overloaded_and_server_errors_are_retried_then_given_up,
    client_errors_are_not_retried,
    a_slow_api_times_out,
    a_tool_input_that_breaks_the_schema,
    an_answer_without_the_tool_call_is_an_error,
);

fn scenario(name: &str) -> Scenario {
    Scenario::load(&shared_dir().join(format!("scenarios/flipfix-eval/{name}.yaml"))).unwrap()
}

async fn seed_catalog(pool: &PgPool, scenario: &Scenario) {
    for machine in &scenario.catalog.machines {
        add_machine(pool, &machine.slug, &machine.name).await;
    }
}

/// One analysis of `scenario` through `fake`, with the fake's own key.
async fn run(
    pool: &PgPool,
    fake: &Fake,
    scenario: &Scenario,
    timeout: Duration,
) -> Result<Analysis, AnalysisError> {
    let client = fake.client(timeout);
    run_with(pool, fake, &client, scenario, Some(&fake.key()), "").await
}

/// One analysis with `client` (kept across analyses by the caller) and
/// `extra_yaml` added to the context menu.
async fn run_with(
    pool: &PgPool,
    fake: &Fake,
    client: &LlmClient,
    scenario: &Scenario,
    key: Option<&Secret>,
    extra_yaml: &str,
) -> Result<Analysis, AnalysisError> {
    let workflows = fake.workflows(extra_yaml);
    let deps = AnalysisDeps {
        pool,
        workflows: &workflows,
        client,
        api_key: key,
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
    analyze(&deps, scenario, &request).await
}

const SECOND: Duration = Duration::from_secs(5);

async fn success_uses_the_tool_and_stores_usage_and_cost(pool: PgPool, provider: Provider) {
    let scenario = scenario("webhook_reply_creates_linked_log");
    seed_catalog(&pool, &scenario).await;
    let fake = Fake::start(
        provider,
        vec![Say::Tool(reference_input(
            "webhook_reply_creates_linked_log",
        ))],
    )
    .await;
    let analysis = run(&pool, &fake, &scenario, SECOND).await.unwrap();

    assert_eq!(analysis.suggestions.len(), 1);
    let s = &analysis.suggestions[0];
    assert_eq!(s.kind, "log_entry");
    assert_eq!(s.parent_record_id, Some(42));
    assert!(
        matches!(&s.machine, MachineMatch::Known { slug, id: Some(_), .. } if slug == "gorgar")
    );
    assert_eq!(s.source_message_ids, vec![73]);
    assert_eq!(analysis.request_id.as_deref(), Some(fake.request_id()));

    let bodies = fake.bodies();
    assert_eq!(bodies.len(), 1);
    let body = &bodies[0];
    assert_eq!(fake.tool_choice(body), "forced");
    let (tool_schema, system) = match &fake {
        Fake::Anthropic(anthropic) => {
            let headers = &anthropic.received()[0].headers;
            assert_eq!(headers["x-api-key"], "sk-ant-test-key");
            assert_eq!(headers["anthropic-version"], "2023-06-01");
            assert_eq!(body["model"], "claude-haiku-4-5");
            assert_eq!(
                body["system"][0]["cache_control"],
                json!({"type": "ephemeral"})
            );
            assert_eq!(body["tools"][0]["name"], "record_suggestions");
            (
                body["tools"][0]["input_schema"].clone(),
                body["system"][0]["text"].as_str().unwrap().to_string(),
            )
        }
        Fake::OpenAi(openai) => {
            let headers = &openai.received()[0].headers;
            assert_eq!(headers["authorization"], "Bearer sk-openai-test-key");
            assert_eq!(body["model"], "qwen3:8b");
            assert_eq!(body["messages"][0]["role"], "system");
            assert_eq!(body["messages"][1]["role"], "user");
            assert_eq!(body["tools"][0]["type"], "function");
            assert_eq!(body["tools"][0]["function"]["name"], "record_suggestions");
            (
                body["tools"][0]["function"]["parameters"].clone(),
                body["messages"][0]["content"].as_str().unwrap().to_string(),
            )
        }
    };
    assert!(system.contains("# Machine catalog"));
    assert!(
        !system.contains("EOS switch"),
        "conversation stays out of the stable prefix"
    );
    let kinds: Vec<&Value> = tool_schema["properties"]["suggestions"]["items"]["oneOf"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| &item["properties"]["kind"]["const"])
        .collect();
    assert_eq!(
        kinds,
        [
            "problem_report",
            "log_entry",
            "part_request",
            "part_request_update"
        ]
    );
    let user = fake.user_text(body);
    assert!(user.contains("[73] TARGET"), "{user}");

    let row: (
        String,
        String,
        Option<String>,
        i64,
        i64,
        i64,
        i64,
        Option<i64>,
    ) = sqlx::query_as(
        "SELECT purpose, model, request_id, input_tokens, output_tokens,
                cache_creation_input_tokens, cache_read_input_tokens, cost_micro_usd
         FROM llm_usage",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(row.0, "analysis");
    assert_eq!(row.1, fake.answering_model());
    assert_eq!(row.2.as_deref(), Some(fake.request_id()));
    assert_eq!((row.3, row.4, row.5, row.6), (INPUT, OUTPUT, 0, CACHE_READ));
    // Prices from the workflow's table, per million tokens:
    let expected_micro = match provider {
        // Haiku 4.5: 412 × $1 + 118 × $5 + 5200 × $0.10 = $0.001522.
        Provider::Anthropic => 1522,
        // The test's price: 412 × $0.15 + 118 × $0.60 + 5200 × $0.075 = $0.0005226.
        Provider::OpenAiCompatible => 523,
    };
    assert_eq!(row.7, Some(expected_micro));
    let cost = analysis.cost_usd.unwrap();
    assert!((cost * 1e6 - expected_micro as f64).abs() < 1.0, "{cost}");
}

async fn already_saved_messages_are_not_sent(pool: PgPool, provider: Provider) {
    let scenario = scenario("nested_part_request_with_updates");
    seed_catalog(&pool, &scenario).await;
    let fake = Fake::start(provider, vec![Say::Tool(json!({"suggestions": []}))]).await;
    let workflows = fake.workflows("");
    let mut saved = new_record("part_request");
    saved.sources = vec![source(47)];
    create_record(&pool, &workflows.kinds, &saved)
        .await
        .unwrap();

    let analysis = run(&pool, &fake, &scenario, SECOND).await.unwrap();
    assert_eq!(analysis.conversation.ids(), vec![48, 49]);
    assert_eq!(analysis.conversation.excluded_saved, vec![47]);
    let user = fake.user_text(&fake.bodies()[0]);
    assert!(!user.contains("rollover switch"), "{user}");
    assert!(user.contains("[49] TARGET"));
    // A one-line stub keeps the saved request's id, for a follow-up to link to.
    let stub = user
        .lines()
        .find(|l| l.starts_with("[47] "))
        .unwrap_or_default();
    assert!(
        stub.contains("Bob Wilson: already saved as part_request #"),
        "{user}"
    );
}

async fn an_empty_list_means_no_records_and_still_costs(pool: PgPool, provider: Provider) {
    let scenario = scenario("no_maintenance_social");
    let fake = Fake::start(
        provider,
        vec![Say::Tool(reference_input("no_maintenance_social"))],
    )
    .await;
    let analysis = run(&pool, &fake, &scenario, SECOND).await.unwrap();
    assert!(analysis.is_empty());
    assert!(analysis.repairs.is_empty());
    let costs: Vec<Option<i64>> = sqlx::query_scalar("SELECT cost_micro_usd FROM llm_usage")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert_eq!(costs.len(), 1);
    assert!(costs[0].is_some_and(|c| c > 0), "{costs:?}");
}

async fn rate_limits_honour_retry_after(pool: PgPool, provider: Provider) {
    let scenario = scenario("no_maintenance_social");
    let fake = Fake::start(
        provider,
        vec![
            Say::Error(429, Some("1")),
            Say::Tool(json!({"suggestions": []})),
        ],
    )
    .await;
    let started = Instant::now();
    let analysis = run(&pool, &fake, &scenario, SECOND).await.unwrap();
    assert!(analysis.is_empty());
    assert_eq!(fake.bodies().len(), 2);
    // The backoff alone would wait ~5 ms; retry-after asked for a second.
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
}

async fn a_retry_after_beyond_the_limit_gives_up_at_once(pool: PgPool, provider: Provider) {
    let scenario = scenario("no_maintenance_social");
    let fake = Fake::start(provider, vec![Say::Error(429, Some("120"))]).await;
    let err = run(&pool, &fake, &scenario, SECOND).await.unwrap_err();
    assert!(
        matches!(
            err,
            AnalysisError::Llm(LlmError::RateLimited { attempts: 1 })
        ),
        "{err}"
    );
    assert!(err.user_message().contains("rate-limited"));
    assert_eq!(fake.bodies().len(), 1);
}

async fn overloaded_and_server_errors_are_retried_then_given_up(pool: PgPool, provider: Provider) {
    let scenario = scenario("no_maintenance_social");
    // 529 is Anthropic's "overloaded"; OpenAI-compatible servers say 503.
    let statuses = match provider {
        Provider::Anthropic => [529, 500],
        Provider::OpenAiCompatible => [503, 500],
    };
    for status in statuses {
        let fake = Fake::start(provider, vec![Say::Error(status, None)]).await;
        let err = run(&pool, &fake, &scenario, SECOND).await.unwrap_err();
        assert!(
            matches!(
                err,
                AnalysisError::Llm(LlmError::Overloaded { attempts: 3, .. })
            ),
            "{status}: {err}"
        );
        assert_eq!(fake.bodies().len(), 3, "{status}: bounded attempts");
        assert_eq!(
            err.user_message(),
            "The analysis service is overloaded right now. Please try again in a minute."
        );
    }
    // Every attempt is accounted for, and failed ones cost nothing.
    let rows: Vec<(String, String, Option<i64>)> = sqlx::query_as(
        "SELECT outcome, coalesce(request_id, ''), cost_micro_usd FROM llm_usage ORDER BY id",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    let expected: Vec<(String, String, Option<i64>)> = statuses
        .iter()
        .flat_map(|status| {
            std::iter::repeat_n(
                (
                    format!("HTTP {status}"),
                    format!("req_err_{status}"),
                    Some(0),
                ),
                3,
            )
        })
        .collect();
    assert_eq!(rows, expected);
}

async fn client_errors_are_not_retried(pool: PgPool, provider: Provider) {
    let scenario = scenario("no_maintenance_social");
    let fake = Fake::start(provider, vec![Say::Error(400, None)]).await;
    let err = run(&pool, &fake, &scenario, SECOND).await.unwrap_err();
    assert!(
        matches!(
            err,
            AnalysisError::Llm(LlmError::Rejected { status: 400, .. })
        ),
        "{err}"
    );
    assert_eq!(fake.bodies().len(), 1);

    let fake = Fake::start(provider, vec![Say::Error(401, None)]).await;
    let err = run(&pool, &fake, &scenario, SECOND).await.unwrap_err();
    assert!(
        matches!(
            err,
            AnalysisError::Llm(LlmError::Unauthorized { status: 401, .. })
        ),
        "{err}"
    );
    assert_eq!(fake.bodies().len(), 1);
    let key_name = match provider {
        Provider::Anthropic => "ANTHROPIC_API_KEY",
        Provider::OpenAiCompatible => "OPENAI_API_KEY",
    };
    assert!(
        err.user_message().contains(key_name),
        "{}",
        err.user_message()
    );
    assert!(
        !err.to_string().contains(fake.key().expose()),
        "the key is never shown"
    );
}

async fn a_slow_api_times_out(pool: PgPool, provider: Provider) {
    let scenario = scenario("no_maintenance_social");
    let fake = Fake::start(provider, vec![Say::Slow(Duration::from_secs(3))]).await;
    let err = run(&pool, &fake, &scenario, Duration::from_millis(300))
        .await
        .unwrap_err();
    assert!(
        matches!(err, AnalysisError::Llm(LlmError::Timeout { .. })),
        "{err}"
    );
    assert_eq!(
        err.user_message(),
        "The analysis took too long. Please try again."
    );
    assert_eq!(fake.bodies().len(), 1, "a timeout is not retried");
}

async fn a_tool_input_that_breaks_the_schema(pool: PgPool, provider: Provider) {
    let scenario = scenario("multi_item_mixed_types");
    seed_catalog(&pool, &scenario).await;
    // The whole answer has the wrong shape: an error the user can retry.
    let fake = Fake::start(
        provider,
        vec![Say::Tool(json!({"suggestions": "a log entry"}))],
    )
    .await;
    let err = run(&pool, &fake, &scenario, SECOND).await.unwrap_err();
    assert!(matches!(err, AnalysisError::Schema(_)), "{err}");
    assert!(err.user_message().contains("try again"));

    // Items that break it are dropped or repaired, each with a reason.
    let fake = Fake::start(provider, vec![Say::Tool(json!({"suggestions": [
        "not an object",
        {"kind": "log_entry", "machine": "derby day", "description": "x".repeat(5000), "source_message_ids": [4], "author_id": 1002000000000000001u64},
        {"kind": "problem_report", "machine": "ballyhoo", "description": "   ", "source_message_ids": ["4"]},
        {"kind": "part_request_update", "description": "arrived", "source_message_ids": ["4"]},
        {"kind": "problem_report", "machine": "ballyhoo", "description": "flippers", "fields": {"priority": "urgent", "colour": "red"}, "source_message_ids": ["4"],
         "children": [{"kind": "part_request_update", "description": "wrong child", "source_message_ids": ["4"]}]},
    ]}))])
    .await;
    let analysis = run(&pool, &fake, &scenario, SECOND).await.unwrap();
    let kinds: Vec<&str> = analysis
        .suggestions
        .iter()
        .map(|s| s.kind.as_str())
        .collect();
    assert_eq!(kinds, vec!["log_entry", "problem_report"]);
    assert_eq!(analysis.suggestions[0].description.chars().count(), 4000);
    assert!(
        matches!(&analysis.suggestions[0].machine, MachineMatch::Known { slug, .. } if slug == "derby-day")
    );
    assert!(analysis.suggestions[1].fields.is_empty());
    assert!(analysis.suggestions[1].children.is_empty());
    let reasons: Vec<String> = analysis.repairs.iter().map(|r| r.to_string()).collect();
    let expect = [
        "model suggestion 1: dropped: not an object",
        "model suggestion 2: repaired: description cut to 4000 characters",
        "model suggestion 3: dropped: no description",
        "model suggestion 4: dropped: a part_request_update needs an existing parent record",
        "model suggestion 5: repaired: field `priority`: `urgent` is not one of untriaged, unplayable, major, minor, task; removed",
        "model suggestion 5: repaired: field `colour` is not a field of problem_report; removed",
        "model suggestion 5.1: dropped: a part_request_update cannot be nested under a problem_report",
    ];
    for reason in expect {
        assert!(
            reasons.iter().any(|r| r == reason),
            "missing {reason:?} in {reasons:#?}"
        );
    }
}

async fn an_answer_without_the_tool_call_is_an_error(pool: PgPool, provider: Provider) {
    let scenario = scenario("no_maintenance_social");
    let fake = Fake::start(provider, vec![Say::Text("Nothing to record here.")]).await;
    let err = run(&pool, &fake, &scenario, SECOND).await.unwrap_err();
    assert!(
        matches!(&err, AnalysisError::Llm(LlmError::ToolCall(m))
            if m.contains("did not call record_suggestions") && m.contains("Nothing to record here.")),
        "{err}"
    );
    assert_eq!(fake.bodies().len(), 1, "not retried");
    assert!(err.user_message().contains("try again"));
    // The answer was billed, so it is accounted, as unusable.
    let outcome: String = sqlx::query_scalar("SELECT outcome FROM llm_usage")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert!(outcome.starts_with("unusable: "), "{outcome}");
}

#[sqlx::test(migrations = "./migrations")]
async fn no_anthropic_key_fails_before_any_request(pool: PgPool) {
    let scenario = scenario("no_maintenance_social");
    let fake = Fake::start(
        Provider::Anthropic,
        vec![Say::Tool(json!({"suggestions": []}))],
    )
    .await;
    let client = fake.client(SECOND);
    let err = run_with(&pool, &fake, &client, &scenario, None, "")
        .await
        .unwrap_err();
    assert!(
        matches!(err, AnalysisError::Llm(LlmError::NoApiKey)),
        "{err}"
    );
    assert!(err.user_message().contains("No Anthropic API key"));
    assert!(fake.bodies().is_empty());
}

#[sqlx::test(migrations = "./migrations")]
async fn a_local_openai_compatible_server_needs_no_key(pool: PgPool) {
    let scenario = scenario("no_maintenance_social");
    let fake = Fake::start(
        Provider::OpenAiCompatible,
        vec![Say::Tool(json!({"suggestions": []}))],
    )
    .await;
    let client = fake.client(SECOND);
    let analysis = run_with(&pool, &fake, &client, &scenario, None, "")
        .await
        .unwrap();
    assert!(analysis.is_empty());
    let Fake::OpenAi(openai) = &fake else {
        unreachable!()
    };
    assert!(openai.received()[0].headers.get("authorization").is_none());
}

#[sqlx::test(migrations = "./migrations")]
async fn malformed_tool_arguments_are_a_schema_error_naming_the_problem(pool: PgPool) {
    use crate::support::openai::{FakeOpenAi, Reply};
    let scenario = scenario("no_maintenance_social");
    let fake = Fake::OpenAi(
        FakeOpenAi::start(vec![Reply::tool_call_raw(r#"{"suggestions": [{"kind": "#)]).await,
    );
    let err = run(&pool, &fake, &scenario, SECOND).await.unwrap_err();
    assert!(
        matches!(&err, AnalysisError::Llm(LlmError::ToolCall(m))
            if m.contains("record_suggestions arguments are not valid JSON") && m.contains("EOF while parsing")),
        "{err}"
    );
    assert_eq!(
        err.user_message(),
        "The analysis returned something unusable. Please try again."
    );
    assert_eq!(fake.bodies().len(), 1, "not retried");
}

#[tokio::test]
async fn an_unreachable_api_is_retried_then_reported() {
    // A port nothing listens on.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    drop(listener);
    let url = format!("http://{address}");
    let schema = json!({"type": "object"});
    let request = ToolRequest {
        model: "claude-haiku-4-5",
        max_tokens: 10,
        temperature: 0.0,
        system: "s",
        user: "u",
        images: &[],
        tool_name: "record_suggestions",
        tool_description: "d",
        tool_schema: &schema,
        tool_choice: ToolChoice::Forced,
    };
    let providers = [
        ModelProvider::Anthropic,
        ModelProvider::OpenAiCompatible {
            base_url: format!("{url}/v1"),
        },
    ];
    for provider in providers {
        let client = LlmClient::new(&provider, &url, SECOND, quick_retries()).unwrap();
        let err = client
            .call_tool(Some(&Secret::new("sk-test")), &request)
            .await
            .unwrap_err();
        assert!(
            matches!(&err, LlmError::Network(m) if m.contains("3 attempts")),
            "{provider:?}: {err}"
        );
        assert!(err.user_message().contains("try again"));
    }
}
