//! The review wizard in Discord: cards rendered from each kind's card
//! template, buttons whose ids carry the session and step, the edit modal,
//! and the handlers for clicks and modal submits. State lives in Postgres
//! (`crate::review`), so any instance can handle any click.
//!
//! One submodule per concern: rendering a card or the summary, the
//! template context of a suggestion, clicks, the edit modal, applying its
//! values, and the refusals shown to the person who clicked.

mod clicks;
mod edit_modal;
mod edit_values;
mod item_view;
mod refusals;
mod render;

pub use clicks::on_component;
pub use edit_modal::on_modal;
pub(super) use edit_modal::{open_edit_modal, recheck_duplicates};
pub(super) use refusals::{ephemeral_followup, refusal, refuse_acknowledged};
pub use render::{render, ReviewMessage};
