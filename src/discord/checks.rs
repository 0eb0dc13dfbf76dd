//! Permission checks, decided by the bot on every call: Discord's
//! `default_member_permissions` only hides commands in the client, and server
//! admins can override it.

use poise::serenity_prelude as serenity;

use super::{reply, Context, Error};

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
    fn manage_guild_or_administrator_is_required() {
        assert!(!can_manage(None));
        assert!(!can_manage(Some(serenity::Permissions::SEND_MESSAGES)));
        assert!(can_manage(Some(serenity::Permissions::MANAGE_GUILD)));
        assert!(can_manage(Some(serenity::Permissions::ADMINISTRATOR)));
    }
}
