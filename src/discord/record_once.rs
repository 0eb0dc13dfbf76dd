//! The Discord side of "a record command makes at most one record": a
//! duplicated interaction shows the record the first delivery made, and a
//! reply that fails after the record was committed never reads as
//! "something went wrong" — the person is told the record exists, with its id.

use poise::serenity_prelude as serenity;

use super::{reply, Data, Error};
use crate::records::interactions::{create_once_resolving, record_for_interaction, Once};
use crate::records::{get_record, NewRecord, Record, RecordError};
use crate::workflow::RecordKinds;

type AppContext<'a> = poise::ApplicationContext<'a, Data, Error>;

/// Defers the public reply. `Ok(false)` when the interaction was already
/// acknowledged because an earlier delivery made its record: the person is
/// told (by a follow-up, if Discord still takes one) and nothing more is done.
pub async fn defer(ctx: AppContext<'_>) -> Result<bool, Error> {
    let Err(err) = ctx.defer().await else {
        return Ok(true);
    };
    let Some(record_id) =
        record_for_interaction(&ctx.data().pool, ctx.interaction.id.get()).await?
    else {
        return Err(err.into());
    };
    tracing::info!(
        interaction = %ctx.interaction.id,
        record_id,
        "a repeated record command found its record; nothing new was made"
    );
    tell(
        ctx,
        &format!("✅ This was already saved as record #{record_id}."),
    )
    .await;
    Ok(false)
}

/// Creates the record once per interaction; a repeated delivery gets the
/// record the first one made.
pub async fn create(
    ctx: AppContext<'_>,
    kinds: &RecordKinds,
    new: &NewRecord,
    closes_parent: bool,
) -> Result<Record, RecordError> {
    let pool = &ctx.data().pool;
    let interaction = ctx.interaction.id.get();
    match create_once_resolving(pool, kinds, interaction, new, closes_parent).await? {
        Once::Created(record) => Ok(record),
        Once::Existing(id) => {
            tracing::info!(interaction = %ctx.interaction.id, record_id = id, "a repeated record command found its record");
            get_record(pool, id)
                .await?
                .ok_or(RecordError::Database(sqlx::Error::RowNotFound))
        }
    }
}

/// Shows the committed record in the reply. If Discord refuses the edit, the
/// person is told by a follow-up that the record exists; if that fails too,
/// the log says so with the id. Never an error: the record is saved.
pub async fn show(
    ctx: AppContext<'_>,
    record_id: i64,
    label: &str,
    edit: serenity::EditInteractionResponse,
) -> Result<(), Error> {
    let http = poise::Context::Application(ctx).http();
    if let Err(err) = ctx.interaction.edit_response(http, edit).await {
        tracing::warn!(
            record_id,
            error = %err,
            "record saved but Discord refused the reply; telling the person by a follow-up"
        );
        tell(
            ctx,
            &format!("✅ Saved as {label} #{record_id} (Discord would not show the full reply)."),
        )
        .await;
    }
    Ok(())
}

/// A private follow-up; a failure is logged, since nothing else can tell the person.
async fn tell(ctx: AppContext<'_>, text: &str) {
    let http = poise::Context::Application(ctx).http();
    let followup = serenity::CreateInteractionResponseFollowup::new()
        .content(crate::text::truncate_chars(text, reply::CONTENT_LIMIT))
        .ephemeral(true)
        .allowed_mentions(reply::no_mentions());
    if let Err(err) = ctx.interaction.create_followup(http, followup).await {
        tracing::error!(
            error = %err,
            message = text,
            "could not tell the person; the record is saved (see /flipfix status or the records)"
        );
    }
}
