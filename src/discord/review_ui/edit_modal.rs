//! The edit modal: opening it pre-filled with the suggestion's editable
//! fields, and storing a submitted one (then looking for duplicates again).

use poise::serenity_prelude as serenity;

use super::edit_values::apply_edits;
use super::refusals::{ephemeral_response, refusal, respond_refusal};
use super::render::render;
use crate::app::App;
use crate::discord::refusal::Outcome;
use crate::discord::Error;
use crate::review::{Action, CustomId, ItemState, ReviewError, ReviewStore, Session};
use crate::text::truncate_chars;
use crate::workflow::kinds::MAX_EDIT_FIELDS;
use crate::workflow::{FieldType, Workflows};

/// Answers with the edit modal of the item at `position` (a modal must be
/// the first response; loading the item is one query), or a refusal.
pub(in crate::discord) async fn open_edit_modal(
    ctx: &serenity::Context,
    app: &App,
    component: &serenity::ComponentInteraction,
    session_id: i64,
    position: usize,
) -> Result<(), Error> {
    let user = component.user.id.get();
    let store = ReviewStore::new(app.pool.clone());
    let modal = async {
        let session = store.load(session_id).await?;
        // The review's own workflow version, or the sentence that it ended.
        let workflows = app.review_workflows(session_id, user).await?;
        edit_modal(app, &workflows, &session, position, user)
    }
    .await;
    match modal {
        Ok(modal) => Ok(component
            .create_response(&ctx.http, serenity::CreateInteractionResponse::Modal(modal))
            .await?),
        Err(err) => respond_refusal(ctx, component, &err).await,
    }
}

/// Discord's limits for modals.
const MODAL_TITLE_LIMIT: usize = 45;
const INPUT_LABEL_LIMIT: usize = 45;
const INPUT_VALUE_LIMIT: usize = 4000;

/// The edit modal: the kind's editable fields, pre-filled.
fn edit_modal(
    app: &App,
    workflows: &Workflows,
    session: &Session,
    position: usize,
    user: u64,
) -> Result<serenity::CreateModal, ReviewError> {
    session.check_actor(user, app.clock.now())?;
    let entry = session.items.get(position).ok_or(ReviewError::NotFound)?;
    if entry.state != ItemState::Pending {
        return Err(ReviewError::Over);
    }
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
        session.check_actor(user, app.clock.now())?;
        let workflows = app.review_workflows(id.session_id, user).await?;
        let entry = session.items.get(position).ok_or(ReviewError::NotFound)?;
        let edited = apply_edits(app, &workflows, &entry.item, &values).await?;
        match edited {
            Outcome::Done(item) => {
                let session = store
                    .edit(id.session_id, position, &item, user, app.clock.now())
                    .await?;
                Ok(Outcome::Done(
                    recheck_duplicates(app, &workflows, &store, session).await?,
                ))
            }
            Outcome::Refused(problem) => Ok(Outcome::Refused(problem)),
        }
    }
    .await;
    let response = match outcome {
        Ok(Outcome::Done(session)) => render(app, &session).await?.into_update(),
        Ok(Outcome::Refused(problem)) => ephemeral_response(&format!(
            "❌ {problem} Nothing was changed; press Edit to try again."
        )),
        Err(err) => match refusal(&err) {
            Some(text) => ephemeral_response(text.as_str()),
            None => return Err(err.into()),
        },
    };
    modal.create_response(&ctx.http, response).await?;
    Ok(())
}

/// After an edit or a machine chosen from the menu (a new machine or text),
/// looks for a likely duplicate again.
pub(in crate::discord) async fn recheck_duplicates(
    app: &App,
    workflows: &Workflows,
    store: &ReviewStore,
    session: Session,
) -> Result<Session, ReviewError> {
    let kinds = &workflows.kinds;
    match crate::review::duplicates::find_and_store(&app.pool, kinds, session.id).await {
        Ok(_) => store.load(session.id).await,
        Err(err) => {
            tracing::warn!(error = %err, "duplicate check after an edit failed");
            Ok(session)
        }
    }
}
