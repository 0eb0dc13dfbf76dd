//! The YAML schema of workflow files, exactly as authors write it. Unknown
//! keys are refused; `Spanned` keeps the line of every value that another
//! part of the workflow refers to, so cross-reference errors point at it.

use serde::Deserialize;
use serde_saphyr::Spanned;

/// One file in `workflows/`. Every section is optional, so authors may split
/// a workflow across files as they like; names must be unique across files.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkflowFile {
    #[serde(default)]
    pub record_kinds: Vec<Spanned<KindDecl>>,
}

/// A record kind as declared in YAML.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KindDecl {
    /// Identifier used in the database and in the LLM schema (`problem_report`).
    pub name: Spanned<String>,
    /// What people read ("Problem report").
    pub label: String,
    /// Emoji shown before the label in Discord.
    #[serde(default)]
    pub emoji: String,
    /// Path segment of record pages on `PUBLIC_BASE_URL` (`problem-reports`).
    pub link_path: String,
    /// `required`, `optional`.
    pub machine: MachineDecl,
    /// Take the parent's machine when the record names none (and refuse a
    /// different one).
    #[serde(default)]
    pub inherit_machine: bool,
    /// Kinds this kind may be attached to.
    #[serde(default)]
    pub parents: Vec<Spanned<String>>,
    #[serde(default)]
    pub parent_required: bool,
    pub description: DescriptionDecl,
    #[serde(default)]
    pub fields: Vec<Spanned<FieldDecl>>,
    /// Which field (a `choice`) is the record's status.
    #[serde(default)]
    pub status_field: Option<Spanned<String>>,
    /// Changes made to the parent record when a record of this kind is created.
    #[serde(default)]
    pub updates_parent: Vec<Spanned<ParentUpdateDecl>>,
    /// Fields the review's edit modal shows (Discord allows at most five).
    #[serde(default)]
    pub edit_fields: Vec<Spanned<String>>,
    /// Template names (paths under `prompts/`).
    pub templates: TemplatesDecl,
    /// The boolean setting that switches webhook posts of this kind on and
    /// off (`DISCORD_WEBHOOKS_PARTS`); without one, the master switch alone
    /// governs the kind.
    #[serde(default)]
    pub notify_setting: Option<Spanned<String>>,
    /// Embed colour of the kind's webhook posts, `#rrggbb`.
    #[serde(default)]
    pub color: Option<Spanned<String>>,
    /// What the model is told about when to suggest this kind.
    #[serde(default)]
    pub guidance: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MachineDecl {
    Required,
    Optional,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DescriptionDecl {
    pub label: String,
    pub max_length: usize,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldDecl {
    pub name: String,
    pub label: String,
    #[serde(rename = "type")]
    pub ty: FieldTypeDecl,
    /// For `choice`: the allowed values.
    #[serde(default)]
    pub choices: Vec<String>,
    /// For `text`: the longest value.
    #[serde(default)]
    pub max_length: Option<usize>,
    #[serde(default)]
    pub required: bool,
    #[serde(default)]
    pub default: Option<String>,
    /// What the model is told about this field.
    #[serde(default)]
    pub guidance: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldTypeDecl {
    Text,
    Choice,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ParentUpdateDecl {
    /// The parent's field to set.
    pub field: String,
    /// This record's field whose value (when present) is copied.
    pub from: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TemplatesDecl {
    /// The review card shown in Discord.
    pub card: Spanned<String>,
    /// The webhook notification.
    pub notification: Spanned<String>,
}
