//! Records made by one Discord interaction (`/problem`, `/log`, …), at most
//! once: Discord may deliver an interaction twice (a gateway replay, a
//! retried dispatch), and a person retrying after a failed reply must learn
//! that the first try was saved.

use sqlx::{PgConnection, PgPool};

use super::status::{change_with_entry_in, create_resolving_in, Changed, StatusError, Transition};
use super::{NewRecord, Record, RecordError, Snowflake};
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
    create_once_resolving(pool, kinds, interaction_id, new, false).await
}

/// [`create_once`], closing the record's parent when `resolves` (the
/// `closes` option of `/log`; see `status::create_resolving_in`).
pub async fn create_once_resolving(
    pool: &PgPool,
    kinds: &RecordKinds,
    interaction_id: u64,
    new: &NewRecord,
    resolves: bool,
) -> Result<Once, RecordError> {
    let mut tx = pool.begin().await?;
    if let Some(record_id) = lock_interaction(&mut tx, interaction_id).await? {
        tx.rollback().await?;
        return Ok(Once::Existing(record_id));
    }
    let (record, _) = create_resolving_in(&mut tx, kinds, new, resolves).await?;
    remember_interaction(&mut tx, interaction_id, record.id).await?;
    tx.commit().await?;
    Ok(Once::Created(record))
}

/// What [`change_once`] did.
#[derive(Debug, Clone)]
pub enum OnceChange {
    /// This call wrote the entry and changed the status.
    Changed(Box<Changed>),
    /// An earlier delivery of the same interaction wrote entry `0`.
    Existing(i64),
}

/// `/close` and `/reopen`: the entry, the status change and the interaction
/// row commit together, once per interaction (as [`create_once`]).
pub async fn change_once(
    pool: &PgPool,
    kinds: &RecordKinds,
    interaction_id: u64,
    target_id: i64,
    transition: Transition,
    entry: NewRecord,
) -> Result<OnceChange, StatusError> {
    let mut tx = pool.begin().await?;
    if let Some(record_id) = lock_interaction(&mut tx, interaction_id).await? {
        tx.rollback().await?;
        return Ok(OnceChange::Existing(record_id));
    }
    let changed = change_with_entry_in(&mut tx, kinds, target_id, transition, entry).await?;
    remember_interaction(&mut tx, interaction_id, changed.entry.id).await?;
    tx.commit().await?;
    Ok(OnceChange::Changed(Box::new(changed)))
}

/// Serialises deliveries of one interaction on a transaction-scoped
/// advisory lock keyed by its id; the record an earlier one made, if any.
async fn lock_interaction(
    conn: &mut PgConnection,
    interaction_id: u64,
) -> Result<Option<i64>, sqlx::Error> {
    let key = Snowflake(interaction_id);
    // The single-bigint form: a key space apart from `db::locks`' pairs.
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(key)
        .execute(&mut *conn)
        .await?;
    sqlx::query_scalar("SELECT record_id FROM record_interactions WHERE interaction_id = $1")
        .bind(key)
        .fetch_optional(&mut *conn)
        .await
}

async fn remember_interaction(
    conn: &mut PgConnection,
    interaction_id: u64,
    record_id: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO record_interactions (interaction_id, record_id) VALUES ($1, $2)")
        .bind(Snowflake(interaction_id))
        .bind(record_id)
        .execute(&mut *conn)
        .await?;
    Ok(())
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
