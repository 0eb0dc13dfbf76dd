//! The portable backup (`flipfix-bot export`): every record with its fields,
//! status, parent, authors, Discord sources and photo references, and the
//! catalog they point at, as versioned JSON that `import records` reads
//! back. Photo bytes are not in it (they are in `media_blobs` or the
//! bucket); each reference says where they were kept.
//!
//! Each record carries its status history (`status_history`). Adding a
//! section (e.g. a machine-status history table) is a field here with
//! `#[serde(default)]`, one query in `write`, and its restore in
//! `import::backup`: older exports keep reading.

mod write;

pub use write::export;

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// What the `format` key says, so `import records` tells a backup from the
/// original system's exports.
pub const FORMAT: &str = "flipfix-bot export";
/// The version this bot writes and the newest it reads.
pub const VERSION: u32 = 1;

/// The whole export. Records are listed by id, so a parent always comes
/// before its children.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Backup {
    pub format: String,
    pub version: u32,
    pub exported_at: DateTime<Utc>,
    #[serde(default)]
    pub machines: Vec<MachineOut>,
    #[serde(default)]
    pub maintainers: Vec<MaintainerOut>,
    /// Read one by one on import, so a bad record is refused alone, with
    /// its place (`records[i]`).
    #[serde(default)]
    pub records: Vec<Value>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MachineOut {
    pub slug: String,
    pub name: String,
    #[serde(default)]
    pub short_name: Option<String>,
    #[serde(default)]
    pub aliases: Vec<String>,
    #[serde(default)]
    pub model_name: Option<String>,
    #[serde(default)]
    pub manufacturer: Option<String>,
    #[serde(default)]
    pub year: Option<i32>,
    #[serde(default)]
    pub serial_number: Option<String>,
    #[serde(default = "unknown")]
    pub status: String,
    #[serde(default)]
    pub location: Option<String>,
}

fn unknown() -> String {
    "unknown".into()
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MaintainerOut {
    pub username: String,
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub is_admin: bool,
    /// Their Discord account, when linked. Discord ids are strings: a
    /// JSON number loses their last digits in most readers.
    #[serde(default)]
    pub discord: Option<DiscordLinkOut>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DiscordLinkOut {
    pub user_id: String,
    #[serde(default)]
    pub username: Option<String>,
    #[serde(default = "admin")]
    pub method: String,
}

fn admin() -> String {
    "admin".into()
}

/// One record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordOut {
    /// Its id in the exported database; `parent` refers to it.
    pub id: i64,
    pub kind: String,
    /// The machine's slug.
    #[serde(default)]
    pub machine: Option<String>,
    #[serde(default)]
    pub parent: Option<i64>,
    #[serde(default)]
    pub status: Option<String>,
    pub description: String,
    #[serde(default)]
    pub fields: BTreeMap<String, String>,
    pub author: AuthorOut,
    pub occurred_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub created_via: String,
    #[serde(default)]
    pub created_by: Option<String>,
    #[serde(default)]
    pub sources: Vec<SourceOut>,
    #[serde(default)]
    pub media: Vec<MediaOut>,
    /// When the record came from the original system's export: what it was
    /// remembered by, so re-importing that export still adds nothing.
    #[serde(default)]
    pub imported: Option<ImportedOut>,
    /// Every kept change of its status, oldest first (older exports have
    /// none, and read as none).
    #[serde(default)]
    pub status_history: Vec<StatusChangeOut>,
}

/// One row of `record_status_changes`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatusChangeOut {
    #[serde(default)]
    pub from_status: Option<String>,
    pub to_status: String,
    pub changed_at: DateTime<Utc>,
    /// A Discord id, as a string (see `DiscordLinkOut::user_id`).
    #[serde(default)]
    pub changed_by_discord_id: Option<String>,
    #[serde(default)]
    pub changed_by: Option<String>,
    /// The exported id of the record that made the change.
    #[serde(default)]
    pub via: Option<i64>,
}

/// A maintainer (by username, as in `maintainers`) or a name alone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum AuthorOut {
    Maintainer(String),
    Name(String),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceOut {
    #[serde(default)]
    pub guild_id: Option<String>,
    pub channel_id: String,
    pub message_id: String,
}

/// A photo or video: where it came from and where its copy was kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MediaOut {
    pub url: String,
    pub filename: String,
    #[serde(default)]
    pub content_type: Option<String>,
    #[serde(default)]
    pub size_bytes: Option<i64>,
    pub copy_state: String,
    #[serde(default)]
    pub stored_type: Option<String>,
    #[serde(default)]
    pub stored_bytes: Option<i64>,
    /// `postgres` (table `media_blobs`, row `media_id`) or `s3`.
    #[serde(default)]
    pub storage: Option<String>,
    /// The copy's key: `media/<id>` under the bucket's prefix, or the
    /// `media_blobs` row of the exported database.
    #[serde(default)]
    pub stored_key: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImportedOut {
    /// `record_imports.key`, hex.
    pub key: String,
    pub source: String,
    pub original: Value,
}
