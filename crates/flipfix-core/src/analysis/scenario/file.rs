//! The scenario file format: the YAML a scenario and its folder's
//! `_catalog.yaml` are written in.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ScenarioFile {
    pub name: String,
    #[serde(default)]
    pub category: String,
    #[serde(default)]
    pub description: String,
    pub channel: ChannelDecl,
    #[serde(default)]
    pub users: Vec<UserDecl>,
    /// Records already in the database when the conversation is analysed
    /// (this project's extension of the shared format, for duplicate and
    /// follow-up scenarios; tests seed them, offline tools ignore them).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub existing: Vec<ExistingDecl>,
    pub messages: Vec<MessageDecl>,
    pub target: String,
    #[serde(default)]
    pub expected: Option<Vec<Expected>>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ChannelDecl {
    pub kind: ChannelKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChannelKind {
    Text,
    Thread,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct UserDecl {
    pub id: String,
    pub username: String,
    pub display_name: String,
    #[serde(default)]
    pub role: String,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct MessageDecl {
    pub id: String,
    #[serde(default)]
    pub author: Option<String>,
    #[serde(default)]
    pub author_webhook: bool,
    pub content: String,
    pub timestamp: DateTime<Utc>,
    #[serde(default)]
    pub reply_to: Option<String>,
    #[serde(default)]
    pub in_thread: bool,
    #[serde(default)]
    pub embeds: Vec<EmbedDecl>,
    /// Files on the message (photos the model may be shown).
    #[serde(default)]
    pub attachments: Vec<AttachmentDecl>,
}

/// An attachment as Discord describes it; the name defaults to the URL's
/// last path segment.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AttachmentDecl {
    pub url: String,
    #[serde(default)]
    pub filename: Option<String>,
    #[serde(default)]
    pub content_type: Option<String>,
    #[serde(default)]
    pub size: Option<u64>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct EmbedDecl {
    #[serde(default)]
    pub title: Option<String>,
    #[serde(default)]
    pub url: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
}

/// A record that exists before the analysis.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ExistingDecl {
    pub id: i64,
    pub kind: String,
    /// Machine slug from `_catalog.yaml`.
    #[serde(default)]
    pub machine: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
    pub description: String,
    /// When the work or report it records happened.
    pub timestamp: DateTime<Utc>,
    /// Messages of the scenario it was created from.
    #[serde(default)]
    pub source_message_ids: Vec<String>,
}

/// One record a correct analysis suggests; only the keys given are checked.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Expected {
    pub kind: String,
    #[serde(default)]
    pub machine: Option<String>,
    #[serde(default)]
    pub parent_record_id: Option<i64>,
    #[serde(default)]
    pub author: Option<String>,
    #[serde(default)]
    pub source_message_ids: Option<Vec<String>>,
    #[serde(default)]
    pub children: Option<usize>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct CatalogFile {
    #[serde(default)]
    pub(super) users: Vec<UserDecl>,
    #[serde(default)]
    pub(super) machines: Vec<CatalogMachineDecl>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct CatalogMachineDecl {
    pub(super) slug: String,
    pub(super) name: String,
    #[serde(default)]
    pub(super) short_name: Option<String>,
    #[serde(default)]
    pub(super) aliases: Vec<String>,
}
