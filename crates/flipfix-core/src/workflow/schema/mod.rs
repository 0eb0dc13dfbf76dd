//! The YAML schema of workflow files, exactly as authors write it. Unknown
//! keys are refused; `Spanned` keeps the line of every value that another
//! part of the workflow refers to, so cross-reference errors point at it.
//!
//! One submodule per section: record kinds, the context menu, worked
//! examples. The file itself, which holds them all, is declared here.

mod context_menu;
mod examples;
mod kinds;
mod machines;

use serde::Deserialize;
use serde_saphyr::Spanned;

pub use context_menu::{
    ContextMenuDecl, PriceDecl, PromptsDecl, ProviderDecl, ToolChoice, ToolChoiceDecl,
    ToolChoiceTableDecl, VisionDecl, WindowsDecl,
};
pub use examples::{ExampleDecl, ExampleMessageDecl, StartedFromDecl};
pub use kinds::{
    CommandDecl, DescriptionDecl, FieldDecl, FieldTypeDecl, KindDecl, MachineDecl,
    ParentUpdateDecl, ResolvesParentDecl, TemplatesDecl, WebAccess,
};
pub use machines::{MachineStatusDecl, StatusRuleDecl};

/// One file in `workflows/`. Every section is optional, so authors may split
/// a workflow across files as they like; names must be unique across files.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct WorkflowFile {
    #[serde(default)]
    pub record_kinds: Vec<Spanned<KindDecl>>,
    /// The "Add to Flipfix" flow; declared in at most one file.
    #[serde(default)]
    pub context_menu: Option<Spanned<ContextMenuDecl>>,
    /// Worked examples for the analysis prompt: a conversation and the
    /// answer a correct analysis gives. Rendered into the system prompt and
    /// run through the real pipeline by `check`.
    #[serde(default)]
    pub examples: Vec<Spanned<ExampleDecl>>,
    /// Messages posted to the webhook at a set local time each day (see
    /// `workflow::summaries`).
    #[serde(default)]
    pub summaries: Vec<Spanned<super::summaries::SummaryDecl>>,
    /// Machines' operational statuses (see `workflow::machines`).
    #[serde(default)]
    pub machine_statuses: Vec<MachineStatusDecl>,
    #[serde(default)]
    pub status_rules: Vec<Spanned<StatusRuleDecl>>,
}
