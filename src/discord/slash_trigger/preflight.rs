//! The checks that end a slash-command run with a short private answer
//! before any history or model work, and the claim of its review.

use poise::serenity_prelude as serenity;

use crate::app::App;
use crate::catalog::machines;
use crate::catalog::matching::{match_machine, MachineMatch};
use crate::config::SettingKey;
use crate::discord::add_to_flipfix::{requested_by, spend_limits};
use crate::discord::refusal::Outcome;
use crate::discord::{checks, Error};
use crate::llm::budget;
use crate::workflow::{Scope, Workflow};

/// The checks in the order a person can act on them; `Done(session)` when
/// the review was opened.
pub(super) async fn preflight(
    app: &App,
    interaction: &serenity::CommandInteraction,
    workflow: &Workflow,
) -> Result<Outcome<i64>, Error> {
    let command = format!("/{}", interaction.data.name);
    if !app.settings.get_bool(SettingKey::DiscordBotEnabled).await? {
        return Ok(Outcome::refused(format!("{command} is turned off. An admin can turn it on with `/flipfix config set DISCORD_BOT_ENABLED true`.")));
    }
    let parent = interaction.channel.as_ref().and_then(|c| c.parent_id);
    if let Some(refusal) =
        checks::channel_refusal(&app.settings, &command, interaction.channel_id, parent).await?
    {
        return Ok(Outcome::Refused(refusal));
    }
    let roles: Vec<u64> = interaction
        .member
        .as_ref()
        .map(|m| m.roles.iter().map(|r| r.get()).collect())
        .unwrap_or_default();
    if let Some(refusal) = scope_refusal(
        &workflow.scope,
        &command,
        interaction.channel_id.get(),
        parent.map(|p| p.get()),
        &roles,
    ) {
        return Ok(Outcome::refused(refusal));
    }
    if let Err(refusal) = budget::check(
        &app.pool,
        spend_limits(app).await?,
        &requested_by(interaction),
        app.clock.now(),
    )
    .await?
    {
        return Ok(Outcome::refused(refusal.to_string()));
    }
    // The typed note's id stands for the target (see `note`).
    crate::discord::add_to_flipfix::claim_review(app, interaction, interaction.id.get()).await
}

/// Where the workflow may run and who may start it: `None` when allowed.
/// A thread counts as its parent channel; an empty list allows all.
pub(super) fn scope_refusal(
    scope: &Scope,
    command: &str,
    channel: u64,
    parent: Option<u64>,
    roles: &[u64],
) -> Option<String> {
    let channel_ok = scope.channels.is_empty()
        || scope.channels.contains(&channel)
        || parent.is_some_and(|p| scope.channels.contains(&p));
    if !channel_ok {
        let list: Vec<String> = scope.channels.iter().map(|id| format!("<#{id}>")).collect();
        return Some(format!("{command} works only in {}.", list.join(", ")));
    }
    let role_ok = scope.roles.is_empty() || roles.iter().any(|r| scope.roles.contains(r));
    if !role_ok {
        let list: Vec<String> = scope.roles.iter().map(|id| format!("<@&{id}>")).collect();
        return Some(format!(
            "{command} is for members with the role {}.",
            list.join(" or ")
        ));
    }
    None
}

/// The machine the person picked (autocomplete sends a slug; a typed name,
/// alias or small typo matches), by display name, or the refusal naming
/// the closest ones.
pub(super) async fn picked_machine(
    app: &App,
    typed: Option<&str>,
) -> Result<Outcome<Option<String>>, Error> {
    let Some(typed) = typed else {
        return Ok(Outcome::Done(None));
    };
    Ok(
        match match_machine(&machines::list(&app.pool).await?, typed) {
            MachineMatch::Found(machine) => Outcome::Done(Some(machine.display_name().to_string())),
            MachineMatch::Unknown { closest } => {
                let hint = if closest.is_empty() {
                    String::new()
                } else {
                    format!(" Closest: {}.", closest.join(", "))
                };
                Outcome::refused(format!(
                    "No machine matches `{}`.{hint} Pick one from the list; nothing was analysed.",
                    typed.replace('`', "'")
                ))
            }
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope(channels: &[u64], roles: &[u64]) -> Scope {
        Scope {
            channels: channels.to_vec(),
            roles: roles.to_vec(),
            exempt_roles: Vec::new(),
        }
    }

    #[test]
    fn an_empty_scope_allows_every_channel_and_member() {
        assert_eq!(
            scope_refusal(&scope(&[], &[]), "/report", 5, None, &[]),
            None
        );
    }

    #[test]
    fn a_thread_counts_as_its_parent_channel() {
        let workshop = scope(&[10], &[]);
        assert_eq!(scope_refusal(&workshop, "/report", 11, Some(10), &[]), None);
        assert_eq!(
            scope_refusal(&workshop, "/report", 12, None, &[]).as_deref(),
            Some("/report works only in <#10>.")
        );
    }

    #[test]
    fn a_member_without_a_listed_role_is_refused() {
        let crew = scope(&[], &[7, 8]);
        assert_eq!(scope_refusal(&crew, "/report", 1, None, &[8]), None);
        assert_eq!(
            scope_refusal(&crew, "/report", 1, None, &[9]).as_deref(),
            Some("/report is for members with the role <@&7> or <@&8>.")
        );
    }
}
