//! A record's status over time: every change is kept (who, when by the app's
//! clock, from, to, and through which record), and the two changes people
//! make by hand — closing a report with a log entry under it, reopening it —
//! are one transaction each: the entry, the status, its history row and the
//! entry's notification commit together.

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};

use super::{create_record_in, NewRecord, Record, RecordError, Snowflake};
use crate::workflow::{RecordKind, RecordKinds};

/// Who changed a status: a Discord user (id and unique username), or the
/// actor text of another path (`import …`, `replay …`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Changer {
    pub discord_id: Option<u64>,
    /// `discord:<id> (<username>)`, or the other path's actor text.
    pub label: Option<String>,
}

/// The actor text of a Discord user for audit trails (`created_by`, status
/// changes): `discord:<id> (<username>)`. Identity is the id; the unique
/// username is kept for people reading the trail (never the display name).
pub fn discord_actor(user_id: u64, username: &str) -> String {
    format!("discord:{user_id} ({username})")
}

impl Changer {
    /// From a record's `created_by` (`discord:<id> (<username>)`,
    /// `discord:<id>`, or another actor text).
    pub fn from_created_by(created_by: Option<&str>) -> Self {
        let discord_id = created_by
            .and_then(|by| by.strip_prefix("discord:"))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|id| id.parse().ok());
        Self {
            discord_id,
            label: created_by.map(str::to_string),
        }
    }
}

/// One kept change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusChange {
    pub record_id: i64,
    pub from_status: Option<String>,
    pub to_status: String,
    pub changed_at: DateTime<Utc>,
    pub changed_by_discord_id: Option<u64>,
    pub changed_by: Option<String>,
    /// The record that made the change (the log entry that closed a report).
    pub via_record_id: Option<i64>,
}

impl StatusChange {
    /// Who, for people: the unique username of a Discord user, else the
    /// actor text.
    pub fn who(&self) -> Option<String> {
        let label = self.changed_by.as_deref()?;
        Some(
            label
                .strip_prefix("discord:")
                .and_then(|rest| rest.split_once(" ("))
                .and_then(|(_, name)| name.strip_suffix(')'))
                .unwrap_or(label)
                .to_string(),
        )
    }
}

/// Keeps one change, in the caller's transaction.
pub(crate) async fn write_change_in(
    conn: &mut PgConnection,
    change: &StatusChange,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO record_status_changes
             (record_id, from_status, to_status, changed_at, changed_by_discord_id, changed_by, via_record_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(change.record_id)
    .bind(&change.from_status)
    .bind(&change.to_status)
    .bind(change.changed_at)
    .bind(change.changed_by_discord_id.map(Snowflake))
    .bind(&change.changed_by)
    .bind(change.via_record_id)
    .execute(&mut *conn)
    .await?;
    tracing::info!(
        record_id = change.record_id,
        from = change.from_status.as_deref().unwrap_or("-"),
        to = %change.to_status,
        via = change.via_record_id,
        "record status changed"
    );
    Ok(())
}

/// Sets the status column and the status field together (the record is
/// locked by the caller).
pub(crate) async fn set_status_in(
    conn: &mut PgConnection,
    kind: &RecordKind,
    record_id: i64,
    status: &str,
) -> Result<(), sqlx::Error> {
    let field = kind.status_field.clone().unwrap_or_default();
    sqlx::query(
        "UPDATE records
         SET status = $2,
             fields = CASE WHEN $3 = '' THEN fields ELSE fields || jsonb_build_object($3::text, $2::text) END
         WHERE id = $1",
    )
    .bind(record_id)
    .bind(status)
    .bind(field)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

type ChangeRow = (
    i64,
    Option<String>,
    String,
    DateTime<Utc>,
    Option<Snowflake>,
    Option<String>,
    Option<i64>,
);

fn from_row(row: ChangeRow) -> StatusChange {
    StatusChange {
        record_id: row.0,
        from_status: row.1,
        to_status: row.2,
        changed_at: row.3,
        changed_by_discord_id: row.4.map(Snowflake::get),
        changed_by: row.5,
        via_record_id: row.6,
    }
}

const CHANGE_COLUMNS: &str = "record_id, from_status, to_status, changed_at, changed_by_discord_id, changed_by, via_record_id";

/// Every change of `record_id`'s status, oldest first.
pub async fn history(
    db: impl sqlx::PgExecutor<'_>,
    record_id: i64,
) -> Result<Vec<StatusChange>, sqlx::Error> {
    let rows: Vec<ChangeRow> = sqlx::query_as(&format!(
        "SELECT {CHANGE_COLUMNS} FROM record_status_changes WHERE record_id = $1 ORDER BY changed_at, id"
    ))
    .bind(record_id)
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().map(from_row).collect())
}

/// The change record `via_record_id` made to another record's status (the
/// report a log entry closed), for its notification.
pub async fn change_made_by(
    pool: &PgPool,
    via_record_id: i64,
) -> Result<Option<StatusChange>, sqlx::Error> {
    let row: Option<ChangeRow> = sqlx::query_as(&format!(
        "SELECT {CHANGE_COLUMNS} FROM record_status_changes WHERE via_record_id = $1 ORDER BY id DESC LIMIT 1"
    ))
    .bind(via_record_id)
    .fetch_optional(pool)
    .await?;
    Ok(row.map(from_row))
}

/// Closing or reopening by hand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    Close,
    Reopen,
}

impl Transition {
    fn verb(self) -> &'static str {
        match self {
            Self::Close => "Closed",
            Self::Reopen => "Reopened",
        }
    }
}

/// Why a close or reopen was refused; each reads as one sentence.
#[derive(Debug, thiserror::Error)]
pub enum StatusError {
    #[error("there is no record #{0}")]
    NotFound(i64),
    #[error("#{id} is a {label}, which has no status to open or close")]
    NoStatus { id: i64, label: String },
    #[error("no record kind declares `resolves_parent` for a {label}, so #{id} cannot be closed with an entry")]
    NoResolvingKind { id: i64, label: String },
    #[error("#{id} is already {status}")]
    AlreadyClosed { id: i64, status: String },
    #[error("#{id} is not closed (it is {status})")]
    NotClosed { id: i64, status: String },
    #[error("the {label} {kind} declares no open status to reopen to")]
    NoOpenStatus { label: String, kind: String },
    #[error(transparent)]
    Record(#[from] RecordError),
}

impl From<sqlx::Error> for StatusError {
    fn from(err: sqlx::Error) -> Self {
        Self::Record(RecordError::Database(err))
    }
}

/// What a close or reopen made.
#[derive(Debug, Clone)]
pub struct Changed {
    /// The log entry written under the record.
    pub entry: Record,
    pub change: StatusChange,
}

/// The kind of entry that resolves (and reopens) records of `parent`.
pub fn resolving_kind<'a>(kinds: &'a RecordKinds, parent: &str) -> Option<&'a RecordKind> {
    kinds
        .iter()
        .find(|k| k.resolves_parent.is_some() && k.parents.iter().any(|p| p == parent))
}

/// The status a reopened record of `kind` takes: its status field's default
/// when that is open, else its first open choice.
fn open_status(kind: &RecordKind) -> Option<String> {
    let field = kind.field(kind.status_field.as_deref()?)?;
    let is_open = |s: &String| !kind.closed_statuses.contains(s);
    field
        .default
        .clone()
        .filter(is_open)
        .or_else(|| match &field.ty {
            crate::workflow::FieldType::Choice { choices } => {
                choices.iter().find(|c| is_open(c)).cloned()
            }
            crate::workflow::FieldType::Text { .. } => None,
        })
}

/// Closes (or reopens) record `entry.parent_id` with the log entry `entry`
/// (its kind and description are set here: the note, or "Closed."), in the
/// caller's transaction. The record is locked first, so two closes of the
/// same report serialise and the second is refused as already closed.
pub async fn change_with_entry_in(
    conn: &mut PgConnection,
    kinds: &RecordKinds,
    target_id: i64,
    transition: Transition,
    mut entry: NewRecord,
) -> Result<Changed, StatusError> {
    let row: Option<(String, Option<String>)> =
        sqlx::query_as("SELECT kind, status FROM records WHERE id = $1 FOR UPDATE")
            .bind(target_id)
            .fetch_optional(&mut *conn)
            .await?;
    let Some((kind_name, status)) = row else {
        return Err(StatusError::NotFound(target_id));
    };
    let Some(kind) = kinds.get(&kind_name).filter(|k| k.tracks_open()) else {
        let label = kinds
            .get(&kind_name)
            .map_or(kind_name.replace('_', " "), |k| k.label.to_lowercase());
        return Err(StatusError::NoStatus {
            id: target_id,
            label,
        });
    };
    let entry_kind =
        resolving_kind(kinds, &kind.name).ok_or_else(|| StatusError::NoResolvingKind {
            id: target_id,
            label: kind.label.to_lowercase(),
        })?;
    let is_open = super::open::is_open(kind, status.as_deref());
    let current = status.clone().unwrap_or_else(|| "unset".into());
    let to = match transition {
        Transition::Close if !is_open => {
            return Err(StatusError::AlreadyClosed {
                id: target_id,
                status: current,
            })
        }
        Transition::Close => entry_kind.resolves_parent.clone().unwrap_or_default(),
        Transition::Reopen if is_open => {
            return Err(StatusError::NotClosed {
                id: target_id,
                status: current,
            })
        }
        Transition::Reopen => open_status(kind).ok_or_else(|| StatusError::NoOpenStatus {
            label: kind.label.clone(),
            kind: kind.name.clone(),
        })?,
    };
    let note = entry.description.trim().to_string();
    entry.description = if note.is_empty() {
        format!("{}.", transition.verb())
    } else {
        format!("{}: {note}", transition.verb())
    };
    entry.kind = entry_kind.name.clone();
    entry.parent_id = Some(target_id);
    let record = create_record_in(conn, kinds, &entry).await?;
    set_status_in(conn, kind, target_id, &to).await?;
    let who = Changer::from_created_by(entry.created_by.as_deref());
    let change = StatusChange {
        record_id: target_id,
        from_status: status,
        to_status: to,
        changed_at: entry.created_at,
        changed_by_discord_id: who.discord_id,
        changed_by: who.label,
        via_record_id: Some(record.id),
    };
    write_change_in(conn, &change).await?;
    Ok(Changed {
        entry: record,
        change,
    })
}

/// Creates `new` and, when `resolves` and its kind declares
/// `resolves_parent`, sets its parent to that status (an open parent only:
/// a fix under an already closed report changes nothing), in the caller's
/// transaction. Returns the record and the change it made.
pub async fn create_resolving_in(
    conn: &mut PgConnection,
    kinds: &RecordKinds,
    new: &NewRecord,
    resolves: bool,
) -> Result<(Record, Option<StatusChange>), RecordError> {
    let record = create_record_in(conn, kinds, new).await?;
    let (Some(parent_id), true) = (record.parent_id, resolves) else {
        return Ok((record, None));
    };
    let Some(to) = kinds
        .get(&record.kind)
        .and_then(|k| k.resolves_parent.clone())
    else {
        return Ok((record, None));
    };
    // The parent is locked by `create_record_in`.
    let (parent_kind, status): (String, Option<String>) =
        sqlx::query_as("SELECT kind, status FROM records WHERE id = $1")
            .bind(parent_id)
            .fetch_one(&mut *conn)
            .await?;
    let Some(parent_kind) = kinds.get(&parent_kind) else {
        return Ok((record, None));
    };
    if !super::open::is_open(parent_kind, status.as_deref()) {
        return Ok((record, None));
    }
    set_status_in(conn, parent_kind, parent_id, &to).await?;
    let who = Changer::from_created_by(new.created_by.as_deref());
    let change = StatusChange {
        record_id: parent_id,
        from_status: status,
        to_status: to,
        changed_at: new.created_at,
        changed_by_discord_id: who.discord_id,
        changed_by: who.label,
        via_record_id: Some(record.id),
    };
    write_change_in(conn, &change).await?;
    Ok((record, Some(change)))
}
