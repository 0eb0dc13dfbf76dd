//! The YAML schema of workflow files, exactly as authors write it. Unknown
//! keys are refused; `Spanned` keeps the line of every value that another
//! part of the workflow refers to, so cross-reference errors point at it.
//!
//! One submodule per section: record kinds, workflows (and their
//! `analyze:` part), worked examples. The file itself, which holds them
//! all, is declared here.

mod analyze;
mod examples;
mod kinds;
mod machines;
mod workflow;

use serde::Deserialize;
use serde_saphyr::Spanned;

pub use analyze::{
    AnalyzeDecl, PriceDecl, PromptsDecl, ProviderDecl, ToolChoice, ToolChoiceDecl,
    ToolChoiceTableDecl, VisionDecl, WindowsDecl,
};
pub use examples::{ExampleDecl, ExampleMessageDecl, StartedFromDecl};
pub use kinds::{
    CommandDecl, DescriptionDecl, FieldDecl, FieldTypeDecl, KindDecl, MachineDecl,
    ParentUpdateDecl, ResolvesParentDecl, TemplatesDecl, WebAccess,
};
pub use machines::{MachineStatusDecl, StatusRuleDecl};
pub use workflow::{
    DailyCapDecl, ReactionDecl, ReviewDecl, ReviewerDecl, ScheduleDecl, SlashCommandDecl,
    Snowflake, ThreadCreatedDecl, TriggerDecl, WorkflowDecl,
};

/// One file in `workflows/`. Every section is optional, so authors may split
/// declarations across files as they like (one workflow per file is the
/// norm); names must be unique across files.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct WorkflowFile {
    #[serde(default)]
    pub record_kinds: Vec<Spanned<KindDecl>>,
    /// The flows: each with its triggers, scope, analysis and review.
    #[serde(default)]
    pub workflows: Vec<Spanned<WorkflowDecl>>,
    /// 0.x's single flow, refused with its rewrite as a `workflows:` entry
    /// (see `load::legacy`).
    #[serde(default)]
    pub context_menu: Option<Spanned<serde::de::IgnoredAny>>,
    /// 0.x's top-level worked examples; they move into `analyze.examples`.
    #[serde(default)]
    pub examples: Option<Spanned<serde::de::IgnoredAny>>,
    /// 0.x's daily summaries: still loaded, with a warning that shows the
    /// `schedule:` workflow replacing each (see `workflow::summaries`).
    #[serde(default)]
    pub summaries: Option<Spanned<Vec<Spanned<super::summaries::SummaryDecl>>>>,
    /// Machines' operational statuses (see `workflow::machines`).
    #[serde(default)]
    pub machine_statuses: Vec<MachineStatusDecl>,
    #[serde(default)]
    pub status_rules: Vec<Spanned<StatusRuleDecl>>,
}
