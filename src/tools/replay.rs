//! `flipfix-bot replay`: one scenario through the real analysis steps, with
//! the model's answer from a recorded response or the live API.

use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;
use serde::Serialize;
use sqlx::PgPool;

use crate::analysis::card::suggestion_view;
use crate::analysis::conversation::Conversation;
use crate::analysis::prompt::{Prompt, TOOL_NAME};
use crate::analysis::scenario::Scenario;
use crate::analysis::{self, Analysis, MachineMatch, Suggestion};
use crate::app::Database;
use crate::config::Secrets;
use crate::llm::{AnthropicClient, RetryPolicy, ToolAnswer};
use crate::records::{self, Author, CreatedVia, NewRecord, SourceMessage};
use crate::workflow::{load_workflows, ContextMenu, Workflows};

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
    created: Vec<CreatedRecord>,
}

#[derive(Debug, Clone, Serialize)]
pub struct CreatedRecord {
    pub suggestion: String,
    pub record_id: Option<i64>,
    pub error: Option<String>,
}

pub fn load(
    workflows_dir: &std::path::Path,
    prompts_dir: &std::path::Path,
) -> anyhow::Result<Arc<Workflows>> {
    load_workflows(workflows_dir, prompts_dir)
        .map_err(|problems| anyhow::anyhow!("the workflows have problems:\n{problems}"))
}

pub async fn run(options: ReplayOptions, secrets: Secrets) -> anyhow::Result<ExitCode> {
    if options.live == options.response.is_some() {
        anyhow::bail!("give exactly one of --response FILE and --live");
    }
    let workflows = load(&options.workflows_dir, &options.prompts_dir)?;
    let menu = analysis::menu(&workflows)?;
    let scenario = Scenario::load(&options.scenario)?;
    let (conversation, prompt) = analysis::prepare(
        &workflows,
        &scenario.catalog,
        &scenario,
        scenario.target_channel_id,
        scenario.target_id,
    )
    .await?;
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
            let cost = menu.price(&answer.model).map(|p| p.cost(&answer.usage));
            (answer, cost)
        }
        (None, Some(pool)) => {
            let model = options.model.as_deref().unwrap_or(&menu.model);
            live_answer(secrets, pool, menu, model, prompt, "replay").await?
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
        (true, Some(pool)) => create_all(pool, workflows, scenario, &analysis).await?,
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
            render_text(workflows, scenario, &analysis, &known, &created)
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn print_prompt(menu: &ContextMenu, model: Option<&str>, prompt: &Prompt) {
    let request = analysis::tool_request(menu, model.unwrap_or(&menu.model), prompt);
    println!("===== system (cached prefix) =====\n{}", prompt.system);
    println!("===== conversation =====\n{}", prompt.conversation);
    let body = AnthropicClient::body(&request);
    println!(
        "===== tool =====\n{}",
        serde_json::to_string_pretty(&body["tools"]).unwrap_or_default()
    );
    println!("===== answer =====");
}

/// Reads a recorded Messages API response body.
pub fn recorded_answer(file: &std::path::Path) -> anyhow::Result<ToolAnswer> {
    let text =
        std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
    let json: serde_json::Value =
        serde_json::from_str(&text).with_context(|| format!("{} is not JSON", file.display()))?;
    AnthropicClient::parse((json, None), TOOL_NAME, 1)
        .with_context(|| format!("{} is not a usable Messages API response", file.display()))
}

/// Asks the live API and records usage.
pub async fn live_answer(
    secrets: &Secrets,
    pool: &PgPool,
    menu: &ContextMenu,
    model: &str,
    prompt: &Prompt,
    purpose: &str,
) -> anyhow::Result<(ToolAnswer, Option<f64>)> {
    let key = crate::llm::resolve_api_key(pool, secrets).await?;
    let client = AnthropicClient::new(
        &secrets.anthropic_base_url,
        menu.timeout,
        RetryPolicy::default(),
    )?;
    let answer = client
        .call_tool(key.as_ref(), &analysis::tool_request(menu, model, prompt))
        .await
        .map_err(|err| anyhow::anyhow!("{} ({err})", err.user_message()))?;
    let cost = analysis::record_usage(pool, menu, &answer, purpose, "cli").await?;
    Ok((answer, cost))
}

/// The replay as a person reads it: one card per suggestion, then repairs
/// and cost.
pub fn render_text(
    workflows: &Workflows,
    scenario: &Scenario,
    analysis: &Analysis,
    known: &analysis::validate::KnownRecords,
    created: &[CreatedRecord],
) -> String {
    let mut out = String::new();
    let c = &analysis.conversation;
    let _ = writeln!(
        out,
        "scenario {}: {} mode, {} messages, target {}",
        scenario.name(),
        c.mode.as_str(),
        c.messages.len(),
        c.target_id
    );
    if analysis.suggestions.is_empty() {
        let _ = writeln!(out, "\n{}", analysis::NO_RECORDS_MESSAGE);
    }
    for (i, s) in analysis.suggestions.iter().enumerate() {
        card(
            &mut out,
            workflows,
            scenario,
            analysis,
            known,
            s,
            &(i + 1).to_string(),
            None,
        );
        for (j, child) in s.children.iter().enumerate() {
            card(
                &mut out,
                workflows,
                scenario,
                analysis,
                known,
                child,
                &format!("{}.{}", i + 1, j + 1),
                Some(&s.kind),
            );
        }
    }
    if !analysis.repairs.is_empty() {
        let _ = writeln!(out, "\nrepairs:");
        for repair in &analysis.repairs {
            let _ = writeln!(out, "  {repair}");
        }
    }
    for record in created {
        match (record.record_id, &record.error) {
            (Some(id), _) => {
                let _ = writeln!(
                    out,
                    "created suggestion {} as record #{id}",
                    record.suggestion
                );
            }
            (None, Some(err)) => {
                let _ = writeln!(
                    out,
                    "could not create suggestion {}: {err}",
                    record.suggestion
                );
            }
            (None, None) => {}
        }
    }
    let u = &analysis.usage;
    let _ = writeln!(
        out,
        "\ntokens: {} in, {} out, {} cache write, {} cache read; model {}; cost {}",
        u.input_tokens,
        u.output_tokens,
        u.cache_creation_input_tokens,
        u.cache_read_input_tokens,
        if analysis.model.is_empty() {
            "?"
        } else {
            &analysis.model
        },
        analysis
            .cost_usd
            .map(|c| format!("${c:.5}"))
            .unwrap_or_else(|| "unknown (model not in the price table)".into())
    );
    out
}

#[allow(clippy::too_many_arguments)]
fn card(
    out: &mut String,
    workflows: &Workflows,
    scenario: &Scenario,
    analysis: &Analysis,
    known: &analysis::validate::KnownRecords,
    s: &Suggestion,
    at: &str,
    nested_under: Option<&str>,
) {
    let parent_kind = s
        .parent_record_id
        .and_then(|id| known.get(&id))
        .map(String::as_str);
    let _ = writeln!(
        out,
        "\n--- suggestion {at}{} ---",
        nested_under
            .map(|k| format!(" (child of the {k} above)"))
            .unwrap_or_default()
    );
    let kind = workflows.kinds.get(&s.kind);
    let rendered = suggestion_view(s, parent_kind, &workflows.kinds, &scenario.catalog, None)
        .zip(kind)
        .map(|(view, kind)| {
            workflows
                .templates
                .render_message(&kind.card_template, &view)
        });
    match rendered {
        Some(Ok(message)) => {
            let _ = writeln!(out, "{}\n{}", message.title, message.body);
        }
        Some(Err(err)) => {
            let _ = writeln!(out, "{} (card template failed: {err})", s.kind);
        }
        None => {
            let _ = writeln!(out, "{}", s.kind);
        }
    }
    if let MachineMatch::Unknown { said } = &s.machine {
        let _ = writeln!(
            out,
            "machine: unknown{}, to be picked",
            said.as_deref()
                .map(|s| format!(" (model said `{s}`)"))
                .unwrap_or_default()
        );
    }
    if let Some(author) = &s.author {
        let _ = writeln!(
            out,
            "attributed to: {} [{}]",
            author.display(),
            author.key()
        );
    }
    if let Some(parent) = s.parent_record_id {
        let _ = writeln!(out, "parent: {} #{parent}", parent_kind.unwrap_or("record"));
    }
    let _ = writeln!(out, "sources:");
    for id in &s.source_message_ids {
        let text = analysis
            .conversation
            .get(*id)
            .map(|m| {
                crate::text::truncate_chars(m.message.content.lines().next().unwrap_or(""), 60)
            })
            .unwrap_or_default();
        let _ = writeln!(out, "  [{id}] {text}");
    }
}

/// `--create`: every suggestion as if confirmed, children under their parent.
async fn create_all(
    pool: &PgPool,
    workflows: &Workflows,
    scenario: &Scenario,
    analysis: &Analysis,
) -> anyhow::Result<Vec<CreatedRecord>> {
    let mut created = Vec::new();
    for (i, s) in analysis.suggestions.iter().enumerate() {
        let at = (i + 1).to_string();
        let result = create_one(pool, workflows, scenario, analysis, s, s.parent_record_id).await;
        let parent_id = result.as_ref().ok().copied();
        created.push(outcome(at.clone(), result));
        for (j, child) in s.children.iter().enumerate() {
            let at = format!("{at}.{}", j + 1);
            let result = match parent_id {
                Some(parent) => {
                    create_one(pool, workflows, scenario, analysis, child, Some(parent)).await
                }
                None => Err(anyhow::anyhow!("its parent was not created")),
            };
            created.push(outcome(at, result));
        }
    }
    Ok(created)
}

fn outcome(at: String, result: anyhow::Result<i64>) -> CreatedRecord {
    match result {
        Ok(id) => CreatedRecord {
            suggestion: at,
            record_id: Some(id),
            error: None,
        },
        Err(err) => CreatedRecord {
            suggestion: at,
            record_id: None,
            error: Some(format!("{err:#}")),
        },
    }
}

async fn create_one(
    pool: &PgPool,
    workflows: &Workflows,
    scenario: &Scenario,
    analysis: &Analysis,
    s: &Suggestion,
    parent_id: Option<i64>,
) -> anyhow::Result<i64> {
    let machine_id = match &s.machine {
        MachineMatch::Known { slug, name, .. } => Some(ensure_machine(pool, slug, name).await?),
        _ => None,
    };
    let occurred_at = s
        .source_message_ids
        .iter()
        .filter_map(|id| analysis.conversation.get(*id))
        .map(|m| m.message.timestamp)
        .max()
        .unwrap_or_else(chrono::Utc::now);
    let new = NewRecord {
        kind: s.kind.clone(),
        machine_id,
        parent_id,
        description: s.description.clone(),
        fields: s.fields.clone(),
        author: Author::Name(
            s.author
                .as_ref()
                .map(|a| a.display().to_string())
                .unwrap_or_else(|| "unknown".into()),
        ),
        occurred_at,
        created_via: CreatedVia::Cli,
        created_by: Some(format!("replay {}", scenario.name())),
        sources: s
            .source_message_ids
            .iter()
            .map(|id| SourceMessage {
                guild_id: None,
                channel_id: analysis
                    .conversation
                    .get(*id)
                    .map(|m| m.message.channel_id)
                    .unwrap_or(analysis.conversation.channel_id),
                message_id: *id,
            })
            .collect(),
    };
    Ok(records::create_record(pool, &workflows.kinds, &new)
        .await?
        .id)
}

/// Scenario machines may not be in the database yet: add them by slug.
async fn ensure_machine(pool: &PgPool, slug: &str, name: &str) -> anyhow::Result<i64> {
    if let Some(machine) = crate::catalog::machines::by_slug(pool, slug).await? {
        return Ok(machine.id);
    }
    let id = sqlx::query_scalar(
        "INSERT INTO machines (slug, name) VALUES ($1, $2)
         ON CONFLICT (slug) DO UPDATE SET slug = EXCLUDED.slug RETURNING id",
    )
    .bind(slug)
    .bind(name)
    .fetch_one(pool)
    .await?;
    Ok(id)
}
