//! Likely duplicates in a review: before the first card is shown, each
//! new top-level suggestion with a machine is compared with the open records
//! of its kind on that machine (`records::open::likely_duplicate`); the best
//! match is kept on the item. "Attach" then turns the suggestion into a child
//! of that record (a log entry on a problem report, an update on a part
//! request: the kind whose declared parents include the duplicate's kind).

use sqlx::{PgConnection, PgPool};

use super::{ReviewItem, SessionItem};
use crate::records::open::{likely_duplicate, LikelyDuplicate};
use crate::workflow::RecordKinds;

/// Looks for a likely duplicate of every pending top-level item of
/// `session_id`, and stores the best (or none). Returns how many have one.
pub async fn find_and_store(
    pool: &PgPool,
    kinds: &RecordKinds,
    session_id: i64,
) -> Result<usize, sqlx::Error> {
    let items: Vec<(i32, sqlx::types::Json<ReviewItem>)> = sqlx::query_as(
        "SELECT position, item FROM review_items
         WHERE session_id = $1 AND parent_position IS NULL AND state = 'pending'
         ORDER BY position",
    )
    .bind(session_id)
    .fetch_all(pool)
    .await?;
    let mut found = 0;
    for (position, item) in items {
        // Stored either way: after an edit, a hint that no longer holds goes.
        let duplicate = find(pool, kinds, &item.0).await?;
        if let Some(duplicate) = &duplicate {
            tracing::info!(
                session_id,
                position,
                record_id = duplicate.record_id,
                similarity = duplicate.similarity,
                "suggestion looks like an open record"
            );
            found += 1;
        }
        sqlx::query(
            "UPDATE review_items SET duplicate = $3 WHERE session_id = $1 AND position = $2",
        )
        .bind(session_id)
        .bind(position)
        .bind(duplicate.map(sqlx::types::Json))
        .execute(pool)
        .await?;
    }
    Ok(found)
}

/// The likely duplicate of one suggestion: only a new record (no parent)
/// with a machine, of a kind that tracks open records and has a kind to
/// attach with.
pub async fn find(
    pool: &PgPool,
    kinds: &RecordKinds,
    item: &ReviewItem,
) -> Result<Option<LikelyDuplicate>, sqlx::Error> {
    let (Some(kind), Some(machine_id), None) = (
        kinds.get(&item.kind),
        item.machine_id,
        item.parent_record_id,
    ) else {
        return Ok(None);
    };
    if kinds.attach_kind(&kind.name).is_none() {
        return Ok(None);
    }
    // The window counts back from when the suggestion's messages were
    // written, not from the click.
    likely_duplicate(pool, kind, machine_id, &item.description, item.occurred_at).await
}

/// What the suggestion becomes when attached to its likely duplicate: the
/// attach kind, under that record, keeping the text, sources, author and
/// photos, and only the fields the new kind declares. The refusal says why
/// in one sentence.
pub(crate) fn attached_item(
    kinds: &RecordKinds,
    entry: &SessionItem,
) -> Result<ReviewItem, String> {
    let Some(duplicate) = &entry.duplicate else {
        return Err("this suggestion has no similar open record to attach to".into());
    };
    let Some(kind) = kinds.attach_kind(&duplicate.kind) else {
        return Err(format!(
            "no record kind can be attached to a {} (none lists it in `parents`)",
            duplicate.kind
        ));
    };
    let mut item = entry.item.clone();
    item.kind = kind.name.clone();
    item.parent_record_id = Some(duplicate.record_id);
    item.fields.retain(|name, _| kind.field(name).is_some());
    if kind.inherit_machine {
        // The duplicate's machine, whatever the suggestion said.
        item.machine_id = None;
    }
    Ok(item)
}

/// Stores the attached form of the item (so the card and summary show what
/// was created) and the record it went onto, in the deciding transaction.
pub(crate) async fn store_attached(
    conn: &mut PgConnection,
    session_id: i64,
    position: usize,
    item: &ReviewItem,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE review_items SET item = $3, attached_to = $4 WHERE session_id = $1 AND position = $2",
    )
    .bind(session_id)
    .bind(i32::try_from(position).unwrap_or(i32::MAX))
    .bind(sqlx::types::Json(item))
    .bind(item.parent_record_id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}
