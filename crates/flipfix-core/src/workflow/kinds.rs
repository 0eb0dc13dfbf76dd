//! Record kinds after validation: the runtime model every other module reads.

use std::path::PathBuf;

pub use super::schema::MachineDecl as MachineRule;

/// All declared kinds, in declaration order.
#[derive(Debug, Clone, Default)]
pub struct RecordKinds {
    kinds: Vec<RecordKind>,
}

impl RecordKinds {
    pub(super) fn new(kinds: Vec<RecordKind>) -> Self {
        Self { kinds }
    }

    pub fn get(&self, name: &str) -> Option<&RecordKind> {
        self.kinds.iter().find(|kind| kind.name == name)
    }

    pub fn iter(&self) -> impl Iterator<Item = &RecordKind> {
        self.kinds.iter()
    }

    pub fn names(&self) -> Vec<&str> {
        self.kinds.iter().map(|kind| kind.name.as_str()).collect()
    }

    /// Kinds that may be attached under `parent`.
    pub(crate) fn children_of<'a>(
        &'a self,
        parent: &'a str,
    ) -> impl Iterator<Item = &'a RecordKind> {
        self.kinds
            .iter()
            .filter(move |kind| kind.parents.iter().any(|p| p == parent))
    }

    /// The kind a suggestion of kind `duplicate_of` becomes when it is
    /// attached to an existing record of that kind: the first declared kind
    /// whose parents include it (a log entry for a problem report).
    pub fn attach_kind(&self, duplicate_of: &str) -> Option<&RecordKind> {
        self.kinds
            .iter()
            .find(|kind| kind.parents.iter().any(|p| p == duplicate_of))
    }

    /// The webhook switches the kinds declare, each once: what admins can
    /// read and set besides the fixed settings.
    pub fn switches(&self) -> crate::config::DeclaredSwitches {
        crate::config::DeclaredSwitches::from_kinds(
            self.kinds
                .iter()
                .map(|kind| (&kind.webhook_switch, kind.label.as_str())),
        )
    }

    /// The kind whose pages live under `/{link_path}/N`.
    pub fn by_link_path(&self, link_path: &str) -> Option<&RecordKind> {
        self.kinds.iter().find(|kind| kind.link_path == link_path)
    }
}

#[derive(Debug, Clone)]
pub struct RecordKind {
    pub name: String,
    pub label: String,
    pub emoji: String,
    pub link_path: String,
    /// Who may see this kind's records on the web and in search.
    pub web: super::WebAccess,
    pub machine: MachineRule,
    pub inherit_machine: bool,
    pub parents: Vec<String>,
    pub parent_required: bool,
    pub description_label: String,
    pub description_max_length: usize,
    pub fields: Vec<KindField>,
    pub status_field: Option<String>,
    /// The choice field the review card offers as a select menu.
    pub card_select: Option<String>,
    /// Status values that mean "done"; any other status is open. Empty =
    /// records of this kind are never open (see [`RecordKind::tracks_open`]).
    pub closed_statuses: Vec<String>,
    pub updates_parent: Vec<ParentUpdate>,
    /// The status a record of this kind gives its parent when created as
    /// its fix (`resolves_parent: {status: closed}`); `None` = never.
    pub resolves_parent: Option<String>,
    pub edit_fields: Vec<String>,
    pub card_template: String,
    pub notification_template: String,
    pub guidance: String,
    /// The slash command that creates this kind directly, if declared.
    pub command: Option<KindCommand>,
    /// The true/false setting that switches webhook posts of this kind on
    /// and off, declared in YAML (or derived from the name).
    pub webhook_switch: crate::config::SwitchKey,
    /// Embed colour (0xRRGGBB) of webhook posts.
    pub color: Option<u32>,
    /// The file that declares this kind, named in rule-violation messages.
    pub declared_in: PathBuf,
}

impl RecordKind {
    pub fn field(&self, name: &str) -> Option<&KindField> {
        self.fields.iter().find(|field| field.name == name)
    }

    /// Whether this kind has open records at all: it declares a status
    /// field and the statuses that close a record.
    pub(crate) fn tracks_open(&self) -> bool {
        self.status_field.is_some() && !self.closed_statuses.is_empty()
    }
}

#[derive(Debug, Clone)]
pub struct KindField {
    pub name: String,
    pub label: String,
    pub ty: FieldType,
    pub required: bool,
    pub default: Option<String>,
    pub guidance: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FieldType {
    Text { max_length: usize },
    Choice { choices: Vec<String> },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KindCommand {
    pub name: String,
    pub description: String,
}

/// When a record of this kind is created with `from` set, the parent's
/// `field` takes that value (in the same transaction).
#[derive(Debug, Clone)]
pub struct ParentUpdate {
    pub field: String,
    pub from: String,
}

/// The longest text field a kind may declare: Discord's modal limit.
pub(crate) const MAX_TEXT_LENGTH: usize = 4000;
/// Discord shows at most five inputs in a modal.
pub const MAX_EDIT_FIELDS: usize = 5;
/// Pseudo-fields an edit modal may show besides declared fields.
pub(crate) const BUILTIN_EDIT_FIELDS: &[&str] = &["machine", "description"];
