//! `flipfix-bot eval`: every scenario with an `expected` list through the
//! analysis, scored like the original system's evaluator.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use serde::Serialize;
use tokio::sync::Semaphore;

use super::replay::{live_answer, load, recorded_answer, recorded_cost, Live};
use crate::analysis::eval::{score, Score};
use crate::analysis::scenario::Scenario;
use crate::analysis::{self};
use crate::app::Database;
use crate::config::Secrets;
use crate::workflow::Workflows;

/// Scenarios asked at once: enough to be quick, few enough for rate limits.
const CONCURRENCY: usize = 3;

#[derive(Debug, Clone)]
pub struct EvalOptions {
    pub dir: PathBuf,
    pub live: bool,
    /// Saved answers (reference answers): `<dir>/<scenario>.json`, instead
    /// of the live API.
    pub responses: Option<PathBuf>,
    pub model: Option<String>,
    pub json: bool,
    /// `--workflow NAME`: whose analysis runs (`Workflows::choose`).
    pub workflow: Option<String>,
    pub workflows_dir: PathBuf,
    pub prompts_dir: PathBuf,
}

#[derive(Debug, Serialize)]
pub struct ScenarioResult {
    pub scenario: String,
    pub score: Option<Score>,
    pub error: Option<String>,
    pub cost_usd: Option<f64>,
}

pub async fn run(options: EvalOptions, secrets: Secrets) -> anyhow::Result<ExitCode> {
    if options.live == options.responses.is_some() {
        anyhow::bail!("give exactly one of --live and --responses DIR");
    }
    let workflows = load(&options.workflows_dir, &options.prompts_dir)?;
    // An unknown or ambiguous `--workflow` ends here, naming the choices.
    analysis::for_workflow(&workflows, options.workflow.as_deref())?;
    let scenarios: Vec<Scenario> = Scenario::load_dir(&options.dir)?
        .into_iter()
        .filter(|s| s.file.expected.is_some())
        .collect();
    let database = if options.live {
        Some(Database::open(&secrets).await?)
    } else {
        None
    };
    // One client for every scenario: one connection pool, one memory of
    // models that refuse a forced tool choice.
    let live = match &database {
        Some(database) => match analysis::for_workflow(&workflows, options.workflow.as_deref()) {
            Ok(menu) => Some(Live::new(menu, &secrets, &database.pool).await),
            Err(err) => Some(Err(err.into())),
        },
        None => None,
    };
    let live = match live.transpose() {
        Ok(live) => live,
        Err(err) => {
            if let Some(database) = database {
                database.close().await;
            }
            return Err(err);
        }
    };
    let results = evaluate(
        &options,
        live,
        &workflows,
        scenarios,
        database.as_ref().map(|d| d.pool.clone()),
    )
    .await;
    if let Some(database) = database {
        database.close().await;
    }
    let passed = results
        .iter()
        .filter(|r| r.score.as_ref().is_some_and(|s| s.passed))
        .count();
    let cost: f64 = results.iter().filter_map(|r| r.cost_usd).sum();
    let unpriced = results.iter().filter(|r| r.cost_usd.is_none()).count();
    if options.json {
        println!("{}", serde_json::to_string_pretty(&results)?);
    } else {
        for r in &results {
            print_result(r);
        }
        // Reference answers carry no usage: say so rather than print $0.
        let cost = match unpriced {
            0 => format!("cost ${:.4}", cost + 0.0),
            n if n == results.len() => "cost unknown (no answer reports usage)".to_string(),
            n => format!(
                "cost ${:.4} for {} answer(s), unknown for {n} without usage",
                cost + 0.0,
                results.len() - n
            ),
        };
        println!("\n{passed}/{} passed; {cost}", results.len());
    }
    Ok(if passed == results.len() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn print_result(r: &ScenarioResult) {
    match (&r.score, &r.error) {
        (Some(score), _) => {
            println!(
                "{} {}",
                if score.passed { "PASS" } else { "FAIL" },
                r.scenario
            );
            for m in &score.missing {
                println!(
                    "  missing: {} {}",
                    m.kind,
                    m.machine.as_deref().unwrap_or("(no machine)")
                );
            }
            for e in &score.extra {
                println!("  extra: {e}");
            }
            for p in &score.partial {
                println!("  partial: {p}");
            }
        }
        (None, Some(err)) => println!("FAIL {}\n  error: {err}", r.scenario),
        (None, None) => println!("FAIL {}", r.scenario),
    }
}

async fn evaluate(
    options: &EvalOptions,
    live: Option<Live>,
    workflows: &Arc<Workflows>,
    scenarios: Vec<Scenario>,
    pool: Option<sqlx::PgPool>,
) -> Vec<ScenarioResult> {
    let limit = Arc::new(Semaphore::new(CONCURRENCY));
    let mut tasks = tokio::task::JoinSet::new();
    for (index, scenario) in scenarios.into_iter().enumerate() {
        let limit = limit.clone();
        let workflows = workflows.clone();
        let live = live.clone();
        let pool = pool.clone();
        let responses = options.responses.clone();
        let model = options.model.clone();
        let workflow = options.workflow.clone();
        tasks.spawn(async move {
            let _permit = limit.acquire_owned().await;
            let name = scenario.name().to_string();
            let result = one(
                &workflows,
                workflow.as_deref(),
                live.as_ref(),
                pool.as_ref(),
                responses.as_deref(),
                model.as_deref(),
                &scenario,
            )
            .await;
            let result = match result {
                Ok((score, cost_usd)) => ScenarioResult {
                    scenario: name,
                    score: Some(score),
                    error: None,
                    cost_usd,
                },
                Err(err) => ScenarioResult {
                    scenario: name,
                    score: None,
                    error: Some(format!("{err:#}")),
                    cost_usd: None,
                },
            };
            (index, result)
        });
    }
    let mut results = Vec::new();
    while let Some(joined) = tasks.join_next().await {
        match joined {
            Ok(result) => results.push(result),
            Err(err) => tracing::error!(error = %err, "an eval task failed"),
        }
    }
    results.sort_by_key(|(index, _)| *index);
    results.into_iter().map(|(_, r)| r).collect()
}

async fn one(
    workflows: &Workflows,
    workflow: Option<&str>,
    live: Option<&Live>,
    pool: Option<&sqlx::PgPool>,
    responses: Option<&Path>,
    model: Option<&str>,
    scenario: &Scenario,
) -> anyhow::Result<(Score, Option<f64>)> {
    let menu = analysis::for_workflow(workflows, workflow)?;
    let (conversation, prompt) = scenario.prepare(workflows, menu).await?;
    let (answer, cost) = match (responses, pool) {
        (Some(dir), _) => {
            let answer = recorded_answer(&dir.join(format!("{}.json", scenario.name())))?;
            let cost = recorded_cost(menu, &answer);
            (answer, cost)
        }
        (None, Some(pool)) => {
            let live =
                live.ok_or_else(|| anyhow::anyhow!("the model client could not be built"))?;
            live_answer(
                live,
                pool,
                menu,
                model.unwrap_or(&menu.model),
                &prompt,
                "eval",
            )
            .await?
        }
        (None, None) => anyhow::bail!("--live needs the database"),
    };
    let known = analysis::known_from_conversation(&conversation);
    let analysis = analysis::interpret(
        workflows,
        menu,
        &scenario.catalog,
        conversation,
        answer,
        &known,
        cost,
    )?;
    let expected = scenario.file.expected.clone().unwrap_or_default();
    Ok((score(&expected, &analysis.suggestions), cost))
}
