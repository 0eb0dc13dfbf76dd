//! Reading a scenario file and its folder's catalog into the messages
//! Discord would return.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::file::{CatalogFile, ScenarioFile, UserDecl};
use super::{Scenario, ScenarioError, CHANNEL_ID, THREAD_ID, WEBHOOK_ID};
use crate::analysis::catalog::{Catalog, CatalogMachine};
use crate::analysis::conversation::{Attachment, Embed, Message, MessageAuthor};

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
}
