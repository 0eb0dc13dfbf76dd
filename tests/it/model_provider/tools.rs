//! `replay --live`, `eval --live` (the real binary) and doctor's model
//! check, against either provider's fake and real Postgres.

use std::path::Path;

use flipfix_bot::config::{Secret, Secrets};
use serde_json::{json, Value};
use sqlx::PgPool;

use crate::support::model_api::{
    reference_input, workflow_dir_for, workflows_for, Fake, Provider, Say,
};
use crate::support::openai::FakeOpenAi;
use crate::support::process::database_url;
use crate::support::{repo_root, shared_dir};

crate::for_both_providers!(replay_live_asks_the_workflows_provider_and_records_usage);

/// Runs the real binary (async: the fakes share this runtime).
async fn bot(args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let dir = tempfile::tempdir().unwrap();
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_flipfix-bot"))
        .args(args)
        .arg("--secrets")
        .arg(dir.path().join("no-secrets.toml"))
        .current_dir(repo_root())
        .env_remove("ANTHROPIC_API_KEY")
        .env_remove("OPENAI_API_KEY")
        .env_remove("ANTHROPIC_BASE_URL")
        .env("RUST_LOG", "warn")
        .envs(env.iter().copied())
        .output()
        .await
        .expect("run flipfix-bot");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Zero: a local model costs nothing, and that is a known cost.
const LOCAL_PRICE: &str = "{input: 0, output: 0, cache_write: 0, cache_read: 0}";

async fn replay_live_asks_the_workflows_provider_and_records_usage(
    pool: PgPool,
    provider: Provider,
) {
    let name = "webhook_reply_creates_linked_log";
    let fake = Fake::start(provider, vec![Say::Tool(reference_input(name))]).await;
    let dir = workflow_dir_for(provider, fake.base_url(), LOCAL_PRICE, "");
    let workflows = dir.path().join("workflows");
    let prompts = dir.path().join("prompts");
    let scenario = shared_dir().join(format!("scenarios/flipfix-eval/{name}.yaml"));
    let url = database_url(&pool);
    let key = fake.key();
    let mut env = vec![("DATABASE_URL", url.as_str())];
    match provider {
        Provider::Anthropic => {
            env.push(("ANTHROPIC_BASE_URL", fake.base_url()));
            env.push(("ANTHROPIC_API_KEY", key.expose()));
        }
        Provider::OpenAiCompatible => env.push(("OPENAI_API_KEY", key.expose())),
    }
    let (code, stdout, stderr) = bot(
        &[
            "replay",
            path(&scenario),
            "--live",
            "--json",
            "--workflows",
            path(&workflows),
            "--prompts",
            path(&prompts),
        ],
        &env,
    )
    .await;
    assert_eq!(code, 0, "{stdout}{stderr}");
    let report: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(report["analysis"]["suggestions"][0]["kind"], "log_entry");
    assert_eq!(report["analysis"]["model"], fake.answering_model());
    assert_eq!(fake.bodies().len(), 1);
    let row: (String, String, Option<i64>) =
        sqlx::query_as("SELECT purpose, model, cost_micro_usd FROM llm_usage")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(row.0, "replay");
    assert_eq!(row.1, fake.answering_model());
    match provider {
        Provider::Anthropic => assert_eq!(row.2, Some(1522)),
        Provider::OpenAiCompatible => assert_eq!(row.2, Some(0), "priced at zero"),
    }
    assert!(!stderr.contains(key.expose()), "the key is never printed");
}

#[sqlx::test(migrations = "./migrations")]
async fn eval_live_scores_an_openai_compatible_model(pool: PgPool) {
    let names = ["webhook_reply_creates_linked_log", "no_maintenance_social"];
    // One scenario at a time would answer in order; eval asks up to three
    // at once, so both get the same (right for neither alone) answer: the
    // empty list passes the social scenario and fails the other.
    let fake = Fake::start(
        Provider::OpenAiCompatible,
        vec![Say::Tool(reference_input(names[1]))],
    )
    .await;
    let dir = workflow_dir_for(Provider::OpenAiCompatible, fake.base_url(), LOCAL_PRICE, "");
    let scenarios = tempfile::tempdir().unwrap();
    let source = shared_dir().join("scenarios/flipfix-eval");
    std::fs::copy(
        source.join("_catalog.yaml"),
        scenarios.path().join("_catalog.yaml"),
    )
    .unwrap();
    for name in names {
        std::fs::copy(
            source.join(format!("{name}.yaml")),
            scenarios.path().join(format!("{name}.yaml")),
        )
        .unwrap();
    }
    let url = database_url(&pool);
    let (code, stdout, stderr) = bot(
        &[
            "eval",
            path(scenarios.path()),
            "--live",
            "--workflows",
            path(&dir.path().join("workflows")),
            "--prompts",
            path(&dir.path().join("prompts")),
        ],
        &[("DATABASE_URL", &url)],
    )
    .await;
    assert_eq!(code, 1, "{stdout}{stderr}");
    assert!(stdout.contains("PASS no_maintenance_social"), "{stdout}");
    assert!(
        stdout.contains("FAIL webhook_reply_creates_linked_log"),
        "{stdout}"
    );
    assert!(stdout.contains("1/2 passed; cost $0.0000"), "{stdout}");
    assert_eq!(fake.bodies().len(), 2);
    let rows: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM llm_usage WHERE purpose = 'eval' AND model = 'qwen3:8b'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(rows, 2);
}

#[tokio::test]
async fn replay_reads_a_saved_chat_completions_answer() {
    // Offline: a body saved from an OpenAI-compatible server works like a
    // saved Messages API body.
    let name = "webhook_reply_creates_linked_log";
    let answers = tempfile::tempdir().unwrap();
    let file = answers.path().join("answer.json");
    let body = crate::support::openai::completion(
        json!({"role": "assistant", "content": null, "tool_calls": [{"id": "c1", "type": "function",
            "function": {"name": "record_suggestions", "arguments": reference_input(name).to_string()}}]}),
        "tool_calls",
    );
    std::fs::write(&file, body.to_string()).unwrap();
    let scenario = shared_dir().join(format!("scenarios/flipfix-eval/{name}.yaml"));
    let (code, stdout, stderr) =
        bot(&["replay", path(&scenario), "--response", path(&file)], &[]).await;
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("Linked to Problem report #42"), "{stdout}");
}

/// Doctor's checks for a workflow with `provider: openai_compatible` at
/// `fake`, run as `flipfix-bot doctor` runs them (no Discord token: those
/// checks are other tests' business). Returns the model lines.
async fn doctor_model_lines(pool: &PgPool, fake: &FakeOpenAi, key: Option<&str>) -> Vec<String> {
    let workflows = workflows_for(Provider::OpenAiCompatible, &fake.base_url, LOCAL_PRICE, "");
    let secrets = Secrets {
        openai_api_key: key.map(Secret::new),
        ..Secrets::default()
    };
    let report = flipfix_bot::doctor::diagnose(flipfix_bot::doctor::Inputs {
        secrets: &secrets,
        pool: Ok(pool),
        workflows: Ok(workflows),
        http: None,
        quick: false,
    })
    .await;
    report
        .checks
        .iter()
        .map(|check| check.to_string())
        .filter(|line| line.contains("model API") || line.contains("API_KEY"))
        .collect()
}

#[sqlx::test(migrations = "./migrations")]
async fn doctor_checks_the_openai_compatible_server_lists_the_model(pool: PgPool) {
    let fake = FakeOpenAi::start(vec![]).await.requiring_key("sk-local");
    let lines = doctor_model_lines(&pool, &fake, Some("sk-local")).await;
    assert_eq!(
        lines,
        [
            "✅ OPENAI_API_KEY: set".to_string(),
            format!("✅ model API: {}/models lists qwen3:8b", fake.base_url),
        ],
        "no Anthropic key is asked for"
    );
    assert!(
        fake.received().is_empty(),
        "nothing was generated (and billed)"
    );

    let lines = doctor_model_lines(&pool, &fake, Some("sk-wrong")).await;
    assert!(
        lines[1].starts_with("❌ model API:") && lines[1].contains("refused the key (401)"),
        "{lines:?}"
    );

    let fake = FakeOpenAi::start(vec![])
        .await
        .listing(&["llama3.1:8b", "mistral:7b"]);
    let lines = doctor_model_lines(&pool, &fake, None).await;
    assert!(
        lines[0].starts_with("✅ OPENAI_API_KEY: not set"),
        "{lines:?}"
    );
    assert_eq!(
        lines[1],
        format!("❌ model API: {}/models does not list qwen3:8b (it lists: llama3.1:8b, mistral:7b): fix the workflow's model, or pull the model on the server", fake.base_url)
    );

    // Nothing listens there.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    drop(listener);
    let gone = FakeOpenAi::start(vec![]).await;
    let workflows = workflows_for(
        Provider::OpenAiCompatible,
        &format!("http://{address}/v1"),
        LOCAL_PRICE,
        "",
    );
    drop(gone);
    let report = flipfix_bot::doctor::diagnose(flipfix_bot::doctor::Inputs {
        secrets: &Secrets::default(),
        pool: Ok(&pool),
        workflows: Ok(workflows),
        http: None,
        quick: false,
    })
    .await;
    let line = report
        .checks
        .iter()
        .map(|c| c.to_string())
        .find(|l| l.contains("model API"))
        .unwrap();
    assert!(
        line.starts_with("❌ model API:") && line.contains("unreachable (connection failed)"),
        "{line}"
    );
}
