//! `/flipfix reviews list | cancel`: the open reviews, and a way to free a
//! message whose review is stuck. (Discord cannot invoke a command that has
//! subcommands, so the list is `reviews list`.)

use crate::discord::{reply, Context, Error};
use crate::review::recovery;
use crate::review::SessionStatus;

/// Open "Add to Flipfix" reviews.
#[poise::command(slash_command, subcommands("list", "cancel"), subcommand_required)]
pub async fn reviews(_ctx: Context<'_>) -> Result<(), Error> {
    Ok(())
}

/// List open reviews: message, owner, age and state.
#[poise::command(slash_command)]
async fn list(ctx: Context<'_>) -> Result<(), Error> {
    let open = recovery::list_open(&ctx.data().pool).await?;
    if open.is_empty() {
        return reply::ephemeral(ctx, "No reviews are open.").await;
    }
    let now = ctx.data().clock.now();
    let lines: Vec<String> = open
        .iter()
        .map(|review| {
            let message = match review.guild_id {
                Some(guild) => format!(
                    "https://discord.com/channels/{guild}/{}/{}",
                    review.channel_id, review.target_message_id
                ),
                None => format!("message {}", review.target_message_id),
            };
            let state = match (review.status, review.owner_alive) {
                (SessionStatus::Analysing, true) => "analysing",
                (SessionStatus::Analysing, false) => "analysing, its process is gone",
                _ => "reviewing",
            };
            format!(
                "**#{}** {message} — {} — {} — {state}",
                review.id,
                reply::escape_markdown(&review.owner_name),
                age(now - review.created_at)
            )
        })
        .collect();
    reply::ephemeral_embed(
        ctx,
        &format!("{} open review(s)", open.len()),
        &format!(
            "{}\n\nFree one with `/flipfix reviews cancel ID`.",
            lines.join("\n")
        ),
    )
    .await
}

/// Cancel an open review, freeing its message for a new Add to Flipfix.
#[poise::command(slash_command)]
async fn cancel(
    ctx: Context<'_>,
    #[description = "Review id, from /flipfix reviews list"] id: i64,
) -> Result<(), Error> {
    let reason = format!("cancelled by {}", reply::actor(ctx));
    let closed = recovery::close(&ctx.data().pool, id, SessionStatus::Cancelled, &reason).await?;
    if closed {
        crate::runs::settle_review_run(&ctx.data().pool, id, ctx.data().clock.now()).await?;
        tracing::info!(session_id = id, by = %reply::actor(ctx), "review cancelled by an admin");
        reply::ephemeral(
            ctx,
            format!("✅ Review #{id} cancelled; its message can be analysed again. Nothing it created was removed."),
        )
        .await
    } else {
        reply::ephemeral(
            ctx,
            format!("Review #{id} is not open (see `/flipfix reviews list`)."),
        )
        .await
    }
}

fn age(elapsed: chrono::Duration) -> String {
    let minutes = elapsed.num_minutes().max(0);
    match minutes {
        0 => "just now".into(),
        1..=59 => format!("{minutes} min"),
        _ => format!("{} h {} min", minutes / 60, minutes % 60),
    }
}
