//! `/flipfix usage [days]`: what the analyses cost, per day, per workflow
//! and per person.

use chrono::Duration;

use crate::config::SettingKey;
use crate::discord::{reply, Context, Error};
use crate::llm::usage::{totals_by_workflow, totals_since, UsageTotal};

/// Show analyses, tokens and cost per day, per workflow and per person.
#[poise::command(slash_command)]
pub async fn usage(
    ctx: Context<'_>,
    #[description = "How many days back (default 7)"]
    #[min = 1]
    #[max = 90]
    days: Option<u32>,
) -> Result<(), Error> {
    let days = days.unwrap_or(7).clamp(1, 90);
    let app = ctx.data();
    let today = app
        .clock
        .now()
        .date_naive()
        .and_hms_opt(0, 0, 0)
        .unwrap_or_default()
        .and_utc();
    let since = today - Duration::days(i64::from(days) - 1);
    let (per_day, per_person) = totals_since(&app.pool, since).await?;
    let per_workflow = totals_by_workflow(&app.pool, since).await?;
    let budget = app
        .settings
        .get_dollars(SettingKey::LlmDailyBudgetUsd)
        .await?;
    let spent_today = crate::llm::usage::total_cost_since(&app.pool, today).await?;
    let mut lines = vec![match budget {
        Some(budget) => format!("**Today:** ${spent_today:.4} of the ${budget:.2} daily budget"),
        None => format!("**Today:** ${spent_today:.4} (no daily budget set)"),
    }];
    if per_day.is_empty() {
        lines.push(format!("No analyses in the last {days} day(s)."));
    } else {
        lines.push(String::new());
        lines.push("**Per day**".into());
        lines.extend(per_day.iter().map(|t| line(&t.label, t)));
        lines.push(String::new());
        lines.push("**Per workflow**".into());
        lines.extend(
            per_workflow
                .iter()
                .map(|t| line(&reply::escape_markdown(&t.label), t)),
        );
        lines.push(String::new());
        lines.push("**Per person**".into());
        lines.extend(per_person.iter().map(|t| {
            let who = match t.label.strip_prefix("discord:") {
                Some(id) if id.bytes().all(|b| b.is_ascii_digit()) => format!("<@{id}>"),
                _ => reply::escape_markdown(&t.label),
            };
            line(&who, t)
        }));
    }
    reply::ephemeral_embed(
        ctx,
        &format!("LLM usage, last {days} day(s)"),
        &lines.join("\n"),
    )
    .await
}

fn line(label: &str, total: &UsageTotal) -> String {
    format!(
        "{label}: {} call(s), {} in / {} out tokens ({} cached), ${:.4}",
        total.calls,
        total.input_tokens,
        total.output_tokens,
        total.cache_read_tokens,
        total.cost_usd
    )
}
