//! What the person who clicked is told when an action is refused.

use poise::serenity_prelude as serenity;

use crate::discord::refusal::Refusal;
use crate::discord::{reply, Error};
use crate::review::ReviewError;
use crate::text::truncate_chars;

/// Why an action was refused, for the person who clicked; `None` when it
/// failed instead (the database), which is an error, not a refusal.
pub(in crate::discord) fn refusal(err: &ReviewError) -> Option<Refusal> {
    match err {
        ReviewError::Database(_) => None,
        ReviewError::Record(crate::records::RecordError::Database(_)) => None,
        ReviewError::Record(crate::records::RecordError::Rule { violation, .. }) => {
            Some(Refusal::new(format!(
                "❌ Not created: {violation}. Use Edit to fix it, or Skip."
            )))
        }
        other => Some(Refusal::new(format!("❌ {other}."))),
    }
}

pub(super) async fn respond_refusal(
    ctx: &serenity::Context,
    component: &serenity::ComponentInteraction,
    err: &ReviewError,
) -> Result<(), Error> {
    let text = refusal(err).map_or_else(
        || "Something went wrong on our side; the error was logged.".to_string(),
        |refusal| refusal.to_string(),
    );
    let message = serenity::CreateInteractionResponseMessage::new()
        .content(truncate_chars(&text, reply::CONTENT_LIMIT))
        .ephemeral(true)
        .allowed_mentions(reply::no_mentions());
    component
        .create_response(
            &ctx.http,
            serenity::CreateInteractionResponse::Message(message),
        )
        .await?;
    Ok(())
}

/// A private follow-up to an acknowledged click: a refusal or a problem.
pub(in crate::discord) async fn ephemeral_followup(
    ctx: &serenity::Context,
    component: &serenity::ComponentInteraction,
    text: &str,
) -> Result<(), Error> {
    let followup = serenity::CreateInteractionResponseFollowup::new()
        .content(truncate_chars(text, reply::CONTENT_LIMIT))
        .ephemeral(true)
        .allowed_mentions(reply::no_mentions());
    component.create_followup(&ctx.http, followup).await?;
    Ok(())
}

pub(in crate::discord) fn ephemeral_response(text: &str) -> serenity::CreateInteractionResponse {
    serenity::CreateInteractionResponse::Message(
        serenity::CreateInteractionResponseMessage::new()
            .content(truncate_chars(text, reply::CONTENT_LIMIT))
            .ephemeral(true)
            .allowed_mentions(reply::no_mentions()),
    )
}

/// Answers an acknowledged click that `err` refused. When the review ended
/// because its workflow version is gone (removed by a reload, or changed),
/// the card becomes the review's summary and its prompt, if any, says how
/// it ended, before the one sentence saying why.
pub(in crate::discord) async fn refuse_acknowledged(
    ctx: &serenity::Context,
    app: &crate::app::App,
    component: &serenity::ComponentInteraction,
    session_id: i64,
    err: ReviewError,
) -> Result<(), Error> {
    if matches!(
        err,
        ReviewError::WorkflowRemoved { .. } | ReviewError::WorkflowChanged { .. }
    ) {
        let session = crate::review::ReviewStore::new(app.pool.clone())
            .load(session_id)
            .await?;
        let summary = super::render(app, &session).await?;
        component
            .edit_response(&ctx.http, summary.into_edit())
            .await?;
        crate::discord::triggers::review_prompt::after_review_click(&ctx.http, app, &session).await;
    }
    match refusal(&err) {
        Some(text) => ephemeral_followup(ctx, component, text.as_str()).await,
        None => Err(err.into()),
    }
}
