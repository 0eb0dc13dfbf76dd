//! The two Discord messages the docs show, built by the bot's own code from
//! the real templates: the first review card of the demo conversation
//! (`review_ui::render`, as the person who picked Add to Flipfix sees it)
//! and a record's webhook post (`notify::render` and `record_payload`, as
//! the channel sees it). Each is returned as the JSON Discord is sent.

use anyhow::Context as _;
use poise::serenity_prelude as serenity;
use serde_json::{json, Value};

use crate::analysis::Analysis;
use crate::app::App;
use crate::discord::{review_items, review_ui, Requester};
use crate::review::{NewSession, ReviewStore, StartOutcome};

/// How long the demo review stays open: it is rendered once and dropped
/// with the database.
const REVIEW_OPEN: chrono::Duration = chrono::Duration::minutes(15);

/// The review card of the analysis' first suggestion: the message's
/// content (notes), its embed and its buttons and menus.
pub(super) async fn review_card(app: &App, analysis: &Analysis) -> anyhow::Result<Value> {
    let conversation = &analysis.conversation;
    let target = &conversation
        .get(conversation.target_id)
        .context("the demo conversation has no target message")?
        .message;
    // The person who picked Add to Flipfix: the target's author.
    let requester = Requester {
        user_id: target.author.id,
        guild_id: Some(app.discord.home),
        roles: None,
    };
    let now = app.clock.now();
    let store = ReviewStore::new(app.pool.clone());
    let new = NewSession {
        guild_id: requester.guild_id,
        channel_id: target.channel_id,
        target_message_id: target.id,
        owner_user_id: requester.user_id,
        owner_name: target.author.display_name.clone(),
        expires_at: now + REVIEW_OPEN,
    };
    let session_id = match store.start(&new, now).await? {
        StartOutcome::Started(id) => id,
        other => anyhow::bail!("the demo review could not start: {other:?}"),
    };
    let message = discord_message(target, app.discord.home)?;
    let items = review_items(app, &requester, &message, analysis).await?;
    store.set_items(session_id, &items).await?;
    let kinds = &app.workflows().kinds;
    crate::review::duplicates::find_and_store(&app.pool, kinds, session_id).await?;
    let session = store.load(session_id).await?;
    let card = review_ui::render(app, &session).await?;
    Ok(json!({
        "content": card.content,
        "embeds": serde_json::to_value(card.embed.into_iter().collect::<Vec<_>>())?,
        "components": serde_json::to_value(card.components)?,
    }))
}

/// The webhook post of record `id`, photos linked on the public site.
pub(super) async fn notification(app: &App, id: i64) -> anyhow::Result<Value> {
    let workflows = app.workflows();
    let rendered = crate::notify::render::render_record(
        &app.pool,
        &workflows,
        app.secrets.public_base_url.as_ref(),
        &app.media,
        id,
    )
    .await?;
    Ok(crate::notify::message::record_payload(&rendered.message))
}

/// The target as Discord would hand it to the message command.
fn discord_message(
    target: &crate::analysis::conversation::Message,
    guild_id: u64,
) -> anyhow::Result<serenity::Message> {
    let message = json!({
        "id": target.id.to_string(),
        "channel_id": target.channel_id.to_string(),
        "guild_id": guild_id.to_string(),
        "author": {
            "id": target.author.id.to_string(),
            "username": target.author.username,
            "global_name": target.author.display_name,
            "discriminator": "0",
            "avatar": null,
            "bot": target.author.is_bot,
        },
        "content": target.content,
        "timestamp": target.timestamp.to_rfc3339(),
        "edited_timestamp": null,
        "tts": false,
        "mention_everyone": false,
        "mentions": [],
        "mention_roles": [],
        "attachments": [],
        "embeds": [],
        "pinned": false,
        "type": 0,
    });
    serde_json::from_value(message).context("the demo's target message is not a Discord message")
}
