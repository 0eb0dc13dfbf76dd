//! Declarative workflows: the YAML files in `workflows/` that declare record
//! kinds (and, in later layers, flows and notifications), loaded, checked
//! against each other and against the templates in `prompts/`.

pub mod context_menu;
pub mod kinds;
mod load;
mod problem;
pub mod provider;
pub mod schema;

pub use context_menu::{ContextMenu, Example, Price, TokenUsage, Windows, MAX_MESSAGES};
pub use kinds::{FieldType, KindField, MachineRule, RecordKind, RecordKinds};
pub use load::{read_workflows, Workflows};
pub use problem::{Problem, Problems};
pub use provider::{ModelProvider, ToolChoice, ToolChoices};
pub use schema::WebAccess;
