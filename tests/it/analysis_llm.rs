//! `analyze` end to end against a fake Anthropic API on 127.0.0.1 and real
//! Postgres: forced tool use, cache control, retries, errors, validation,
//! usage and cost.

use std::time::{Duration, Instant};

use flipfix_bot::analysis::scenario::Scenario;
use flipfix_bot::analysis::{analyze, AnalysisDeps, AnalysisError, AnalysisRequest, MachineMatch};
use flipfix_bot::config::Secret;
use flipfix_bot::llm::{AnthropicClient, LlmError, RetryPolicy};
use flipfix_bot::records::create_record;
use serde_json::{json, Value};
use sqlx::PgPool;

use crate::support::anthropic::{FakeAnthropic, Reply};
use crate::support::{add_machine, new_record, repo_root, shared_dir, shipped_workflows, source};

fn scenario(name: &str) -> Scenario {
    Scenario::load(&shared_dir().join(format!("scenarios/flipfix-eval/{name}.yaml"))).unwrap()
}

/// The reference answer for scenario `name` (hand-made: what a correct
/// analysis returns; it carries no usage).
fn reference(name: &str) -> Value {
    let path = repo_root().join(format!("tests/fixtures/reference_answers/{name}.json"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// `body` as the API sends it: the dated model id and a usage block. The
/// figures are this test's, chosen plausible for Haiku 4.5 with the shipped
/// prompt (a warm cache read of the ~5,000-token stable prefix).
fn as_api_sends(mut body: Value) -> Value {
    body["model"] = json!("claude-haiku-4-5-20251001");
    body["usage"] = json!({
        "input_tokens": 412,
        "cache_creation_input_tokens": 0,
        "cache_read_input_tokens": 5200,
        "output_tokens": 118,
        "service_tier": "standard",
    });
    body
}

/// Short delays: the tests exercise the policy, not the wall clock.
fn quick_retries() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 3,
        base_delay: Duration::from_millis(5),
        max_delay: Duration::from_secs(2),
        max_total: Duration::from_secs(10),
    }
}

fn client(fake: &FakeAnthropic, timeout: Duration) -> AnthropicClient {
    AnthropicClient::new(&fake.base_url, timeout, quick_retries()).unwrap()
}

async fn seed_catalog(pool: &PgPool, scenario: &Scenario) {
    for machine in &scenario.catalog.machines {
        add_machine(pool, &machine.slug, &machine.name).await;
    }
}

async fn run(
    pool: &PgPool,
    fake: &FakeAnthropic,
    scenario: &Scenario,
    key: Option<&Secret>,
    timeout: Duration,
) -> Result<flipfix_bot::analysis::Analysis, AnalysisError> {
    let workflows = shipped_workflows();
    let client = client(fake, timeout);
    let deps = AnalysisDeps {
        pool,
        workflows: &workflows,
        client: &client,
        api_key: key,
        progress: None,
        limits: None,

        allow_loopback_urls: false,
    };
    let request = AnalysisRequest {
        guild_id: None,
        channel_id: scenario.target_channel_id,
        target_id: scenario.target_id,
        requested_by: "1002000000000000001".into(),
    };
    analyze(&deps, scenario, &request).await
}

fn key() -> Secret {
    Secret::new("sk-ant-test-key")
}

const SECOND: Duration = Duration::from_secs(5);

#[sqlx::test(migrations = "./migrations")]
async fn success_uses_the_tool_caches_the_prefix_and_stores_usage(pool: PgPool) {
    let scenario = scenario("webhook_reply_creates_linked_log");
    seed_catalog(&pool, &scenario).await;
    let fake = FakeAnthropic::start(vec![Reply::body(as_api_sends(reference(
        "webhook_reply_creates_linked_log",
    )))])
    .await;
    let analysis = run(&pool, &fake, &scenario, Some(&key()), SECOND)
        .await
        .unwrap();

    assert_eq!(analysis.suggestions.len(), 1);
    let s = &analysis.suggestions[0];
    assert_eq!(s.kind, "log_entry");
    assert_eq!(s.parent_record_id, Some(42));
    assert!(
        matches!(&s.machine, MachineMatch::Known { slug, id: Some(_), .. } if slug == "gorgar")
    );
    assert_eq!(s.source_message_ids, vec![73]);
    assert_eq!(analysis.request_id.as_deref(), Some("req_011FakeRequestId"));

    let received = fake.received();
    assert_eq!(received.len(), 1);
    let request = &received[0];
    assert_eq!(request.headers["x-api-key"], "sk-ant-test-key");
    assert_eq!(request.headers["anthropic-version"], "2023-06-01");
    let body = &request.body;
    assert_eq!(body["model"], "claude-haiku-4-5");
    assert_eq!(
        body["system"][0]["cache_control"],
        json!({"type": "ephemeral"})
    );
    assert!(body["system"][0]["text"]
        .as_str()
        .unwrap()
        .contains("# Machine catalog"));
    assert_eq!(
        body["tool_choice"],
        json!({"type": "tool", "name": "record_suggestions"})
    );
    assert_eq!(body["tools"][0]["name"], "record_suggestions");
    let kinds: Vec<&Value> = body["tools"][0]["input_schema"]["properties"]["suggestions"]["items"]
        ["oneOf"]
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
    let user = body["messages"][0]["content"].as_str().unwrap();
    assert!(user.contains("[73] TARGET"), "{user}");
    assert!(
        !body["system"][0]["text"]
            .as_str()
            .unwrap()
            .contains("EOS switch"),
        "conversation stays out of the cached prefix"
    );

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
    assert_eq!(row.1, "claude-haiku-4-5-20251001");
    assert_eq!(row.2.as_deref(), Some("req_011FakeRequestId"));
    assert_eq!((row.3, row.4, row.5, row.6), (412, 118, 0, 5200));
    // Haiku 4.5: 412 × $1 + 118 × $5 + 5200 × $0.10 per million = $0.001522.
    assert_eq!(row.7, Some(1522));
    let cost = analysis.cost_usd.unwrap();
    assert!((cost - 0.001522).abs() < 1e-9, "{cost}");
}

#[sqlx::test(migrations = "./migrations")]
async fn already_saved_messages_are_not_sent(pool: PgPool) {
    let scenario = scenario("nested_part_request_with_updates");
    seed_catalog(&pool, &scenario).await;
    let workflows = shipped_workflows();
    let mut saved = new_record("part_request");
    saved.sources = vec![source(47)];
    create_record(&pool, &workflows.kinds, &saved)
        .await
        .unwrap();

    let fake = FakeAnthropic::start(vec![Reply::tool_use(json!({"suggestions": []}))]).await;
    let analysis = run(&pool, &fake, &scenario, Some(&key()), SECOND)
        .await
        .unwrap();
    assert_eq!(analysis.conversation.ids(), vec![48, 49]);
    assert_eq!(analysis.conversation.excluded_saved, vec![47]);
    let user = fake.received()[0].body["messages"][0]["content"]
        .as_str()
        .unwrap()
        .to_string();
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

#[sqlx::test(migrations = "./migrations")]
async fn an_empty_list_means_no_records_and_still_costs(pool: PgPool) {
    let scenario = scenario("no_maintenance_social");
    let fake = FakeAnthropic::start(vec![Reply::body(as_api_sends(reference(
        "no_maintenance_social",
    )))])
    .await;
    let analysis = run(&pool, &fake, &scenario, Some(&key()), SECOND)
        .await
        .unwrap();
    assert!(analysis.is_empty());
    assert!(analysis.repairs.is_empty());
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM llm_usage")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(rows, 1);
}

#[sqlx::test(migrations = "./migrations")]
async fn rate_limits_honour_retry_after(pool: PgPool) {
    let scenario = scenario("no_maintenance_social");
    let fake = FakeAnthropic::start(vec![
        Reply::error(429, "rate_limit_error", Some("1")),
        Reply::tool_use(json!({"suggestions": []})),
    ])
    .await;
    let started = Instant::now();
    let analysis = run(&pool, &fake, &scenario, Some(&key()), SECOND)
        .await
        .unwrap();
    assert!(analysis.is_empty());
    assert_eq!(fake.received().len(), 2);
    // The backoff alone would wait ~5 ms; retry-after asked for a second.
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
}

#[sqlx::test(migrations = "./migrations")]
async fn a_retry_after_beyond_the_limit_gives_up_at_once(pool: PgPool) {
    let scenario = scenario("no_maintenance_social");
    let fake = FakeAnthropic::start(vec![Reply::error(429, "rate_limit_error", Some("120"))]).await;
    let err = run(&pool, &fake, &scenario, Some(&key()), SECOND)
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            AnalysisError::Llm(LlmError::RateLimited { attempts: 1 })
        ),
        "{err}"
    );
    assert!(err.user_message().contains("rate-limited"));
    assert_eq!(fake.received().len(), 1);
}

#[sqlx::test(migrations = "./migrations")]
async fn overloaded_and_server_errors_are_retried_then_given_up(pool: PgPool) {
    let scenario = scenario("no_maintenance_social");
    for (status, kind) in [(529, "overloaded_error"), (500, "api_error")] {
        let fake = FakeAnthropic::start(vec![Reply::error(status, kind, None)]).await;
        let err = run(&pool, &fake, &scenario, Some(&key()), SECOND)
            .await
            .unwrap_err();
        assert!(
            matches!(
                err,
                AnalysisError::Llm(LlmError::Overloaded { attempts: 3, .. })
            ),
            "{status}: {err}"
        );
        assert_eq!(fake.received().len(), 3, "{status}: bounded attempts");
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
    let expected: Vec<(String, String, Option<i64>)> = [529, 500]
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

#[sqlx::test(migrations = "./migrations")]
async fn client_errors_are_not_retried(pool: PgPool) {
    let scenario = scenario("no_maintenance_social");
    let fake = FakeAnthropic::start(vec![Reply::error(400, "invalid_request_error", None)]).await;
    let err = run(&pool, &fake, &scenario, Some(&key()), SECOND)
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            AnalysisError::Llm(LlmError::Rejected { status: 400, .. })
        ),
        "{err}"
    );
    assert_eq!(fake.received().len(), 1);

    let fake = FakeAnthropic::start(vec![Reply::error(401, "authentication_error", None)]).await;
    let err = run(&pool, &fake, &scenario, Some(&key()), SECOND)
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            AnalysisError::Llm(LlmError::Unauthorized { status: 401 })
        ),
        "{err}"
    );
    assert_eq!(fake.received().len(), 1);
    assert!(err.user_message().contains("ANTHROPIC_API_KEY"));
    assert!(
        !err.to_string().contains("sk-ant"),
        "the key is never shown"
    );
}

#[sqlx::test(migrations = "./migrations")]
async fn a_slow_api_times_out(pool: PgPool) {
    let scenario = scenario("no_maintenance_social");
    let fake = FakeAnthropic::start(vec![Reply::Slow(Duration::from_secs(3))]).await;
    let err = run(
        &pool,
        &fake,
        &scenario,
        Some(&key()),
        Duration::from_millis(300),
    )
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
}

#[sqlx::test(migrations = "./migrations")]
async fn no_key_fails_before_any_request(pool: PgPool) {
    let scenario = scenario("no_maintenance_social");
    let fake = FakeAnthropic::start(vec![Reply::tool_use(json!({"suggestions": []}))]).await;
    let err = run(&pool, &fake, &scenario, None, SECOND)
        .await
        .unwrap_err();
    assert!(
        matches!(err, AnalysisError::Llm(LlmError::NoApiKey)),
        "{err}"
    );
    assert!(err.user_message().contains("No Anthropic API key"));
    assert!(fake.received().is_empty());
}

#[sqlx::test(migrations = "./migrations")]
async fn a_tool_input_that_breaks_the_schema(pool: PgPool) {
    let scenario = scenario("multi_item_mixed_types");
    seed_catalog(&pool, &scenario).await;
    // The whole answer has the wrong shape: an error the user can retry.
    let fake =
        FakeAnthropic::start(vec![Reply::tool_use(json!({"suggestions": "a log entry"}))]).await;
    let err = run(&pool, &fake, &scenario, Some(&key()), SECOND)
        .await
        .unwrap_err();
    assert!(matches!(err, AnalysisError::Schema(_)), "{err}");
    assert!(err.user_message().contains("try again"));

    // Items that break it are dropped or repaired, each with a reason.
    let fake = FakeAnthropic::start(vec![Reply::tool_use(json!({"suggestions": [
        "not an object",
        {"kind": "log_entry", "machine": "derby day", "description": "x".repeat(5000), "source_message_ids": [4], "author_id": 1002000000000000001u64},
        {"kind": "problem_report", "machine": "ballyhoo", "description": "   ", "source_message_ids": ["4"]},
        {"kind": "part_request_update", "description": "arrived", "source_message_ids": ["4"]},
        {"kind": "problem_report", "machine": "ballyhoo", "description": "flippers", "fields": {"priority": "urgent", "colour": "red"}, "source_message_ids": ["4"],
         "children": [{"kind": "part_request_update", "description": "wrong child", "source_message_ids": ["4"]}]},
    ]}))])
    .await;
    let analysis = run(&pool, &fake, &scenario, Some(&key()), SECOND)
        .await
        .unwrap();
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

#[tokio::test]
async fn an_unreachable_api_is_retried_then_reported() {
    // A port nothing listens on.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    drop(listener);
    let client =
        AnthropicClient::new(&format!("http://{address}"), SECOND, quick_retries()).unwrap();
    let schema = json!({"type": "object"});
    let request = flipfix_bot::llm::ToolRequest {
        model: "claude-haiku-4-5",
        max_tokens: 10,
        temperature: 0.0,
        system: "s",
        user: "u",
        images: &[],
        tool_name: "record_suggestions",
        tool_description: "d",
        tool_schema: &schema,
    };
    let err = client.call_tool(Some(&key()), &request).await.unwrap_err();
    assert!(
        matches!(&err, LlmError::Network(m) if m.contains("3 attempts")),
        "{err}"
    );
    assert!(err.user_message().contains("try again"));
}

#[sqlx::test(migrations = "./migrations")]
async fn an_answer_without_the_tool_call_is_an_error(pool: PgPool) {
    let scenario = scenario("no_maintenance_social");
    let mut body = as_api_sends(reference("no_maintenance_social"));
    body["content"] = json!([{"type": "text", "text": "Nothing to record here."}]);
    body["stop_reason"] = json!("end_turn");
    let fake = FakeAnthropic::start(vec![Reply::body(body)]).await;
    let err = run(&pool, &fake, &scenario, Some(&key()), SECOND)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, AnalysisError::Llm(LlmError::BadResponse(m)) if m.contains("record_suggestions")),
        "{err}"
    );
    assert_eq!(fake.received().len(), 1, "not retried");
    assert!(err.user_message().contains("try again"));
}
