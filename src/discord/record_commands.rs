//! Direct record commands (`/problem`, `/log`, `/part`, …): one slash command
//! per record kind that declares `command:` in its YAML, built from the
//! declaration in force (its options are the kind's description, machine,
//! fields and parent) and routed by `dispatch`, so a reload changes them
//! without a restart. They create records without the model, attributed like the
//! context-menu flow, and reply publicly so the channel sees what was
//! recorded; that reply is the record's source message.

use std::borrow::Cow;
use std::collections::BTreeMap;

use poise::serenity_prelude as serenity;
use serenity::{ResolvedOption, ResolvedValue};

use super::refusal::Outcome;
use super::{checks, reply, Data, Error};
use crate::app::App;
use crate::catalog::attribution::{attribute, DiscordPerson};
use crate::catalog::machines;
use crate::catalog::matching::{match_machine, MachineMatch};
use crate::records::{CreatedVia, NewRecord, Record, RecordError, SourceMessage};
use crate::workflow::{FieldType, MachineRule, RecordKind, RecordKinds};

type AppContext<'a> = poise::ApplicationContext<'a, Data, Error>;
type ActionResult<'a> = Result<(), poise::FrameworkError<'a, Data, Error>>;

const DESCRIPTION: &str = "description";
const MACHINE: &str = "machine";
const PARENT: &str = "parent";
/// `/log`'s option to close the parent with the entry (`resolves_parent`).
const CLOSES: &str = "closes";

/// One command per kind that declares one.
pub fn record_commands(kinds: &RecordKinds) -> Vec<poise::Command<Data, Error>> {
    kinds.iter().filter_map(command_for).collect()
}

fn command_for(kind: &RecordKind) -> Option<poise::Command<Data, Error>> {
    let spec = kind.command.as_ref()?;
    let mut parameters = vec![parameter(
        DESCRIPTION,
        &kind.description_label,
        true,
        string_option,
        Vec::new(),
    )];
    let machine_required = kind.machine == MachineRule::Required && !kind.inherit_machine;
    let mut machine = parameter(
        MACHINE,
        "Machine",
        machine_required,
        string_option,
        Vec::new(),
    );
    machine.autocomplete_callback = Some(autocomplete_machine);
    parameters.push(machine);
    if !kind.parents.is_empty() {
        let label = format!(
            "Id of the {} this belongs to",
            kind.parents.join(" or ").replace('_', " ")
        );
        parameters.push(parameter(
            PARENT,
            &label,
            kind.parent_required,
            integer_option,
            Vec::new(),
        ));
        if kind.resolves_parent.is_some() {
            let label = "Close the parent with this entry (it was fixed)";
            parameters.push(parameter(CLOSES, label, false, boolean_option, Vec::new()));
        }
    }
    for field in &kind.fields {
        let parameter = match &field.ty {
            // poise registers choices by index, so the option is an integer.
            FieldType::Choice { choices } => parameter(
                &field.name,
                &field.label,
                field.required,
                integer_option,
                choices.clone(),
            ),
            FieldType::Text { .. } => parameter(
                &field.name,
                &field.label,
                field.required,
                string_option,
                Vec::new(),
            ),
        };
        parameters.push(parameter);
    }
    // Discord wants required options before optional ones.
    parameters.sort_by_key(|p| !p.required);
    Some(poise::Command {
        name: spec.name.clone().into(),
        qualified_name: spec.name.clone().into(),
        identifying_name: format!("record:{}", kind.name).into(),
        description: Some(spec.description.clone().into()),
        guild_only: true,
        parameters,
        slash_action: Some(run),
        custom_data: Box::new(kind.name.clone()),
        ..Default::default()
    })
}

fn parameter(
    name: &str,
    description: &str,
    required: bool,
    type_setter: fn(serenity::CreateCommandOption) -> serenity::CreateCommandOption,
    choices: Vec<String>,
) -> poise::CommandParameter<Data, Error> {
    poise::CommandParameter {
        name: name.to_string().into(),
        name_localizations: Cow::Borrowed(&[]),
        description: Some(crate::text::truncate_chars(description, 100).into()),
        description_localizations: Cow::Borrowed(&[]),
        required,
        channel_types: None,
        choices: choices
            .into_iter()
            .take(25)
            .map(|choice| poise::CommandParameterChoice {
                name: choice.into(),
                localizations: Cow::Borrowed(&[]),
                __non_exhaustive: (),
            })
            .collect::<Vec<_>>()
            .into(),
        type_setter: Some(type_setter),
        autocomplete_callback: None,
        __non_exhaustive: (),
    }
}

fn string_option(option: serenity::CreateCommandOption) -> serenity::CreateCommandOption {
    option.kind(serenity::CommandOptionType::String)
}

fn integer_option(option: serenity::CreateCommandOption) -> serenity::CreateCommandOption {
    option.kind(serenity::CommandOptionType::Integer)
}

fn boolean_option(option: serenity::CreateCommandOption) -> serenity::CreateCommandOption {
    option.kind(serenity::CommandOptionType::Boolean)
}

fn autocomplete_machine<'a>(
    ctx: AppContext<'a>,
    partial: &'a str,
) -> poise::BoxFuture<'a, serenity::CreateAutocompleteResponse> {
    Box::pin(super::admin::autocomplete_machine(
        poise::Context::Application(ctx),
        partial,
    ))
}

fn run(ctx: AppContext<'_>) -> poise::BoxFuture<'_, ActionResult<'_>> {
    Box::pin(async move {
        create_from_command(ctx).await.map_err(|error| {
            poise::FrameworkError::new_command(poise::Context::Application(ctx), error)
        })
    })
}

async fn create_from_command(ctx: AppContext<'_>) -> Result<(), Error> {
    // Acknowledge before any database work: Discord allows three seconds.
    // The answer is public, since it becomes the record's source message;
    // refusals replace it with a private note.
    if !super::record_once::defer(ctx).await? {
        return Ok(());
    }
    let pctx = poise::Context::Application(ctx);
    let Some(kind_name) = ctx.command().custom_data.downcast_ref::<String>().cloned() else {
        anyhow::bail!("record command without its kind");
    };
    let app = ctx.data();
    let parent_channel = ctx.interaction.channel.as_ref().and_then(|c| c.parent_id);
    let command = format!("/{}", ctx.command().name);
    if let Some(refusal) = checks::channel_refusal(
        &app.settings,
        &command,
        ctx.interaction.channel_id,
        parent_channel,
    )
    .await?
    {
        return refuse(ctx, format!("❌ {refusal} Nothing was recorded.")).await;
    }
    let workflows = app.workflows();
    let Some(kind) = workflows.kinds.get(&kind_name) else {
        return refuse(
            ctx,
            format!("❌ The record kind `{kind_name}` is no longer declared; ask an admin."),
        )
        .await;
    };
    let options = Options::read(ctx.args);

    let machine_id = match typed_machine(app, options.text(MACHINE)).await? {
        Outcome::Done(machine_id) => machine_id,
        Outcome::Refused(refusal) => return refuse(ctx, refusal.to_string()).await,
    };
    let fields = typed_fields(kind, &options);
    let closes = matches!(options.get(CLOSES), Some(ResolvedValue::Boolean(true)));
    if closes && options.integer(PARENT).is_none() {
        return refuse(
            ctx,
            "❌ Not recorded: `closes` needs the id of the record to close in `parent`.".into(),
        )
        .await;
    }

    let response = ctx.interaction.get_response(pctx.http()).await?;
    let role = app
        .settings
        .get_role(crate::config::SettingKey::DiscordMaintainerRole)
        .await?;
    let author = attribute(&app.pool, &person(ctx.interaction), role)
        .await?
        .author;
    let new = NewRecord {
        kind: kind.name.clone(),
        machine_id,
        parent_id: options.integer(PARENT),
        description: options.text(DESCRIPTION).unwrap_or_default(),
        fields,
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
    match super::record_once::create(ctx, &workflows.kinds, &new, closes).await {
        Ok(record) => {
            let embed = record_embed(app, kind, &record).await?;
            let edit = serenity::EditInteractionResponse::new()
                .content(format!("✅ Recorded by <@{}>", ctx.interaction.user.id))
                .embed(embed)
                .allowed_mentions(reply::no_mentions());
            super::record_once::show(ctx, record.id, &kind.label, edit).await
        }
        Err(RecordError::Rule { violation, .. }) => {
            refuse(ctx, format!("❌ Not recorded: {violation}.")).await
        }
        Err(err @ RecordError::UnknownKind { .. }) => {
            refuse(ctx, format!("❌ Not recorded: {err}.")).await
        }
        Err(err) => {
            let _ = ctx.interaction.delete_response(pctx.http()).await;
            Err(err.into())
        }
    }
}

/// The machine the person typed (autocomplete sends a slug; a typed name,
/// alias or small typo matches as in the review's edit modal), or the
/// refusal that names the closest ones.
async fn typed_machine(app: &App, typed: Option<String>) -> Result<Outcome<Option<i64>>, Error> {
    let Some(typed) = typed else {
        return Ok(Outcome::Done(None));
    };
    Ok(
        match match_machine(&machines::list(&app.pool).await?, &typed) {
            MachineMatch::Found(machine) => Outcome::Done(Some(machine.id)),
            MachineMatch::Unknown { closest } => {
                let hint = if closest.is_empty() {
                    String::new()
                } else {
                    format!(" Closest: {}.", closest.join(", "))
                };
                Outcome::refused(format!(
                    "❌ No machine matches `{}`.{hint} Pick one from the list.",
                    typed.replace('`', "'")
                ))
            }
        },
    )
}

/// The kind's fields the person filled in (a choice arrives as its index).
fn typed_fields(kind: &RecordKind, options: &Options) -> BTreeMap<String, String> {
    let mut fields = BTreeMap::new();
    for field in &kind.fields {
        let value = match &field.ty {
            FieldType::Choice { choices } => options
                .integer(&field.name)
                .and_then(|i| usize::try_from(i).ok())
                .and_then(|i| choices.get(i).cloned()),
            FieldType::Text { .. } => options.text(&field.name),
        };
        if let Some(value) = value {
            fields.insert(field.name.clone(), value);
        }
    }
    fields
}

/// The public answer's embed: kind, number and machine, the description,
/// and the record's page when the site is public.
async fn record_embed(
    app: &App,
    kind: &RecordKind,
    record: &Record,
) -> Result<serenity::CreateEmbed, Error> {
    let machine = match record.machine_id {
        Some(id) => machines::by_id(&app.pool, id)
            .await?
            .map(|m| m.display_name().to_string()),
        None => None,
    };
    let title = format!(
        "{} {} #{}{}",
        kind.emoji,
        kind.label,
        record.id,
        machine.map(|m| format!(": {m}")).unwrap_or_default()
    );
    let mut embed = serenity::CreateEmbed::new()
        .title(crate::text::truncate_chars(
            &title,
            reply::EMBED_TITLE_LIMIT,
        ))
        .description(crate::text::truncate_chars(
            &record.description,
            reply::EMBED_DESCRIPTION_LIMIT,
        ));
    if let Some(base) = &app.secrets.public_base_url {
        embed = embed.url(base.record(&kind.link_path, record.id));
    }
    Ok(embed)
}

/// Removes the public placeholder and tells only the invoker what was wrong.
pub(super) async fn refuse(ctx: AppContext<'_>, message: String) -> Result<(), Error> {
    let http = poise::Context::Application(ctx).http();
    ctx.interaction.delete_response(http).await?;
    let followup = serenity::CreateInteractionResponseFollowup::new()
        .content(crate::text::truncate_chars(&message, reply::CONTENT_LIMIT))
        .ephemeral(true)
        .allowed_mentions(reply::no_mentions());
    ctx.interaction.create_followup(http, followup).await?;
    Ok(())
}

pub(super) fn person(interaction: &serenity::CommandInteraction) -> DiscordPerson {
    let user = &interaction.user;
    DiscordPerson {
        user_id: user.id.get(),
        username: user.name.clone(),
        global_name: user.global_name.clone(),
        nickname: interaction.member.as_ref().and_then(|m| m.nick.clone()),
        roles: interaction
            .member
            .as_ref()
            .map(|m| m.roles.iter().map(|r| r.get()).collect()),
    }
}

/// The invocation's options by name.
struct Options<'a>(&'a [ResolvedOption<'a>]);

impl<'a> Options<'a> {
    fn read(args: &'a [ResolvedOption<'a>]) -> Self {
        Self(args)
    }

    fn get(&self, name: &str) -> Option<&ResolvedValue<'a>> {
        self.0.iter().find(|o| o.name == name).map(|o| &o.value)
    }

    fn text(&self, name: &str) -> Option<String> {
        match self.get(name) {
            Some(ResolvedValue::String(s)) => Some(s.trim().to_string()).filter(|s| !s.is_empty()),
            _ => None,
        }
    }

    fn integer(&self, name: &str) -> Option<i64> {
        match self.get(name) {
            Some(ResolvedValue::Integer(i)) => Some(*i),
            _ => None,
        }
    }
}
