//! Tools behind `flipfix-bot replay`, `eval`, `export` and `demo`, and the
//! database part of `check`.

mod cards;
pub mod catalog_check;
mod create;
pub mod demo;
pub mod eval;
pub mod export;
pub mod replay;
