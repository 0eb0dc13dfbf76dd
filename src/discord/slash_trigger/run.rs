//! The handler of a workflow's slash command: defer privately, check, read
//! the note (and the channel's last messages when the trigger asks), run
//! the workflow's own analysis, and open the private review.

use poise::serenity_prelude as serenity;
use serenity::{ResolvedOption, ResolvedValue};

use super::note::{self, NoteSource, TypedNote};
use super::preflight::{picked_machine, preflight};
use super::{ATTACHMENT, MACHINE};
use crate::analysis::conversation::Attachment;
use crate::analysis::{Analysis, AnalysisDeps, AnalysisError, AnalysisRequest};
use crate::app::App;
use crate::discord::add_to_flipfix::run::show_review;
use crate::discord::add_to_flipfix::{answer, requested_by, settle_run, spend_limits};
use crate::discord::history::DiscordSource;
use crate::discord::refusal::Outcome;
use crate::discord::responder::Responder;
use crate::discord::{dispatch, reply, review_guard, Context, Data, Error};
use crate::runs::{self, Outcome as RunOutcome};
use crate::workflow::{Workflow, Workflows};

type AppContext<'a> = poise::ApplicationContext<'a, Data, Error>;
type ActionResult<'a> = Result<(), poise::FrameworkError<'a, Data, Error>>;

pub(super) fn run(ctx: AppContext<'_>) -> poise::BoxFuture<'_, ActionResult<'_>> {
    Box::pin(async move {
        report(ctx).await.map_err(|error| {
            poise::FrameworkError::new_command(poise::Context::Application(ctx), error)
        })
    })
}

async fn report(ctx: AppContext<'_>) -> Result<(), Error> {
    let pctx = poise::Context::Application(ctx);
    // Acknowledge before any database, history or model work: Discord
    // allows three seconds.
    pctx.defer_ephemeral().await?;
    let interaction = ctx.interaction;
    let app = ctx.data();
    // Kept for the whole run: a reload never changes its rules mid-way.
    let workflows = app.workflows();
    let Some(workflow) = workflows
        .by_slash_command(&interaction.data.name)
        .filter(|w| w.analyze.is_some())
    else {
        return answer(pctx.http(), interaction, dispatch::GONE).await;
    };
    let options = Options(ctx.args);
    let text_option = workflow
        .slash_command()
        .map(|c| c.text_option.as_str())
        .unwrap_or_default();
    let run_id = start_run(app, interaction, workflow).await?;
    let Some(text) = options.text(text_option) else {
        let refusal = format!("Type what happened in `{text_option}`; nothing was analysed.");
        settle_run(app, run_id, RunOutcome::Refused, &refusal).await;
        return answer(pctx.http(), interaction, &refusal).await;
    };
    let machine = match picked_machine(app, options.text(MACHINE).as_deref()).await {
        Ok(Outcome::Done(machine)) => machine,
        Ok(Outcome::Refused(refusal)) => {
            settle_run(app, run_id, RunOutcome::Refused, refusal.as_str()).await;
            return answer(pctx.http(), interaction, refusal.as_str()).await;
        }
        Err(err) => {
            let reason = format!("the machine could not be looked up: {err}");
            settle_run(app, run_id, RunOutcome::Failed, &reason).await;
            return Err(err);
        }
    };
    let note = TypedNote {
        text,
        machine,
        attachment: options.attachment(ATTACHMENT),
    };
    match preflight(app, interaction, workflow).await {
        Ok(Outcome::Refused(refusal)) => {
            settle_run(app, run_id, RunOutcome::Refused, refusal.as_str()).await;
            answer(pctx.http(), interaction, refusal.as_str()).await
        }
        Ok(Outcome::Done(session_id)) => {
            // From here the run ends with its review (`runs::settle_for_review`).
            runs::attach_review(&app.pool, run_id, session_id).await?;
            app.pin_review(session_id, workflows.clone()).await;
            let work = review(pctx, workflow, &workflows, &note, session_id, run_id);
            review_guard::guarded(&Responder::of(pctx), interaction, session_id, work).await
        }
        Err(err) => {
            let reason = format!("the checks before the analysis failed: {err}");
            settle_run(app, run_id, RunOutcome::Failed, &reason).await;
            Err(err)
        }
    }
}

/// Records the start of this run of the workflow.
async fn start_run(
    app: &App,
    interaction: &serenity::CommandInteraction,
    workflow: &Workflow,
) -> Result<i64, sqlx::Error> {
    let run = runs::NewRun {
        workflow: &workflow.name,
        // The workflow's own version: its review keeps it.
        version: &workflow.version,
        trigger: runs::Trigger::SlashCommand,
        user: Some((interaction.user.id.get(), &interaction.user.name)),
        guild_id: interaction.guild_id.map(|g| g.get()),
        channel_id: Some(interaction.channel_id.get()),
        // The typed note's id (see `note`).
        target_message_id: Some(interaction.id.get()),
        instance: app.lifecycle.instance,
    };
    runs::start(&app.pool, &run, app.clock.now()).await
}

/// Analyses the note and shows the review, as Add to Flipfix does.
async fn review(
    ctx: Context<'_>,
    workflow: &Workflow,
    workflows: &Workflows,
    note: &TypedNote,
    session_id: i64,
    run_id: i64,
) -> Result<(), Error> {
    let poise::Context::Application(app_ctx) = ctx else {
        return Ok(());
    };
    let interaction = app_ctx.interaction;
    let progress = serenity::EditInteractionResponse::new()
        .content("🔎 Reading your note…")
        .allowed_mentions(reply::no_mentions());
    interaction.edit_response(ctx.http(), progress).await?;
    let analysis = analyse(ctx, interaction, workflow, workflows, note, run_id).await;
    let target = note::target_message(interaction, note);
    show_review(
        &Responder::of(ctx),
        interaction,
        &target,
        session_id,
        run_id,
        analysis,
    )
    .await
}

/// The workflow's own analysis (its prompts, model, kinds and vision) of
/// the note, preceded by the channel's last `history` messages.
async fn analyse(
    ctx: Context<'_>,
    interaction: &serenity::CommandInteraction,
    workflow: &Workflow,
    workflows: &Workflows,
    note: &TypedNote,
    run_id: i64,
) -> Result<Analysis, AnalysisError> {
    let app = ctx.data();
    let Some(analyze) = &workflow.analyze else {
        return Err(AnalysisError::NotConfigured);
    };
    let history = workflow.slash_command().map_or(0, |c| c.history);
    let mut menu = analyze.clone();
    menu.windows.channel_before = history;
    menu.windows.max_messages = history + 1;
    let client = app.llm_for(Some(&menu))?;
    let api_key = match client.resolve_key(&app.pool, &app.secrets).await {
        Ok(key) => key,
        Err(crate::config::settings::SettingsError::Database(err)) => return Err(err.into()),
        Err(_) => app.secrets.anthropic_api_key.clone(),
    };
    let deps = AnalysisDeps {
        pool: &app.pool,
        workflows,
        analyze: &menu,
        client: &client,
        api_key: api_key.as_ref(),
        progress: None,
        limits: Some(spend_limits(app).await?),
        allow_loopback_urls: app.secrets.allow_loopback_urls,
        clock: app.clock.as_ref(),
    };
    let request = AnalysisRequest {
        guild_id: interaction.guild_id.map(|g| g.get()),
        channel_id: interaction.channel_id.get(),
        target_id: interaction.id.get(),
        requested_by: requested_by(interaction),
        run_id: Some(run_id),
    };
    let own_user = ctx.serenity_context().cache.current_user().id.get();
    let source = NoteSource {
        discord: DiscordSource::new(ctx.serenity_context().http.clone()).with_own_user(own_user),
        note: note::conversation_message(interaction, note),
    };
    crate::analysis::analyze(&deps, &source, &request).await
}

/// The invocation's options by name.
struct Options<'a>(&'a [ResolvedOption<'a>]);

impl<'a> Options<'a> {
    fn get(&self, name: &str) -> Option<&ResolvedValue<'a>> {
        self.0.iter().find(|o| o.name == name).map(|o| &o.value)
    }

    fn text(&self, name: &str) -> Option<String> {
        match self.get(name) {
            Some(ResolvedValue::String(s)) => Some(s.trim().to_string()).filter(|s| !s.is_empty()),
            _ => None,
        }
    }

    fn attachment(&self, name: &str) -> Option<Attachment> {
        match self.get(name) {
            Some(ResolvedValue::Attachment(a)) => Some(Attachment {
                url: a.url.clone(),
                filename: a.filename.clone(),
                content_type: a.content_type.clone(),
                size: Some(u64::from(a.size)),
            }),
            _ => None,
        }
    }
}
