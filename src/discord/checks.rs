//! Permission checks, decided by the bot on every call: Discord's
//! `default_member_permissions` only hides commands in the client, and server
//! admins can override it.

use poise::serenity_prelude as serenity;

use super::refusal::Refusal;
use super::{reply, Context, Error};
use crate::config::settings::SettingsError;
use crate::config::{SettingKey, Settings};

/// The refusal when `DISCORD_ALLOWED_CHANNELS` does not include the channel
/// of an interaction (a thread counts as its parent channel); `None` when
/// the channel is allowed. `what` names the command for the answer.
pub async fn channel_refusal(
    settings: &Settings,
    what: &str,
    channel: serenity::ChannelId,
    parent: Option<serenity::ChannelId>,
) -> Result<Option<Refusal>, SettingsError> {
    let allowed = settings
        .get_channel_list(SettingKey::DiscordAllowedChannels)
        .await?;
    if channel_allowed(&allowed, channel, parent) {
        return Ok(None);
    }
    let list: Vec<String> = allowed.iter().map(|id| format!("<#{id}>")).collect();
    Ok(Some(Refusal::new(format!(
        "{what} works only in {}.",
        list.join(", ")
    ))))
}

/// Whether `channel` (or the parent of a thread) is in `allowed`; an empty
/// list allows every channel.
pub fn channel_allowed(
    allowed: &[u64],
    channel: serenity::ChannelId,
    parent: Option<serenity::ChannelId>,
) -> bool {
    allowed.is_empty()
        || allowed.contains(&channel.get())
        || parent.is_some_and(|p| allowed.contains(&p.get()))
}

/// Whether a member's permissions (as Discord computed them for the channel
/// of the interaction) allow managing the bot.
pub fn can_manage(permissions: Option<serenity::Permissions>) -> bool {
    permissions.is_some_and(|p| p.manage_guild() || p.administrator())
}

/// poise check for admin commands: refuses ephemerally, changes nothing.
pub async fn manager_only(ctx: Context<'_>) -> Result<bool, Error> {
    let permissions = ctx
        .author_member()
        .await
        .and_then(|member| member.permissions);
    if ctx.guild_id().is_some() && can_manage(permissions) {
        return Ok(true);
    }
    reply::ephemeral(
        ctx,
        "Only members with the **Manage Server** permission can use this command.",
    )
    .await?;
    tracing::info!(user = %ctx.author().id, command = %ctx.command().qualified_name, "admin command refused");
    Ok(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_thread_counts_as_its_parent_channel() {
        let (workshop, thread, other) = (
            serenity::ChannelId::new(10),
            serenity::ChannelId::new(11),
            serenity::ChannelId::new(12),
        );
        assert!(channel_allowed(&[], other, None), "no list allows all");
        assert!(channel_allowed(&[10], workshop, None));
        assert!(channel_allowed(&[10], thread, Some(workshop)));
        assert!(!channel_allowed(&[10], other, None));
        assert!(!channel_allowed(&[10], thread, Some(other)));
    }

    #[test]
    fn manage_guild_or_administrator_is_required() {
        assert!(!can_manage(None));
        assert!(!can_manage(Some(serenity::Permissions::SEND_MESSAGES)));
        assert!(can_manage(Some(serenity::Permissions::MANAGE_GUILD)));
        assert!(can_manage(Some(serenity::Permissions::ADMINISTRATOR)));
    }
}
