//! Where messages come from: Discord in production, scenario files in tests
//! and the replay tool. Calls follow Discord's REST semantics so the Discord
//! implementation is a thin wrapper.

use std::future::Future;

use super::conversation::Message;

/// A thread's place in its parent channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThreadInfo {
    pub parent_channel_id: u64,
    /// The message the thread was opened under (in the parent channel), if
    /// the thread has one.
    pub starter_message_id: Option<u64>,
}

#[derive(Debug, thiserror::Error)]
#[error("could not read messages: {0}")]
pub struct SourceError(pub String);

/// Read access to a message history.
pub trait MessageSource: Sync {
    /// One message, or `None` when it does not exist (deleted, no access).
    fn message(
        &self,
        channel_id: u64,
        message_id: u64,
    ) -> impl Future<Output = Result<Option<Message>, SourceError>> + Send;

    /// Up to `limit` (at most 100) messages before `before` in a channel,
    /// newest first, as Discord's `GET /channels/{id}/messages?before=` does.
    fn messages_before(
        &self,
        channel_id: u64,
        before: u64,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<Message>, SourceError>> + Send;

    /// `Some` when `channel_id` is a thread.
    fn thread_info(
        &self,
        channel_id: u64,
    ) -> impl Future<Output = Result<Option<ThreadInfo>, SourceError>> + Send;

    /// The user id this bot posts as in the history, if known: its own
    /// messages are never analysed as sources.
    fn own_user_id(&self) -> Option<u64> {
        None
    }
}

/// A message of an in-memory history (scenarios, worked examples) by id.
pub(crate) fn find_in(messages: &[Message], channel_id: u64, id: u64) -> Option<Message> {
    messages
        .iter()
        .find(|m| m.id == id && m.channel_id == channel_id)
        .cloned()
}

/// Up to `limit` (at most 100, as Discord) messages of an in-memory history
/// in `channel_id` before `before`, newest first, as Discord answers.
pub(crate) fn before_in(
    messages: &[Message],
    channel_id: u64,
    before: u64,
    limit: usize,
) -> Vec<Message> {
    messages
        .iter()
        .rev()
        .filter(|m| m.channel_id == channel_id && m.id < before)
        .take(limit.min(100))
        .cloned()
        .collect()
}
