//! Reading a channel's history from Discord for the analysis: the
//! `MessageSource` the conversation gathering runs on.

use std::sync::Arc;

use poise::serenity_prelude as serenity;

use crate::analysis::conversation::{Attachment, Embed, Message, MessageAuthor};
use crate::analysis::source::{MessageSource, SourceError, ThreadInfo};

/// What a 403 while reading history is reported as; the context-menu
/// command recognises it and names the permissions to grant.
pub const MISSING_ACCESS: &str = "Discord refused access (403 Missing Access)";

/// REST access to Discord's message history.
#[derive(Clone)]
pub struct DiscordSource {
    http: Arc<serenity::Http>,
    own_user_id: Option<u64>,
    /// A message shown with a title line first: (message id, title).
    title: Option<(u64, String)>,
}

impl DiscordSource {
    pub fn new(http: Arc<serenity::Http>) -> Self {
        Self {
            http,
            own_user_id: None,
            title: None,
        }
    }

    /// Shows `title` as the first line of message `message_id`: a forum
    /// post's title lives on its thread, not in its first message, and it
    /// often names the machine.
    pub fn with_title(mut self, message_id: u64, title: &str) -> Self {
        self.title = Some((message_id, title.to_string()));
        self
    }

    fn titled(&self, mut message: Message) -> Message {
        if let Some((id, title)) = &self.title {
            if message.id == *id && !title.trim().is_empty() {
                message.content = format!("Title: {}\n{}", title.trim(), message.content);
            }
        }
        message
    }

    /// The bot's own user: its messages are left out of analyses.
    pub fn with_own_user(mut self, user_id: u64) -> Self {
        self.own_user_id = Some(user_id);
        self
    }
}

fn source_error(err: serenity::Error) -> SourceError {
    match status_of(&err) {
        Some(403) => SourceError(MISSING_ACCESS.to_string()),
        Some(status) => SourceError(format!("Discord answered HTTP {status}")),
        None => SourceError(format!("Discord could not be reached ({err})")),
    }
}

/// The HTTP status of Discord's answer, when it answered.
pub(crate) fn status_of(err: &serenity::Error) -> Option<u16> {
    match err {
        serenity::Error::Http(serenity::HttpError::UnsuccessfulRequest(response)) => {
            Some(response.status_code.as_u16())
        }
        _ => None,
    }
}

/// Serenity's message as the analysis sees it.
pub fn convert(message: &serenity::Message) -> Message {
    let author = &message.author;
    let display_name = message
        .member
        .as_ref()
        .and_then(|m| m.nick.clone())
        .or_else(|| author.global_name.clone())
        .unwrap_or_else(|| author.name.clone());
    Message {
        id: message.id.get(),
        channel_id: message.channel_id.get(),
        author: MessageAuthor {
            id: author.id.get(),
            username: author.name.clone(),
            display_name,
            is_bot: author.bot,
            is_webhook: message.webhook_id.is_some(),
        },
        content: message.content.clone(),
        timestamp: chrono::DateTime::from_timestamp(message.timestamp.unix_timestamp(), 0)
            .unwrap_or_default(),
        reply_to: message
            .message_reference
            .as_ref()
            .and_then(|r| r.message_id)
            .map(|id| id.get()),
        attachments: message
            .attachments
            .iter()
            .map(|a| Attachment {
                url: a.url.clone(),
                filename: a.filename.clone(),
                content_type: a.content_type.clone(),
                size: Some(u64::from(a.size)),
            })
            .collect(),
        embeds: message
            .embeds
            .iter()
            .map(|e| Embed {
                title: e.title.clone(),
                url: e.url.clone(),
                description: e.description.clone(),
            })
            .collect(),
    }
}

impl MessageSource for DiscordSource {
    fn own_user_id(&self) -> Option<u64> {
        self.own_user_id
    }

    async fn message(
        &self,
        channel_id: u64,
        message_id: u64,
    ) -> Result<Option<Message>, SourceError> {
        match self
            .http
            .get_message(
                serenity::ChannelId::new(channel_id),
                serenity::MessageId::new(message_id),
            )
            .await
        {
            Ok(message) => Ok(Some(self.titled(convert(&message)))),
            Err(err) if status_of(&err) == Some(404) => Ok(None),
            Err(err) => Err(source_error(err)),
        }
    }

    async fn messages_before(
        &self,
        channel_id: u64,
        before: u64,
        limit: usize,
    ) -> Result<Vec<Message>, SourceError> {
        let limit = limit.clamp(1, 100) as u8;
        let messages = serenity::ChannelId::new(channel_id)
            .messages(
                &self.http,
                serenity::GetMessages::new()
                    .before(serenity::MessageId::new(before))
                    .limit(limit),
            )
            .await
            .map_err(source_error)?;
        Ok(messages.iter().map(|m| self.titled(convert(m))).collect())
    }

    async fn thread_info(&self, channel_id: u64) -> Result<Option<ThreadInfo>, SourceError> {
        let channel = self
            .http
            .get_channel(serenity::ChannelId::new(channel_id))
            .await
            .map_err(source_error)?;
        let serenity::Channel::Guild(channel) = channel else {
            return Ok(None);
        };
        let is_thread = matches!(
            channel.kind,
            serenity::ChannelType::PublicThread
                | serenity::ChannelType::PrivateThread
                | serenity::ChannelType::NewsThread
        );
        if !is_thread {
            return Ok(None);
        }
        let Some(parent) = channel.parent_id else {
            return Ok(None);
        };
        // A thread opened from a message has that message's id as its own id.
        Ok(Some(ThreadInfo {
            parent_channel_id: parent.get(),
            starter_message_id: Some(channel_id),
        }))
    }
}
