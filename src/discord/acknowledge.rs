//! Acknowledging at the source (`context_menu.on_created`): after a Create
//! click has been answered, the bot reacts on the new record's source
//! messages; when the review is over with records created, it posts one
//! public reply in the conversation. Neither ever fails the review: a
//! missing permission is logged once per channel and skipped, any other
//! failure is logged and not retried.

use std::collections::HashSet;
use std::sync::{Mutex, OnceLock};

use poise::serenity_prelude as serenity;

use super::reply;
use crate::app::App;
use crate::review::acknowledge::{
    claim_reply, finish_reply, reply_due, ReplyContext, ReplyOutcome,
};
use crate::review::{DecisionOutcome, ItemState, Session};
use crate::workflow::{OnCreated, Workflows};

/// Discord's JSON error code for "Missing Permissions".
const MISSING_PERMISSIONS: isize = 50013;

/// After a decision (or a cancel) was shown: react, and reply when due.
pub async fn after_decision(
    ctx: &serenity::Context,
    app: &App,
    workflows: &Workflows,
    component: &serenity::ComponentInteraction,
    position: usize,
    outcome: Option<&DecisionOutcome>,
    session: &Session,
) {
    // The on_created of the workflow whose run opened this review, in the
    // version the review started on (`workflows`).
    let name = match crate::runs::workflow_of_review(&app.pool, session.id).await {
        Ok(name) => name,
        Err(err) => {
            tracing::warn!(session = session.id, error = %err, "could not find the review's workflow; not acknowledging");
            return;
        }
    };
    // A review no run links (opened before runs were recorded) belongs to
    // the one message-command workflow, as it did then.
    let workflow = match name.as_deref() {
        Some(name) => workflows.get(name),
        None => workflows.choose(None).ok(),
    };
    let on_created = workflow
        .and_then(|w| w.analyze.as_ref())
        .map(|menu| menu.on_created.clone())
        .unwrap_or_default();
    if let (Some(emoji), Some(DecisionOutcome::Created { .. })) = (&on_created.react, outcome) {
        react(ctx, component, session, position, emoji).await;
    }
    if on_created.reply_template.is_some() && reply_due(session) {
        if let Err(err) = post_reply(ctx, app, workflows, component, session, &on_created).await {
            tracing::warn!(session = session.id, error = %err, "could not record the reply's outcome");
        }
    }
    tracing::debug!(session = session.id, position, "acknowledgement done");
}

/// Reacts on the sources of the item just created, except messages an
/// earlier record of this review already marked.
async fn react(
    ctx: &serenity::Context,
    component: &serenity::ComponentInteraction,
    session: &Session,
    position: usize,
    emoji: &str,
) {
    let Some(entry) = session.items.get(position) else {
        return;
    };
    let marked: HashSet<u64> = session
        .items
        .iter()
        .filter(|other| other.position != position && other.state == ItemState::Created)
        .flat_map(|other| other.item.sources.iter().map(|s| s.message_id))
        .collect();
    let reaction = reaction_type(emoji);
    let mut done = HashSet::new();
    for source in &entry.item.sources {
        if marked.contains(&source.message_id) || !done.insert(source.message_id) {
            continue;
        }
        // The interaction tells the bot's permissions in its own channel;
        // elsewhere (a thread's parent) Discord's answer decides.
        let here = source.channel_id == component.channel_id.get();
        if here && lacks(component, serenity::Permissions::ADD_REACTIONS) {
            warn_missing_once(source.channel_id, "Add Reactions");
            continue;
        }
        let result = ctx
            .http
            .create_reaction(
                serenity::ChannelId::new(source.channel_id),
                serenity::MessageId::new(source.message_id),
                &reaction,
            )
            .await;
        match result {
            Ok(()) => {}
            Err(err) if is_forbidden(&err) => warn_missing_once(source.channel_id, "Add Reactions"),
            Err(err) => tracing::warn!(
                channel_id = source.channel_id,
                message_id = source.message_id,
                error = %err,
                "could not react on a source message; the record stands"
            ),
        }
    }
}

/// Posts the one reply of this review, if this caller wins the claim.
async fn post_reply(
    ctx: &serenity::Context,
    app: &App,
    workflows: &Workflows,
    component: &serenity::ComponentInteraction,
    session: &Session,
    on_created: &OnCreated,
) -> Result<(), sqlx::Error> {
    let Some(template) = &on_created.reply_template else {
        return Ok(());
    };
    if !claim_reply(&app.pool, session.id).await? {
        return Ok(()); // another click, instance or run already did
    }
    let in_thread = component.channel.as_ref().is_some_and(|c| {
        matches!(
            c.kind,
            serenity::ChannelType::PublicThread
                | serenity::ChannelType::PrivateThread
                | serenity::ChannelType::NewsThread
        )
    });
    let (needed, name) = if in_thread {
        (
            serenity::Permissions::SEND_MESSAGES_IN_THREADS,
            "Send Messages in Threads",
        )
    } else {
        (serenity::Permissions::SEND_MESSAGES, "Send Messages")
    };
    let here = session.channel_id == component.channel_id.get();
    if here && lacks(component, needed) {
        warn_missing_once(session.channel_id, name);
        return finish_reply(&app.pool, session.id, ReplyOutcome::Skipped).await;
    }
    let context = ReplyContext::for_session(
        session,
        &workflows.kinds,
        app.secrets.public_base_url.as_ref(),
    );
    let content = match workflows.templates.render(template, &context) {
        Ok(text) if !text.trim().is_empty() => text,
        Ok(_) => {
            tracing::warn!(session = session.id, template = %template, "the reply template rendered nothing; no reply posted");
            return finish_reply(&app.pool, session.id, ReplyOutcome::Failed).await;
        }
        Err(err) => {
            tracing::error!(session = session.id, error = %err.0, "the reply template failed; no reply posted");
            return finish_reply(&app.pool, session.id, ReplyOutcome::Failed).await;
        }
    };
    let channel = serenity::ChannelId::new(session.channel_id);
    let reference =
        serenity::MessageReference::new(serenity::MessageReferenceKind::Default, channel)
            .message_id(serenity::MessageId::new(session.target_message_id))
            .fail_if_not_exists(false);
    let message = serenity::CreateMessage::new()
        .content(crate::text::truncate_chars(
            content.trim(),
            reply::CONTENT_LIMIT,
        ))
        .reference_message(reference)
        .allowed_mentions(reply::no_mentions());
    let outcome = match channel.send_message(&ctx.http, message).await {
        Ok(posted) => {
            tracing::info!(
                session = session.id,
                message_id = posted.id.get(),
                "posted the review's reply in the conversation"
            );
            ReplyOutcome::Posted {
                channel_id: posted.channel_id.get(),
                message_id: posted.id.get(),
            }
        }
        Err(err) if is_forbidden(&err) => {
            warn_missing_once(session.channel_id, name);
            ReplyOutcome::Skipped
        }
        Err(err) => {
            tracing::warn!(session = session.id, error = %err, "could not post the review's reply; the records stand");
            ReplyOutcome::Failed
        }
    };
    finish_reply(&app.pool, session.id, outcome).await
}

/// A Unicode emoji, or a custom one written `name:id`.
fn reaction_type(emoji: &str) -> serenity::ReactionType {
    if let Some((name, id)) = emoji.split_once(':') {
        if let Ok(id) = id.parse::<u64>() {
            if id != 0 {
                return serenity::ReactionType::Custom {
                    animated: false,
                    id: serenity::EmojiId::new(id),
                    name: Some(name.to_string()),
                };
            }
        }
    }
    serenity::ReactionType::Unicode(emoji.to_string())
}

/// The interaction says the bot lacks `permission` in its channel (without
/// the field, Discord's own answer decides).
fn lacks(component: &serenity::ComponentInteraction, permission: serenity::Permissions) -> bool {
    component
        .app_permissions
        .is_some_and(|granted| !granted.contains(permission))
}

fn is_forbidden(err: &serenity::Error) -> bool {
    match err {
        serenity::Error::Http(serenity::HttpError::UnsuccessfulRequest(response)) => {
            response.status_code.as_u16() == 403 || response.error.code == MISSING_PERMISSIONS
        }
        _ => false,
    }
}

/// One warning per channel and permission per process: every click in a
/// channel without the permission would say it again.
fn warn_missing_once(channel_id: u64, permission: &'static str) {
    static WARNED: OnceLock<Mutex<HashSet<(u64, &'static str)>>> = OnceLock::new();
    let first = WARNED
        .get_or_init(Default::default)
        .lock()
        .map(|mut warned| warned.insert((channel_id, permission)))
        .unwrap_or(true);
    if first {
        tracing::warn!(
            channel_id,
            permission,
            "the bot lacks a permission to acknowledge created records in this channel; skipped (the records stand). Grant it to see reactions and replies there"
        );
    }
}
