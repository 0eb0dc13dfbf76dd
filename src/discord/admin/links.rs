//! `/flipfix link | unlink | links`: which Discord user is which maintainer.

use poise::serenity_prelude as serenity;

use crate::catalog::links::{self, LinkError, LinkMethod};
use crate::discord::{reply, Context, Error};

/// Link a Discord user to a maintainer.
#[poise::command(slash_command)]
pub async fn link(
    ctx: Context<'_>,
    #[description = "Discord user"] user: serenity::User,
    #[description = "Maintainer username"]
    #[autocomplete = "super::catalog::autocomplete_maintainer"]
    maintainer: String,
) -> Result<(), Error> {
    let pool = &ctx.data().pool;
    match links::link(
        pool,
        user.id.get(),
        &user.name,
        &maintainer,
        &reply::actor(ctx),
    )
    .await
    {
        Ok(maintainer) => {
            reply::ephemeral(
                ctx,
                format!(
                    "✅ <@{}> is now maintainer `{}`.",
                    user.id, maintainer.username
                ),
            )
            .await
        }
        Err(err @ (LinkError::UnknownMaintainer(_) | LinkError::MaintainerTaken { .. })) => {
            reply::ephemeral(ctx, format!("❌ {err}. Nothing was changed.")).await
        }
        Err(err) => Err(err.into()),
    }
}

/// Remove a Discord user's link.
#[poise::command(slash_command)]
pub async fn unlink(
    ctx: Context<'_>,
    #[description = "Discord user"] user: serenity::User,
) -> Result<(), Error> {
    match links::unlink(&ctx.data().pool, user.id.get()).await? {
        Some(maintainer) => {
            reply::ephemeral(
                ctx,
                format!("✅ <@{}> is no longer linked to `{maintainer}`.", user.id),
            )
            .await
        }
        None => {
            reply::ephemeral(
                ctx,
                format!("<@{}> was not linked to a maintainer.", user.id),
            )
            .await
        }
    }
}

/// List the links.
#[poise::command(slash_command)]
pub async fn links(ctx: Context<'_>) -> Result<(), Error> {
    let all = links::list(&ctx.data().pool).await?;
    if all.is_empty() {
        return reply::ephemeral(ctx, "No Discord users are linked yet. Use `/flipfix link`.")
            .await;
    }
    let lines: Vec<String> = all
        .iter()
        .map(|link| {
            let how = match link.method {
                LinkMethod::Username => "by username".to_string(),
                LinkMethod::Admin => format!("by an admin ({})", reply::escape_markdown(&link.linked_by)),
                LinkMethod::NameMatch => {
                    "⚠️ by display name (older version): check it, then `/flipfix link` or `/flipfix unlink`"
                        .to_string()
                }
            };
            format!(
                "<@{}> → `{}` — {how}",
                link.discord_user_id, link.maintainer.username
            )
        })
        .collect();
    reply::ephemeral_embed(ctx, "Linked Discord users", &lines.join("\n")).await
}
