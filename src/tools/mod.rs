//! Tools behind `flipfix-bot replay`, `eval`, `export`, `demo` and
//! `screenshots`, the database part of `check`, and the WebDriver client
//! the pictures and the browser test share.

mod cards;
pub mod catalog_check;
mod create;
pub mod demo;
pub mod eval;
pub mod export;
pub mod replay;
pub mod screenshots;
pub mod webdriver;
