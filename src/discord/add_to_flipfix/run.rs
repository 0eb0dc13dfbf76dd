//! Running the analysis for "Add to Flipfix" with progress edits, and
//! opening the review of its suggestions (or saying why not).

use poise::serenity_prelude as serenity;

use super::review_items::{review_items, Requester};
use super::{answer, requested_by, settle_run, spend_limits};
use crate::analysis::gather::GatherError;
use crate::analysis::Progress;
use crate::analysis::{
    analyze, Analysis, AnalysisDeps, AnalysisError, AnalysisRequest, NO_RECORDS_MESSAGE,
};
use crate::app::App;
use crate::catalog::machines;
use crate::discord::history::{DiscordSource, MISSING_ACCESS};
use crate::discord::responder::Responder;
use crate::discord::{reply, review_ui, Error};
use crate::review::ReviewStore;
use crate::runs::Outcome as RunOutcome;
use crate::workflow::{Analyze, Workflow, Workflows};

/// Gathers, analyses and opens the review; on any failure the session is
/// closed so the message is free again, and the person is told what to do.
pub(super) async fn review(
    responder: &Responder,
    interaction: &serenity::CommandInteraction,
    message: &serenity::Message,
    workflow: &Workflow,
    session_id: i64,
    run_id: i64,
) -> Result<(), Error> {
    let progress = serenity::EditInteractionResponse::new()
        .content("🔎 Reading the conversation…")
        .allowed_mentions(reply::no_mentions());
    interaction
        .edit_response(responder.http(), progress)
        .await?;

    let analysis = run_analysis(responder, interaction, message, workflow, run_id).await;
    show_review(
        responder,
        interaction,
        message,
        session_id,
        run_id,
        analysis,
    )
    .await
}

/// Turns a finished analysis into the review (or the short answer saying
/// why not): shared by every trigger whose review is private to the person
/// who started it. `message` is the target the suggestions are saved from.
pub(crate) async fn show_review(
    responder: &Responder,
    interaction: &serenity::CommandInteraction,
    message: &serenity::Message,
    session_id: i64,
    run_id: i64,
    analysis: Result<Analysis, AnalysisError>,
) -> Result<(), Error> {
    let app = &responder.app;
    let store = ReviewStore::new(app.pool.clone());
    let analysis = match analysis {
        Ok(analysis) => analysis,
        Err(err) => {
            store.fail(session_id).await?;
            tracing::warn!(error = %err, "analysis failed");
            let text = user_message(&err);
            // Over a spend limit is a refusal; anything else a failure.
            let outcome = match &err {
                AnalysisError::Spend(_) => RunOutcome::Refused,
                _ => RunOutcome::Failed,
            };
            settle_run(app, run_id, outcome, &text).await;
            return answer(responder.http(), interaction, &text).await;
        }
    };
    let items = match review_items(app, &Requester::of(interaction), message, &analysis).await {
        Ok(items) => items,
        Err(err) => {
            store.fail(session_id).await?;
            let reason = format!("the suggestions could not be prepared: {err}");
            settle_run(app, run_id, RunOutcome::Failed, &reason).await;
            return Err(err);
        }
    };
    store.set_items(session_id, &items).await?;
    remember_mentioned_machines(app, &store, session_id, &analysis).await?;
    if items.is_empty() {
        settle_run(app, run_id, RunOutcome::Skipped, NO_RECORDS_MESSAGE).await;
        return answer(responder.http(), interaction, NO_RECORDS_MESSAGE).await;
    }
    let kinds = &app.workflows().kinds;
    if let Err(err) = crate::review::duplicates::find_and_store(&app.pool, kinds, session_id).await
    {
        // The review works without the hint; the person just is not warned.
        tracing::warn!(error = %err, "duplicate check failed; cards shown without it");
    }
    let session = store.load(session_id).await?;
    let card = review_ui::render(app, &session).await?;
    let shown = interaction
        .edit_response(responder.http(), card.into_edit())
        .await?;
    crate::discord::review_guard::shown(app, session_id, &shown).await;
    Ok(())
}

async fn run_analysis(
    responder: &Responder,
    interaction: &serenity::CommandInteraction,
    message: &serenity::Message,
    workflow: &Workflow,
    run_id: i64,
) -> Result<Analysis, AnalysisError> {
    let app = &responder.app;
    let workflows = app.workflows();
    let menu = crate::analysis::for_workflow(&workflows, Some(&workflow.name))?;
    // Progress edits go through one task, in order, and finish before the
    // caller shows the result.
    let (progress_tx, mut progress_rx) = tokio::sync::mpsc::unbounded_channel::<Progress>();
    let http = responder.serenity.http.clone();
    let token_holder = interaction.clone();
    // People know Anthropic's models as Claude; any other is named as the
    // workflow names it.
    let asked = if menu.provider != crate::workflow::ModelProvider::Anthropic {
        menu.model.clone()
    } else {
        "Claude".to_string()
    };
    let progress_task = tokio::spawn(async move {
        while let Some(Progress::AskingModel { messages }) = progress_rx.recv().await {
            let edit = serenity::EditInteractionResponse::new()
                .content(format!("🔎 Read {messages} message(s); asking {asked}…"))
                .allowed_mentions(reply::no_mentions());
            if let Err(err) = token_holder.edit_response(&http, edit).await {
                tracing::warn!(error = %err, "progress update failed");
            }
        }
    });
    let report = move |step: Progress| {
        let _ = progress_tx.send(step);
    };
    let request = AnalysisRequest {
        guild_id: interaction.guild_id.map(|g| g.get()),
        channel_id: message.channel_id.get(),
        target_id: message.id.get(),
        requested_by: requested_by(interaction),
        run_id: Some(run_id),
    };
    let result = analyse(&responder.serenity, app, workflow, &request, Some(&report)).await;
    // Closing the channel ends the progress task; wait so no late progress
    // edit can overwrite the result.
    drop(report);
    let _ = progress_task.await;
    result
}

/// The analysis of `request` with the model client, key and spend limits
/// in force; `progress` hears of each step when someone watches.
pub(crate) async fn analyse(
    serenity_ctx: &serenity::Context,
    app: &App,
    workflow: &Workflow,
    request: &AnalysisRequest,
    progress: Option<&(dyn Fn(Progress) + Send + Sync)>,
) -> Result<Analysis, AnalysisError> {
    let workflows = app.workflows();
    let menu = crate::analysis::for_workflow(&workflows, Some(&workflow.name))?;
    let source = discord_source(serenity_ctx);
    analyse_with(&source, app, &workflows, menu, request, progress).await
}

/// Discord's history as the analysis reads it, without the bot's own posts.
pub(crate) fn discord_source(serenity_ctx: &serenity::Context) -> DiscordSource {
    let own_user = serenity_ctx.cache.current_user().id.get();
    DiscordSource::new(serenity_ctx.http.clone()).with_own_user(own_user)
}

/// [`analyse`] with the history `source` and the analysis `menu` given: a
/// trigger that reads its own windows (a new thread's first messages, its
/// title) passes them.
pub(crate) async fn analyse_with(
    source: &DiscordSource,
    app: &App,
    workflows: &Workflows,
    menu: &Analyze,
    request: &AnalysisRequest,
    progress: Option<&(dyn Fn(Progress) + Send + Sync)>,
) -> Result<Analysis, AnalysisError> {
    let client = app.llm_for(Some(menu))?;
    let api_key = match client.resolve_key(&app.pool, &app.secrets).await {
        Ok(key) => key,
        Err(crate::config::settings::SettingsError::Database(err)) => return Err(err.into()),
        Err(_) => app.secrets.anthropic_api_key.clone(),
    };
    let deps = AnalysisDeps {
        pool: &app.pool,
        workflows,
        analyze: menu,
        client: &client,
        api_key: api_key.as_ref(),
        progress,
        limits: Some(spend_limits(app).await?),
        allow_loopback_urls: app.secrets.allow_loopback_urls,
        clock: app.clock.as_ref(),
    };
    analyze(&deps, source, request).await
}

pub(crate) fn user_message(err: &AnalysisError) -> String {
    match err {
        AnalysisError::Gather(GatherError::Source(source)) if source.0 == MISSING_ACCESS => {
            "Discord would not let me read this conversation. I need the View Channel and Read Message History permissions here.".into()
        }
        AnalysisError::Spend(refusal) => refusal.to_string(),
        other => other.user_message().to_string(),
    }
}

/// Stores the machines the conversation names, so they rank high in a
/// card's machine menu.
pub(crate) async fn remember_mentioned_machines(
    app: &App,
    store: &ReviewStore,
    session_id: i64,
    analysis: &Analysis,
) -> Result<(), Error> {
    let catalog = machines::list(&app.pool).await?;
    let texts = analysis
        .conversation
        .messages
        .iter()
        .map(|m| m.message.content.as_str());
    let mentioned = crate::catalog::ranking::mentioned_in(&catalog, texts);
    store.set_machine_mentions(session_id, &mentioned).await?;
    Ok(())
}
