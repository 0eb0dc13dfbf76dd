//! The `thread_created: {channel, first_messages}` trigger: a new post in a
//! forum channel, or a new thread in a text channel, whose parent is the
//! workflow's channel starts an analysis of the post (its starter message)
//! and the first messages after it. The review prompt is posted in the
//! thread for the thread's owner (`review_prompt`, as for reactions).
//!
//! Ignored: other servers, threads that are not new, threads the bot (or
//! another bot) opened, parents no workflow names, and a thread whose
//! intake already ran or whose messages are already saved.
//!
//! The thread's name (a forum post's title) is shown to the model as the
//! first line of its starter message.
//!
//! What is read: what the thread holds when the event is handled (no wait
//! for replies: a post's first messages are usually the post itself). Only
//! a thread with nothing readable yet (a text-channel thread opened without
//! a message, whose first message follows the event) is read again, after
//! 1, 2 and 4 seconds.

use std::time::Duration;

use poise::serenity_prelude as serenity;

use super::gateway_run::{self, GatewayStart};
use crate::app::App;
use crate::config::SettingKey;
use crate::discord::history::status_of;
use crate::discord::{checks, Data, Error};
use crate::records::records_for_messages;
use crate::runs;
use crate::workflow::Windows;

/// The waits before reading an empty new thread again.
const EMPTY_THREAD_RETRIES: [Duration; 3] = [
    Duration::from_secs(1),
    Duration::from_secs(2),
    Duration::from_secs(4),
];

/// A new thread a workflow claims.
#[derive(Debug, Clone)]
struct NewThread {
    workflow: String,
    guild_id: u64,
    thread_id: u64,
    parent_id: u64,
    owner_id: u64,
    /// The thread's name: a forum post's title.
    title: String,
    /// Messages read after the starter.
    first_messages: usize,
}

/// THREAD_CREATE: starts the claimed workflow in its own task.
pub fn on_thread_create(ctx: &serenity::Context, app: &Data, thread: &serenity::GuildChannel) {
    let own_user = ctx.cache.current_user().id;
    let Some(new) = claimed(app, own_user, thread) else {
        return;
    };
    let (ctx, app) = (ctx.clone(), app.clone());
    tokio::spawn(async move {
        let _in_flight = app.lifecycle.in_flight.enter();
        if let Err(err) = run(&ctx, &app, &new).await {
            tracing::error!(
                workflow = %new.workflow,
                thread = new.thread_id,
                error = format!("{err:#}"),
                "a thread-started workflow failed"
            );
        }
    });
}

/// The thread's workflow, when the thread is new, in the home server, not
/// the bot's own, and under a channel a workflow names.
fn claimed(
    app: &App,
    own_user: serenity::UserId,
    thread: &serenity::GuildChannel,
) -> Option<NewThread> {
    if thread.guild_id.get() != app.discord.home {
        return None;
    }
    if !matches!(
        thread.kind,
        serenity::ChannelType::PublicThread
            | serenity::ChannelType::PrivateThread
            | serenity::ChannelType::NewsThread
    ) {
        return None;
    }
    // Discord marks a new thread `newly_created`, a field serenity 0.12
    // drops. The other THREAD_CREATE, the bot added to an existing private
    // thread, carries the bot's thread member object, which a new thread's
    // does not.
    if thread.member.is_some() {
        return None;
    }
    let parent = thread.parent_id?.get();
    let owner = thread.owner_id?;
    if owner == own_user {
        return None;
    }
    let workflows = app.workflows();
    let workflow = workflows.by_thread_parent(parent)?;
    let (_, first_messages) = workflow.thread_created()?;
    Some(NewThread {
        workflow: workflow.name.clone(),
        guild_id: thread.guild_id.get(),
        thread_id: thread.id.get(),
        parent_id: parent,
        owner_id: owner.get(),
        title: thread.name.clone(),
        first_messages,
    })
}

/// The checks only a new thread needs, then the run every gateway trigger
/// shares (`gateway_run`).
async fn run(ctx: &serenity::Context, app: &App, new: &NewThread) -> Result<(), Error> {
    if !app.settings.get_bool(SettingKey::DiscordBotEnabled).await? {
        tracing::info!("new thread ignored: the bot is turned off (DISCORD_BOT_ENABLED)");
        return Ok(());
    }
    let thread = serenity::ChannelId::new(new.thread_id);
    let parent = serenity::ChannelId::new(new.parent_id);
    if let Some(refusal) =
        checks::channel_refusal(&app.settings, &new.workflow, thread, Some(parent)).await?
    {
        tracing::info!(
            thread = new.thread_id,
            reason = refusal.as_str(),
            "new thread ignored in a channel the bot does not serve"
        );
        return Ok(());
    }
    if runs::started_in_channel(&app.pool, runs::Trigger::ThreadCreated, new.thread_id).await? {
        tracing::info!(
            thread = new.thread_id,
            "new thread ignored: its intake already ran"
        );
        return Ok(());
    }
    let Some(owner) = owner_member(&ctx.http, new).await? else {
        return Ok(());
    };
    let roles: Vec<u64> = owner.roles.iter().map(|r| r.get()).collect();
    let counts_against_cap = {
        let workflows = app.workflows();
        let Some(workflow) = workflows.get(&new.workflow) else {
            return Ok(());
        };
        match workflow.may_start(new.thread_id, Some(new.parent_id), &roles) {
            Ok(counts) => counts,
            Err(refusal) => {
                tracing::info!(thread = new.thread_id, reason = %refusal, "new thread outside the workflow's scope ignored");
                return Ok(());
            }
        }
    };
    let Some(read) = read_start(&ctx.http, new).await? else {
        tracing::info!(
            thread = new.thread_id,
            "new thread ignored: nothing in it could be read"
        );
        return Ok(());
    };
    let saved = records_for_messages(&app.pool, &read.message_ids).await?;
    if !saved.is_empty() {
        tracing::info!(
            thread = new.thread_id,
            "new thread ignored: its messages are already saved"
        );
        return Ok(());
    }
    let start = GatewayStart {
        workflow: new.workflow.clone(),
        trigger: runs::Trigger::ThreadCreated,
        user_id: new.owner_id,
        user_name: owner.display_name().to_string(),
        username: owner.user.name.clone(),
        roles,
        guild_id: new.guild_id,
        run_channel_id: new.thread_id,
        channel_id: read.channel_id,
        message_id: read.target_id,
        prompt_channel_id: new.thread_id,
        windows: Some(read.windows),
        title: Some((new.thread_id, new.title.clone())),
        counts_against_cap,
    };
    gateway_run::begin(ctx, app, &start).await
}

/// The thread's owner as a member of the server; `None` (logged) when they
/// are a bot or no longer a member.
async fn owner_member(
    http: &serenity::Http,
    new: &NewThread,
) -> Result<Option<serenity::Member>, Error> {
    let guild = serenity::GuildId::new(new.guild_id);
    match guild
        .member(http, serenity::UserId::new(new.owner_id))
        .await
    {
        Ok(member) if member.user.bot => {
            tracing::info!(
                thread = new.thread_id,
                "new thread ignored: a bot opened it"
            );
            Ok(None)
        }
        Ok(member) => Ok(Some(member)),
        Err(err) if status_of(&err) == Some(404) => {
            tracing::info!(
                thread = new.thread_id,
                "new thread ignored: its owner is not a member"
            );
            Ok(None)
        }
        Err(err) => Err(err.into()),
    }
}

/// What the analysis of a new thread centres on.
#[derive(Debug, Clone)]
struct ThreadStart {
    /// The newest message read, and its channel (the thread, or the parent
    /// for a thread that holds nothing but was opened from a message).
    channel_id: u64,
    target_id: u64,
    /// Every message read, the starter included.
    message_ids: Vec<u64>,
    /// The windows that make the gathering read exactly those.
    windows: Windows,
}

/// The thread's start, read as it is; an empty thread is read again after
/// each of [`EMPTY_THREAD_RETRIES`].
async fn read_start(http: &serenity::Http, new: &NewThread) -> Result<Option<ThreadStart>, Error> {
    if let Some(start) = read_once(http, new).await? {
        return Ok(Some(start));
    }
    for wait in EMPTY_THREAD_RETRIES {
        tokio::time::sleep(wait).await;
        if let Some(start) = read_once(http, new).await? {
            return Ok(Some(start));
        }
    }
    Ok(None)
}

async fn read_once(http: &serenity::Http, new: &NewThread) -> Result<Option<ThreadStart>, Error> {
    // A post's starter message has the thread's id, and every later message
    // a larger one: the thread's first messages are the ones after id - 1.
    let after = serenity::MessageId::new(new.thread_id.saturating_sub(1).max(1));
    // The starter, then `first_messages` more (check bounds the sum to 100).
    let limit = u8::try_from(new.first_messages + 1).unwrap_or(100).min(100);
    let mut messages = serenity::ChannelId::new(new.thread_id)
        .messages(http, serenity::GetMessages::new().after(after).limit(limit))
        .await?;
    messages.sort_by_key(|m| m.id);
    let mut message_ids: Vec<u64> = messages.iter().map(|m| m.id.get()).collect();
    if let Some(newest) = messages.last() {
        // A thread opened from a message in a text channel: that message,
        // in the parent, is the starter (the gathering reads it).
        if !message_ids.contains(&new.thread_id) {
            message_ids.push(new.thread_id);
        }
        return Ok(Some(ThreadStart {
            channel_id: new.thread_id,
            target_id: newest.id.get(),
            windows: windows(messages.len(), 1),
            message_ids,
        }));
    }
    let parent = serenity::ChannelId::new(new.parent_id);
    match parent
        .message(http, serenity::MessageId::new(new.thread_id))
        .await
    {
        Ok(starter) => Ok(Some(ThreadStart {
            channel_id: new.parent_id,
            target_id: starter.id.get(),
            message_ids: vec![starter.id.get()],
            windows: windows(1, 0),
        })),
        Err(err) if status_of(&err) == Some(404) => Ok(None),
        Err(err) => Err(err.into()),
    }
}

/// Windows that read `thread` thread messages ending at the target, plus
/// `starter` message(s) in the parent, and nothing around them.
fn windows(thread: usize, starter: usize) -> Windows {
    Windows {
        channel_before: 0,
        thread_messages: thread,
        thread_preroll: 0,
        reply_chain_depth: 0,
        reply_chain_preroll: 0,
        max_messages: thread + starter,
    }
}
