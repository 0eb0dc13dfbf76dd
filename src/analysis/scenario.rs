//! Scenario files (`../shared/scenarios/`): a conversation, the clicked
//! message and what a correct analysis suggests. A scenario is also a
//! [`MessageSource`], so the replay tool and tests gather from it exactly as
//! the bot gathers from Discord.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::catalog::{Catalog, CatalogMachine};
use super::conversation::{Attachment, Embed, Message, MessageAuthor};
use super::source::{MessageSource, SourceError, ThreadInfo};

/// The channel every scenario's parent-channel messages are in.
pub const CHANNEL_ID: u64 = 1;
/// The thread's channel id in thread scenarios.
pub const THREAD_ID: u64 = 2;
/// The synthetic author id of webhook posts.
pub const WEBHOOK_ID: u64 = 3;

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
struct CatalogFile {
    #[serde(default)]
    users: Vec<UserDecl>,
    #[serde(default)]
    machines: Vec<CatalogMachineDecl>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct CatalogMachineDecl {
    slug: String,
    name: String,
    #[serde(default)]
    short_name: Option<String>,
    #[serde(default)]
    aliases: Vec<String>,
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
    /// Reads `path` and the `_catalog.yaml` beside it (when there is one).
    pub fn load(path: &Path) -> Result<Self, ScenarioError> {
        let read = |path: &Path| {
            std::fs::read_to_string(path).map_err(|source| ScenarioError::Read {
                path: path.to_path_buf(),
                source,
            })
        };
        let invalid = |message: String| ScenarioError::Invalid {
            path: path.to_path_buf(),
            message,
        };
        let file: ScenarioFile =
            serde_saphyr::from_str(&read(path)?).map_err(|err| invalid(err.to_string()))?;
        let catalog_path = path.with_file_name("_catalog.yaml");
        let catalog_file: CatalogFile = if catalog_path.is_file() {
            serde_saphyr::from_str(&read(&catalog_path)?).map_err(|err| ScenarioError::Invalid {
                path: catalog_path.clone(),
                message: err.to_string(),
            })?
        } else {
            CatalogFile {
                users: Vec::new(),
                machines: Vec::new(),
            }
        };
        let catalog = Catalog {
            machines: catalog_file
                .machines
                .into_iter()
                .map(|m| CatalogMachine {
                    id: None,
                    slug: m.slug,
                    name: m.name,
                    short_name: m.short_name,
                    aliases: m.aliases,
                })
                .collect(),
            maintainers: Vec::new(),
        };

        let mut users: HashMap<&str, &UserDecl> = HashMap::new();
        for user in catalog_file.users.iter().chain(&file.users) {
            users.insert(user.id.as_str(), user);
        }
        let parse_id = |id: &str| {
            id.parse::<u64>()
                .map_err(|_| invalid(format!("message id `{id}` is not a number")))
        };
        let mut messages = Vec::new();
        let mut starter_id = None;
        let mut last_outside = None;
        for decl in &file.messages {
            let id = parse_id(&decl.id)?;
            let author = if decl.author_webhook {
                MessageAuthor {
                    id: WEBHOOK_ID,
                    username: "Flipfix".into(),
                    display_name: "Flipfix".into(),
                    is_bot: true,
                    is_webhook: true,
                }
            } else {
                let author_id = decl
                    .author
                    .as_deref()
                    .ok_or_else(|| invalid(format!("message {id} has no author")))?;
                let user = users
                    .get(author_id)
                    .ok_or_else(|| invalid(format!("message {id}: unknown user {author_id}")))?;
                MessageAuthor {
                    id: parse_id(author_id)?,
                    username: user.username.clone(),
                    display_name: user.display_name.clone(),
                    is_bot: false,
                    is_webhook: false,
                }
            };
            let channel_id = if decl.in_thread {
                if starter_id.is_none() {
                    starter_id = last_outside;
                }
                THREAD_ID
            } else {
                last_outside = Some(id);
                CHANNEL_ID
            };
            messages.push(Message {
                id,
                channel_id,
                author,
                content: decl.content.clone(),
                timestamp: decl.timestamp,
                reply_to: decl.reply_to.as_deref().map(parse_id).transpose()?,
                attachments: decl
                    .attachments
                    .iter()
                    .map(|a| {
                        let mut attachment = Attachment::from_url(&a.url);
                        if let Some(name) = &a.filename {
                            attachment.filename = name.clone();
                        }
                        attachment.content_type = a.content_type.clone();
                        attachment.size = a.size;
                        attachment
                    })
                    .collect(),
                embeds: decl
                    .embeds
                    .iter()
                    .map(|e| Embed {
                        title: e.title.clone(),
                        url: e.url.clone(),
                        description: e.description.clone(),
                    })
                    .collect(),
            });
        }
        let target_id = parse_id(&file.target)?;
        let target_channel_id = messages
            .iter()
            .find(|m| m.id == target_id)
            .map(|m| m.channel_id)
            .ok_or_else(|| invalid(format!("target {target_id} is not a message")))?;
        Ok(Self {
            path: path.to_path_buf(),
            file,
            catalog,
            target_id,
            target_channel_id,
            messages,
            starter_id,
        })
    }

    /// Every `*.yaml` scenario in `dir` (not `_catalog.yaml`), by name.
    pub fn load_dir(dir: &Path) -> Result<Vec<Self>, ScenarioError> {
        let entries = std::fs::read_dir(dir).map_err(|source| ScenarioError::Read {
            path: dir.to_path_buf(),
            source,
        })?;
        let mut paths: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                p.extension().is_some_and(|e| e == "yaml")
                    && !p
                        .file_name()
                        .is_some_and(|n| n.to_string_lossy().starts_with('_'))
            })
            .collect();
        paths.sort();
        paths.iter().map(|p| Self::load(p)).collect()
    }

    pub fn name(&self) -> &str {
        &self.file.name
    }

    pub fn messages(&self) -> &[Message] {
        &self.messages
    }
}

impl MessageSource for Scenario {
    async fn message(
        &self,
        channel_id: u64,
        message_id: u64,
    ) -> Result<Option<Message>, SourceError> {
        Ok(super::source::find_in(
            &self.messages,
            channel_id,
            message_id,
        ))
    }

    async fn messages_before(
        &self,
        channel_id: u64,
        before: u64,
        limit: usize,
    ) -> Result<Vec<Message>, SourceError> {
        Ok(super::source::before_in(
            &self.messages,
            channel_id,
            before,
            limit,
        ))
    }

    async fn thread_info(&self, channel_id: u64) -> Result<Option<ThreadInfo>, SourceError> {
        Ok((channel_id == THREAD_ID).then_some(ThreadInfo {
            parent_channel_id: CHANNEL_ID,
            starter_message_id: self.starter_id,
        }))
    }
}

impl Scenario {
    /// [`super::prepare`] for a scenario, with its `existing` records as the
    /// database would give them: their source messages left out as saved,
    /// the record the origin message became, and the open ones listed.
    pub async fn prepare(
        &self,
        workflows: &crate::workflow::Workflows,
    ) -> Result<(super::Conversation, super::prompt::Prompt), super::AnalysisError> {
        let menu = super::menu(workflows)?;
        let mut conversation = super::gather::gather(
            self,
            &menu.windows,
            None,
            self.target_channel_id,
            self.target_id,
        )
        .await?;
        let saved: Vec<crate::records::SavedSource> = self
            .file
            .existing
            .iter()
            .flat_map(|record| {
                record.source_message_ids.iter().filter_map(|id| {
                    Some(crate::records::SavedSource {
                        message_id: id.parse().ok()?,
                        record_id: record.id,
                        kind: record.kind.clone(),
                    })
                })
            })
            .collect();
        conversation.exclude_saved(&saved);
        conversation.parse_references(&workflows.kinds);
        let origin = conversation.origin_message_id.map(|id| id.to_string());
        for record in &self.file.existing {
            let existing = super::conversation::ExistingRecord {
                kind: record.kind.clone(),
                record_id: record.id,
                machine: record.machine.clone(),
                status: record.status.clone(),
                occurred_at: record.timestamp,
                text: record.description.clone(),
            };
            let open = workflows
                .kinds
                .get(&record.kind)
                .is_some_and(|kind| crate::records::open::is_open(kind, record.status.as_deref()));
            if origin
                .as_ref()
                .is_some_and(|id| record.source_message_ids.contains(id))
            {
                conversation.origin_record = Some(existing);
            } else if open {
                conversation.open_records.push(existing);
            }
        }
        let prompt = super::prompt::build_prompt(
            menu,
            &workflows.kinds,
            &workflows.templates,
            &self.catalog,
            &conversation,
        )?;
        Ok((conversation, prompt))
    }
}
