//! Scenario files (`../shared/scenarios/`): a conversation, the clicked
//! message and what a correct analysis suggests. A scenario is also a
//! [`MessageSource`], so the replay tool and tests gather from it exactly as
//! the bot gathers from Discord.
//!
//! Split by concern: `file` (the YAML format), `load` (reading a file and
//! its folder's catalog into messages), `message_source` (gathering from a
//! scenario) and `prepare` (the prompt with the scenario's existing records).

mod file;
mod load;
mod message_source;
mod prepare;

use std::path::PathBuf;

use super::catalog::Catalog;
use super::conversation::Message;

pub use file::{
    AttachmentDecl, ChannelDecl, ChannelKind, EmbedDecl, ExistingDecl, Expected, MessageDecl,
    ScenarioFile, UserDecl,
};

/// The channel every scenario's parent-channel messages are in.
pub const CHANNEL_ID: u64 = 1;
/// The thread's channel id in thread scenarios.
pub const THREAD_ID: u64 = 2;
/// The synthetic author id of webhook posts.
pub(crate) const WEBHOOK_ID: u64 = 3;

#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Invalid { path: PathBuf, message: String },
}

/// A loaded scenario: the file, its messages as Discord would return them,
/// and the catalog of its folder.
#[derive(Debug, Clone)]
pub struct Scenario {
    pub path: PathBuf,
    pub file: ScenarioFile,
    pub catalog: Catalog,
    pub target_id: u64,
    /// The target's channel (the thread for thread targets).
    pub target_channel_id: u64,
    messages: Vec<Message>,
    starter_id: Option<u64>,
}

impl Scenario {
    pub fn name(&self) -> &str {
        &self.file.name
    }

    pub fn messages(&self) -> &[Message] {
        &self.messages
    }
}
