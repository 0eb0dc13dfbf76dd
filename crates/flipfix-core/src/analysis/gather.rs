//! Gathering the conversation around the clicked message, in one of three
//! modes (plain channel, thread, reply chain), within the workflow's windows
//! and never beyond [`MAX_MESSAGES`].

use std::collections::{BTreeMap, HashSet};

use super::conversation::{Conversation, ConversationMessage, Message, Mode};
use super::source::{MessageSource, SourceError};
use crate::workflow::{Windows, MAX_MESSAGES};

#[derive(Debug, thiserror::Error)]
pub enum GatherError {
    #[error("the clicked message could not be found")]
    TargetNotFound,
    #[error(transparent)]
    Source(#[from] SourceError),
}

/// Reads the conversation the model should see for `target_id` in
/// `channel_id`. Messages come back oldest first, the target marked.
pub async fn gather<S: MessageSource>(
    source: &S,
    windows: &Windows,
    guild_id: Option<u64>,
    channel_id: u64,
    target_id: u64,
) -> Result<Conversation, GatherError> {
    let target = source
        .message(channel_id, target_id)
        .await?
        .ok_or(GatherError::TargetNotFound)?;
    let cap = windows.max_messages.clamp(1, MAX_MESSAGES);
    // Messages that are kept whatever the cap: the target and its chain.
    let mut pinned: Vec<Message> = vec![target.clone()];
    // Other context, most important first (dropped from the end at the cap).
    let mut context: Vec<Message> = Vec::new();
    let mut chain = HashSet::new();
    let mut origin_message_id = None;

    let mode = if let Some(thread) = source.thread_info(channel_id).await? {
        let before = windows.thread_messages.saturating_sub(1).min(MAX_MESSAGES);
        context.extend(
            source
                .messages_before(channel_id, target_id, before)
                .await?,
        );
        if let Some(starter_id) = thread.starter_message_id {
            if let Some(starter) = source.message(thread.parent_channel_id, starter_id).await? {
                origin_message_id = Some(starter.id);
                context.insert(0, starter);
                let preroll = source
                    .messages_before(thread.parent_channel_id, starter_id, windows.thread_preroll)
                    .await?;
                context.extend(preroll);
            }
        }
        Mode::Thread
    } else if target.reply_to.is_some() {
        let mut current = target.clone();
        let mut depth = 0;
        while let Some(parent_id) = current.reply_to {
            if depth >= windows.reply_chain_depth || chain.contains(&parent_id) {
                break;
            }
            let Some(parent) = source.message(channel_id, parent_id).await? else {
                break; // deleted or out of reach: the chain ends here
            };
            chain.insert(parent.id);
            pinned.push(parent.clone());
            current = parent;
            depth += 1;
        }
        let origin = current.id;
        if origin != target_id {
            origin_message_id = Some(origin);
        }
        // The messages between origin and target, newest first, within the
        // room the pinned messages and the preroll leave.
        let room = cap.saturating_sub(pinned.len());
        let mut before = target_id;
        let mut between = Vec::new();
        while between.len() < room {
            let page = source
                .messages_before(channel_id, before, (room - between.len()).min(100))
                .await?;
            let Some(last) = page.last().map(|m| m.id) else {
                break;
            };
            let reached = page.iter().any(|m| m.id <= origin);
            between.extend(page.into_iter().filter(|m| m.id > origin));
            if reached {
                break;
            }
            before = last;
        }
        let preroll = source
            .messages_before(channel_id, origin, windows.reply_chain_preroll)
            .await?;
        // Preroll first: it is the context the origin needs; in-between
        // chatter is cut before it when space runs out.
        context.extend(preroll);
        context.extend(between);
        Mode::ReplyChain
    } else {
        let before = windows.channel_before.min(MAX_MESSAGES);
        context.extend(
            source
                .messages_before(channel_id, target_id, before)
                .await?,
        );
        Mode::Channel
    };

    let mut kept: BTreeMap<u64, Message> = BTreeMap::new();
    for message in pinned {
        kept.insert(message.id, message);
    }
    for message in context {
        if kept.len() >= cap {
            break;
        }
        kept.entry(message.id).or_insert(message);
    }
    let messages = kept
        .into_values()
        .map(|message| ConversationMessage {
            is_target: message.id == target_id,
            in_reply_chain: chain.contains(&message.id),
            message,
            saved_as: Vec::new(),
            reference: None,
        })
        .collect();
    Ok(Conversation {
        mode,
        guild_id,
        channel_id,
        target_id,
        messages,
        excluded_saved: Vec::new(),
        saved_stubs: Vec::new(),
        origin_message_id,
        origin_record: None,
        open_records: Vec::new(),
        machine_statuses: Vec::new(),
    })
}
