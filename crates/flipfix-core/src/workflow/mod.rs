//! Declarative workflows: the YAML files in `workflows/` that declare record
//! kinds and workflows (each with its triggers, scope, analysis and review;
//! one file is one plugin), loaded, checked against each other and against
//! the templates in `prompts/`.

mod analyze;
mod card_select;
mod comment_cuts;
mod definition;
mod derived;
pub mod kinds;
mod load;
mod lookup;
pub mod machines;
pub mod on_created;
mod scope;

pub mod provider;
pub mod schema;
pub mod summaries;
pub mod trigger;
pub mod vision;

pub use crate::diagnostics::{Problem, Problems};
pub use analyze::{Analyze, Example, Price, TokenUsage, Windows, MAX_MESSAGES};
pub use comment_cuts::{comment_cuts, comment_warnings};
pub use definition::{DailyCap, Review, Scope, Workflow};
pub use derived::Derived;
pub use kinds::{FieldType, KindField, MachineRule, RecordKind, RecordKinds};
pub use load::legacy::rewrite_context_menu;
pub use load::{read_workflows, Workflows};
pub use lookup::ChooseError;
pub use machines::{MachineStatus, MachineStatuses, StatusRule};
pub use on_created::OnCreated;
pub use provider::{ModelProvider, ToolChoice, ToolChoices};
pub use schema::WebAccess;
pub use scope::{ScopeCheck, ScopeRefusal};
pub use summaries::{StatusListing, Summary};
pub use trigger::{built_in_clash, SlashCommand, Trigger, TriggerKind, BUILT_IN_SLASH_COMMANDS};
pub use vision::Vision;
