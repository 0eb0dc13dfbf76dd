//! Declarative workflows: the YAML files in `workflows/` that declare record
//! kinds (and, in later layers, flows and notifications), loaded, checked
//! against each other and against the templates in `prompts/`.

mod card_select;
mod comment_cuts;
pub mod context_menu;
pub mod kinds;
mod load;
pub mod machines;
pub mod on_created;

pub mod provider;
pub mod schema;
pub mod summaries;
pub mod vision;

pub use crate::diagnostics::{Problem, Problems};
pub use comment_cuts::{comment_cuts, comment_warnings};
pub use context_menu::{ContextMenu, Example, Price, TokenUsage, Windows, MAX_MESSAGES};
pub use kinds::{FieldType, KindField, MachineRule, RecordKind, RecordKinds};
pub use load::{read_workflows, Workflows};
pub use machines::{MachineStatus, MachineStatuses, StatusRule};
pub use on_created::OnCreated;
pub use provider::{ModelProvider, ToolChoice, ToolChoices};
pub use schema::WebAccess;
pub use summaries::{StatusListing, Summary};
pub use vision::Vision;
