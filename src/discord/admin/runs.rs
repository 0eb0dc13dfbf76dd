//! `/flipfix runs [workflow]`: the latest workflow runs, like an automation
//! trace: what started each, who, when, how it ended, its records and cost.

use crate::discord::{reply, Context, Error};
use crate::runs::{self, Outcome, RunSummary};

/// How many runs one answer lists (an embed holds about this many lines).
const SHOWN: u32 = 15;

/// List the latest workflow runs, with their outcome, records and cost.
#[poise::command(slash_command)]
pub async fn runs(
    ctx: Context<'_>,
    #[description = "Only this workflow's runs (e.g. add_to_flipfix)"] workflow: Option<String>,
) -> Result<(), Error> {
    ctx.defer_ephemeral().await?;
    let app = ctx.data();
    // Runs a stopped process left open are settled before they are shown.
    runs::settle_leftovers(&app.pool, app.clock.now()).await?;
    let workflow = workflow.as_deref().map(str::trim).filter(|w| !w.is_empty());
    let listed = runs::latest(&app.pool, workflow, SHOWN).await?;
    if listed.is_empty() {
        let text = match workflow {
            Some(name) => format!(
                "No runs of `{}` are recorded.",
                reply::escape_markdown(name)
            ),
            None => "No workflow runs are recorded yet.".to_string(),
        };
        return reply::ephemeral(ctx, text).await;
    }
    let title = match workflow {
        Some(name) => format!("Latest runs of {name}"),
        None => "Latest workflow runs".to_string(),
    };
    let lines: Vec<String> = listed.iter().map(line).collect();
    reply::ephemeral_embed(ctx, &title, &lines.join("\n")).await
}

/// One run on one line: `#12 add_to_flipfix · message_command · ruth ·
/// <t:…:R> · created: #5, #6 · $0.0123 · 3 s`.
pub fn line(run: &RunSummary) -> String {
    let who = run
        .username
        .as_deref()
        .map_or("schedule".to_string(), reply::escape_markdown);
    let outcome = match run.outcome {
        Outcome::Created => {
            let ids: Vec<String> = run.records().map(|(id, _)| format!("#{id}")).collect();
            format!("created {}", ids.join(", "))
        }
        Outcome::InProgress => "in progress".to_string(),
        other => match &run.reason {
            Some(reason) => format!(
                "{}: {}",
                other.as_str(),
                reply::escape_markdown(&crate::text::truncate_chars(reason, 120))
            ),
            None => other.as_str().to_string(),
        },
    };
    let cost = run
        .cost_usd()
        .map_or("no cost".to_string(), |usd| format!("${usd:.4}"));
    let duration = run.duration().map_or(String::new(), |d| {
        format!(" · {} s", d.num_seconds().max(0))
    });
    format!(
        "**#{}** {} · {} · {who} · <t:{}:R> · {outcome} · {cost}{duration}",
        run.id,
        reply::escape_markdown(&run.workflow),
        run.trigger.as_str(),
        run.started_at.timestamp(),
    )
}
