//! Every interaction runs in an `interaction` span (kind, guild, user id,
//! interaction id), so each log line it causes, in text or JSON, says which
//! interaction it belongs to.

use poise::serenity_prelude as serenity;
use tracing::Instrument;

/// Wraps the framework; other events pass through unchanged.
pub struct Traced<F>(pub F);

#[serenity::async_trait]
impl<F: serenity::Framework> serenity::Framework for Traced<F> {
    async fn init(&mut self, client: &serenity::Client) {
        self.0.init(client).await;
    }

    async fn dispatch(&self, ctx: serenity::Context, event: serenity::FullEvent) {
        let span = match &event {
            serenity::FullEvent::InteractionCreate { interaction } => span_for(interaction),
            _ => None,
        };
        match span {
            Some(span) => self.0.dispatch(ctx, event).instrument(span).await,
            None => self.0.dispatch(ctx, event).await,
        }
    }
}

fn span_for(interaction: &serenity::Interaction) -> Option<tracing::Span> {
    let (kind, id, guild, user, name) = match interaction {
        serenity::Interaction::Command(c) => {
            ("command", c.id, c.guild_id, c.user.id, c.data.name.as_str())
        }
        serenity::Interaction::Autocomplete(c) => (
            "autocomplete",
            c.id,
            c.guild_id,
            c.user.id,
            c.data.name.as_str(),
        ),
        serenity::Interaction::Component(c) => (
            "component",
            c.id,
            c.guild_id,
            c.user.id,
            c.data.custom_id.as_str(),
        ),
        serenity::Interaction::Modal(m) => (
            "modal",
            m.id,
            m.guild_id,
            m.user.id,
            m.data.custom_id.as_str(),
        ),
        _ => return None,
    };
    Some(tracing::info_span!(
        "interaction",
        kind,
        name,
        // As strings: snowflakes exceed the integers JSON tools read exactly.
        interaction_id = %id,
        guild_id = guild.map(tracing::field::display),
        user_id = %user
    ))
}
