//! `/close ID [note]` and `/reopen ID [note]`: for every member (the home
//! server gate refuses everyone else). Each writes a log entry under the
//! record and changes its status in one transaction, once per interaction;
//! the public answer is the entry's source message, like `/log`'s.

use poise::serenity_prelude as serenity;

use super::record_commands::{person, refuse};
use super::{checks, reply, Context, Data, Error};
use crate::catalog::attribution::attribute;
use crate::records::interactions::{change_once, OnceChange};
use crate::records::status::{StatusError, Transition};
use crate::records::{CreatedVia, NewRecord, RecordError, SourceMessage};

type AppContext<'a> = poise::ApplicationContext<'a, Data, Error>;

pub fn commands() -> Vec<poise::Command<Data, Error>> {
    vec![close(), reopen()]
}

/// Close a record (a problem report) with a log entry under it.
#[poise::command(slash_command, guild_only)]
pub async fn close(
    ctx: Context<'_>,
    #[description = "Id of the record to close"] id: i64,
    #[description = "What was done (kept as the log entry)"] note: Option<String>,
) -> Result<(), Error> {
    let poise::Context::Application(actx) = ctx else {
        return Ok(());
    };
    change(actx, id, note, Transition::Close).await
}

/// Reopen a closed record with a log entry under it.
#[poise::command(slash_command, guild_only)]
pub async fn reopen(
    ctx: Context<'_>,
    #[description = "Id of the record to reopen"] id: i64,
    #[description = "Why (kept as the log entry)"] note: Option<String>,
) -> Result<(), Error> {
    let poise::Context::Application(actx) = ctx else {
        return Ok(());
    };
    change(actx, id, note, Transition::Reopen).await
}

async fn change(
    ctx: AppContext<'_>,
    target: i64,
    note: Option<String>,
    transition: Transition,
) -> Result<(), Error> {
    // Acknowledge first (Discord allows three seconds); a repeated delivery
    // that already made its entry is told so and stops here.
    if !super::record_once::defer(ctx).await? {
        return Ok(());
    }
    let pctx = poise::Context::Application(ctx);
    let app = ctx.data();
    let command = format!("/{}", ctx.command().name);
    let parent_channel = ctx.interaction.channel.as_ref().and_then(|c| c.parent_id);
    if let Some(refusal) = checks::channel_refusal(
        &app.settings,
        &command,
        ctx.interaction.channel_id,
        parent_channel,
    )
    .await?
    {
        return refuse(ctx, format!("❌ {refusal} Nothing was changed.")).await;
    }
    let response = ctx.interaction.get_response(pctx.http()).await?;
    let role = app
        .settings
        .get_role(crate::config::SettingKey::DiscordMaintainerRole)
        .await?;
    let author = attribute(&app.pool, &person(ctx.interaction), role)
        .await?
        .author;
    let workflows = app.workflows();
    let entry = NewRecord {
        // Set by the change: the kind that resolves the record's kind.
        kind: String::new(),
        machine_id: None,
        parent_id: Some(target),
        description: note.unwrap_or_default(),
        fields: Default::default(),
        author,
        occurred_at: app.clock.now(),
        created_at: app.clock.now(),
        created_via: CreatedVia::SlashCommand,
        created_by: Some(reply::actor(pctx)),
        sources: vec![SourceMessage {
            guild_id: ctx.interaction.guild_id.map(|g| g.get()),
            channel_id: ctx.interaction.channel_id.get(),
            message_id: response.id.get(),
        }],
        media: Vec::new(),
    };
    let outcome = change_once(
        &app.pool,
        &workflows.kinds,
        ctx.interaction.id.get(),
        target,
        transition,
        entry,
    )
    .await;
    let changed = match outcome {
        Ok(OnceChange::Changed(changed)) => changed,
        Ok(OnceChange::Existing(entry_id)) => {
            let edit = serenity::EditInteractionResponse::new()
                .content(format!("✅ This was already saved as record #{entry_id}."))
                .allowed_mentions(reply::no_mentions());
            return super::record_once::show(ctx, entry_id, "record", edit).await;
        }
        Err(StatusError::Record(RecordError::Database(err))) => {
            let _ = ctx.interaction.delete_response(pctx.http()).await;
            return Err(err.into());
        }
        Err(StatusError::Record(RecordError::Rule { violation, .. })) => {
            return refuse(ctx, format!("❌ Nothing was changed: {violation}.")).await;
        }
        Err(refused) => {
            return refuse(ctx, format!("❌ Nothing was changed: {refused}.")).await;
        }
    };
    let verb = match transition {
        Transition::Close => "Closed",
        Transition::Reopen => "Reopened",
    };
    let entry_label = workflows
        .kinds
        .get(&changed.entry.kind)
        .map_or_else(|| changed.entry.kind.clone(), |k| k.label.clone());
    let mut embed = serenity::CreateEmbed::new()
        .title(format!(
            "{verb} #{target}: {} → {}",
            changed.change.from_status.as_deref().unwrap_or("none"),
            changed.change.to_status
        ))
        .description(crate::text::truncate_chars(
            &format!(
                "{entry_label} #{}: {}",
                changed.entry.id, changed.entry.description
            ),
            reply::EMBED_DESCRIPTION_LIMIT,
        ));
    if let (Some(base), Some(kind)) = (
        &app.secrets.public_base_url,
        workflows.kinds.get(&changed.entry.kind),
    ) {
        embed = embed.url(base.record(&kind.link_path, changed.entry.id));
    }
    let mut edit = serenity::EditInteractionResponse::new()
        .content(format!(
            "✅ {verb} #{target} by <@{}>",
            ctx.interaction.user.id
        ))
        .embed(embed)
        .allowed_mentions(reply::no_mentions());
    // Closing the last record that broke the machine asks; never automatic.
    if transition == Transition::Close {
        if let Some(question) =
            super::machine_status::question_after_close(app, &workflows.kinds, target).await
        {
            edit = edit.components(vec![super::machine_status::restore_button(&question)]);
        }
    }
    super::record_once::show(ctx, changed.entry.id, &entry_label, edit).await
}
