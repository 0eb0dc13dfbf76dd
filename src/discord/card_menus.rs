//! A review card's components, built in one place: the button row, then
//! the select menus (a machine menu when the machine is unknown or
//! ambiguous, a menu for the kind's `card_select` choice), and the handlers
//! for a choice made in a menu. Discord allows five rows of components, 25
//! options per menu and 100 characters per label or value.

use poise::serenity_prelude as serenity;

use super::refusal::Outcome;
use super::{review_ui, Error};
use crate::app::App;
use crate::catalog::machines;
use crate::catalog::ranking::{rank_for_menu, MENU_MACHINES};
use crate::review::{Action, CustomId, ReviewError, ReviewStore, Session};
use crate::text::truncate_chars;
use crate::workflow::{FieldType, RecordKind, Workflows};

/// The machine menu's last option: opens the edit modal.
pub const OTHER: &str = "other";
const OPTION_TEXT_LIMIT: usize = 100;

/// Every component row of the card at `position`, buttons first.
pub async fn card_rows(
    app: &App,
    workflows: &Workflows,
    kind: &RecordKind,
    session: &Session,
    position: usize,
    needs_machine: bool,
) -> Result<Vec<serenity::CreateActionRow>, Error> {
    let entry = &session.items[position];
    let id = |action| {
        CustomId {
            session_id: session.id,
            position: position as i32,
            action,
        }
        .to_string()
    };
    let closes = closable_parent(app, workflows, kind, session, position)
        .await?
        .map(|parent| (parent, entry.item.resolves));
    let mut rows = vec![button_row(&id, needs_machine, closes)];
    let unsure = entry.item.machine_id.is_none() && entry.item.machine_hint.is_some();
    if needs_machine || unsure {
        let menu = machine_menu(app, session, entry.item.machine_hint.as_deref()).await?;
        rows.push(serenity::CreateActionRow::SelectMenu(
            serenity::CreateSelectMenu::new(id(Action::PickMachine), menu)
                .placeholder("Choose the machine"),
        ));
    }
    if let Some((field, options)) = choice_menu(kind, &entry.item.fields) {
        rows.push(serenity::CreateActionRow::SelectMenu(
            serenity::CreateSelectMenu::new(id(Action::PickChoice), options)
                .placeholder(truncate_chars(&field, OPTION_TEXT_LIMIT)),
        ));
    }
    Ok(rows)
}

/// The open record this item would close if created as its fix: its kind
/// declares `resolves_parent` and its parent (an existing record, or one
/// this review created) is open.
async fn closable_parent(
    app: &App,
    workflows: &Workflows,
    kind: &RecordKind,
    session: &Session,
    position: usize,
) -> Result<Option<i64>, Error> {
    if kind.resolves_parent.is_none() {
        return Ok(None);
    }
    let Some(parent_id) = session.parent_record_id(position) else {
        return Ok(None);
    };
    let Some(parent) = crate::records::get_record(&app.pool, parent_id).await? else {
        return Ok(None);
    };
    let open = workflows
        .kinds
        .get(&parent.kind)
        .is_some_and(|k| crate::records::open::is_open(k, parent.status.as_deref()));
    Ok(open.then_some(parent_id))
}

/// Create, Edit, Skip, Cancel. For a fix of an open record (`closes`: its
/// id, and whether the model said it resolves it) Create is two buttons,
/// "Create and close #12" and "Create, keep #12 open"; the model's answer
/// is the green one.
fn button_row(
    id: &dyn Fn(Action) -> String,
    needs_machine: bool,
    closes: Option<(i64, bool)>,
) -> serenity::CreateActionRow {
    let style = |default: bool| {
        if default {
            serenity::ButtonStyle::Success
        } else {
            serenity::ButtonStyle::Secondary
        }
    };
    let create = match closes {
        Some((parent, resolves)) => vec![
            serenity::CreateButton::new(id(Action::CreateAndClose))
                .label(format!("Create and close #{parent}"))
                .style(style(resolves))
                .disabled(needs_machine),
            serenity::CreateButton::new(id(Action::Create))
                .label(format!("Create, keep #{parent} open"))
                .style(style(!resolves))
                .disabled(needs_machine),
        ],
        None => vec![serenity::CreateButton::new(id(Action::Create))
            .label("Create")
            .style(serenity::ButtonStyle::Success)
            .disabled(needs_machine)],
    };
    let mut buttons = create;
    buttons.extend([
        serenity::CreateButton::new(id(Action::Edit))
            .label("Edit")
            .style(serenity::ButtonStyle::Primary),
        serenity::CreateButton::new(id(Action::Skip))
            .label("Skip")
            .style(serenity::ButtonStyle::Secondary),
        serenity::CreateButton::new(id(Action::Cancel))
            .label("Cancel")
            .style(serenity::ButtonStyle::Danger),
    ]);
    serenity::CreateActionRow::Buttons(buttons)
}

/// Up to 24 machines, ranked, and "Other…".
async fn machine_menu(
    app: &App,
    session: &Session,
    hint: Option<&str>,
) -> Result<serenity::CreateSelectMenuKind, Error> {
    let all = machines::list(&app.pool).await?;
    let mentioned = ReviewStore::new(app.pool.clone())
        .machine_mentions(session.id)
        .await?;
    let mut options: Vec<serenity::CreateSelectMenuOption> =
        rank_for_menu(&all, hint, &mentioned, MENU_MACHINES)
            .into_iter()
            .map(|machine| {
                let option = serenity::CreateSelectMenuOption::new(
                    truncate_chars(&machine.name, OPTION_TEXT_LIMIT),
                    machine.id.to_string(),
                );
                match &machine.location {
                    Some(location) if !location.trim().is_empty() => {
                        option.description(truncate_chars(location, OPTION_TEXT_LIMIT))
                    }
                    _ => option,
                }
            })
            .collect();
    options.push(
        serenity::CreateSelectMenuOption::new("Other…", OTHER)
            .description("Type a name, short name or alias"),
    );
    Ok(serenity::CreateSelectMenuKind::String { options })
}

/// The kind's `card_select` field as menu options, the current value (or
/// the field's default) pre-selected.
fn choice_menu(
    kind: &RecordKind,
    values: &std::collections::BTreeMap<String, String>,
) -> Option<(String, serenity::CreateSelectMenuKind)> {
    let field = kind.field(kind.card_select.as_deref()?)?;
    let FieldType::Choice { choices } = &field.ty else {
        return None;
    };
    let current = values.get(&field.name).or(field.default.as_ref());
    let options = choices
        .iter()
        .take(25)
        .map(|choice| {
            serenity::CreateSelectMenuOption::new(
                truncate_chars(&format!("{}: {choice}", field.label), OPTION_TEXT_LIMIT),
                truncate_chars(choice, OPTION_TEXT_LIMIT),
            )
            .default_selection(current == Some(choice))
        })
        .collect();
    Some((
        field.label.clone(),
        serenity::CreateSelectMenuKind::String { options },
    ))
}

/// A choice made in one of the card's menus: stores it on the item and
/// shows the card again; "Other…" opens the edit modal instead.
pub async fn on_pick(
    ctx: &serenity::Context,
    app: &App,
    component: &serenity::ComponentInteraction,
    id: CustomId,
) -> Result<(), Error> {
    let serenity::ComponentInteractionDataKind::StringSelect { values } = &component.data.kind
    else {
        return Ok(()); // not a string menu: not one of ours
    };
    let Some(value) = values.first() else {
        return Ok(());
    };
    let store = ReviewStore::new(app.pool.clone());
    let user = component.user.id.get();
    let position = usize::try_from(id.position).unwrap_or(usize::MAX);
    if id.action == Action::PickMachine && value == OTHER {
        return review_ui::open_edit_modal(ctx, app, component, id.session_id, position).await;
    }
    // Acknowledge at once, as the buttons do; the database work and the
    // card's edit follow.
    component
        .create_response(&ctx.http, serenity::CreateInteractionResponse::Acknowledge)
        .await?;
    // The review's own workflow version, or the sentence that it ended.
    let workflows = match app.review_workflows(id.session_id, user).await {
        Ok(workflows) => workflows,
        Err(err) => {
            return review_ui::refuse_acknowledged(ctx, app, component, id.session_id, err).await
        }
    };
    let changed = match id.action {
        Action::PickMachine => {
            pick_machine(app, &workflows, &store, id, position, user, value).await
        }
        _ => pick_choice(app, &workflows, &store, id, position, user, value).await,
    };
    match changed {
        Ok(Outcome::Done(session)) => {
            let message = review_ui::render(app, &session).await?;
            component
                .edit_response(&ctx.http, message.into_edit())
                .await?;
        }
        Ok(Outcome::Refused(problem)) => {
            review_ui::ephemeral_followup(ctx, component, &format!("❌ {problem}")).await?
        }
        Err(err) => review_ui::refuse_acknowledged(ctx, app, component, id.session_id, err).await?,
    }
    Ok(())
}

/// Refused: the value is not usable (a machine removed meanwhile).
async fn pick_machine(
    app: &App,
    workflows: &Workflows,
    store: &ReviewStore,
    id: CustomId,
    position: usize,
    user: u64,
    value: &str,
) -> Result<Outcome<Session>, ReviewError> {
    let machine = match value.parse::<i64>() {
        Ok(machine_id) => machines::by_id(&app.pool, machine_id).await?,
        Err(_) => None,
    };
    let Some(machine) = machine else {
        return Ok(Outcome::refused(
            "That machine is no longer in the catalog; choose another or use Other….",
        ));
    };
    let session = store
        .change_item(id.session_id, position, user, app.clock.now(), |item| {
            item.machine_id = Some(machine.id);
            item.machine_hint = Some(machine.name.clone());
        })
        .await?;
    // Another machine has other open records: the card may now be a
    // likely duplicate.
    let session = review_ui::recheck_duplicates(app, workflows, store, session).await?;
    Ok(Outcome::Done(session))
}

async fn pick_choice(
    app: &App,
    workflows: &Workflows,
    store: &ReviewStore,
    id: CustomId,
    position: usize,
    user: u64,
    value: &str,
) -> Result<Outcome<Session>, ReviewError> {
    let session = store.load(id.session_id).await?;
    let entry = session.items.get(position).ok_or(ReviewError::NotFound)?;
    let field = workflows
        .kinds
        .get(&entry.item.kind)
        .and_then(|kind| kind.field(kind.card_select.as_deref()?).cloned());
    let allowed = field.as_ref().is_some_and(
        |field| matches!(&field.ty, FieldType::Choice { choices } if choices.iter().any(|c| c == value)),
    );
    let Some(field) = field.filter(|_| allowed) else {
        return Ok(Outcome::refused(format!(
            "`{}` is not a choice here any more (the workflow changed); use Edit.",
            value.replace('`', "'")
        )));
    };
    let session = store
        .change_item(id.session_id, position, user, app.clock.now(), |item| {
            item.fields.insert(field.name.clone(), value.to_string());
        })
        .await?;
    Ok(Outcome::Done(session))
}
