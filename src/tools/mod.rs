//! Tools behind `flipfix-bot replay`, `eval`, `export` and `demo`.

mod cards;
mod create;
pub mod demo;
pub mod eval;
pub mod export;
pub mod replay;
