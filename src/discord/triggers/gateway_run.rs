//! What every trigger that arrives as a gateway event (a reaction, a new
//! thread) does once it has decided to run: the spend limits, the review
//! session, the run trace, the workflow's daily cap, the analysis, and the
//! review prompt. The trigger's own module decides who, where and on which
//! message; this one is the same for all of them.

use chrono::Duration;
use poise::serenity_prelude as serenity;

use super::review_prompt;
use crate::analysis::{AnalysisError, AnalysisRequest, NO_RECORDS_MESSAGE};
use crate::app::App;
use crate::config::SettingKey;
use crate::discord::add_to_flipfix::{
    analyse_with, discord_source, remember_mentioned_machines, review_items, settle_run,
    spend_limits, user_message, Requester,
};
use crate::discord::Error;
use crate::llm::budget;
use crate::review::{recovery, NewSession, ReviewStore, SessionStatus, StartOutcome};
use crate::runs::{self, Outcome as RunOutcome};
use crate::workflow::Windows;

/// A run a gateway event starts: the workflow, who started it, the message
/// the analysis centres on, and where the prompt goes.
#[derive(Debug, Clone)]
pub(super) struct GatewayStart {
    pub workflow: String,
    pub trigger: runs::Trigger,
    pub user_id: u64,
    /// The member's name as the review shows it.
    pub user_name: String,
    /// The unique username, as runs record it.
    pub username: String,
    pub roles: Vec<u64>,
    pub guild_id: u64,
    /// The channel (or thread) the run is recorded in.
    pub run_channel_id: u64,
    /// The message the analysis centres on, and its channel.
    pub channel_id: u64,
    pub message_id: u64,
    /// Where the review prompt, or a note instead of one, is posted.
    pub prompt_channel_id: u64,
    /// Windows replacing the workflow's `gather:` (a thread's first messages).
    pub windows: Option<Windows>,
    /// A title shown on one message: (message id, a forum post's title).
    pub title: Option<(u64, String)>,
    /// Whether the run counts against the workflow's daily cap (members
    /// with an exempt role do not).
    pub counts_against_cap: bool,
}

/// Opens the review: a note instead when a spend limit or the daily cap
/// refuses; nothing when the message is already under review.
pub(super) async fn begin(
    ctx: &serenity::Context,
    app: &App,
    start: &GatewayStart,
) -> Result<(), Error> {
    let http = &ctx.http;
    let requested_by = format!("discord:{}", start.user_id);
    let limits = spend_limits(app).await?;
    if let Err(refusal) = budget::check(&app.pool, limits, &requested_by, app.clock.now()).await? {
        return review_prompt::note(http, start.prompt_channel_id, &refusal.to_string()).await;
    }
    let hours = app
        .settings
        .get_hours(SettingKey::ReviewExpiryHours)
        .await?;
    let new = NewSession {
        guild_id: Some(start.guild_id),
        channel_id: start.channel_id,
        target_message_id: start.message_id,
        owner_user_id: start.user_id,
        owner_name: start.user_name.clone(),
        expires_at: app.clock.now() + Duration::hours(i64::from(hours)),
    };
    let store = ReviewStore::new(app.pool.clone());
    let session_id = match store
        .start_as(&new, app.clock.now(), app.lifecycle.instance)
        .await?
    {
        StartOutcome::Started(id) => id,
        busy => {
            // A second start while a review is open: the open one stands.
            tracing::info!(message = start.message_id, outcome = ?busy, "a gateway trigger on a message already under review ignored");
            return Ok(());
        }
    };
    let run_id = start_run(app, start).await?;
    runs::attach_review(&app.pool, run_id, session_id).await?;
    if let Err(err) = prepare(ctx, app, start, session_id, run_id).await {
        let reason = format!("{err:#}");
        if let Err(close_err) =
            recovery::close(&app.pool, session_id, SessionStatus::Failed, &reason).await
        {
            tracing::error!(session_id, error = %close_err, "could not close a failed review; it frees itself when this process is gone");
        }
        if let Err(settle_err) =
            runs::settle_review_run(&app.pool, session_id, app.clock.now()).await
        {
            tracing::warn!(session_id, error = %settle_err, "could not record how the run ended");
        }
        return Err(err);
    }
    Ok(())
}

/// The member's sentence when the workflow's daily cap is reached.
async fn cap_refusal(
    app: &App,
    start: &GatewayStart,
    run_id: i64,
) -> Result<Option<String>, Error> {
    if !start.counts_against_cap {
        return Ok(None);
    }
    let workflows = app.workflows();
    let Some(cap) = workflows.get(&start.workflow).and_then(|w| w.daily_cap) else {
        return Ok(None);
    };
    let checked = runs::check_daily_cap(
        &app.pool,
        &start.workflow,
        cap,
        Some(run_id),
        app.clock.now(),
    )
    .await?;
    Ok(checked.err().map(|reached| reached.to_string()))
}

/// Checks the daily cap, gathers, analyses and stores the suggestions, then
/// posts the prompt (or a note when there is nothing to review).
async fn prepare(
    ctx: &serenity::Context,
    app: &App,
    start: &GatewayStart,
    session_id: i64,
    run_id: i64,
) -> Result<(), Error> {
    let store = ReviewStore::new(app.pool.clone());
    if let Some(refusal) = cap_refusal(app, start, run_id).await? {
        store.fail(session_id).await?;
        settle_run(app, run_id, RunOutcome::Refused, &refusal).await;
        return review_prompt::note(&ctx.http, start.prompt_channel_id, &refusal).await;
    }
    let request = AnalysisRequest {
        guild_id: Some(start.guild_id),
        channel_id: start.channel_id,
        target_id: start.message_id,
        requested_by: format!("discord:{}", start.user_id),
        run_id: Some(run_id),
    };
    let workflows = app.workflows();
    let Some(menu) = workflows
        .get(&start.workflow)
        .and_then(|w| w.analyze.as_ref())
    else {
        // A reload removed the workflow between the event and now.
        store.fail(session_id).await?;
        let text = format!("The workflow `{}` was removed by a reload.", start.workflow);
        settle_run(app, run_id, RunOutcome::Refused, &text).await;
        return Ok(());
    };
    // The review keeps the version it is prepared with.
    app.pin_review(session_id, workflows.clone()).await;
    let mut menu = menu.clone();
    if let Some(windows) = start.windows {
        menu.windows = windows;
    }
    let mut source = discord_source(ctx);
    if let Some((message_id, title)) = &start.title {
        source = source.with_title(*message_id, title);
    }
    let analysis = match analyse_with(&source, app, &workflows, &menu, &request, None).await {
        Ok(analysis) => analysis,
        Err(err) => {
            store.fail(session_id).await?;
            tracing::warn!(workflow = %start.workflow, error = %err, "analysis of a gateway-started run failed");
            let text = user_message(&err);
            let outcome = match &err {
                AnalysisError::Spend(_) => RunOutcome::Refused,
                _ => RunOutcome::Failed,
            };
            settle_run(app, run_id, outcome, &text).await;
            return review_prompt::note(&ctx.http, start.prompt_channel_id, &text).await;
        }
    };
    let target = serenity::ChannelId::new(start.channel_id)
        .message(&ctx.http, serenity::MessageId::new(start.message_id))
        .await?;
    let requester = Requester {
        user_id: start.user_id,
        guild_id: Some(start.guild_id),
        roles: Some(start.roles.clone()),
    };
    let items = review_items(app, &requester, &target, &analysis).await?;
    store.set_items(session_id, &items).await?;
    remember_mentioned_machines(app, &store, session_id, &analysis).await?;
    if items.is_empty() {
        settle_run(app, run_id, RunOutcome::Skipped, NO_RECORDS_MESSAGE).await;
        return review_prompt::note(&ctx.http, start.prompt_channel_id, NO_RECORDS_MESSAGE).await;
    }
    let kinds = &workflows.kinds;
    if let Err(err) = crate::review::duplicates::find_and_store(&app.pool, kinds, session_id).await
    {
        tracing::warn!(error = %err, "duplicate check failed; cards shown without it");
    }
    review_prompt::post(
        &ctx.http,
        app,
        start.prompt_channel_id,
        session_id,
        start.user_id,
    )
    .await
}

async fn start_run(app: &App, start: &GatewayStart) -> Result<i64, sqlx::Error> {
    let workflows = app.workflows();
    // The version of the workflow itself, as the message command records it.
    let version = workflows
        .get(&start.workflow)
        .map_or(workflows.version.as_str(), |w| w.version.as_str());
    let run = runs::NewRun {
        workflow: &start.workflow,
        version,
        trigger: start.trigger,
        user: Some((start.user_id, &start.username)),
        guild_id: Some(start.guild_id),
        channel_id: Some(start.run_channel_id),
        target_message_id: Some(start.message_id),
        instance: app.lifecycle.instance,
    };
    runs::start(&app.pool, &run, app.clock.now()).await
}
