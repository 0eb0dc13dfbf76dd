//! "Add to Flipfix", the message context-menu command: acknowledge at once,
//! check that the bot may and should work here, gather the conversation,
//! ask Claude, and open a review of the suggestions.

use std::collections::BTreeMap;

use chrono::{Duration, Utc};
use poise::serenity_prelude as serenity;

use super::history::{DiscordSource, MISSING_ACCESS};
use super::{checks, reply, review_ui, Context, Error};
use crate::analysis::gather::GatherError;
use crate::analysis::validate::{MachineMatch, SuggestedAuthor, Suggestion};
use crate::analysis::Progress;
use crate::analysis::{
    analyze, Analysis, AnalysisDeps, AnalysisError, AnalysisRequest, NO_RECORDS_MESSAGE,
};
use crate::app::App;
use crate::catalog::attribution::{attribute, Attribution, DiscordPerson};
use crate::catalog::{machines, maintainers};
use crate::config::SettingKey;
use crate::llm::budget::{self, SpendLimits};
use crate::records::{records_for_messages, Author, Media, SourceMessage};
use crate::review::{NewSession, ReviewItem, ReviewStore, StartOutcome};

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
    match preflight(ctx, interaction, &message).await? {
        Err(refusal) => answer(ctx, interaction, &refusal).await,
        Ok(session_id) => {
            let work = review(ctx, interaction, &message, session_id);
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

/// The checks that end the command with a short answer, in the order a
/// person can act on them. `Ok(session)` when a review was opened.
async fn preflight(
    ctx: Context<'_>,
    interaction: &serenity::CommandInteraction,
    message: &serenity::Message,
) -> Result<Result<i64, String>, Error> {
    let app = ctx.data();
    if !app.settings.get_bool(SettingKey::DiscordBotEnabled).await? {
        return Ok(Err("Add to Flipfix is turned off. An admin can turn it on with `/flipfix config set DISCORD_BOT_ENABLED true`.".into()));
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
        return Ok(Err(refusal));
    }
    if let Some(missing) = missing_permissions(interaction.app_permissions) {
        return Ok(Err(format!(
            "I need the {missing} permission in this channel. Ask an admin to grant it."
        )));
    }
    let saved = records_for_messages(&app.pool, &[message.id.get()]).await?;
    if !saved.is_empty() {
        return Ok(Err(already_saved(app, &saved)));
    }
    let limits = spend_limits(app).await?;
    if let Err(refusal) =
        budget::check(&app.pool, limits, &requested_by(interaction), Utc::now()).await?
    {
        return Ok(Err(refusal.to_string()));
    }
    let hours = app
        .settings
        .get_hours(SettingKey::ReviewExpiryHours)
        .await?;
    let owner = &interaction.user;
    let new = NewSession {
        guild_id: interaction.guild_id.map(|g| g.get()),
        channel_id: interaction.channel_id.get(),
        target_message_id: message.id.get(),
        owner_user_id: owner.id.get(),
        owner_name: interaction
            .member
            .as_ref()
            .and_then(|m| m.nick.clone())
            .or_else(|| owner.global_name.clone())
            .unwrap_or_else(|| owner.name.clone()),
        expires_at: Utc::now() + Duration::hours(i64::from(hours)),
    };
    match ReviewStore::new(app.pool.clone())
        .start_as(&new, Utc::now(), app.lifecycle.instance)
        .await?
    {
        StartOutcome::Started(id) => Ok(Ok(id)),
        busy => Ok(Err(super::review_guard::already_active(
            &busy,
            owner.id.get(),
            new.guild_id,
            new.channel_id,
        ))),
    }
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

fn already_saved(app: &App, saved: &[crate::records::SavedSource]) -> String {
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
                    "{label} #{} ({base}/{}/{}/)",
                    s.record_id, kind.link_path, s.record_id
                ),
                _ => format!("{label} #{}", s.record_id),
            }
        })
        .collect();
    format!("This message is already saved as {}.", list.join(", "))
}

/// Gathers, analyses and opens the review; on any failure the session is
/// closed so the message is free again, and the person is told what to do.
async fn review(
    ctx: Context<'_>,
    interaction: &serenity::CommandInteraction,
    message: &serenity::Message,
    session_id: i64,
) -> Result<(), Error> {
    let app = ctx.data();
    let store = ReviewStore::new(app.pool.clone());
    let progress = serenity::EditInteractionResponse::new()
        .content("🔎 Reading the conversation…")
        .allowed_mentions(reply::no_mentions());
    interaction.edit_response(ctx.http(), progress).await?;

    let analysis = run_analysis(ctx, interaction, message).await;
    let analysis = match analysis {
        Ok(analysis) => analysis,
        Err(err) => {
            store.fail(session_id).await?;
            tracing::warn!(error = %err, "analysis failed");
            return answer(ctx, interaction, &user_message(&err)).await;
        }
    };
    let items = match review_items(app, interaction, message, &analysis).await {
        Ok(items) => items,
        Err(err) => {
            store.fail(session_id).await?;
            return Err(err);
        }
    };
    store.set_items(session_id, &items).await?;
    // The machines the conversation names rank high in a card's machine menu.
    let catalog = machines::list(&app.pool).await?;
    let texts = analysis
        .conversation
        .messages
        .iter()
        .map(|m| m.message.content.as_str());
    let mentioned = crate::catalog::ranking::mentioned_in(&catalog, texts);
    store.set_machine_mentions(session_id, &mentioned).await?;
    if items.is_empty() {
        return answer(ctx, interaction, NO_RECORDS_MESSAGE).await;
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
        .edit_response(ctx.http(), card.into_edit())
        .await?;
    super::review_guard::shown(app, session_id, &shown).await;
    Ok(())
}

async fn run_analysis(
    ctx: Context<'_>,
    interaction: &serenity::CommandInteraction,
    message: &serenity::Message,
) -> Result<Analysis, AnalysisError> {
    let app = ctx.data();
    let workflows = app.workflows();
    let client = app.llm()?;
    let api_key = match client.resolve_key(&app.pool, &app.secrets).await {
        Ok(key) => key,
        Err(crate::config::settings::SettingsError::Database(err)) => return Err(err.into()),
        Err(_) => app.secrets.anthropic_api_key.clone(),
    };
    // Progress edits go through one task, in order, and finish before the
    // caller shows the result.
    let (progress_tx, mut progress_rx) = tokio::sync::mpsc::unbounded_channel::<Progress>();
    let http = ctx.serenity_context().http.clone();
    let token_holder = interaction.clone();
    // People know Anthropic's models as Claude; any other is named as the
    // workflow names it.
    let asked = match workflows.context_menu.as_ref() {
        Some(menu) if menu.provider != crate::workflow::provider::ModelProvider::Anthropic => {
            menu.model.clone()
        }
        _ => "Claude".to_string(),
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
    let deps = AnalysisDeps {
        pool: &app.pool,
        workflows: &workflows,
        client: &client,
        api_key: api_key.as_ref(),
        progress: Some(&report),
        limits: Some(spend_limits(app).await?),
        allow_loopback_urls: app.secrets.allow_loopback_urls,
    };
    let request = AnalysisRequest {
        guild_id: interaction.guild_id.map(|g| g.get()),
        channel_id: message.channel_id.get(),
        target_id: message.id.get(),
        requested_by: requested_by(interaction),
    };
    let own_user = ctx.serenity_context().cache.current_user().id.get();
    let source = DiscordSource::new(ctx.serenity_context().http.clone()).with_own_user(own_user);
    let result = analyze(&deps, &source, &request).await;
    // Closing the channel ends the progress task; wait so no late progress
    // edit can overwrite the result.
    drop(report);
    let _ = progress_task.await;
    result
}

fn user_message(err: &AnalysisError) -> String {
    match err {
        AnalysisError::Gather(GatherError::Source(source)) if source.0 == MISSING_ACCESS => {
            "Discord would not let me read this conversation. I need the View Channel and Read Message History permissions here.".into()
        }
        AnalysisError::Spend(refusal) => refusal.to_string(),
        other => other.user_message().to_string(),
    }
}

/// The suggestions as review items, children after their parent.
async fn review_items(
    app: &App,
    interaction: &serenity::CommandInteraction,
    target: &serenity::Message,
    analysis: &Analysis,
) -> Result<Vec<(ReviewItem, Option<usize>)>, Error> {
    let mut items = Vec::new();
    let mut stack: Vec<(&Suggestion, Option<usize>)> = analysis
        .suggestions
        .iter()
        .rev()
        .map(|s| (s, None))
        .collect();
    while let Some((suggestion, parent)) = stack.pop() {
        let position = items.len();
        items.push((
            review_item(app, interaction, target, analysis, suggestion).await?,
            parent,
        ));
        stack.extend(
            suggestion
                .children
                .iter()
                .rev()
                .map(|child| (child, Some(position))),
        );
    }
    Ok(items)
}

async fn review_item(
    app: &App,
    interaction: &serenity::CommandInteraction,
    target: &serenity::Message,
    analysis: &Analysis,
    suggestion: &Suggestion,
) -> Result<ReviewItem, Error> {
    let conversation = &analysis.conversation;
    let guild_id = interaction.guild_id.map(|g| g.get());
    let (machine_id, machine_hint) = match &suggestion.machine {
        MachineMatch::Known {
            id: Some(id), name, ..
        } => (Some(*id), Some(name.clone())),
        MachineMatch::Known {
            id: None,
            slug,
            name,
        } => (
            machines::by_slug(&app.pool, slug).await?.map(|m| m.id),
            Some(name.clone()),
        ),
        MachineMatch::Unknown { said } => (None, said.clone()),
        MachineMatch::None => (None, None),
    };
    let mut ids: Vec<u64> = suggestion.source_message_ids.clone();
    if !ids.contains(&target.id.get()) {
        ids.push(target.id.get());
    }
    let sources: Vec<SourceMessage> = ids
        .iter()
        .map(|id| SourceMessage {
            guild_id,
            channel_id: conversation
                .get(*id)
                .map(|m| m.message.channel_id)
                .unwrap_or(target.channel_id.get()),
            message_id: *id,
        })
        .collect();
    let occurred_at = ids
        .iter()
        .filter_map(|id| conversation.get(*id))
        .map(|m| m.message.timestamp)
        .max()
        .unwrap_or_else(Utc::now);
    let media = ids
        .iter()
        .filter_map(|id| conversation.get(*id))
        .flat_map(|m| m.message.attachments.iter())
        .filter_map(|a| media_from_url(&a.url))
        .collect();
    let attribution = match &suggestion.author {
        Some(SuggestedAuthor::Discord {
            id,
            username,
            display_name,
        }) => {
            let person = DiscordPerson {
                user_id: *id,
                username: username.clone(),
                global_name: Some(display_name.clone()),
                nickname: None,
            };
            attribute(&app.pool, &person).await?
        }
        Some(SuggestedAuthor::Records { name }) => {
            let author = match maintainers::by_username(&app.pool, name).await? {
                Some(maintainer) => Author::Maintainer(maintainer.id),
                None => Author::Name(name.clone()),
            };
            Attribution { author, hint: None }
        }
        None => {
            let author = &target.author;
            let person = DiscordPerson {
                user_id: author.id.get(),
                username: author.name.clone(),
                global_name: author.global_name.clone(),
                nickname: target.member.as_ref().and_then(|m| m.nick.clone()),
            };
            attribute(&app.pool, &person).await?
        }
    };
    Ok(ReviewItem {
        kind: suggestion.kind.clone(),
        machine_id,
        machine_hint,
        description: suggestion.description.clone(),
        fields: suggestion
            .fields
            .clone()
            .into_iter()
            .collect::<BTreeMap<_, _>>(),
        parent_record_id: suggestion.parent_record_id,
        sources,
        author: attribution.author,
        author_hint: attribution.hint,
        occurred_at,
        media,
    })
}

/// An attachment URL as record media, when it is a photo or video.
fn media_from_url(url: &str) -> Option<Media> {
    let parsed = url::Url::parse(url).ok()?;
    let filename = parsed.path_segments()?.next_back()?.to_string();
    Media::is_photo_or_video(None, &filename).then(|| Media {
        url: url.to_string(),
        filename,
        content_type: None,
        size_bytes: None,
    })
}
