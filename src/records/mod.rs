//! Records (problem reports, log entries, part requests, …): the rules their
//! kinds declare, and the store that enforces them.

pub mod browse;
mod error;
pub mod import;
pub mod interactions;
pub mod open;
mod rules;
mod store;
pub mod view;

pub use error::{RecordError, RuleViolation};
pub use rules::check_fields;
pub use store::{
    create_record, create_record_in, from_db_id, get_record, records_for_messages, to_db_id,
    Record, SavedSource,
};

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

/// A record to be created.
#[derive(Debug, Clone)]
pub struct NewRecord {
    pub kind: String,
    pub machine_id: Option<i64>,
    pub parent_id: Option<i64>,
    pub description: String,
    /// Declared fields by name; absent fields take their default.
    pub fields: BTreeMap<String, String>,
    pub author: Author,
    pub occurred_at: DateTime<Utc>,
    /// When the record enters the bot: the clock's reading at the write. The
    /// record's notification is due from then, and summaries count it then.
    pub created_at: DateTime<Utc>,
    pub created_via: CreatedVia,
    /// Who created it (a Discord user id, a CLI user), for the audit trail.
    pub created_by: Option<String>,
    pub sources: Vec<SourceMessage>,
    /// Photos and videos from the source messages.
    pub media: Vec<Media>,
}

/// An image or video attached to a source message.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Media {
    pub url: String,
    pub filename: String,
    pub content_type: Option<String>,
    pub size_bytes: Option<i64>,
}

impl Media {
    /// Images only: what Discord can show as a thumbnail or in a gallery.
    pub fn is_image(content_type: Option<&str>, filename: &str) -> bool {
        match content_type {
            Some(ct) => ct.starts_with("image/"),
            None => {
                let lower = filename.to_ascii_lowercase();
                [".jpg", ".jpeg", ".png", ".gif", ".webp", ".heic"]
                    .iter()
                    .any(|ext| lower.ends_with(ext))
            }
        }
    }

    /// Images and videos are kept; other attachments (PDFs, logs) are not media.
    pub fn is_photo_or_video(content_type: Option<&str>, filename: &str) -> bool {
        match content_type {
            Some(ct) => ct.starts_with("image/") || ct.starts_with("video/"),
            None => {
                let lower = filename.to_ascii_lowercase();
                [
                    ".jpg", ".jpeg", ".png", ".gif", ".webp", ".heic", ".mp4", ".mov", ".webm",
                ]
                .iter()
                .any(|ext| lower.ends_with(ext))
            }
        }
    }
}

/// Who a record is attributed to.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Author {
    Maintainer(i64),
    /// A name without a maintainer account (a Discord display name).
    Name(String),
}

/// How a record came to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CreatedVia {
    /// "Add to Flipfix" on a Discord message.
    DiscordMessage,
    /// A direct slash command.
    SlashCommand,
    Cli,
    Api,
    /// The original system's history (`import records`): posted to the
    /// webhook only when the import asks for it.
    Import {
        notify: bool,
    },
}

impl CreatedVia {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::DiscordMessage => "discord_message",
            Self::SlashCommand => "slash_command",
            Self::Cli => "cli",
            Self::Api => "api",
            Self::Import { .. } => "import",
        }
    }
}

/// A Discord message a record came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct SourceMessage {
    pub guild_id: Option<u64>,
    pub channel_id: u64,
    pub message_id: u64,
}
