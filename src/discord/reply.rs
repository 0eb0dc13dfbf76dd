//! Replies the bot sends: ephemeral by default, never pinging anyone, and
//! always inside Discord's length limits.

use poise::serenity_prelude as serenity;

use super::{Context, Error};
use crate::text::truncate_chars;

/// Discord's message limits, declared once (`notify::message`), under the
/// names the adapters use.
pub use crate::notify::message::{
    MAX_CONTENT as CONTENT_LIMIT, MAX_DESCRIPTION as EMBED_DESCRIPTION_LIMIT,
    MAX_TITLE as EMBED_TITLE_LIMIT,
};

/// No @everyone, no role or user pings: content from Discord or the model
/// may contain mentions, and the bot must never ping on their behalf.
pub fn no_mentions() -> serenity::CreateAllowedMentions {
    serenity::CreateAllowedMentions::new()
}

/// An ephemeral text reply.
pub async fn ephemeral(ctx: Context<'_>, text: impl AsRef<str>) -> Result<(), Error> {
    ctx.send(
        poise::CreateReply::default()
            .content(truncate_chars(text.as_ref(), CONTENT_LIMIT))
            .ephemeral(true)
            .allowed_mentions(no_mentions()),
    )
    .await?;
    Ok(())
}

/// An ephemeral reply with one embed.
pub async fn ephemeral_embed(
    ctx: Context<'_>,
    title: &str,
    description: &str,
) -> Result<(), Error> {
    let embed = serenity::CreateEmbed::new()
        .title(truncate_chars(title, EMBED_TITLE_LIMIT))
        .description(truncate_chars(description, EMBED_DESCRIPTION_LIMIT));
    ctx.send(
        poise::CreateReply::default()
            .embed(embed)
            .ephemeral(true)
            .allowed_mentions(no_mentions()),
    )
    .await?;
    Ok(())
}

/// Who did something, for audit trails: `discord:<id> (<username>)`.
pub fn actor(ctx: Context<'_>) -> String {
    crate::records::status::discord_actor(ctx.author().id.get(), &ctx.author().name)
}

/// Escapes Discord markdown so user text shows as typed.
pub fn escape_markdown(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(
            c,
            '*' | '_' | '~' | '`' | '|' | '>' | '#' | '[' | ']' | '(' | ')' | '\\'
        ) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}
