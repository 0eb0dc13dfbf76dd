//! The `record_kinds` section: one record kind as authors declare it (its
//! fields, parents, statuses, templates, command and web access).

use serde::Deserialize;
use serde_saphyr::Spanned;

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
    /// Who may see this kind's records on the web pages and in search:
    /// `public` (anyone) or `members` (signed-in members of the home server).
    /// Members-only when not declared: the safe side.
    #[serde(default = "WebAccess::members")]
    pub web: WebAccess,
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
    /// The `choice` field the review card offers as a select menu (the
    /// kind's most important choice, e.g. `priority`).
    #[serde(default)]
    pub card_select: Option<Spanned<String>>,
    /// Values of the status field that mean "done": records in any other
    /// status are open (duplicate checks, the prompt's open records). Empty
    /// = the kind's records are never treated as open.
    #[serde(default)]
    pub closed_statuses: Vec<Spanned<String>>,
    /// Changes made to the parent record when a record of this kind is created.
    #[serde(default)]
    pub updates_parent: Vec<Spanned<ParentUpdateDecl>>,
    /// A record of this kind may resolve its parent: when it is created as
    /// the fix (the model's `resolves`, the card's "Create and close", `/close`),
    /// the parent's status becomes `status`.
    #[serde(default)]
    pub resolves_parent: Option<Spanned<ResolvesParentDecl>>,
    /// Fields the review's edit modal shows (Discord allows at most five).
    #[serde(default)]
    pub edit_fields: Vec<Spanned<String>>,
    /// Template names (paths under `prompts/`).
    pub templates: TemplatesDecl,
    /// The true/false setting that switches webhook posts of this kind on
    /// and off (`DISCORD_WEBHOOKS_PARTS`). Kinds may share one. When not
    /// written: `DISCORD_WEBHOOKS_` and the kind's name in upper case.
    #[serde(default)]
    pub webhook_switch: Option<Spanned<String>>,
    /// The 0.3 name of `webhook_switch`, still read.
    #[serde(default)]
    pub notify_setting: Option<Spanned<String>>,
    /// Embed colour of the kind's webhook posts, `#rrggbb`.
    #[serde(default)]
    pub color: Option<Spanned<String>>,
    /// What the model is told about when to suggest this kind.
    #[serde(default)]
    pub guidance: String,
    /// A slash command that creates this kind directly, without the model.
    #[serde(default)]
    pub command: Option<Spanned<CommandDecl>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommandDecl {
    /// Discord command name: 1–32 lower-case letters, digits, `-` or `_`.
    pub name: String,
    /// Shown in Discord's command picker (at most 100 characters).
    pub description: String,
}

/// Who may see a kind's records outside Discord.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum WebAccess {
    /// Anyone, signed in or not.
    Public,
    /// Signed-in members of the home server only.
    Members,
}

impl WebAccess {
    fn members() -> Self {
        Self::Members
    }
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
pub struct ResolvesParentDecl {
    /// The parent's status once resolved (one of its `closed_statuses`).
    pub status: Spanned<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TemplatesDecl {
    /// The review card shown in Discord.
    pub card: Spanned<String>,
    /// The webhook notification.
    pub notification: Spanned<String>,
}
