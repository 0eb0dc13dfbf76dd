//! Tools behind `flipfix-bot replay`, `eval` and `export`.

mod cards;
mod create;
pub mod eval;
pub mod export;
pub mod replay;
