//! Open records: what a kind's declared `closed_statuses` leave open, listed
//! per machine (for the analysis prompt) and searched by text similarity
//! (the duplicate check before a review card is shown).
//!
//! Similarity is Postgres `pg_trgm` over the record description, with a
//! trigram GIN index; the window and threshold are below and in docs/commands.md "Add to Flipfix" (likely duplicates).

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;

use crate::workflow::{RecordKind, RecordKinds};

/// Only records whose work happened this recently can be duplicates: a
/// report from last year is history, not the same report.
pub(crate) const DUPLICATE_WINDOW_DAYS: i64 = 30;
/// `similarity()` at or above this is a likely duplicate. Tuned on data:
/// among the 20 real problem reports of the flipfix sample (190 pairs), two
/// different problems score at most 0.29 (0.17 on the same machine); the
/// duplicate scenario's re-report two days later scores 0.65.
pub(crate) const DUPLICATE_THRESHOLD: f32 = 0.35;
/// Candidates compared per suggestion (the best one is kept).
pub(crate) const MAX_DUPLICATE_CANDIDATES: i64 = 5;
/// Open records listed in one analysis prompt.
pub const MAX_OPEN_RECORDS_IN_PROMPT: usize = 15;

/// An open record, as the prompt and the duplicate note show it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OpenRecord {
    pub id: i64,
    pub kind: String,
    pub machine_id: Option<i64>,
    pub status: Option<String>,
    pub description: String,
    pub occurred_at: DateTime<Utc>,
    /// Field name → value (the prompt shows the ones status rules read).
    #[serde(default)]
    pub fields: BTreeMap<String, String>,
}

/// The open record a suggestion most likely repeats.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LikelyDuplicate {
    pub record_id: i64,
    pub kind: String,
    /// `pg_trgm` similarity of the two descriptions, 0–1.
    pub similarity: f32,
    pub description: String,
}

/// The open records of `machine_ids`, newest first, at most `limit`: every
/// kind that declares closed statuses, in any status but those.
pub async fn open_on_machines(
    pool: &PgPool,
    kinds: &RecordKinds,
    machine_ids: &[i64],
    limit: usize,
) -> Result<Vec<OpenRecord>, sqlx::Error> {
    if machine_ids.is_empty() || limit == 0 {
        return Ok(Vec::new());
    }
    let mut open = Vec::new();
    for kind in kinds.iter().filter(|k| k.tracks_open()) {
        let rows: Vec<OpenRow> = sqlx::query_as(
            "SELECT id, kind, machine_id, status, description, occurred_at, fields FROM records
             WHERE kind = $1 AND machine_id = ANY($2)
               AND (status IS NULL OR NOT (status = ANY($3)))
             ORDER BY occurred_at DESC, id DESC LIMIT $4",
        )
        .bind(&kind.name)
        .bind(machine_ids)
        .bind(&kind.closed_statuses)
        .bind(i64::try_from(limit).unwrap_or(i64::MAX))
        .fetch_all(pool)
        .await?;
        open.extend(rows.into_iter().map(OpenRecord::from));
    }
    open.sort_by_key(|r| std::cmp::Reverse((r.occurred_at, r.id)));
    open.truncate(limit);
    Ok(open)
}

/// Open under `kind`'s declaration.
pub fn is_open(kind: &RecordKind, status: Option<&str>) -> bool {
    kind.tracks_open() && !status.is_some_and(|s| kind.closed_statuses.iter().any(|c| c == s))
}

/// The open record of `kind` on `machine_id`, from the last
/// [`DUPLICATE_WINDOW_DAYS`] before `at` (when the new text was written), whose description is most similar
/// to `text` (at least [`DUPLICATE_THRESHOLD`]). `None` when the kind tracks
/// no open records or nothing is similar enough.
pub async fn likely_duplicate(
    pool: &PgPool,
    kind: &RecordKind,
    machine_id: i64,
    text: &str,
    at: DateTime<Utc>,
) -> Result<Option<LikelyDuplicate>, sqlx::Error> {
    if !kind.tracks_open() || text.trim().is_empty() {
        return Ok(None);
    }
    let mut tx = pool.begin().await?;
    // `%` is the operator the trigram index serves; it compares against this
    // threshold (for this transaction only).
    sqlx::query("SELECT set_config('pg_trgm.similarity_threshold', $1, true)")
        .bind(DUPLICATE_THRESHOLD.to_string())
        .execute(&mut *tx)
        .await?;
    let best: Option<(i64, String, f32, String)> = sqlx::query_as(
        "SELECT id, kind, similarity(description, $3), description FROM records
         WHERE kind = $1 AND machine_id = $2
           AND (status IS NULL OR NOT (status = ANY($4)))
           AND occurred_at >= $5
           AND description % $3
         ORDER BY similarity(description, $3) DESC, occurred_at DESC, id DESC
         LIMIT $6",
    )
    .bind(&kind.name)
    .bind(machine_id)
    .bind(text)
    .bind(&kind.closed_statuses)
    .bind(at - Duration::days(DUPLICATE_WINDOW_DAYS))
    .bind(MAX_DUPLICATE_CANDIDATES)
    .fetch_optional(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(best.map(
        |(record_id, kind, similarity, description)| LikelyDuplicate {
            record_id,
            kind,
            similarity,
            description,
        },
    ))
}

#[derive(sqlx::FromRow)]
struct OpenRow {
    id: i64,
    kind: String,
    machine_id: Option<i64>,
    status: Option<String>,
    description: String,
    occurred_at: DateTime<Utc>,
    fields: sqlx::types::Json<BTreeMap<String, String>>,
}

impl From<OpenRow> for OpenRecord {
    fn from(row: OpenRow) -> Self {
        Self {
            id: row.id,
            kind: row.kind,
            machine_id: row.machine_id,
            status: row.status,
            description: row.description,
            occurred_at: row.occurred_at,
            fields: row.fields.0,
        }
    }
}
