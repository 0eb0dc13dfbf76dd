//! The home server rule: the bot serves exactly the server named by
//! `DISCORD_GUILD_ID`. One gate in front of the framework refuses every
//! interaction from anywhere else (another server, a DM) before any command,
//! autocomplete, button or modal handler runs, and leaves other servers the
//! bot is added to.

use poise::serenity_prelude as serenity;

use super::{reply, Data};
use crate::config::SettingKey;

/// What a person elsewhere is told, privately.
pub const REFUSAL: &str =
    "flipfix-bot serves one Discord server only, and this is not it. Nothing was done.";

/// Whether an interaction from `guild` may be served.
pub fn is_home(home: u64, guild: Option<serenity::GuildId>) -> bool {
    guild.is_some_and(|guild| guild.get() == home)
}

/// The guild an interaction came from (`None` in DMs).
fn guild_of(interaction: &serenity::Interaction) -> Option<serenity::GuildId> {
    match interaction {
        serenity::Interaction::Command(command) | serenity::Interaction::Autocomplete(command) => {
            command.guild_id
        }
        serenity::Interaction::Component(component) => component.guild_id,
        serenity::Interaction::Modal(modal) => modal.guild_id,
        serenity::Interaction::Ping(_) => None,
        _ => None,
    }
}

/// Wraps the poise framework: foreign interactions never reach it.
pub struct HomeOnly<F> {
    inner: F,
    app: Data,
}

impl<F> HomeOnly<F> {
    pub fn new(inner: F, app: Data) -> Self {
        Self { inner, app }
    }
}

#[serenity::async_trait]
impl<F: serenity::Framework> serenity::Framework for HomeOnly<F> {
    async fn init(&mut self, client: &serenity::Client) {
        self.inner.init(client).await;
    }

    async fn dispatch(&self, ctx: serenity::Context, event: serenity::FullEvent) {
        let home = self.app.discord.home;
        match &event {
            serenity::FullEvent::InteractionCreate { interaction }
                if !is_home(home, guild_of(interaction)) =>
            {
                refuse(&ctx, interaction).await;
                return;
            }
            serenity::FullEvent::GuildCreate { guild, .. } if !is_home(home, Some(guild.id)) => {
                leave_foreign(&ctx, &self.app, guild.id, &guild.name).await;
                return;
            }
            _ => {}
        }
        self.inner.dispatch(ctx, event).await;
    }
}

/// Answers a foreign interaction privately; nothing else happens.
async fn refuse(ctx: &serenity::Context, interaction: &serenity::Interaction) {
    let message = || {
        serenity::CreateInteractionResponse::Message(
            serenity::CreateInteractionResponseMessage::new()
                .content(REFUSAL)
                .ephemeral(true)
                .allowed_mentions(reply::no_mentions()),
        )
    };
    let (user, guild, result) = match interaction {
        serenity::Interaction::Command(command) => (
            command.user.id,
            command.guild_id,
            command.create_response(&ctx.http, message()).await,
        ),
        serenity::Interaction::Autocomplete(command) => (
            command.user.id,
            command.guild_id,
            command
                .create_response(&ctx.http, autocomplete_refusal(command))
                .await,
        ),
        serenity::Interaction::Component(component) => (
            component.user.id,
            component.guild_id,
            component.create_response(&ctx.http, message()).await,
        ),
        serenity::Interaction::Modal(modal) => (
            modal.user.id,
            modal.guild_id,
            modal.create_response(&ctx.http, message()).await,
        ),
        _ => return,
    };
    tracing::info!(
        user = %user,
        guild = guild.map(|g| g.get()),
        "refused an interaction from outside the home server"
    );
    if let Err(err) = result {
        tracing::warn!(error = %err, "could not send the home-server refusal");
    }
}

/// Autocomplete cannot carry a message: the only choice says why.
fn autocomplete_refusal(
    command: &serenity::CommandInteraction,
) -> serenity::CreateInteractionResponse {
    const CHOICE: &str = "flipfix-bot serves one Discord server only";
    let response = serenity::CreateAutocompleteResponse::new();
    let response = match command.data.autocomplete().map(|option| option.kind) {
        Some(serenity::CommandOptionType::Integer) => response.add_int_choice(CHOICE, 0),
        Some(serenity::CommandOptionType::Number) => response.add_number_choice(CHOICE, 0.0),
        _ => response.add_string_choice(CHOICE, "-"),
    };
    serenity::CreateInteractionResponse::Autocomplete(response)
}

/// Someone added the bot to another server: say so, and leave unless an
/// admin turned `DISCORD_LEAVE_OTHER_SERVERS` off.
async fn leave_foreign(ctx: &serenity::Context, app: &Data, guild: serenity::GuildId, name: &str) {
    let leave = match app
        .settings
        .get_bool(SettingKey::DiscordLeaveOtherServers)
        .await
    {
        Ok(leave) => leave,
        Err(err) => {
            // Leaving is the safe side: the bot serves nobody there anyway.
            tracing::warn!(error = %err, "could not read DISCORD_LEAVE_OTHER_SERVERS; leaving");
            true
        }
    };
    if !leave {
        tracing::warn!(
            guild_id = guild.get(),
            guild = %name,
            "the bot is in a server other than its home; it refuses every interaction there (DISCORD_LEAVE_OTHER_SERVERS is off)"
        );
        return;
    }
    match guild.leave(&ctx.http).await {
        Ok(()) => tracing::warn!(
            guild_id = guild.get(),
            guild = %name,
            "left a server other than the home server (someone invited the bot there); to stop it, turn the bot's Public Bot switch off in the developer portal"
        ),
        Err(err) => tracing::error!(
            guild_id = guild.get(),
            guild = %name,
            error = %err,
            "could not leave a server other than the home server; remove the bot there by hand"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_home_server_is_served() {
        // No home server is unrepresentable: `RunConfig` requires one.
        let home = 42;
        assert!(is_home(home, Some(serenity::GuildId::new(42))));
        assert!(!is_home(home, Some(serenity::GuildId::new(43))));
        assert!(!is_home(home, None), "direct messages are refused");
    }
}
