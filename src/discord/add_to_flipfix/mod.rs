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
pub(crate) mod run;

pub(crate) use preflight::{already_saved, claim_review};
pub(crate) use review_items::{review_items, Requester};
pub(crate) use run::{analyse_with, discord_source, remember_mentioned_machines, user_message};

use std::sync::Arc;

use poise::serenity_prelude as serenity;

use super::refusal::Outcome;
use super::responder::Responder;
use super::{reply, Context, Error};
use crate::app::App;
use crate::config::SettingKey;
use crate::llm::budget::SpendLimits;
use crate::runs::{self, Outcome as RunOutcome};
use crate::workflow::Workflows;

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
    let app = ctx.data();
    // The set in force, kept for the whole run and its review: a reload
    // never changes the rules of either mid-way.
    let workflows = app.workflows();
    // After the defer: recording the run is database work.
    let run_id = start_run(app, &workflows, interaction, &message).await?;
    // The workflow this command belongs to: its analysis, scope and cap.
    // One handler serves every message command.
    let Some(workflow) = workflows.by_message_command(&interaction.data.name) else {
        settle_run(app, run_id, RunOutcome::Refused, super::dispatch::GONE).await;
        return answer(ctx.http(), interaction, super::dispatch::GONE).await;
    };
    let checked = preflight::preflight(ctx, interaction, &message, workflow, run_id).await;
    match checked {
        Ok(Outcome::Refused(refusal)) => {
            settle_run(app, run_id, RunOutcome::Refused, refusal.as_str()).await;
            answer(ctx.http(), interaction, refusal.as_str()).await
        }
        Ok(Outcome::Done(session_id)) => {
            // From here the run ends with its review (`runs::settle_for_review`).
            runs::attach_review(&app.pool, run_id, session_id).await?;
            app.pin_review(session_id, workflows.clone()).await;
            let review = Review {
                responder: Responder::of(ctx),
                interaction: interaction.clone(),
                message,
                workflows: workflows.clone(),
                session_id,
                run_id,
            };
            review.run_in_own_task();
            Ok(())
        }
        Err(err) => {
            let reason = format!("the checks before the analysis failed: {err}");
            settle_run(app, run_id, RunOutcome::Failed, &reason).await;
            Err(err)
        }
    }
}

/// A review opened for a message, to be prepared and shown.
struct Review {
    responder: Responder,
    interaction: serenity::CommandInteraction,
    message: serenity::Message,
    /// The set the run started with (see `add_to_flipfix`).
    workflows: Arc<Workflows>,
    session_id: i64,
    run_id: i64,
}

impl Review {
    /// Gathers, analyses and shows the review in a task of its own, so the
    /// event's dispatch (and all it holds) ends at the deferral. Its logs
    /// stay in the interaction's span; shutdown waits for it.
    fn run_in_own_task(self) {
        let in_flight = self.responder.app.lifecycle.in_flight.enter();
        let work = async move {
            let _in_flight = in_flight;
            let Self {
                responder,
                interaction,
                message,
                workflows,
                session_id,
                run_id,
            } = self;
            let work = async {
                // Found in this same set before the review was opened; were
                // it not, the guard closes the review and says so.
                let workflow = workflows
                    .by_message_command(&interaction.data.name)
                    .ok_or_else(|| anyhow::anyhow!("the command's workflow is not in its set"))?;
                run::review(
                    &responder,
                    &interaction,
                    &message,
                    workflow,
                    session_id,
                    run_id,
                )
                .await
            };
            // The guard closes the review and tells the person on any
            // failure; nothing is left to report here.
            let _ = super::review_guard::guarded(&responder, &interaction, session_id, work).await;
        };
        tokio::spawn(tracing::Instrument::in_current_span(work));
    }
}

/// Records the start of this run of the message-command workflow.
async fn start_run(
    app: &App,
    workflows: &crate::workflow::Workflows,
    interaction: &serenity::CommandInteraction,
    message: &serenity::Message,
) -> Result<i64, sqlx::Error> {
    let workflow = runs::message_command_workflow(workflows, &interaction.data.name);
    // The version of the workflow itself, when it is in force.
    let version = workflows
        .get(&workflow)
        .map_or(workflows.version.as_str(), |w| w.version.as_str());
    let run = runs::NewRun {
        workflow: &workflow,
        version,
        trigger: runs::Trigger::MessageCommand,
        user: Some((interaction.user.id.get(), &interaction.user.name)),
        guild_id: interaction.guild_id.map(|g| g.get()),
        channel_id: Some(interaction.channel_id.get()),
        target_message_id: Some(message.id.get()),
        instance: app.lifecycle.instance,
    };
    runs::start(&app.pool, &run, app.clock.now()).await
}

/// Ends the run; a failure to record it is logged (the person's answer
/// matters more, and the run is settled later as left over).
pub(crate) async fn settle_run(app: &App, run_id: i64, outcome: RunOutcome, reason: &str) {
    if let Err(err) = runs::settle(&app.pool, run_id, outcome, reason, app.clock.now()).await {
        tracing::warn!(run_id, error = %err, "could not record how the run ended");
    }
}

/// Replaces the deferred (or progress) reply with a short answer.
pub(crate) async fn answer(
    http: &serenity::Http,
    interaction: &serenity::CommandInteraction,
    text: &str,
) -> Result<(), Error> {
    let edit = serenity::EditInteractionResponse::new()
        .content(crate::text::truncate_chars(text, reply::CONTENT_LIMIT))
        .allowed_mentions(reply::no_mentions());
    interaction.edit_response(http, edit).await?;
    Ok(())
}

/// The spend limits in force (settings).
pub(crate) async fn spend_limits(
    app: &App,
) -> Result<SpendLimits, crate::config::settings::SettingsError> {
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
pub(crate) fn requested_by(interaction: &serenity::CommandInteraction) -> String {
    format!("discord:{}", interaction.user.id)
}
