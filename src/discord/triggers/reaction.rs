//! The `reaction: EMOJI` trigger: a member adds a workflow's emoji to a
//! message in the home server, and the conversation around that message is
//! analysed as with Add to Flipfix. The review opens from a prompt posted
//! in the channel (`review_prompt`). Bot reactions, other servers and
//! emojis no workflow claims are ignored; a message already saved gets a
//! short note and no analysis.
//!
//! The gateway handler only filters and spawns: gathering and the model
//! call happen in their own task.

use poise::serenity_prelude as serenity;

use super::gateway_run::{self, GatewayStart};
use super::review_prompt;
use crate::app::App;
use crate::config::SettingKey;
use crate::discord::add_to_flipfix::already_saved;
use crate::discord::{checks, Data, Error};
use crate::records::records_for_messages;
use crate::runs;

/// A reaction that starts a workflow: who, where, and which workflow.
#[derive(Debug, Clone)]
struct Started {
    workflow: String,
    user_id: u64,
    user_name: String,
    /// The unique username, as runs record it.
    username: String,
    roles: Vec<u64>,
    guild_id: u64,
    channel_id: u64,
    message_id: u64,
}

/// MESSAGE_REACTION_ADD: starts the claimed workflow in its own task.
pub fn on_reaction_add(ctx: &serenity::Context, app: &Data, reaction: &serenity::Reaction) {
    let own_user = ctx.cache.current_user().id;
    let Some(started) = claimed(app, own_user, reaction) else {
        return;
    };
    let (ctx, app) = (ctx.clone(), app.clone());
    tokio::spawn(async move {
        let _in_flight = app.lifecycle.in_flight.enter();
        if let Err(err) = run(&ctx, &app, &started).await {
            tracing::error!(
                workflow = %started.workflow,
                message = started.message_id,
                error = format!("{err:#}"),
                "a reaction-started workflow failed"
            );
        }
    });
}

/// The reaction's workflow, when one claims it and the reactor may start it.
fn claimed(
    app: &App,
    own_user: serenity::UserId,
    reaction: &serenity::Reaction,
) -> Option<Started> {
    let guild = reaction.guild_id?;
    if guild.get() != app.discord.home {
        return None;
    }
    let user_id = reaction.user_id?;
    let member = reaction.member.as_ref()?;
    if member.user.bot || user_id == own_user {
        return None;
    }
    let emoji = emoji_key(&reaction.emoji)?;
    let channel = reaction.channel_id.get();
    let workflows = app.workflows();
    let workflow = workflows.by_reaction(&emoji, channel)?;
    let roles: Vec<u64> = member.roles.iter().map(|r| r.get()).collect();
    // The channel scope is checked in the task: a thread counts as its
    // parent, which the event does not carry.
    let scope = &workflow.scope;
    if !scope.roles.is_empty() && !roles.iter().any(|r| scope.roles.contains(r)) {
        tracing::info!(user = user_id.get(), workflow = %workflow.name, "reaction by a member without the workflow's roles ignored");
        return None;
    }
    Some(Started {
        workflow: workflow.name.clone(),
        user_id: user_id.get(),
        user_name: member
            .nick
            .clone()
            .or_else(|| member.user.global_name.clone())
            .unwrap_or_else(|| member.user.name.clone()),
        username: member.user.name.clone(),
        roles,
        guild_id: guild.get(),
        channel_id: channel,
        message_id: reaction.message_id.get(),
    })
}

/// The emoji as workflow files name it: the character(s) of a standard
/// emoji, the name of a server emoji.
fn emoji_key(emoji: &serenity::ReactionType) -> Option<String> {
    match emoji {
        serenity::ReactionType::Unicode(text) => Some(text.clone()),
        serenity::ReactionType::Custom { name, .. } => name.clone(),
        _ => None,
    }
}

/// The checks only a reaction needs, then the run every gateway trigger
/// shares (`gateway_run`).
async fn run(ctx: &serenity::Context, app: &App, started: &Started) -> Result<(), Error> {
    let http = &ctx.http;
    if !app.settings.get_bool(SettingKey::DiscordBotEnabled).await? {
        tracing::info!("reaction ignored: the bot is turned off (DISCORD_BOT_ENABLED)");
        return Ok(());
    }
    let channel = serenity::ChannelId::new(started.channel_id);
    let parent = channel_parent(ctx, channel).await;
    let counts_against_cap = {
        let workflows = app.workflows();
        let Some(workflow) = workflows.get(&started.workflow) else {
            return Ok(());
        };
        match workflow.may_start(started.channel_id, parent.map(|p| p.get()), &started.roles) {
            Ok(counts) => counts,
            Err(refusal) => {
                tracing::info!(channel = started.channel_id, reason = %refusal, "reaction outside the workflow's scope ignored");
                return Ok(());
            }
        }
    };
    if let Some(refusal) =
        checks::channel_refusal(&app.settings, "Add to Flipfix", channel, parent).await?
    {
        tracing::info!(
            channel = started.channel_id,
            reason = refusal.as_str(),
            "reaction ignored in a channel the bot does not serve"
        );
        return Ok(());
    }
    let saved = records_for_messages(&app.pool, &[started.message_id]).await?;
    if !saved.is_empty() {
        return review_prompt::note(http, started.channel_id, &already_saved(app, &saved)).await;
    }
    let start = GatewayStart {
        workflow: started.workflow.clone(),
        trigger: runs::Trigger::Reaction,
        user_id: started.user_id,
        user_name: started.user_name.clone(),
        username: started.username.clone(),
        roles: started.roles.clone(),
        guild_id: started.guild_id,
        run_channel_id: started.channel_id,
        channel_id: started.channel_id,
        message_id: started.message_id,
        prompt_channel_id: started.channel_id,
        windows: None,
        title: None,
        counts_against_cap,
    };
    gateway_run::begin(ctx, app, &start).await
}

/// The parent of a thread (`None` for a channel, or when Discord will not say).
async fn channel_parent(
    ctx: &serenity::Context,
    channel: serenity::ChannelId,
) -> Option<serenity::ChannelId> {
    match channel.to_channel(ctx).await {
        Ok(serenity::Channel::Guild(guild_channel)) => guild_channel.parent_id,
        Ok(_) => None,
        Err(err) => {
            tracing::warn!(channel = channel.get(), error = %err, "could not look up the channel of a reaction");
            None
        }
    }
}
