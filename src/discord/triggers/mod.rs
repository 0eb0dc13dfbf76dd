//! Workflow triggers that arrive as gateway events rather than
//! interactions: a reaction on a message (`reaction`). With no interaction
//! to answer privately, their reviews are opened from a short message in
//! the channel (`review_prompt`), which the expiry sweep edits when nobody
//! clicked in time (`prompt_expiry`).

pub mod prompt_expiry;
pub mod reaction;
pub mod review_prompt;
