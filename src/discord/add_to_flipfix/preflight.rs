//! The checks that end "Add to Flipfix" with a short answer before any
//! history or LLM work, and the claim of the message for a new review.

use chrono::Duration;
use poise::serenity_prelude as serenity;

use super::{requested_by, spend_limits};
use crate::app::App;
use crate::config::SettingKey;
use crate::discord::refusal::Outcome;
use crate::discord::{checks, Context, Error};
use crate::llm::budget;
use crate::records::records_for_messages;
use crate::review::{NewSession, ReviewStore, StartOutcome};
use crate::runs;
use crate::workflow::Workflow;

/// The checks that end the command with a short answer, in the order a
/// person can act on them. `Done(session)` when a review was opened.
pub(super) async fn preflight(
    ctx: Context<'_>,
    interaction: &serenity::CommandInteraction,
    message: &serenity::Message,
    workflow: &Workflow,
    run_id: i64,
) -> Result<Outcome<i64>, Error> {
    let app = ctx.data();
    if !app.settings.get_bool(SettingKey::DiscordBotEnabled).await? {
        return Ok(Outcome::refused("Add to Flipfix is turned off. An admin can turn it on with `/flipfix config set DISCORD_BOT_ENABLED true`."));
    }
    let parent = interaction.channel.as_ref().and_then(|c| c.parent_id);
    if let Some(refusal) = checks::channel_refusal(
        &app.settings,
        "Add to Flipfix",
        interaction.channel_id,
        parent,
    )
    .await?
    {
        return Ok(Outcome::Refused(refusal));
    }
    // The workflow's own scope (channels, roles) and daily cap.
    let roles: Vec<u64> = interaction
        .member
        .as_ref()
        .map(|m| m.roles.iter().map(|r| r.get()).collect())
        .unwrap_or_default();
    let counts_against_cap = match workflow.may_start(
        interaction.channel_id.get(),
        parent.map(|p| p.get()),
        &roles,
    ) {
        Ok(counts) => counts,
        Err(refusal) => return Ok(Outcome::refused(refusal.to_string())),
    };
    if let (true, Some(cap)) = (counts_against_cap, workflow.daily_cap) {
        if let Err(reached) = runs::check_daily_cap(
            &app.pool,
            &workflow.name,
            cap,
            Some(run_id),
            app.clock.now(),
        )
        .await?
        {
            return Ok(Outcome::refused(reached.to_string()));
        }
    }
    if let Some(missing) = missing_permissions(interaction.app_permissions) {
        return Ok(Outcome::refused(format!(
            "I need the {missing} permission in this channel. Ask an admin to grant it."
        )));
    }
    let saved = records_for_messages(&app.pool, &[message.id.get()]).await?;
    if !saved.is_empty() {
        return Ok(Outcome::refused(already_saved(app, &saved)));
    }
    let limits = spend_limits(app).await?;
    if let Err(refusal) = budget::check(
        &app.pool,
        limits,
        &requested_by(interaction),
        app.clock.now(),
    )
    .await?
    {
        return Ok(Outcome::refused(refusal.to_string()));
    }
    claim_review(app, interaction, message.id.get()).await
}

/// Starts the review session `interaction` asks for on `target_message_id`
/// (or says whose review already holds it): the last step of a preflight.
pub(crate) async fn claim_review(
    app: &App,
    interaction: &serenity::CommandInteraction,
    target_message_id: u64,
) -> Result<Outcome<i64>, Error> {
    let hours = app
        .settings
        .get_hours(SettingKey::ReviewExpiryHours)
        .await?;
    let owner = &interaction.user;
    let new = NewSession {
        guild_id: interaction.guild_id.map(|g| g.get()),
        channel_id: interaction.channel_id.get(),
        target_message_id,
        owner_user_id: owner.id.get(),
        owner_name: interaction
            .member
            .as_ref()
            .and_then(|m| m.nick.clone())
            .or_else(|| owner.global_name.clone())
            .unwrap_or_else(|| owner.name.clone()),
        expires_at: app.clock.now() + Duration::hours(i64::from(hours)),
    };
    match ReviewStore::new(app.pool.clone())
        .start_as(&new, app.clock.now(), app.lifecycle.instance)
        .await?
    {
        StartOutcome::Started(id) => Ok(Outcome::Done(id)),
        busy => Ok(Outcome::refused(
            crate::discord::review_guard::already_active(
                &busy,
                owner.id.get(),
                new.guild_id,
                new.channel_id,
            ),
        )),
    }
}

fn missing_permissions(permissions: Option<serenity::Permissions>) -> Option<String> {
    // Without the field (older payloads) Discord's own answer decides later.
    let permissions = permissions?;
    let mut missing = Vec::new();
    if !permissions.view_channel() {
        missing.push("View Channel");
    }
    if !permissions.read_message_history() {
        missing.push("Read Message History");
    }
    (!missing.is_empty()).then(|| missing.join(" and "))
}

pub(crate) fn already_saved(app: &App, saved: &[crate::records::SavedSource]) -> String {
    let workflows = app.workflows();
    let list: Vec<String> = saved
        .iter()
        .map(|s| {
            let kind = workflows.kinds.get(&s.kind);
            let label = kind
                .map(|k| format!("{} {}", k.emoji, k.label))
                .unwrap_or_else(|| s.kind.clone());
            match (&app.secrets.public_base_url, kind) {
                (Some(base), Some(kind)) => format!(
                    "{label} #{} ({})",
                    s.record_id,
                    base.record(&kind.link_path, s.record_id)
                ),
                _ => format!("{label} #{}", s.record_id),
            }
        })
        .collect();
    format!("This message is already saved as {}.", list.join(", "))
}
