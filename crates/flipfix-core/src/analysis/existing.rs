//! Existing records the model is told about: the record a thread starter or
//! reply-chain origin already became (so follow-ups become its children), and
//! the open records of the machines the conversation mentions (so work on
//! one of them links to it instead of repeating it).
//!
//! Not cached: one indexed query per tracked kind per analysis (a few
//! milliseconds), always current; the list goes into the conversation part
//! of the prompt, never the cached system prefix.

use std::collections::BTreeSet;

use sqlx::PgPool;

use super::catalog::Catalog;
use super::conversation::{Conversation, ExistingRecord, MachineStatusNote};
use crate::records::open::{open_on_machines, OpenRecord, MAX_OPEN_RECORDS_IN_PROMPT};
use crate::records::view::MachineStatusView;
use crate::records::SavedSource;
use crate::workflow::RecordKinds;

/// Fills `origin_record` and `open_records` of `conversation` (after saved
/// messages were excluded: `saved` is what they became).
pub async fn attach(
    pool: &PgPool,
    kinds: &RecordKinds,
    catalog: &Catalog,
    conversation: &mut Conversation,
    saved: &[SavedSource],
) -> Result<(), sqlx::Error> {
    let origin = match conversation.origin_message_id {
        Some(origin) => origin_record(pool, saved, origin).await?,
        None => None,
    };
    let mut machines = mentioned_machines(catalog, conversation);
    if let Some(machine) = origin.as_ref().and_then(|r| r.machine_id) {
        machines.insert(machine);
    }
    let machines: Vec<i64> = machines.into_iter().collect();
    let open = open_on_machines(pool, kinds, &machines, MAX_OPEN_RECORDS_IN_PROMPT + 1).await?;
    let origin_id = origin.as_ref().map(|r| r.id);
    conversation.open_records = open
        .into_iter()
        .filter(|r| Some(r.id) != origin_id)
        .take(MAX_OPEN_RECORDS_IN_PROMPT)
        .map(|r| existing(kinds, catalog, r))
        .collect();
    conversation.origin_record = origin.map(|r| existing(kinds, catalog, r));
    conversation.machine_statuses = machine_statuses(pool, kinds, &machines).await?;
    Ok(())
}

/// The statuses of `machine_ids` that are not good, as they are now.
async fn machine_statuses(
    pool: &PgPool,
    kinds: &RecordKinds,
    machine_ids: &[i64],
) -> Result<Vec<MachineStatusNote>, sqlx::Error> {
    let rows: Vec<(String, String)> =
        sqlx::query_as("SELECT slug, status FROM machines WHERE id = ANY($1) ORDER BY slug")
            .bind(machine_ids)
            .fetch_all(pool)
            .await?;
    let statuses = kinds.machine_statuses();
    Ok(rows
        .into_iter()
        .filter(|(_, status)| statuses.is_not_good(status))
        .map(|(machine, status)| MachineStatusNote {
            machine,
            status: MachineStatusView::new(statuses, &status),
        })
        .collect())
}

/// The top-level record the origin message became (the first one created,
/// when it became several).
async fn origin_record(
    pool: &PgPool,
    saved: &[SavedSource],
    origin: u64,
) -> Result<Option<OpenRecord>, sqlx::Error> {
    for source in saved.iter().filter(|s| s.message_id == origin) {
        if let Some(record) = crate::records::get_record(pool, source.record_id).await? {
            if record.parent_id.is_none() {
                return Ok(Some(OpenRecord {
                    id: record.id,
                    kind: record.kind,
                    machine_id: record.machine_id,
                    status: record.status,
                    description: record.description,
                    occurred_at: record.occurred_at,
                    fields: record.fields,
                }));
            }
        }
    }
    Ok(None)
}

/// Catalog machines (with a database id) whose slug, name, short name or an
/// alias appears as whole words in a message of the conversation or in a
/// record post it shows.
pub fn mentioned_machines(catalog: &Catalog, conversation: &Conversation) -> BTreeSet<i64> {
    let text: String = conversation
        .messages
        .iter()
        .flat_map(|m| {
            std::iter::once(m.message.content.as_str()).chain(
                m.reference
                    .iter()
                    .flat_map(|r| r.title.iter().map(String::as_str).chain([r.text.as_str()])),
            )
        })
        .map(words)
        .collect::<Vec<_>>()
        .join(" | ");
    let text = format!(" {text} ");
    catalog
        .machines
        .iter()
        .filter_map(|machine| {
            let names = std::iter::once(&machine.slug)
                .chain([&machine.name])
                .chain(machine.short_name.iter())
                .chain(machine.aliases.iter());
            let mut names = names.map(|n| words(n)).filter(|n| n.len() >= 3);
            let said = names.any(|name| text.contains(&format!(" {name} ")));
            said.then_some(machine.id).flatten()
        })
        .collect()
}

/// Lower-case words separated by single spaces ("Twilight Zone's" →
/// "twilight zone s").
fn words(text: &str) -> String {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect::<Vec<_>>()
        .join(" ")
}

fn existing(kinds: &RecordKinds, catalog: &Catalog, record: OpenRecord) -> ExistingRecord {
    let rules = &kinds.machine_statuses().rules;
    let rule_fields = record
        .fields
        .iter()
        .filter(|(name, _)| {
            rules
                .iter()
                .any(|r| r.kind == record.kind && r.field == **name)
        })
        .map(|(name, value)| (name.clone(), value.clone()))
        .collect();
    ExistingRecord {
        rule_fields,
        machine: record.machine_id.and_then(|id| {
            catalog
                .machines
                .iter()
                .find(|m| m.id == Some(id))
                .map(|m| m.slug.clone())
        }),
        kind: record.kind,
        record_id: record.id,
        status: record.status,
        occurred_at: record.occurred_at,
        text: record.description,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn machine_names_match_as_whole_words() {
        assert!(
            format!(" {} ", words("TZ's flipper on Twilight-Zone!")).contains(" twilight zone ")
        );
        assert!(!format!(" {} ", words("Twilight Zoned out")).contains(" twilight zone "));
    }
}
