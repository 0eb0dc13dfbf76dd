//! A kind's `updates_parent` rules: creating a record of the kind copies
//! one of its fields to its parent (a part-request update's new status
//! becomes the request's status), in the record's transaction, and a status
//! it changes is kept in the history.

use std::collections::BTreeMap;

use sqlx::PgConnection;

use super::store::Parent;
use super::{NewRecord, RuleViolation};
use crate::workflow::{RecordKind, RecordKinds};

pub(super) enum Error {
    Rule(RuleViolation),
    Database(sqlx::Error),
}

impl From<sqlx::Error> for Error {
    fn from(err: sqlx::Error) -> Self {
        Self::Database(err)
    }
}

/// Applies the kind's `updates_parent` rules (e.g. a part-request update's
/// new status becomes the part request's status), in the caller's transaction.
pub(super) async fn apply(
    conn: &mut PgConnection,
    kinds: &RecordKinds,
    kind: &RecordKind,
    fields: &BTreeMap<String, String>,
    parent: &Parent,
    (via_id, via): (i64, &NewRecord),
) -> Result<(), Error> {
    let Some(parent_kind) = kinds.get(&parent.kind) else {
        return Ok(());
    };
    for update in &kind.updates_parent {
        let Some(value) = fields.get(&update.from) else {
            continue;
        };
        let mut single = BTreeMap::new();
        single.insert(update.field.clone(), value.clone());
        // Validate the value against the parent's declaration of the field.
        if let Some(field) = parent_kind.field(&update.field) {
            if let crate::workflow::FieldType::Choice { choices } = &field.ty {
                if !choices.contains(value) {
                    return Err(Error::Rule(RuleViolation::NotAChoice {
                        field: format!("{}.{}", parent_kind.name, update.field),
                        value: value.clone(),
                        choices: choices.join(", "),
                    }));
                }
            }
        }
        let is_status = parent_kind.status_field.as_deref() == Some(update.field.as_str());
        sqlx::query(
            "UPDATE records
             SET fields = fields || $2::jsonb,
                 status = CASE WHEN $3 THEN $4 ELSE status END
             WHERE id = $1",
        )
        .bind(parent.id)
        .bind(sqlx::types::Json(&single))
        .bind(is_status)
        .bind(value)
        .execute(&mut *conn)
        .await?;
        if is_status && parent.status.as_ref() != Some(value) {
            let who = super::status::Changer::from_created_by(via.created_by.as_deref());
            let change = super::status::StatusChange {
                record_id: parent.id,
                from_status: parent.status.clone(),
                to_status: value.clone(),
                changed_at: via.created_at,
                changed_by_discord_id: who.discord_id,
                changed_by: who.label,
                via_record_id: Some(via_id),
            };
            super::status::write_change_in(conn, &change).await?;
        }
    }
    Ok(())
}
