//! The typed note as a message of the conversation.
//!
//! A note typed into a slash command has no Discord message. Its id is the
//! interaction's id: a snowflake like a message id, unique, and dated when
//! the command was used, so the channel's messages "before" it are the ones
//! posted before the command. Validation accepts it as a source like any
//! gathered message, the review claims it as its target, and the records
//! keep it honestly as their source (`records.source_message_id` = the
//! interaction id, in the channel the command was used in; there is no
//! message to open at that id).

use poise::serenity_prelude as serenity;

use crate::analysis::conversation::Attachment;
use crate::analysis::{Message, MessageSource, SourceError, ThreadInfo};
use crate::discord::history::{convert, DiscordSource};

/// What the person typed and attached.
pub(super) struct TypedNote {
    pub text: String,
    /// The machine picked in the command, by its display name.
    pub machine: Option<String>,
    pub attachment: Option<Attachment>,
}

/// The note as the review's target: a message by the person, at the
/// interaction's id and time, in the interaction's channel.
pub(super) fn target_message(
    interaction: &serenity::CommandInteraction,
    note: &TypedNote,
) -> serenity::Message {
    let mut message = serenity::Message::default();
    message.id = serenity::MessageId::new(interaction.id.get());
    message.channel_id = interaction.channel_id;
    message.guild_id = interaction.guild_id;
    message.author = interaction.user.clone();
    message.content = note.text.clone();
    message.timestamp = interaction.id.created_at();
    message
}

/// The note as the model reads it: the typed text, then the machine the
/// person picked as a hint (the model still decides), with the attachment.
pub(super) fn conversation_message(
    interaction: &serenity::CommandInteraction,
    note: &TypedNote,
) -> Message {
    let mut message = convert(&target_message(interaction, note));
    if let Some(nick) = interaction.member.as_ref().and_then(|m| m.nick.clone()) {
        message.author.display_name = nick;
    }
    if let Some(machine) = &note.machine {
        message.content = format!(
            "{}\n\n(Machine picked with /{}: {machine})",
            note.text, interaction.data.name
        );
    }
    message.attachments.extend(note.attachment.clone());
    message
}

/// Discord's history with the typed note added at its id. Never a thread
/// conversation: the channel's last messages (the trigger's `history`) come
/// before the note, and nothing else.
pub(super) struct NoteSource {
    pub discord: DiscordSource,
    pub note: Message,
}

impl MessageSource for NoteSource {
    async fn message(&self, channel_id: u64, id: u64) -> Result<Option<Message>, SourceError> {
        if id == self.note.id && channel_id == self.note.channel_id {
            return Ok(Some(self.note.clone()));
        }
        self.discord.message(channel_id, id).await
    }

    async fn messages_before(
        &self,
        channel_id: u64,
        before: u64,
        limit: usize,
    ) -> Result<Vec<Message>, SourceError> {
        // Discord refuses `limit=0`; a note without history reads nothing.
        if limit == 0 {
            return Ok(Vec::new());
        }
        self.discord
            .messages_before(channel_id, before, limit)
            .await
    }

    async fn thread_info(&self, _channel_id: u64) -> Result<Option<ThreadInfo>, SourceError> {
        Ok(None)
    }

    fn own_user_id(&self) -> Option<u64> {
        self.discord.own_user_id()
    }
}
