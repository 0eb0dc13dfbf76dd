//! "Add to Flipfix" reviews: one suggestion at a time, create / edit / skip.
//! The flow is a pure state machine (`machine`) over rows in Postgres
//! (`store`), so a click after a restart, or on another instance, continues
//! where the review was, and a suggestion becomes at most one record however
//! often Create is clicked.

pub mod acknowledge;
pub mod custom_id;
pub mod duplicates;
mod machine;
pub mod menus;
pub mod prompts;
pub mod recovery;
mod store;
pub mod versions;

pub use custom_id::{Action, CustomId};
pub use machine::{next_pending, ItemState};
pub use recovery::OpenReview;
pub use store::{
    Decision, DecisionOutcome, NewSession, ReviewError, ReviewItem, ReviewStore, Reviewer, Session,
    SessionItem, SessionStatus, StartOutcome,
};
pub use versions::ReviewPins;
