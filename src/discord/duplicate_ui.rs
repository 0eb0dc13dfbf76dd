//! The review card's duplicate parts: the "Looks like #12: …" note with its
//! link, and the Attach button in its own action row (so other rows, such
//! as select menus, merge beside it untouched).

use poise::serenity_prelude as serenity;

use super::reply;
use crate::app::App;
use crate::review::{Action, CustomId, Session};
use crate::text::truncate_chars;
use crate::workflow::Workflows;

/// Longest snippet of the duplicate's text on the card.
const SNIPPET_CHARS: usize = 120;

/// The sentences the card adds: the likely duplicate (for a new record), or
/// where a child goes when its parent suggestion was attached to a record.
pub fn notes(app: &App, workflows: &Workflows, session: &Session, position: usize) -> Vec<String> {
    let Some(entry) = session.items.get(position) else {
        return Vec::new();
    };
    let mut notes = Vec::new();
    if let Some(duplicate) = &entry.duplicate {
        let link = match (
            &app.secrets.public_base_url,
            workflows.kinds.get(&duplicate.kind),
        ) {
            (Some(base), Some(kind)) => {
                format!(" — {}", base.record(&kind.link_path, duplicate.record_id))
            }
            _ => String::new(),
        };
        let snippet = truncate_chars(
            duplicate.description.lines().next().unwrap_or_default(),
            SNIPPET_CHARS,
        );
        notes.push(format!(
            "🔁 Looks like #{}: {}{link}",
            duplicate.record_id,
            reply::escape_markdown(&snippet)
        ));
        if let Some(kind) = workflows.kinds.attach_kind(&duplicate.kind) {
            notes.push(format!(
                "**Attach to #{}** adds this as a {} on it instead of a new record.",
                duplicate.record_id,
                kind.label.to_lowercase()
            ));
        }
    }
    let attached_parent = entry
        .parent_position
        .and_then(|p| session.items.get(p))
        .and_then(|parent| parent.attached_to);
    if let Some(record_id) = attached_parent {
        notes.push(format!(
            "ℹ️ Its parent suggestion was attached to #{record_id}, so this one goes under #{record_id} too."
        ));
    }
    notes
}

/// The Attach button, alone in its row, when the item has a likely
/// duplicate that some kind can be attached to.
pub fn attach_row(
    workflows: &Workflows,
    session: &Session,
    position: usize,
) -> Option<serenity::CreateActionRow> {
    let duplicate = session.items.get(position)?.duplicate.as_ref()?;
    let kind = workflows.kinds.attach_kind(&duplicate.kind)?;
    let position = i32::try_from(position).ok()?;
    let id = |action| CustomId {
        session_id: session.id,
        position,
        action,
    };
    let label = truncate_chars(
        &format!(
            "Attach to #{} as a {}",
            duplicate.record_id,
            kind.label.to_lowercase()
        ),
        80,
    );
    let mut buttons = vec![serenity::CreateButton::new(id(Action::Attach).to_string())
        .label(label)
        .style(serenity::ButtonStyle::Primary)];
    // A likely duplicate is open; attached as its fix, it can be closed too.
    if kind.resolves_parent.is_some() {
        buttons.push(
            serenity::CreateButton::new(id(Action::AttachAndClose).to_string())
                .label(format!("Attach and close #{}", duplicate.record_id))
                .style(serenity::ButtonStyle::Secondary),
        );
    }
    Some(serenity::CreateActionRow::Buttons(buttons))
}
