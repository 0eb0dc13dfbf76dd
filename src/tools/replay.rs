//! `flipfix-bot replay`: one scenario through the real analysis steps, with
//! the model's answer from a recorded response or the live API.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;
use serde::Serialize;
use sqlx::PgPool;

use crate::analysis::conversation::Conversation;
use crate::analysis::prompt::{Prompt, TOOL_NAME};
use crate::analysis::scenario::Scenario;
use crate::analysis::{self, Analysis};
use crate::app::Database;
use crate::config::Secrets;
use crate::llm::{AnthropicClient, LlmClient, OpenAiClient, ToolAnswer};
use crate::records;
use crate::workflow::{Analyze, Workflows};

#[derive(Debug, Clone)]
pub struct ReplayOptions {
    pub scenario: PathBuf,
    pub response: Option<PathBuf>,
    pub live: bool,
    pub model: Option<String>,
    pub create: bool,
    pub show_prompt: bool,
    pub json: bool,
    pub workflows_dir: PathBuf,
    pub prompts_dir: PathBuf,
}

/// What `--json` prints.
#[derive(Debug, Serialize)]
struct ReplayReport<'a> {
    scenario: &'a str,
    analysis: &'a Analysis,
    created: Vec<super::create::CreatedRecord>,
}

pub fn load(
    workflows_dir: &std::path::Path,
    prompts_dir: &std::path::Path,
) -> anyhow::Result<Arc<Workflows>> {
    Ok(crate::template_check::load_valid_workflows(
        workflows_dir,
        prompts_dir,
    )?)
}

pub async fn run(options: ReplayOptions, secrets: Secrets) -> anyhow::Result<ExitCode> {
    if options.live == options.response.is_some() {
        anyhow::bail!("give exactly one of --response FILE and --live");
    }
    let workflows = load(&options.workflows_dir, &options.prompts_dir)?;
    let menu = analysis::menu(&workflows)?;
    let scenario = Scenario::load(&options.scenario)?;
    let (conversation, prompt) = scenario.prepare(&workflows).await?;
    if options.show_prompt {
        print_prompt(menu, options.model.as_deref(), &prompt);
    }

    // The database is needed only to call the API (usage) or to create.
    let database = if options.live || options.create {
        Some(Database::open(&secrets).await?)
    } else {
        None
    };
    let result = replay_with(
        &options,
        &secrets,
        &workflows,
        &scenario,
        conversation,
        &prompt,
        database.as_ref().map(|d| &d.pool),
    )
    .await;
    if let Some(database) = database {
        database.close().await;
    }
    result
}

#[allow(clippy::too_many_arguments)]
async fn replay_with(
    options: &ReplayOptions,
    secrets: &Secrets,
    workflows: &Workflows,
    scenario: &Scenario,
    conversation: Conversation,
    prompt: &Prompt,
    pool: Option<&PgPool>,
) -> anyhow::Result<ExitCode> {
    let menu = analysis::menu(workflows)?;
    let (answer, cost) = match (&options.response, pool) {
        (Some(file), _) => {
            let answer = recorded_answer(file)?;
            let cost = recorded_cost(menu, &answer);
            (answer, cost)
        }
        (None, Some(pool)) => {
            let model = options.model.as_deref().unwrap_or(&menu.model);
            let live = Live::new(menu, secrets, pool).await?;
            live_answer(&live, pool, menu, model, prompt, "replay").await?
        }
        (None, None) => anyhow::bail!("--live needs the database"),
    };
    let mut known = analysis::known_from_conversation(&conversation);
    if let Some(pool) = pool {
        for id in analysis::validate::mentioned_parents(&answer.input) {
            if let Some(record) = records::get_record(pool, id).await? {
                known.entry(id).or_insert(record.kind);
            }
        }
    }
    let analysis = analysis::interpret(
        workflows,
        &scenario.catalog,
        conversation,
        answer,
        &known,
        cost,
    )?;
    let created = match (options.create, pool) {
        (true, Some(pool)) => {
            super::create::create_all(pool, workflows, scenario, &analysis).await?
        }
        _ => Vec::new(),
    };
    if options.json {
        let report = ReplayReport {
            scenario: scenario.name(),
            analysis: &analysis,
            created,
        };
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!(
            "{}",
            super::cards::render_text(workflows, scenario, &analysis, &known, &created)
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn print_prompt(menu: &Analyze, model: Option<&str>, prompt: &Prompt) {
    let request = analysis::tool_request(menu, model.unwrap_or(&menu.model), prompt);
    println!("===== system (cached prefix) =====\n{}", prompt.system);
    println!("===== conversation =====\n{}", prompt.conversation);
    let body = match menu.provider {
        crate::workflow::ModelProvider::Anthropic => AnthropicClient::body(&request),
        crate::workflow::ModelProvider::OpenAiCompatible { .. } => OpenAiClient::body(&request),
    };
    println!(
        "===== tool ({}) =====\n{}",
        menu.provider.name(),
        serde_json::to_string_pretty(&body["tools"]).unwrap_or_default()
    );
    println!("===== answer =====");
}

/// The cost of a saved answer: unknown when it reports no usage (reference
/// answers are hand-made and carry none) or its model has no price.
pub fn recorded_cost(menu: &Analyze, answer: &ToolAnswer) -> Option<f64> {
    if answer.usage == crate::workflow::TokenUsage::default() {
        return None;
    }
    menu.price(&answer.model).map(|p| p.cost(&answer.usage))
}

/// Reads a saved response body (a reference answer, or a body saved from
/// the live API): Anthropic's Messages API shape, or a Chat Completions
/// one (it has `choices`).
pub fn recorded_answer(file: &std::path::Path) -> anyhow::Result<ToolAnswer> {
    let text =
        std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
    let json: serde_json::Value =
        serde_json::from_str(&text).with_context(|| format!("{} is not JSON", file.display()))?;
    if json.get("choices").is_some() {
        return OpenAiClient::parse(json, None, TOOL_NAME, 1).with_context(|| {
            format!(
                "{} is not a usable Chat Completions response",
                file.display()
            )
        });
    }
    AnthropicClient::parse((json, None), TOOL_NAME, 1)
        .with_context(|| format!("{} is not a usable Messages API response", file.display()))
}

/// The provider's client and key for `--live`, built once per run (so a
/// model that refuses a forced tool choice is asked with `auto` from then on).
#[derive(Clone)]
pub struct Live {
    pub client: LlmClient,
    pub key: Option<crate::config::Secret>,
}

impl Live {
    pub async fn new(menu: &Analyze, secrets: &Secrets, pool: &PgPool) -> anyhow::Result<Self> {
        let client = LlmClient::for_menu(menu, secrets)?;
        let key = client.resolve_key(pool, secrets).await?;
        Ok(Self { client, key })
    }
}

/// Asks the workflow's provider and records usage.
pub async fn live_answer(
    live: &Live,
    pool: &PgPool,
    menu: &Analyze,
    model: &str,
    prompt: &Prompt,
    purpose: &str,
) -> anyhow::Result<(ToolAnswer, Option<f64>)> {
    let (client, key) = (&live.client, &live.key);
    let mut attempts = Vec::new();
    let answer = client
        .call_tool_logged(
            key.as_ref(),
            &analysis::tool_request(menu, model, prompt),
            &mut attempts,
        )
        .await;
    // Every attempt is accounted for, failed ones included.
    let cost = analysis::record_attempts(
        pool,
        menu,
        &attempts,
        answer.as_ref().ok().map(|a| a.model.as_str()),
        analysis::Attribution {
            purpose,
            requested_by: "cli",
            run_id: None,
        },
        None,
        crate::clock::system_now(),
    )
    .await?;
    let answer = answer.map_err(|err| anyhow::anyhow!("{} ({err})", err.user_message()))?;
    Ok((answer, cost))
}
