//! `/flipfix …`: the admin commands. Every subcommand inherits the
//! `manager_only` check, which runs on every call.

mod catalog;
pub use catalog::autocomplete_machine;
mod config;
mod doctor;
mod links;
mod notifications;
mod reviews;
mod runs;
mod status;
mod usage;
mod webhook;
mod workflows;

use super::{checks, Context, Error};

/// Configure flipfix-bot (admins).
#[poise::command(
    slash_command,
    guild_only,
    default_member_permissions = "MANAGE_GUILD",
    check = "checks::manager_only",
    subcommands(
        "config::config",
        "links::link",
        "links::unlink",
        "links::links",
        "catalog::machines",
        "catalog::maintainers",
        "catalog::import",
        "workflows::workflows",
        "status::status",
        "usage::usage",
        "webhook::webhook",
        "notifications::notifications",
        "reviews::reviews",
        "runs::runs",
        "doctor::doctor"
    ),
    subcommand_required
)]
pub async fn flipfix(_ctx: Context<'_>) -> Result<(), Error> {
    Ok(())
}
