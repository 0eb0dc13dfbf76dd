//! The review prompt: one short message in the channel (or thread),
//! posted for a review a reaction or a new thread started, "Suggestions for
//! <person> are ready", with a Review button only that person may use. The
//! click opens the same private review as Add to Flipfix; when the review
//! ends the message is edited to say what was created. What the button
//! needs is in the database (`review::prompts`), so a restart between the
//! post and the click changes nothing.

use poise::serenity_prelude as serenity;

use crate::app::App;
use crate::discord::{reply, review_guard, review_ui, Error};
use crate::review::prompts::{self, ReviewPrompt};
use crate::review::{ItemState, ReviewError, ReviewStore, Session, SessionStatus};

/// Custom ids of Review buttons: this prefix, then the session id.
const PREFIX: &str = "review-prompt:";

/// Posts the prompt for review `session_id` of `owner` in `channel_id`, and
/// remembers it.
pub async fn post(
    http: &serenity::Http,
    app: &App,
    channel_id: u64,
    session_id: i64,
    owner_user_id: u64,
) -> Result<(), Error> {
    // A user mention renders as the person's name; with no allowed
    // mentions it pings nobody.
    let button = serenity::CreateButton::new(format!("{PREFIX}{session_id}"))
        .label("Review")
        .style(serenity::ButtonStyle::Primary);
    let message = serenity::CreateMessage::new()
        .content(format!("Suggestions for <@{owner_user_id}> are ready."))
        .components(vec![serenity::CreateActionRow::Buttons(vec![button])])
        .allowed_mentions(reply::no_mentions());
    let posted = serenity::ChannelId::new(channel_id)
        .send_message(http, message)
        .await?;
    let prompt = ReviewPrompt {
        session_id,
        channel_id,
        message_id: posted.id.get(),
        owner_user_id,
    };
    prompts::remember(&app.pool, &prompt).await?;
    Ok(())
}

/// Posts a short note (no buttons, no mentions) in `channel_id`.
pub async fn note(http: &serenity::Http, channel_id: u64, text: &str) -> Result<(), Error> {
    let message = serenity::CreateMessage::new()
        .content(crate::text::truncate_chars(text, reply::CONTENT_LIMIT))
        .allowed_mentions(reply::no_mentions());
    serenity::ChannelId::new(channel_id)
        .send_message(http, message)
        .await?;
    Ok(())
}

/// A click on a Review button: `Ok(false)` when the component is not one.
pub async fn on_click(
    ctx: &serenity::Context,
    app: &App,
    component: &serenity::ComponentInteraction,
) -> Result<bool, Error> {
    let Some(session_id) = component
        .data
        .custom_id
        .strip_prefix(PREFIX)
        .and_then(|id| id.parse::<i64>().ok())
    else {
        return Ok(false);
    };
    // Acknowledge first, privately: the review card replaces this reply.
    let defer = serenity::CreateInteractionResponse::Defer(
        serenity::CreateInteractionResponseMessage::new().ephemeral(true),
    );
    component.create_response(&ctx.http, defer).await?;
    let text = match open(ctx, app, component, session_id).await? {
        Some(text) => text,
        None => return Ok(true),
    };
    let edit = serenity::EditInteractionResponse::new()
        .content(text)
        .allowed_mentions(reply::no_mentions());
    component.edit_response(&ctx.http, edit).await?;
    Ok(true)
}

/// Shows the review card to its owner; otherwise the sentence to answer.
async fn open(
    ctx: &serenity::Context,
    app: &App,
    component: &serenity::ComponentInteraction,
    session_id: i64,
) -> Result<Option<String>, Error> {
    // The session, not the prompt's row, says whose review it is: the
    // prompt is posted before its row is written, so a quick click may
    // arrive first.
    let store = ReviewStore::new(app.pool.clone());
    let session = store.load(session_id).await?;
    let user = component.user.id.get();
    if session.owner_user_id != user {
        return Ok(Some(
            "Only the person these suggestions were prepared for can review them; use Add to Flipfix on a message to get your own.".into(),
        ));
    }
    let verdict = match session.check_actor(user, app.clock.now()) {
        // The review's own workflow version, or the sentence that it ended.
        Ok(()) => app.review_workflows(session_id, user).await.map(|_| ()),
        refused => refused,
    };
    match verdict {
        Ok(()) => {
            let card = review_ui::render(app, &session).await?;
            let shown = component.edit_response(&ctx.http, card.into_edit()).await?;
            review_guard::shown(app, session_id, &shown).await;
            Ok(None)
        }
        Err(ReviewError::Expired) => {
            close(&ctx.http, app, &session).await;
            Ok(Some(
                "This review expired, so nothing was saved; use Add to Flipfix on the message to start a new one.".into(),
            ))
        }
        Err(err @ (ReviewError::WorkflowRemoved { .. } | ReviewError::WorkflowChanged { .. })) => {
            let session = ReviewStore::new(app.pool.clone()).load(session_id).await?;
            close(&ctx.http, app, &session).await;
            Ok(Some(
                review_ui::refusal(&err).map_or_else(|| err.to_string(), |r| r.to_string()),
            ))
        }
        Err(_) => {
            close(&ctx.http, app, &session).await;
            Ok(Some(
                "This review is over; nothing more can be done with it.".into(),
            ))
        }
    }
}

/// After a click in a review: once the review is over, its prompt (if it
/// has one) is edited to say what was created. Failures are logged; the
/// records are saved either way.
pub async fn after_review_click(http: &serenity::Http, app: &App, session: &Session) {
    if matches!(
        session.status,
        SessionStatus::Reviewing | SessionStatus::Analysing
    ) {
        return;
    }
    close(http, app, session).await;
}

/// Edits the prompt of `session` (once) to its ending, without the button.
pub(super) async fn close(http: &serenity::Http, app: &App, session: &Session) {
    let prompt = match prompts::close(&app.pool, session.id).await {
        Ok(Some(prompt)) => prompt,
        Ok(None) => return,
        Err(err) => {
            tracing::warn!(session = session.id, error = %err, "could not close the review prompt");
            return;
        }
    };
    let edit = serenity::EditMessage::new()
        .content(ending(app, session, prompt.owner_user_id).await)
        .components(Vec::new())
        .allowed_mentions(reply::no_mentions());
    let channel = serenity::ChannelId::new(prompt.channel_id);
    if let Err(err) = channel
        .edit_message(http, serenity::MessageId::new(prompt.message_id), edit)
        .await
    {
        tracing::warn!(session = session.id, error = %err, "could not edit the review prompt to its ending");
    }
}

/// "Created #12, #13" (with links when the site is public), or why not.
async fn ending(app: &App, session: &Session, owner: u64) -> String {
    let workflows = app.review_display_workflows(session.id).await;
    let created: Vec<String> = session
        .items
        .iter()
        .filter(|i| i.state == ItemState::Created)
        .filter_map(|i| {
            let id = i.record_id?;
            let kind = workflows.kinds.get(&i.item.kind);
            Some(match (&app.secrets.public_base_url, kind) {
                (Some(base), Some(kind)) => {
                    format!("[#{id}]({})", base.record(&kind.link_path, id))
                }
                _ => format!("#{id}"),
            })
        })
        .collect();
    if !created.is_empty() {
        return format!(
            "Created {} from the review by <@{owner}>.",
            created.join(", ")
        );
    }
    match session.status {
        // Still open here only when a click found it past its expiry.
        SessionStatus::Expired | SessionStatus::Reviewing | SessionStatus::Analysing => {
            format!("The review for <@{owner}> expired; nothing was created.")
        }
        _ => format!("The review by <@{owner}> ended; nothing was created."),
    }
}
