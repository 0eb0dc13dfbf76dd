//! "Add to Flipfix", the message context-menu command: acknowledge at once,
//! check that the bot may and should work here, gather the conversation,
//! ask Claude, and open a review of the suggestions.
//!
//! This module holds the command itself and the helpers its steps share:
//! `preflight` (the checks that refuse with a short answer), `run` (the
//! analysis with progress, and opening the review) and `review_items` (the
//! suggestions turned into review items).

mod preflight;
mod review_items;
mod run;

use poise::serenity_prelude as serenity;

use super::refusal::Outcome;
use super::{reply, Context, Error};
use crate::app::App;
use crate::config::SettingKey;
use crate::llm::budget::SpendLimits;

/// Turn this message (and its conversation) into records.
#[poise::command(context_menu_command = "Add to Flipfix", guild_only)]
pub async fn add_to_flipfix(ctx: Context<'_>, message: serenity::Message) -> Result<(), Error> {
    // Acknowledge before any database, history or LLM work: Discord allows
    // three seconds.
    ctx.defer_ephemeral().await?;
    let poise::Context::Application(app_ctx) = ctx else {
        return Ok(());
    };
    let interaction = app_ctx.interaction;
    match preflight::preflight(ctx, interaction, &message).await? {
        Outcome::Refused(refusal) => answer(ctx, interaction, refusal.as_str()).await,
        Outcome::Done(session_id) => {
            let work = run::review(ctx, interaction, &message, session_id);
            super::review_guard::guarded(ctx, interaction, session_id, work).await
        }
    }
}

/// Replaces the deferred (or progress) reply with a short answer.
async fn answer(
    ctx: Context<'_>,
    interaction: &serenity::CommandInteraction,
    text: &str,
) -> Result<(), Error> {
    let edit = serenity::EditInteractionResponse::new()
        .content(crate::text::truncate_chars(text, reply::CONTENT_LIMIT))
        .allowed_mentions(reply::no_mentions());
    interaction.edit_response(ctx.http(), edit).await?;
    Ok(())
}

/// The spend limits in force (settings).
async fn spend_limits(app: &App) -> Result<SpendLimits, crate::config::settings::SettingsError> {
    Ok(SpendLimits {
        daily_budget_usd: app
            .settings
            .get_dollars(SettingKey::LlmDailyBudgetUsd)
            .await?,
        analyses_per_user: app
            .settings
            .get_count(SettingKey::LlmDailyAnalysesPerUser)
            .await?,
    })
}

/// Who asked, as usage accounting and the per-person limit count it.
fn requested_by(interaction: &serenity::CommandInteraction) -> String {
    format!("discord:{}", interaction.user.id)
}
