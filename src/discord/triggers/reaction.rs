//! The `reaction: EMOJI` trigger: a member adds a workflow's emoji to a
//! message in the home server, and the conversation around that message is
//! analysed as with Add to Flipfix. The review opens from a prompt posted
//! in the channel (`review_prompt`). Bot reactions, other servers and
//! emojis no workflow claims are ignored; a message already saved gets a
//! short note and no analysis.
//!
//! The gateway handler only filters and spawns: gathering and the model
//! call happen in their own task.

use chrono::Duration;
use poise::serenity_prelude as serenity;

use super::review_prompt;
use crate::analysis::{AnalysisRequest, NO_RECORDS_MESSAGE};
use crate::app::App;
use crate::config::SettingKey;
use crate::discord::add_to_flipfix::{
    already_saved, analyse, review_items, spend_limits, user_message, Requester,
};
use crate::discord::{checks, Data, Error};
use crate::llm::budget;
use crate::records::records_for_messages;
use crate::review::{recovery, NewSession, ReviewStore, SessionStatus, StartOutcome};
use crate::runs::{self, Outcome as RunOutcome};

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

/// The run: checks, the analysis, the review items, and the prompt.
async fn run(ctx: &serenity::Context, app: &App, started: &Started) -> Result<(), Error> {
    let http = &ctx.http;
    if !app.settings.get_bool(SettingKey::DiscordBotEnabled).await? {
        tracing::info!("reaction ignored: the bot is turned off (DISCORD_BOT_ENABLED)");
        return Ok(());
    }
    let channel = serenity::ChannelId::new(started.channel_id);
    let parent = channel_parent(ctx, channel).await;
    if !in_scope(app, &started.workflow, started.channel_id, parent) {
        return Ok(());
    }
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
    let requested_by = format!("discord:{}", started.user_id);
    let limits = spend_limits(app).await?;
    if let Err(refusal) = budget::check(&app.pool, limits, &requested_by, app.clock.now()).await? {
        return review_prompt::note(http, started.channel_id, &refusal.to_string()).await;
    }
    let hours = app
        .settings
        .get_hours(SettingKey::ReviewExpiryHours)
        .await?;
    let new = NewSession {
        guild_id: Some(started.guild_id),
        channel_id: started.channel_id,
        target_message_id: started.message_id,
        owner_user_id: started.user_id,
        owner_name: started.user_name.clone(),
        expires_at: app.clock.now() + Duration::hours(i64::from(hours)),
    };
    let store = ReviewStore::new(app.pool.clone());
    let session_id = match store
        .start_as(&new, app.clock.now(), app.lifecycle.instance)
        .await?
    {
        StartOutcome::Started(id) => id,
        busy => {
            // A second reaction while a review is open: the open one stands.
            tracing::info!(message = started.message_id, outcome = ?busy, "reaction on a message already under review ignored");
            return Ok(());
        }
    };
    let run_id = start_run(app, started).await?;
    runs::attach_review(&app.pool, run_id, session_id).await?;
    if let Err(err) = prepare(ctx, app, started, session_id, run_id).await {
        let reason = format!("{err:#}");
        if let Err(close_err) =
            recovery::close(&app.pool, session_id, SessionStatus::Failed, &reason).await
        {
            tracing::error!(session_id, error = %close_err, "could not close a failed review; it frees itself when this process is gone");
        }
        if let Err(settle_err) =
            runs::settle_review_run(&app.pool, session_id, app.clock.now()).await
        {
            tracing::warn!(session_id, error = %settle_err, "could not record how the run ended");
        }
        return Err(err);
    }
    Ok(())
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

/// Whether the workflow's `channels:` list (if any) holds the channel or
/// its parent.
fn in_scope(app: &App, workflow: &str, channel: u64, parent: Option<serenity::ChannelId>) -> bool {
    let workflows = app.workflows();
    let Some(workflow) = workflows.get(workflow) else {
        return false;
    };
    let channels = &workflow.scope.channels;
    channels.is_empty()
        || channels.contains(&channel)
        || parent.is_some_and(|p| channels.contains(&p.get()))
}

/// Gathers, analyses and stores the suggestions, then posts the prompt (or
/// a note when there is nothing to review).
async fn prepare(
    ctx: &serenity::Context,
    app: &App,
    started: &Started,
    session_id: i64,
    run_id: i64,
) -> Result<(), Error> {
    let store = ReviewStore::new(app.pool.clone());
    let request = AnalysisRequest {
        guild_id: Some(started.guild_id),
        channel_id: started.channel_id,
        target_id: started.message_id,
        requested_by: format!("discord:{}", started.user_id),
        run_id: Some(run_id),
    };
    let workflows = app.workflows();
    let Some(workflow) = workflows.get(&started.workflow) else {
        // A reload removed the workflow between the reaction and now.
        store.fail(session_id).await?;
        let text = format!(
            "The workflow `{}` was removed by a reload.",
            started.workflow
        );
        settle(app, run_id, RunOutcome::Refused, &text).await;
        return Ok(());
    };
    // The review keeps the version it is prepared with.
    app.pin_review(session_id, workflows.clone()).await;
    let analysis = match analyse(ctx, app, workflow, &request, None).await {
        Ok(analysis) => analysis,
        Err(err) => {
            store.fail(session_id).await?;
            tracing::warn!(error = %err, "analysis of a reacted message failed");
            let text = user_message(&err);
            let outcome = match &err {
                crate::analysis::AnalysisError::Spend(_) => RunOutcome::Refused,
                _ => RunOutcome::Failed,
            };
            settle(app, run_id, outcome, &text).await;
            return review_prompt::note(&ctx.http, started.channel_id, &text).await;
        }
    };
    let target = serenity::ChannelId::new(started.channel_id)
        .message(&ctx.http, serenity::MessageId::new(started.message_id))
        .await?;
    let requester = Requester {
        user_id: started.user_id,
        guild_id: Some(started.guild_id),
        roles: Some(started.roles.clone()),
    };
    let items = review_items(app, &requester, &target, &analysis).await?;
    store.set_items(session_id, &items).await?;
    let catalog = crate::catalog::machines::list(&app.pool).await?;
    let texts = analysis
        .conversation
        .messages
        .iter()
        .map(|m| m.message.content.as_str());
    let mentioned = crate::catalog::ranking::mentioned_in(&catalog, texts);
    store.set_machine_mentions(session_id, &mentioned).await?;
    if items.is_empty() {
        settle(app, run_id, RunOutcome::Skipped, NO_RECORDS_MESSAGE).await;
        return review_prompt::note(&ctx.http, started.channel_id, NO_RECORDS_MESSAGE).await;
    }
    let kinds = &workflows.kinds;
    if let Err(err) = crate::review::duplicates::find_and_store(&app.pool, kinds, session_id).await
    {
        tracing::warn!(error = %err, "duplicate check failed; cards shown without it");
    }
    review_prompt::post(
        &ctx.http,
        app,
        started.channel_id,
        session_id,
        started.user_id,
    )
    .await
}

async fn start_run(app: &App, started: &Started) -> Result<i64, sqlx::Error> {
    let workflows = app.workflows();
    // The workflow's own version, when it is in force: its review keeps it.
    let version = workflows
        .get(&started.workflow)
        .map_or(workflows.version.as_str(), |w| w.version.as_str());
    let run = runs::NewRun {
        workflow: &started.workflow,
        version,
        trigger: runs::Trigger::Reaction,
        user: Some((started.user_id, &started.username)),
        guild_id: Some(started.guild_id),
        channel_id: Some(started.channel_id),
        target_message_id: Some(started.message_id),
        instance: app.lifecycle.instance,
    };
    runs::start(&app.pool, &run, app.clock.now()).await
}

async fn settle(app: &App, run_id: i64, outcome: RunOutcome, reason: &str) {
    if let Err(err) = runs::settle(&app.pool, run_id, outcome, reason, app.clock.now()).await {
        tracing::warn!(run_id, error = %err, "could not record how the run ended");
    }
}
