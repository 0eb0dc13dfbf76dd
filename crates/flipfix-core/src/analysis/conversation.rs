//! The conversation the model sees: messages as read from Discord (or a
//! scenario), the clicked message, and references to existing records that
//! this system's webhook posted.

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::workflow::RecordKinds;

/// Who wrote a message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MessageAuthor {
    pub id: u64,
    pub username: String,
    pub display_name: String,
    pub is_bot: bool,
    /// Posted through a webhook (this system's record posts among them).
    pub is_webhook: bool,
}

/// An embed, as far as analysis cares.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Embed {
    pub title: Option<String>,
    pub url: Option<String>,
    pub description: Option<String>,
}

/// A file attached to a message, as Discord describes it (the uploader's
/// claims: the bytes are checked before anything relies on them).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Attachment {
    pub url: String,
    pub filename: String,
    pub content_type: Option<String>,
    /// Bytes, as declared.
    pub size: Option<u64>,
}

impl Attachment {
    /// An attachment known by its URL alone (the file name is its last
    /// path segment).
    pub fn from_url(url: &str) -> Self {
        let filename = url::Url::parse(url)
            .ok()
            .and_then(|u| u.path_segments()?.next_back().map(str::to_string))
            .unwrap_or_default();
        Self {
            url: url.to_string(),
            filename,
            content_type: None,
            size: None,
        }
    }
}

/// One Discord message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Message {
    pub id: u64,
    pub channel_id: u64,
    pub author: MessageAuthor,
    pub content: String,
    pub timestamp: DateTime<Utc>,
    /// The message this one replies to.
    pub reply_to: Option<u64>,
    pub attachments: Vec<Attachment>,
    pub embeds: Vec<Embed>,
}

/// How the conversation around the target was gathered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// The target and the messages before it in a plain channel.
    Channel,
    /// Thread messages up to the target, the starter and the channel before it.
    Thread,
    /// The replies from the target back to their origin, and around it.
    ReplyChain,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Channel => "channel",
            Self::Thread => "thread",
            Self::ReplyChain => "reply_chain",
        }
    }
}

/// An existing record this system posted (found in a webhook embed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RecordReference {
    pub kind: String,
    pub record_id: i64,
    pub title: Option<String>,
    /// The record text without its author line.
    pub text: String,
    /// The records-app user after the final `— Name` line.
    pub author_name: Option<String>,
}

/// A record a message already became.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SavedAs {
    pub record_id: i64,
    pub kind: String,
}

/// A message as part of a conversation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConversationMessage {
    #[serde(flatten)]
    pub message: Message,
    pub is_target: bool,
    /// On the reply chain from the target to its origin.
    pub in_reply_chain: bool,
    /// Records this message already became (only ever set on the target:
    /// other saved messages are left out).
    pub saved_as: Vec<SavedAs>,
    pub reference: Option<RecordReference>,
}

/// The gathered conversation, oldest message first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Conversation {
    pub mode: Mode,
    pub guild_id: Option<u64>,
    /// The channel (or thread) of the target.
    pub channel_id: u64,
    pub target_id: u64,
    pub messages: Vec<ConversationMessage>,
    /// Messages left out because they already became records.
    pub excluded_saved: Vec<u64>,
    /// The same messages as one-line stubs with the records they became,
    /// so the model can still link a follow-up ("parts arrived") to them.
    pub saved_stubs: Vec<SavedStub>,
    /// The thread's starter message, or the reply chain's origin.
    pub origin_message_id: Option<u64>,
    /// The record that origin already became (a follow-up's parent).
    pub origin_record: Option<ExistingRecord>,
    /// Open records of the machines the conversation mentions.
    pub open_records: Vec<ExistingRecord>,
    /// Those machines' statuses when not good (a broken machine), so
    /// "it's back up" reads as the fix of its open report.
    pub machine_statuses: Vec<MachineStatusNote>,
}

/// A machine the conversation mentions that is not in normal service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MachineStatusNote {
    /// The machine's catalog slug.
    pub machine: String,
    pub status: crate::records::view::MachineStatusView,
}

/// A record already in the database that the model is told about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExistingRecord {
    pub kind: String,
    pub record_id: i64,
    /// The machine's catalog slug.
    pub machine: Option<String>,
    pub status: Option<String>,
    pub occurred_at: DateTime<Utc>,
    pub text: String,
    /// The values of the fields the machine status rules read (a report's
    /// `priority`): why its machine is out of service.
    pub rule_fields: std::collections::BTreeMap<String, String>,
}

/// A message left out because it already became records.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SavedStub {
    pub id: u64,
    pub author_name: String,
    pub timestamp: DateTime<Utc>,
    pub saved_as: Vec<SavedAs>,
}

impl Conversation {
    pub fn target(&self) -> Option<&ConversationMessage> {
        self.messages.iter().find(|m| m.is_target)
    }

    pub fn get(&self, id: u64) -> Option<&ConversationMessage> {
        self.messages.iter().find(|m| m.message.id == id)
    }

    pub fn ids(&self) -> Vec<u64> {
        self.messages.iter().map(|m| m.message.id).collect()
    }

    pub fn references(&self) -> impl Iterator<Item = &RecordReference> {
        self.messages.iter().filter_map(|m| m.reference.as_ref())
    }

    /// Leaves out messages that already became records, keeping the target
    /// (marked with what it became).
    pub fn exclude_saved(&mut self, saved: &[crate::records::SavedSource]) {
        let target = self.target_id;
        for message in &mut self.messages {
            if message.message.id == target {
                message.saved_as = saved
                    .iter()
                    .filter(|s| s.message_id == target)
                    .map(|s| SavedAs {
                        record_id: s.record_id,
                        kind: s.kind.clone(),
                    })
                    .collect();
            }
        }
        let mut excluded = Vec::new();
        let mut stubs = Vec::new();
        self.messages.retain(|m| {
            let id = m.message.id;
            let drop = id != target && saved.iter().any(|s| s.message_id == id);
            if drop {
                excluded.push(id);
                stubs.push(SavedStub {
                    id,
                    author_name: m.message.author.display_name.clone(),
                    timestamp: m.message.timestamp,
                    saved_as: saved
                        .iter()
                        .filter(|s| s.message_id == id)
                        .map(|s| SavedAs {
                            record_id: s.record_id,
                            kind: s.kind.clone(),
                        })
                        .collect(),
                });
            }
            !drop
        });
        self.excluded_saved = excluded;
        self.saved_stubs = stubs;
    }

    /// Finds this system's record posts among webhook messages.
    pub(crate) fn parse_references(&mut self, kinds: &RecordKinds) {
        for message in &mut self.messages {
            if message.message.author.is_webhook || message.message.author.is_bot {
                message.reference = message
                    .message
                    .embeds
                    .iter()
                    .find_map(|embed| parse_reference(embed, kinds));
            }
        }
    }
}

/// A record reference from an embed whose URL path ends in
/// `/<link_path>/<id>` (any host: the public base URL may change).
pub(crate) fn parse_reference(embed: &Embed, kinds: &RecordKinds) -> Option<RecordReference> {
    let url = url::Url::parse(embed.url.as_deref()?).ok()?;
    let segments: Vec<&str> = url.path_segments()?.filter(|s| !s.is_empty()).collect();
    let [.., link_path, id] = segments.as_slice() else {
        return None;
    };
    let kind = kinds.by_link_path(link_path)?;
    let record_id: i64 = id.parse().ok().filter(|id| *id > 0)?;
    let description = embed.description.clone().unwrap_or_default();
    let (text, author_name) = split_author_line(&description);
    Some(RecordReference {
        kind: kind.name.clone(),
        record_id,
        title: embed.title.clone(),
        text,
        author_name,
    })
}

/// Splits "text\n\n— Name" into the text and the name.
fn split_author_line(description: &str) -> (String, Option<String>) {
    let trimmed = description.trim_end();
    if let Some((text, last)) = trimmed.rsplit_once('\n') {
        if let Some(name) = last.trim().strip_prefix('—') {
            let name = name.trim();
            if !name.is_empty() {
                return (text.trim_end().to_string(), Some(name.to_string()));
            }
        }
    }
    (trimmed.to_string(), None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn author_line_is_split_off() {
        assert_eq!(
            split_author_line("Left flipper weak\n\n— Mike Rodriguez"),
            ("Left flipper weak".into(), Some("Mike Rodriguez".into()))
        );
        assert_eq!(
            split_author_line("no author here"),
            ("no author here".into(), None)
        );
    }
}
