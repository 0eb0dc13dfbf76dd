//! Developer tools behind `flipfix-bot replay` and `flipfix-bot eval`.

pub mod eval;
pub mod replay;
