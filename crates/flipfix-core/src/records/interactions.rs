//! Records made by one Discord interaction (`/problem`, `/log`, …), at most
//! once: Discord may deliver an interaction twice (a gateway replay, a
//! retried dispatch), and a person retrying after a failed reply must learn
//! that the first try was saved.

use sqlx::PgPool;

use super::{create_record_in, NewRecord, Record, RecordError, Snowflake};
use crate::workflow::RecordKinds;

/// What [`create_once`] did.
#[derive(Debug, Clone)]
pub enum Once {
    /// This call made the record (and queued its notification).
    Created(Record),
    /// An earlier delivery of the same interaction made record `0`.
    Existing(i64),
}

/// Creates `new` for interaction `interaction_id` unless that interaction
/// already made a record. Concurrent deliveries are serialised on a
/// transaction-scoped advisory lock keyed by the interaction id, so exactly
/// one creates; the record, its notification and the interaction row commit
/// together.
pub async fn create_once(
    pool: &PgPool,
    kinds: &RecordKinds,
    interaction_id: u64,
    new: &NewRecord,
) -> Result<Once, RecordError> {
    let key = Snowflake(interaction_id);
    let mut tx = pool.begin().await?;
    // The single-bigint form: a key space apart from `db::locks`' pairs.
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(key)
        .execute(&mut *tx)
        .await?;
    let existing: Option<i64> =
        sqlx::query_scalar("SELECT record_id FROM record_interactions WHERE interaction_id = $1")
            .bind(key)
            .fetch_optional(&mut *tx)
            .await?;
    if let Some(record_id) = existing {
        tx.rollback().await?;
        return Ok(Once::Existing(record_id));
    }
    let record = create_record_in(&mut tx, kinds, new).await?;
    sqlx::query("INSERT INTO record_interactions (interaction_id, record_id) VALUES ($1, $2)")
        .bind(key)
        .bind(record.id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(Once::Created(record))
}

/// The record interaction `interaction_id` made, if any.
pub async fn record_for_interaction(
    pool: &PgPool,
    interaction_id: u64,
) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar("SELECT record_id FROM record_interactions WHERE interaction_id = $1")
        .bind(Snowflake(interaction_id))
        .fetch_optional(pool)
        .await
}
