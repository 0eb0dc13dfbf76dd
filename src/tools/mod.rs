//! Developer tools behind `flipfix-bot replay` and `flipfix-bot eval`.

mod cards;
mod create;
pub mod eval;
pub mod replay;
