//! `/machine status MACHINE STATUS [note]` (members; the home server gate
//! refuses everyone else) and the "Set Gorgar back to Good?" button the
//! `/close` answer and the review's "Create and close" / "Attach and close"
//! confirmation show when the last record that broke a machine closes.
//! Both change the status once per interaction and write the "Status
//! changed" log entry (see `records::machine_status`).

use poise::serenity_prelude as serenity;

use super::record_commands::{person, refuse};
use super::{reply, Context, Data, Error};
use crate::catalog::attribution::{attribute, DiscordPerson};
use crate::config::SettingKey;
use crate::records::machine_status::{
    set_by_hand, MachineStatusError, RestoreQuestion, SetOnce, StatusCause,
};
use crate::records::CreatedVia;

/// Buttons: `machine-status:<machine id>:<status>`.
const BUTTON_PREFIX: &str = "machine-status:";

pub fn commands() -> Vec<poise::Command<Data, Error>> {
    vec![machine()]
}

/// Machines' operational status.
#[poise::command(slash_command, guild_only, subcommands("status"), subcommand_required)]
pub async fn machine(_ctx: Context<'_>) -> Result<(), Error> {
    Ok(())
}

/// Set a machine's operational status (writes a log entry on the machine).
#[poise::command(slash_command, guild_only)]
pub async fn status(
    ctx: Context<'_>,
    #[description = "Machine"]
    #[autocomplete = "super::admin::autocomplete_machine"]
    machine: String,
    #[description = "New status"]
    #[autocomplete = "autocomplete_status"]
    status: String,
    #[description = "Why (kept in the log entry)"] note: Option<String>,
) -> Result<(), Error> {
    let poise::Context::Application(actx) = ctx else {
        return Ok(());
    };
    if !super::record_once::defer(actx).await? {
        return Ok(());
    }
    let app = ctx.data();
    let Some(found) = crate::catalog::machines::by_slug(&app.pool, &machine).await? else {
        return refuse(
            actx,
            format!(
                "❌ There is no machine `{}`; pick one from the list. Nothing was changed.",
                machine.replace('`', "'")
            ),
        )
        .await;
    };
    let role = app
        .settings
        .get_role(SettingKey::DiscordMaintainerRole)
        .await?;
    let author = attribute(&app.pool, &person(actx.interaction), role)
        .await?
        .author;
    let cause = StatusCause {
        author,
        created_by: Some(reply::actor(ctx)),
        created_via: CreatedVia::SlashCommand,
        at: app.clock.now(),
        via_record_id: None,
        note,
    };
    let workflows = app.workflows();
    let outcome = set_by_hand(
        &app.pool,
        &workflows.kinds,
        actx.interaction.id.get(),
        found.id,
        status.trim(),
        &cause,
    )
    .await;
    let text = match outcome {
        Ok(SetOnce::Changed(changed)) => format!(
            "✅ {} by <@{}>: {} (log entry #{})",
            found.name, actx.interaction.user.id, changed.1.description, changed.1.id
        ),
        Ok(SetOnce::Existing(entry)) => {
            format!("✅ This was already saved as record #{entry}.")
        }
        Err(MachineStatusError::Record(err)) => {
            let _ = actx.interaction.delete_response(ctx.http()).await;
            return Err(err.into());
        }
        Err(refused) => {
            return refuse(actx, format!("❌ Nothing was changed: {refused}.")).await;
        }
    };
    let edit = serenity::EditInteractionResponse::new()
        .content(crate::text::truncate_chars(&text, reply::CONTENT_LIMIT))
        .allowed_mentions(reply::no_mentions());
    actx.interaction.edit_response(ctx.http(), edit).await?;
    Ok(())
}

async fn autocomplete_status<'a>(
    ctx: Context<'a>,
    partial: &'a str,
) -> serenity::CreateAutocompleteResponse {
    let workflows = ctx.data().workflows();
    let key = partial.to_lowercase();
    let choices = workflows
        .kinds
        .machine_statuses()
        .statuses
        .iter()
        .filter(|s| s.name.contains(&key) || s.label.to_lowercase().contains(&key))
        .map(|s| serenity::AutocompleteChoice::new(s.label.clone(), s.name.clone()))
        .collect::<Vec<_>>();
    serenity::CreateAutocompleteResponse::new().set_choices(choices)
}

/// "Set Gorgar back to Good?" after record `closed` closed, if the rules ask
/// it. A failed look-up only loses the question (the close is saved), so it
/// is logged.
pub(super) async fn question_after_close(
    app: &crate::app::App,
    kinds: &crate::workflow::RecordKinds,
    closed: i64,
) -> Option<RestoreQuestion> {
    let found = async {
        let Some(machine_id) = crate::records::get_record(&app.pool, closed)
            .await?
            .and_then(|r| r.machine_id)
        else {
            return Ok(None);
        };
        crate::records::machine_status::restore_question(&app.pool, kinds, machine_id).await
    };
    match found.await {
        Ok(question) => question,
        Err(err) => {
            tracing::warn!(record_id = closed, error = %err, "could not look up the machine status question");
            None
        }
    }
}

/// After a review click created `entry` with "Create and close" or "Attach
/// and close", when the entry closed a report on a machine that is not in
/// normal service, a private follow-up says so: with the same once-only
/// button as `/close` when that was the last report keeping the machine
/// out of service, else that the machine keeps its status. Never changes
/// the status itself.
pub(super) async fn ask_after_review_close(
    ctx: &serenity::Context,
    app: &crate::app::App,
    component: &serenity::ComponentInteraction,
    entry: i64,
) {
    let workflows = app.workflows();
    let found = async {
        // `None` when the report was already closed (nothing changed).
        let Some(change) = crate::records::status::change_made_by(&app.pool, entry).await? else {
            return Ok(None);
        };
        let machine = match crate::records::get_record(&app.pool, change.record_id)
            .await?
            .and_then(|r| r.machine_id)
        {
            Some(id) => crate::catalog::machines::by_id(&app.pool, id).await?,
            None => None,
        };
        Ok::<_, sqlx::Error>(machine.map(|m| (change.record_id, m)))
    };
    let (closed, machine) = match found.await {
        Ok(Some(found)) => found,
        Ok(None) => return,
        Err(err) => {
            tracing::warn!(record_id = entry, error = %err, "could not look up what the entry closed");
            return;
        }
    };
    let statuses = workflows.kinds.machine_statuses();
    if !statuses.is_not_good(&machine.status) {
        return;
    }
    let question = match crate::records::machine_status::restore_question(
        &app.pool,
        &workflows.kinds,
        machine.id,
    )
    .await
    {
        Ok(question) => question,
        Err(err) => {
            tracing::warn!(record_id = closed, error = %err, "could not look up the machine status question");
            None
        }
    };
    let mut followup = serenity::CreateInteractionResponseFollowup::new()
        .ephemeral(true)
        .allowed_mentions(reply::no_mentions());
    followup = match &question {
        Some(question) => followup
            .content(format!("✅ Closed #{closed} with #{entry}."))
            .components(vec![restore_button(question)]),
        None => followup.content(format!(
            "✅ Closed #{closed} with #{entry}. {} is still {}.",
            machine.name,
            statuses.display(&machine.status)
        )),
    };
    if let Err(err) = component.create_followup(&ctx.http, followup).await {
        tracing::warn!(record_id = closed, error = %err, "could not post the close's follow-up");
    }
}

/// The button asking "Set Gorgar back to Good?".
pub fn restore_button(question: &RestoreQuestion) -> serenity::CreateActionRow {
    serenity::CreateActionRow::Buttons(vec![serenity::CreateButton::new(format!(
        "{BUTTON_PREFIX}{}:{}",
        question.machine_id, question.to_status
    ))
    .label(crate::text::truncate_chars(&question.text(), 80))
    .style(serenity::ButtonStyle::Success)])
}

/// A click on the restore button: sets the status once per click and
/// replaces the button with what happened. `Ok(false)` for other buttons.
pub async fn on_component(
    ctx: &serenity::Context,
    app: &Data,
    component: &serenity::ComponentInteraction,
) -> Result<bool, Error> {
    let Some(rest) = component.data.custom_id.strip_prefix(BUTTON_PREFIX) else {
        return Ok(false);
    };
    if let Err(err) = component.defer(&ctx.http).await {
        // A repeated delivery of a click that was already answered.
        let Some(entry) =
            crate::records::interactions::record_for_interaction(&app.pool, component.id.get())
                .await?
        else {
            return Err(err.into());
        };
        let followup = serenity::CreateInteractionResponseFollowup::new()
            .content(format!("✅ Already saved as record #{entry}."))
            .ephemeral(true)
            .allowed_mentions(reply::no_mentions());
        component.create_followup(&ctx.http, followup).await?;
        return Ok(true);
    }
    let Some((machine_id, to)) = rest
        .split_once(':')
        .and_then(|(m, s)| Some((m.parse::<i64>().ok()?, s.to_string())))
    else {
        tracing::warn!(custom_id = %component.data.custom_id, "malformed machine status button");
        return Ok(true);
    };
    let role = app
        .settings
        .get_role(SettingKey::DiscordMaintainerRole)
        .await?;
    let who = DiscordPerson {
        user_id: component.user.id.get(),
        username: component.user.name.clone(),
        global_name: component.user.global_name.clone(),
        nickname: component.member.as_ref().and_then(|m| m.nick.clone()),
        roles: component
            .member
            .as_ref()
            .map(|m| m.roles.iter().map(|r| r.get()).collect()),
    };
    let author = attribute(&app.pool, &who, role).await?.author;
    let cause = StatusCause {
        author,
        created_by: Some(crate::records::status::discord_actor(
            component.user.id.get(),
            &component.user.name,
        )),
        created_via: CreatedVia::SlashCommand,
        at: app.clock.now(),
        via_record_id: None,
        note: None,
    };
    let workflows = app.workflows();
    let text = match set_by_hand(
        &app.pool,
        &workflows.kinds,
        component.id.get(),
        machine_id,
        &to,
        &cause,
    )
    .await
    {
        Ok(SetOnce::Changed(changed)) => format!(
            "✅ <@{}>: {} (log entry #{})",
            component.user.id, changed.1.description, changed.1.id
        ),
        Ok(SetOnce::Existing(entry)) => format!("✅ Already saved as record #{entry}."),
        Err(MachineStatusError::Record(err)) => return Err(err.into()),
        Err(refused) => format!("Nothing was changed: {refused}."),
    };
    let followup = serenity::CreateInteractionResponseFollowup::new()
        .content(crate::text::truncate_chars(&text, reply::CONTENT_LIMIT))
        .allowed_mentions(reply::no_mentions());
    component.create_followup(&ctx.http, followup).await?;
    // The question is answered: the button goes, so it is asked once.
    let edit = serenity::EditInteractionResponse::new().components(Vec::new());
    if let Err(err) = component.edit_response(&ctx.http, edit).await {
        tracing::warn!(error = %err, "could not remove the answered status button");
    }
    Ok(true)
}
