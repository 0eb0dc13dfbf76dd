//! What the work after a deferral needs of its interaction's context, owned:
//! the Discord connection and the bot's state. A poise `Context` borrows the
//! framework for the length of the event's dispatch; this does not, so the
//! long part of a command (an analysis waits seconds for the model) runs in
//! a task of its own, and the dispatch, with everything it holds, ends at
//! the deferral. Measured with `cargo bench --bench discord_burst`: the
//! event's dispatch held ~30 KB per analysis in flight while it waited.

use poise::serenity_prelude as serenity;

use super::{Context, Data};

/// The Discord connection and the bot's state, cheap to clone.
#[derive(Clone)]
pub struct Responder {
    pub serenity: serenity::Context,
    pub app: Data,
}

impl Responder {
    pub fn of(ctx: Context<'_>) -> Self {
        Self {
            serenity: ctx.serenity_context().clone(),
            app: ctx.data().clone(),
        }
    }

    pub fn http(&self) -> &serenity::Http {
        &self.serenity.http
    }
}
