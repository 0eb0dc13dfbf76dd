//! Workflow triggers that arrive as gateway events rather than
//! interactions: a reaction on a message (`reaction`). With no interaction
//! to answer privately, their reviews are opened from a short message in
//! the channel (`review_prompt`).

pub mod reaction;
pub mod review_prompt;
