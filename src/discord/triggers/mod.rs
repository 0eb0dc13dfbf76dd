//! Workflow triggers that arrive as gateway events rather than
//! interactions: a reaction on a message (`reaction`), a new thread or
//! forum post (`thread_created`). With no interaction to answer privately,
//! their reviews are opened from a short message in the channel
//! (`review_prompt`), which the expiry sweep edits when nobody clicked in
//! time (`prompt_expiry`); what a run does once started is `gateway_run`.

mod gateway_run;
pub mod prompt_expiry;
pub mod reaction;
pub mod review_prompt;
pub mod thread_created;
