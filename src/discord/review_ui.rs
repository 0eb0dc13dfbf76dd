//! The review wizard in Discord: cards rendered from each kind's card
//! template, buttons whose ids carry the session and step, the edit modal,
//! and the handlers for clicks and modal submits. State lives in Postgres
//! (`crate::review`), so any instance can handle any click.

use chrono::Utc;
use poise::serenity_prelude as serenity;

use super::{reply, Error};
use crate::app::App;
use crate::catalog::machines;
use crate::catalog::matching::{match_machine, MachineMatch};
use crate::records::view::{MachineView, ParentView, PhotoView, RecordView, ViewParts};
use crate::records::{get_record, Author, Media};
use crate::review::{
    Action, CustomId, Decision, DecisionOutcome, ItemState, ReviewError, ReviewItem, ReviewStore,
    Session, SessionStatus,
};
use crate::text::truncate_chars;
use crate::workflow::kinds::MAX_EDIT_FIELDS;
use crate::workflow::{FieldType, RecordKind, Workflows};

/// A rendered review message: one card, or the closing summary.
#[derive(Debug, Clone)]
pub struct ReviewMessage {
    pub content: String,
    pub embed: Option<serenity::CreateEmbed>,
    pub components: Vec<serenity::CreateActionRow>,
}

impl ReviewMessage {
    /// For editing the ephemeral review message.
    pub fn into_edit(self) -> serenity::EditInteractionResponse {
        serenity::EditInteractionResponse::new()
            .content(truncate_chars(&self.content, reply::CONTENT_LIMIT))
            .embeds(self.embed.into_iter().collect())
            .components(self.components)
            .allowed_mentions(reply::no_mentions())
    }

    /// For answering a modal submit by updating the message.
    pub fn into_update(self) -> serenity::CreateInteractionResponse {
        serenity::CreateInteractionResponse::UpdateMessage(
            serenity::CreateInteractionResponseMessage::new()
                .content(truncate_chars(&self.content, reply::CONTENT_LIMIT))
                .embeds(self.embed.into_iter().collect())
                .components(self.components)
                .allowed_mentions(reply::no_mentions()),
        )
    }
}

/// The message for a session: the current card, or the summary when over.
pub async fn render(app: &App, session: &Session) -> Result<ReviewMessage, Error> {
    let workflows = app.workflows();
    match (session.status, session.current()) {
        (SessionStatus::Reviewing, Some(current)) => {
            card(app, &workflows, session, current.position).await
        }
        _ => summary(app, &workflows, session).await,
    }
}

async fn card(
    app: &App,
    workflows: &Workflows,
    session: &Session,
    position: usize,
) -> Result<ReviewMessage, Error> {
    let entry = &session.items[position];
    let item = &entry.item;
    let Some(kind) = workflows.kinds.get(&item.kind) else {
        anyhow::bail!("review item of undeclared kind {}", item.kind);
    };
    let view = item_view(app, kind, session, position).await?;
    let message = workflows
        .templates
        .render_message(&kind.card_template, &view)?;
    let total = session.items.len();
    let mut embed = serenity::CreateEmbed::new()
        .title(truncate_chars(&message.title, reply::EMBED_TITLE_LIMIT))
        .description(truncate_chars(
            &message.body,
            reply::EMBED_DESCRIPTION_LIMIT,
        ))
        .footer(serenity::CreateEmbedFooter::new(format!(
            "Suggestion {} of {total}",
            position + 1
        )));
    if let Some(photo) = item
        .media
        .iter()
        .find(|m| Media::is_image(m.content_type.as_deref(), &m.filename))
    {
        embed = embed.thumbnail(photo.url.clone());
    }
    let needs_machine = item.needs_machine(&workflows.kinds, entry.parent_position.is_some());
    let mut notes = Vec::new();
    if needs_machine {
        notes.push(match &item.machine_hint {
            Some(hint) => format!(
                "⚠️ The machine `{}` is not in the catalog. Choose one below (or with **Edit**) before creating.",
                hint.replace('`', "'")
            ),
            None => "⚠️ This needs a machine. Choose one below (or with **Edit**) before creating.".to_string(),
        });
    }
    if let Some(hint) = &item.author_hint {
        notes.push(format!("ℹ️ {}", reply::escape_markdown(hint)));
    }
    notes.extend(super::duplicate_ui::notes(
        app, workflows, session, position,
    ));
    let content = notes.join("\n");
    let mut components =
        super::card_menus::card_rows(app, kind, session, position, needs_machine).await?;
    components.extend(super::duplicate_ui::attach_row(
        workflows, session, position,
    ));
    Ok(ReviewMessage {
        content,
        embed: Some(embed),
        components,
    })
}

/// What was created (with links) and skipped; no buttons.
async fn summary(
    app: &App,
    workflows: &Workflows,
    session: &Session,
) -> Result<ReviewMessage, Error> {
    let heading = match session.status {
        SessionStatus::Cancelled => "Review cancelled.",
        SessionStatus::Expired => "This review expired.",
        SessionStatus::Failed => "This review could not finish.",
        _ => "Review finished.",
    };
    let mut lines = Vec::new();
    for entry in &session.items {
        let kind = workflows.kinds.get(&entry.item.kind);
        let label = kind
            .map(|k| format!("{} {}", k.emoji, k.label))
            .unwrap_or_else(|| entry.item.kind.clone());
        let snippet = truncate_chars(
            entry.item.description.lines().next().unwrap_or_default(),
            80,
        );
        match (entry.state, entry.record_id) {
            (ItemState::Created, Some(id)) => {
                let link = match (&app.secrets.public_base_url, kind) {
                    (Some(base), Some(kind)) => format!(" — {base}/{}/{id}/", kind.link_path),
                    _ => String::new(),
                };
                lines.push(format!("✅ {label} #{id}{link}"));
            }
            (ItemState::Skipped, _) => lines.push(format!(
                "⏭️ Skipped {label}: {}",
                reply::escape_markdown(&snippet)
            )),
            _ => lines.push(format!(
                "◻️ Not created: {label}: {}",
                reply::escape_markdown(&snippet)
            )),
        }
    }
    let created = session
        .items
        .iter()
        .filter(|i| i.state == ItemState::Created)
        .count();
    let embed = serenity::CreateEmbed::new()
        .title(format!("{heading} {created} record(s) created."))
        .description(truncate_chars(
            &lines.join("\n"),
            reply::EMBED_DESCRIPTION_LIMIT,
        ));
    Ok(ReviewMessage {
        content: String::new(),
        embed: Some(embed),
        components: Vec::new(),
    })
}

/// The template context for one suggestion.
async fn item_view(
    app: &App,
    kind: &RecordKind,
    session: &Session,
    position: usize,
) -> Result<RecordView, Error> {
    let entry = &session.items[position];
    let item = &entry.item;
    let machine = match item.machine_id {
        Some(id) => machines::by_id(&app.pool, id)
            .await?
            .as_ref()
            .map(MachineView::from),
        None => None,
    };
    let author = match &item.author {
        Author::Name(name) => Some(name.clone()),
        Author::Maintainer(id) => {
            sqlx::query_scalar::<_, String>(
                "SELECT coalesce(display_name, username) FROM maintainers WHERE id = $1",
            )
            .bind(id)
            .fetch_optional(&app.pool)
            .await?
        }
    };
    let workflows = app.workflows();
    let parent_id = session.parent_record_id(position);
    let parent = match parent_id {
        Some(id) => get_record(&app.pool, id).await?.and_then(|record| {
            let parent_kind = workflows.kinds.get(&record.kind)?;
            Some(ParentView {
                id,
                kind: parent_kind.into(),
                url: app
                    .secrets
                    .public_base_url
                    .as_ref()
                    .map(|b| format!("{b}/{}/{id}/", parent_kind.link_path)),
            })
        }),
        None => None,
    };
    Ok(RecordView::new(
        kind,
        ViewParts {
            id: None,
            description: item.description.clone(),
            fields: item.fields.clone(),
            machine,
            author,
            parent,
            url: None,
            photos: item
                .media
                .iter()
                .map(|m| PhotoView {
                    url: m.url.clone(),
                    filename: m.filename.clone(),
                })
                .collect(),
            occurred_at: item.occurred_at.to_rfc3339(),
        },
    ))
}

/// Why an action was refused, for the person who clicked.
pub(super) fn refusal(err: &ReviewError) -> Option<String> {
    match err {
        ReviewError::Database(_) => None,
        ReviewError::Record(crate::records::RecordError::Database(_)) => None,
        ReviewError::Record(crate::records::RecordError::Rule { violation, .. }) => Some(format!(
            "❌ Not created: {violation}. Use Edit to fix it, or Skip."
        )),
        other => Some(format!("❌ {other}.")),
    }
}

/// A click on Create, Edit, Skip or Cancel, or a choice in a card's menu.
pub async fn on_component(
    ctx: &serenity::Context,
    app: &App,
    component: &serenity::ComponentInteraction,
) -> Result<(), Error> {
    let Ok(id) = component.data.custom_id.parse::<CustomId>() else {
        return Ok(()); // not one of ours
    };
    let store = ReviewStore::new(app.pool.clone());
    let user = component.user.id.get();
    let position = usize::try_from(id.position).unwrap_or(usize::MAX);
    if id.action == Action::Edit {
        return open_edit_modal(ctx, app, component, id.session_id, position).await;
    }
    if matches!(id.action, Action::PickMachine | Action::PickChoice) {
        return super::card_menus::on_pick(ctx, app, component, id).await;
    }
    // Acknowledge at once; the database work and the edit follow.
    component
        .create_response(&ctx.http, serenity::CreateInteractionResponse::Acknowledge)
        .await?;
    let workflows = app.workflows();
    let result = match id.action {
        Action::Create | Action::Skip | Action::Attach => {
            let decision = match id.action {
                Action::Create => Decision::Create,
                Action::Attach => Decision::Attach,
                _ => Decision::Skip,
            };
            store
                .decide(
                    &workflows.kinds,
                    id.session_id,
                    position,
                    decision,
                    user,
                    Utc::now(),
                )
                .await
                .map(|(outcome, session)| (Some(outcome), session))
        }
        _ => store
            .cancel(id.session_id, user, Utc::now())
            .await
            .map(|session| (None, session)),
    };
    match result {
        Ok((outcome, session)) => {
            if let Some(DecisionOutcome::AlreadyDecided { .. }) = outcome {
                tracing::info!(session = id.session_id, position, "repeated click ignored");
            }
            let message = render(app, &session).await?;
            component
                .edit_response(&ctx.http, message.into_edit())
                .await?;
            // Only once the click is answered: never delays the card.
            super::acknowledge::after_decision(
                ctx,
                app,
                component,
                position,
                outcome.as_ref(),
                &session,
            )
            .await;
            Ok(())
        }
        Err(err) => match refusal(&err) {
            Some(text) => ephemeral_followup(ctx, component, &text).await,
            None => Err(err.into()),
        },
    }
}

/// Answers with the edit modal of the item at `position` (a modal must be
/// the first response; loading the item is one query), or a refusal.
pub(super) async fn open_edit_modal(
    ctx: &serenity::Context,
    app: &App,
    component: &serenity::ComponentInteraction,
    session_id: i64,
    position: usize,
) -> Result<(), Error> {
    let user = component.user.id.get();
    let store = ReviewStore::new(app.pool.clone());
    let modal = match store.load(session_id).await {
        Ok(session) => edit_modal(app, &session, position, user),
        Err(err) => Err(err),
    };
    match modal {
        Ok(modal) => Ok(component
            .create_response(&ctx.http, serenity::CreateInteractionResponse::Modal(modal))
            .await?),
        Err(err) => respond_refusal(ctx, component, &err).await,
    }
}

async fn respond_refusal(
    ctx: &serenity::Context,
    component: &serenity::ComponentInteraction,
    err: &ReviewError,
) -> Result<(), Error> {
    let text = refusal(err)
        .unwrap_or_else(|| "Something went wrong on our side; the error was logged.".into());
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

/// Discord's limits for modals.
const MODAL_TITLE_LIMIT: usize = 45;
const INPUT_LABEL_LIMIT: usize = 45;
const INPUT_VALUE_LIMIT: usize = 4000;

/// The edit modal: the kind's editable fields, pre-filled.
fn edit_modal(
    app: &App,
    session: &Session,
    position: usize,
    user: u64,
) -> Result<serenity::CreateModal, ReviewError> {
    session.check_actor(user, Utc::now())?;
    let entry = session.items.get(position).ok_or(ReviewError::NotFound)?;
    if entry.state != ItemState::Pending {
        return Err(ReviewError::Over);
    }
    let workflows = app.workflows();
    let kind = workflows
        .kinds
        .get(&entry.item.kind)
        .ok_or(ReviewError::NotFound)?;
    let item = &entry.item;
    let mut rows = Vec::new();
    for field in kind.edit_fields.iter().take(MAX_EDIT_FIELDS) {
        let input = match field.as_str() {
            "machine" => {
                let current = item.machine_hint.clone().unwrap_or_default();
                serenity::CreateInputText::new(
                    serenity::InputTextStyle::Short,
                    "Machine",
                    "machine",
                )
                .placeholder("Name, short name or alias")
                .value(truncate_chars(&current, INPUT_VALUE_LIMIT))
                .required(
                    kind.machine == crate::workflow::MachineRule::Required
                        && entry.parent_position.is_none(),
                )
            }
            "description" => serenity::CreateInputText::new(
                serenity::InputTextStyle::Paragraph,
                truncate_chars(&kind.description_label, INPUT_LABEL_LIMIT),
                "description",
            )
            .value(truncate_chars(
                &item.description,
                kind.description_max_length.min(INPUT_VALUE_LIMIT),
            ))
            .max_length(kind.description_max_length.min(INPUT_VALUE_LIMIT) as u16)
            .required(true),
            name => {
                let Some(declared) = kind.field(name) else {
                    continue;
                };
                let mut input = serenity::CreateInputText::new(
                    serenity::InputTextStyle::Short,
                    truncate_chars(&declared.label, INPUT_LABEL_LIMIT),
                    name,
                )
                .value(item.fields.get(name).cloned().unwrap_or_default())
                .required(declared.required);
                if let FieldType::Choice { choices } = &declared.ty {
                    input = input.placeholder(truncate_chars(&choices.join(" / "), 100));
                }
                input
            }
        };
        rows.push(serenity::CreateActionRow::InputText(input));
    }
    let id = CustomId {
        session_id: session.id,
        position: position as i32,
        action: Action::EditSubmit,
    };
    Ok(serenity::CreateModal::new(
        id.to_string(),
        truncate_chars(&format!("Edit {}", kind.label), MODAL_TITLE_LIMIT),
    )
    .components(rows))
}

/// A submitted edit modal: apply, check, store, show the card again.
pub async fn on_modal(
    ctx: &serenity::Context,
    app: &App,
    modal: &serenity::ModalInteraction,
) -> Result<(), Error> {
    let Ok(id) = modal.data.custom_id.parse::<CustomId>() else {
        return Ok(());
    };
    let store = ReviewStore::new(app.pool.clone());
    let user = modal.user.id.get();
    let position = usize::try_from(id.position).unwrap_or(usize::MAX);
    let values: Vec<(String, String)> = modal
        .data
        .components
        .iter()
        .flat_map(|row| row.components.iter())
        .filter_map(|component| match component {
            serenity::ActionRowComponent::InputText(input) => Some((
                input.custom_id.clone(),
                input.value.clone().unwrap_or_default(),
            )),
            _ => None,
        })
        .collect();
    let outcome = async {
        let session = store.load(id.session_id).await?;
        session.check_actor(user, Utc::now())?;
        let entry = session.items.get(position).ok_or(ReviewError::NotFound)?;
        let edited = apply_edits(app, &entry.item, &values).await?;
        match edited {
            Ok(item) => {
                let session = store
                    .edit(id.session_id, position, &item, user, Utc::now())
                    .await?;
                Ok(Ok(recheck_duplicates(app, &store, session).await?))
            }
            Err(problem) => Ok(Err(problem)),
        }
    }
    .await;
    let response = match outcome {
        Ok(Ok(session)) => render(app, &session).await?.into_update(),
        Ok(Err(problem)) => ephemeral_response(&format!(
            "❌ {problem} Nothing was changed; press Edit to try again."
        )),
        Err(err) => match refusal(&err) {
            Some(text) => ephemeral_response(&text),
            None => return Err(err.into()),
        },
    };
    modal.create_response(&ctx.http, response).await?;
    Ok(())
}

/// After an edit or a machine chosen from the menu (a new machine or text),
/// looks for a likely duplicate again.
pub(super) async fn recheck_duplicates(
    app: &App,
    store: &ReviewStore,
    session: Session,
) -> Result<Session, ReviewError> {
    let kinds = &app.workflows().kinds;
    match crate::review::duplicates::find_and_store(&app.pool, kinds, session.id).await {
        Ok(_) => store.load(session.id).await,
        Err(err) => {
            tracing::warn!(error = %err, "duplicate check after an edit failed");
            Ok(session)
        }
    }
}

/// A private follow-up to an acknowledged click: a refusal or a problem.
pub(super) async fn ephemeral_followup(
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

pub(super) fn ephemeral_response(text: &str) -> serenity::CreateInteractionResponse {
    serenity::CreateInteractionResponse::Message(
        serenity::CreateInteractionResponseMessage::new()
            .content(truncate_chars(text, reply::CONTENT_LIMIT))
            .ephemeral(true)
            .allowed_mentions(reply::no_mentions()),
    )
}

/// The item with the modal's values applied, or what is wrong with them.
async fn apply_edits(
    app: &App,
    item: &ReviewItem,
    values: &[(String, String)],
) -> Result<Result<ReviewItem, String>, ReviewError> {
    let workflows = app.workflows();
    let Some(kind) = workflows.kinds.get(&item.kind) else {
        return Err(ReviewError::NotFound);
    };
    let mut edited = item.clone();
    for (name, value) in values {
        let value = value.trim();
        match name.as_str() {
            "machine" if value.is_empty() => {
                edited.machine_id = None;
                edited.machine_hint = None;
            }
            "machine" => {
                let all = machines::list(&app.pool).await?;
                match match_machine(&all, value) {
                    MachineMatch::Found(machine) => {
                        edited.machine_id = Some(machine.id);
                        edited.machine_hint = Some(machine.name);
                    }
                    MachineMatch::Unknown { closest } => {
                        let hint = if closest.is_empty() {
                            String::new()
                        } else {
                            format!(" Closest: {}.", closest.join(", "))
                        };
                        return Ok(Err(format!(
                            "No machine matches `{}`.{hint}",
                            value.replace('`', "'")
                        )));
                    }
                }
            }
            "description" => {
                if value.is_empty() {
                    return Ok(Err(format!(
                        "{} must not be empty.",
                        kind.description_label
                    )));
                }
                edited.description = value.to_string();
            }
            field_name => {
                let Some(field) = kind.field(field_name) else {
                    continue;
                };
                if value.is_empty() {
                    edited.fields.remove(field_name);
                    continue;
                }
                let value = match &field.ty {
                    FieldType::Choice { choices } => {
                        match choices.iter().find(|c| c.eq_ignore_ascii_case(value)) {
                            Some(choice) => choice.clone(),
                            None => {
                                return Ok(Err(format!(
                                    "{} must be one of: {}.",
                                    field.label,
                                    choices.join(", ")
                                )))
                            }
                        }
                    }
                    FieldType::Text { max_length } if value.chars().count() > *max_length => {
                        return Ok(Err(format!(
                            "{} is longer than {max_length} characters.",
                            field.label
                        )))
                    }
                    FieldType::Text { .. } => value.to_string(),
                };
                edited.fields.insert(field_name.to_string(), value);
            }
        }
    }
    Ok(Ok(edited))
}
