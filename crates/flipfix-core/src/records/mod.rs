//! Records (problem reports, log entries, part requests, …): the rules their
//! kinds declare, and the store that enforces them.

pub mod backup;
pub mod browse;
mod error;
pub mod import;
pub mod interactions;
pub mod machine_status;
pub mod open;
mod parent_updates;
mod rules;
pub mod status;
mod store;
pub mod view;

pub use crate::domain::{Author, CreatedVia, Media, Snowflake};
pub use error::{RecordError, RuleViolation};
pub use rules::check_fields;
pub use store::{
    create_record, create_record_in, get_record, records_for_messages, Record, SavedSource,
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

/// A Discord message a record came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct SourceMessage {
    pub guild_id: Option<u64>,
    pub channel_id: u64,
    pub message_id: u64,
}
