//! Restoring the status history of exported records, after every record is
//! in: a change names the record that made it (the log entry that closed a
//! report), which is listed after the record it changed.

use std::collections::HashMap;

use sqlx::PgPool;

use super::write::Restored;
use crate::catalog::ImportError;
use crate::domain::Snowflake;
use crate::records::backup::StatusChangeOut;

/// Puts back each record's exported history. A record this import created
/// gets exactly the exported rows (the rows its restored children wrote on
/// the way, dated now, are dropped); one that was already there gets the
/// exported rows it lacks, so importing twice adds nothing.
pub(super) async fn restore_histories(
    pool: &PgPool,
    restored: &HashMap<i64, Restored>,
    histories: &[(i64, Vec<StatusChangeOut>)],
) -> Result<(), ImportError> {
    let mut tx = pool.begin().await?;
    for (export_id, history) in histories {
        let Some(record) = restored.get(export_id) else {
            continue;
        };
        if record.now {
            sqlx::query("DELETE FROM record_status_changes WHERE record_id = $1")
                .bind(record.id)
                .execute(&mut *tx)
                .await?;
        }
        for change in history {
            let via = change
                .via
                .and_then(|via| restored.get(&via))
                .map(|via| via.id);
            let discord_id = change
                .changed_by_discord_id
                .as_deref()
                .and_then(|id| id.trim().parse::<u64>().ok())
                .map(Snowflake);
            sqlx::query(
                "INSERT INTO record_status_changes
                     (record_id, from_status, to_status, changed_at, changed_by_discord_id,
                      changed_by, via_record_id)
                 SELECT $1, $2, $3, $4, $5, $6, $7
                 WHERE NOT EXISTS (
                     SELECT 1 FROM record_status_changes
                     WHERE record_id = $1 AND changed_at = $4 AND to_status = $3
                       AND from_status IS NOT DISTINCT FROM $2)",
            )
            .bind(record.id)
            .bind(&change.from_status)
            .bind(&change.to_status)
            .bind(change.changed_at)
            .bind(discord_id)
            .bind(&change.changed_by)
            .bind(via)
            .execute(&mut *tx)
            .await?;
        }
    }
    tx.commit().await?;
    Ok(())
}
