//! The catalog: machines, maintainers, and which Discord user is which
//! maintainer.

pub mod attribution;
pub mod import;
pub mod links;
pub mod machines;
pub mod maintainers;
pub mod matching;
pub mod ranking;

pub use import::{import_machines, import_maintainers, ImportError, ImportSummary};
pub use machines::Machine;
pub use maintainers::Maintainer;
