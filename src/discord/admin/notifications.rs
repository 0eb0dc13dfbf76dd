//! `/flipfix notifications list | retry | drop`: notifications the dispatcher
//! set aside as failed (the queries live in `notify::failed`).

use crate::discord::reply::{self, EMBED_DESCRIPTION_LIMIT};
use crate::discord::{Context, Error};
use crate::notify::failed::{self, FailedRow, Target};
use crate::text::truncate_chars;

/// How many failed rows one listing reads; the embed holds fewer anyway.
const LIST_LIMIT: i64 = 50;
/// An error is cut to this many characters in the listing.
const ERROR_CHARS: usize = 200;

/// Notifications that failed.
#[poise::command(
    slash_command,
    subcommands("list", "retry", "drop"),
    subcommand_required
)]
pub async fn notifications(_ctx: Context<'_>) -> Result<(), Error> {
    Ok(())
}

/// List failed notifications: id, record, kind, attempts, error, age.
#[poise::command(slash_command)]
async fn list(ctx: Context<'_>) -> Result<(), Error> {
    let (rows, total) = failed::list(&ctx.data().pool, LIST_LIMIT).await?;
    if rows.is_empty() {
        return reply::ephemeral(ctx, "✅ No failed notifications.").await;
    }
    let text = listing(&rows, total);
    reply::ephemeral_embed(ctx, &format!("{total} failed notification(s)"), &text).await
}

/// Re-queue a failed notification (or all of them) once its cause is fixed.
#[poise::command(slash_command)]
async fn retry(
    ctx: Context<'_>,
    #[description = "Notification id (from `/flipfix notifications list`), or `all`"]
    target: String,
) -> Result<(), Error> {
    let Some(target) = parse_target(&target) else {
        return reply::ephemeral(
            ctx,
            "❌ Give a notification id (see `/flipfix notifications list`) or `all`.",
        )
        .await;
    };
    let requeued = failed::retry(&ctx.data().pool, target, ctx.data().clock.now()).await?;
    let answer = match (target, requeued) {
        (Target::One(id), 0) => format!("❌ Notification {id} is not a failed notification."),
        (Target::One(id), _) => {
            format!("✅ Notification {id} is queued again, with its attempts reset.")
        }
        (Target::All, 0) => "✅ No failed notifications to retry.".to_string(),
        (Target::All, n) => {
            format!("✅ {n} failed notification(s) queued again, with their attempts reset.")
        }
    };
    reply::ephemeral(ctx, answer).await
}

/// Discard a failed notification for good.
#[poise::command(slash_command, rename = "drop")]
async fn drop(
    ctx: Context<'_>,
    #[description = "Notification id (from `/flipfix notifications list`)"]
    #[min = 1]
    id: i64,
) -> Result<(), Error> {
    let answer = if failed::drop_failed(&ctx.data().pool, id).await? {
        format!("✅ Notification {id} dropped; it will not be posted.")
    } else {
        format!("❌ Notification {id} is not a failed notification; nothing was dropped.")
    };
    reply::ephemeral(ctx, answer).await
}

fn parse_target(raw: &str) -> Option<Target> {
    let raw = raw.trim().trim_start_matches('#');
    if raw.eq_ignore_ascii_case("all") {
        return Some(Target::All);
    }
    raw.parse::<i64>()
        .ok()
        .filter(|id| *id > 0)
        .map(Target::One)
}

/// Whole lines only, inside the embed's limit, with a count of what did
/// not fit.
fn listing(rows: &[FailedRow], total: i64) -> String {
    let footer_room = 120;
    let mut text = String::new();
    let mut shown: i64 = 0;
    for row in rows {
        let error = row
            .error
            .as_deref()
            .map(|e| reply::escape_markdown(&truncate_chars(e, ERROR_CHARS)))
            .unwrap_or_else(|| "no error recorded".into());
        let line = format!(
            "**#{}** · {} · `{}` · {} attempt(s) · queued <t:{}:R>, failed <t:{}:R>\n↳ {error}\n",
            row.id,
            row.record_id
                .map_or_else(|| "daily summary".to_string(), |id| format!("record {id}")),
            reply::escape_markdown(&row.kind).replace('`', "'"),
            row.attempts,
            row.created_at.timestamp(),
            row.failed_at.timestamp(),
        );
        if text.chars().count() + line.chars().count() + footer_room > EMBED_DESCRIPTION_LIMIT {
            break;
        }
        text.push_str(&line);
        shown += 1;
    }
    if shown < total {
        text.push_str(&format!("…and {} more.\n", total - shown));
    }
    text.push_str("\n`/flipfix notifications retry ID|all` re-queues, `drop ID` discards.");
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_are_ids_or_all() {
        assert_eq!(parse_target(" all "), Some(Target::All));
        assert_eq!(parse_target("ALL"), Some(Target::All));
        assert_eq!(parse_target("#42"), Some(Target::One(42)));
        assert_eq!(parse_target("0"), None);
        assert_eq!(parse_target("forty"), None);
    }

    #[test]
    fn a_long_listing_stays_inside_the_embed_and_counts_the_rest() {
        let rows: Vec<FailedRow> = (1..=50)
            .map(|id| FailedRow {
                id,
                record_id: Some(id + 100),
                kind: "problem_report".into(),
                attempts: 5,
                error: Some("x".repeat(500)),
                created_at: chrono::DateTime::UNIX_EPOCH,
                failed_at: chrono::DateTime::UNIX_EPOCH,
            })
            .collect();
        let text = listing(&rows, 70);
        assert!(text.chars().count() <= EMBED_DESCRIPTION_LIMIT);
        let shown = text.matches("**#").count() as i64;
        assert!(shown > 5 && shown < 50, "{shown}");
        assert!(
            text.contains(&format!("…and {} more.", 70 - shown)),
            "{text}"
        );
    }
}
