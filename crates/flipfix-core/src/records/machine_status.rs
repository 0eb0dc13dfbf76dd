//! Machines' operational status: the declared rules applied when a record
//! is written, changes by hand (`/machine status`), and the question asked
//! when the last record that broke a machine closes. Every change is kept
//! (who, when by the app's clock, from, to, which record caused it) and
//! writes a log entry "Status changed: Good → Broken" on the machine, which
//! is notified through the outbox like any record.

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};

use super::status::Changer;
use super::{store::create_plain_in, CreatedVia, NewRecord, Record, RecordError};
use crate::domain::Author;
use crate::workflow::RecordKinds;

/// One kept change of a machine's status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MachineStatusChange {
    pub machine_id: i64,
    pub from_status: String,
    pub to_status: String,
    pub changed_at: DateTime<Utc>,
    pub changed_by: Option<String>,
    /// The record that caused the change (an unplayable report).
    pub via_record_id: Option<i64>,
    /// The "Status changed: …" log entry.
    pub entry_record_id: Option<i64>,
}

/// Who and how a change is made.
#[derive(Debug, Clone)]
pub struct StatusCause {
    pub author: Author,
    pub created_by: Option<String>,
    pub created_via: CreatedVia,
    pub at: DateTime<Utc>,
    pub via_record_id: Option<i64>,
    pub note: Option<String>,
}

/// Why a change by hand was refused; one sentence each.
#[derive(Debug, thiserror::Error)]
pub enum MachineStatusError {
    #[error("`{given}` is not a machine status (declared: {declared})")]
    UnknownStatus { given: String, declared: String },
    #[error("there is no machine #{0}")]
    NoMachine(i64),
    #[error("{machine} is already {label}")]
    Unchanged { machine: String, label: String },
    #[error("no record kind can hold the status log entry (one that may be written on a machine without a parent)")]
    NoLogKind,
    #[error(transparent)]
    Record(#[from] RecordError),
}

impl From<sqlx::Error> for MachineStatusError {
    fn from(err: sqlx::Error) -> Self {
        Self::Record(RecordError::Database(err))
    }
}

/// The kind the "Status changed" entry is written as: the kind that resolves
/// parents (the log entry), which may also stand alone on a machine.
fn log_kind(kinds: &RecordKinds) -> Option<&str> {
    kinds
        .iter()
        .find(|k| k.resolves_parent.is_some() && !k.parent_required)
        .map(|k| k.name.as_str())
}

/// Sets `machine_id` to `to` in the caller's transaction, keeping the
/// change and writing its log entry. `Ok(None)` when it already is `to`.
pub async fn set_status_in(
    conn: &mut PgConnection,
    kinds: &RecordKinds,
    machine_id: i64,
    to: &str,
    cause: &StatusCause,
) -> Result<Option<(MachineStatusChange, Record)>, MachineStatusError> {
    let statuses = kinds.machine_statuses();
    if statuses.get(to).is_none() {
        return Err(MachineStatusError::UnknownStatus {
            given: to.to_string(),
            declared: statuses.names().join(", "),
        });
    }
    let row: Option<(String,)> =
        sqlx::query_as("SELECT status FROM machines WHERE id = $1 FOR UPDATE")
            .bind(machine_id)
            .fetch_optional(&mut *conn)
            .await?;
    let Some((from,)) = row else {
        return Err(MachineStatusError::NoMachine(machine_id));
    };
    if from == to {
        return Ok(None);
    }
    let kind = log_kind(kinds).ok_or(MachineStatusError::NoLogKind)?;
    let mut description = format!(
        "Status changed: {} → {}",
        statuses.label(&from),
        statuses.label(to)
    );
    if let Some(note) = cause
        .note
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty())
    {
        description.push_str(&format!(" ({note})"));
    }
    let entry = create_plain_in(
        conn,
        kinds,
        &NewRecord {
            kind: kind.to_string(),
            machine_id: Some(machine_id),
            parent_id: None,
            description,
            fields: Default::default(),
            author: cause.author.clone(),
            occurred_at: cause.at,
            created_at: cause.at,
            created_via: cause.created_via,
            created_by: cause.created_by.clone(),
            sources: Vec::new(),
            media: Vec::new(),
        },
    )
    .await?;
    sqlx::query("UPDATE machines SET status = $2, updated_at = now() WHERE id = $1")
        .bind(machine_id)
        .bind(to)
        .execute(&mut *conn)
        .await?;
    let who = Changer::from_created_by(cause.created_by.as_deref());
    sqlx::query(
        "INSERT INTO machine_status_changes
             (machine_id, from_status, to_status, changed_at, changed_by_discord_id, changed_by,
              via_record_id, entry_record_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(machine_id)
    .bind(&from)
    .bind(to)
    .bind(cause.at)
    .bind(who.discord_id.map(super::Snowflake))
    .bind(&who.label)
    .bind(cause.via_record_id)
    .bind(entry.id)
    .execute(&mut *conn)
    .await?;
    tracing::info!(machine_id, from = %from, to, via = cause.via_record_id, "machine status changed");
    Ok(Some((
        MachineStatusChange {
            machine_id,
            from_status: from,
            to_status: to.to_string(),
            changed_at: cause.at,
            changed_by: who.label,
            via_record_id: cause.via_record_id,
            entry_record_id: Some(entry.id),
        },
        entry,
    )))
}

/// Applies the declared rules to a record just written: an open record that
/// matches a rule sets its machine (once; a machine already in that status
/// is left alone). Rules never restore a machine by themselves.
pub(crate) async fn apply_rules_in(
    conn: &mut PgConnection,
    kinds: &RecordKinds,
    record: &Record,
    new: &NewRecord,
) -> Result<(), RecordError> {
    let Some(machine_id) = record.machine_id else {
        return Ok(());
    };
    let Some(kind) = kinds.get(&record.kind) else {
        return Ok(());
    };
    if !super::open::is_open(kind, record.status.as_deref()) {
        return Ok(());
    }
    let rules = &kinds.machine_statuses().rules;
    let Some(rule) = rules
        .iter()
        .find(|r| r.matches(&record.kind, &record.fields))
    else {
        return Ok(());
    };
    let cause = StatusCause {
        author: new.author.clone(),
        created_by: new.created_by.clone(),
        created_via: new.created_via,
        at: new.created_at,
        via_record_id: Some(record.id),
        note: None,
    };
    match set_status_in(conn, kinds, machine_id, &rule.sets, &cause).await {
        Ok(_) => Ok(()),
        Err(MachineStatusError::Record(err)) => Err(err),
        // Declared rules are checked at load; a missing log kind only
        // means the status cannot be written with an entry.
        Err(err) => {
            tracing::warn!(machine_id, error = %err, "status rule not applied");
            Ok(())
        }
    }
}

/// "Set Gorgar back to Good?": asked after a record closes, when its machine
/// is in a status a rule sets and no open record that matches such a rule is
/// left on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestoreQuestion {
    pub machine_id: i64,
    pub machine_name: String,
    pub from_status: String,
    pub to_status: String,
    pub to_label: String,
}

impl RestoreQuestion {
    pub fn text(&self) -> String {
        format!("Set {} back to {}?", self.machine_name, self.to_label)
    }
}

/// The question to ask about `machine_id`, if any.
pub async fn restore_question(
    pool: &PgPool,
    kinds: &RecordKinds,
    machine_id: i64,
) -> Result<Option<RestoreQuestion>, sqlx::Error> {
    let row: Option<(String, String)> =
        sqlx::query_as("SELECT name, status FROM machines WHERE id = $1")
            .bind(machine_id)
            .fetch_optional(pool)
            .await?;
    let Some((machine_name, status)) = row else {
        return Ok(None);
    };
    let statuses = kinds.machine_statuses();
    let rules: Vec<_> = statuses.rules.iter().filter(|r| r.sets == status).collect();
    let Some(first) = rules.first() else {
        return Ok(None);
    };
    for rule in &rules {
        let Some(kind) = kinds.get(&rule.kind) else {
            continue;
        };
        let still_open: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM records
                 WHERE kind = $1 AND machine_id = $2 AND fields ->> $3 = $4
                   AND (status IS NULL OR NOT (status = ANY($5))))",
        )
        .bind(&kind.name)
        .bind(machine_id)
        .bind(&rule.field)
        .bind(&rule.equals)
        .bind(&kind.closed_statuses)
        .fetch_one(pool)
        .await?;
        if still_open {
            return Ok(None);
        }
    }
    Ok(Some(RestoreQuestion {
        machine_id,
        machine_name,
        from_status: status,
        to_status: first.restore_to.clone(),
        to_label: statuses.label(&first.restore_to),
    }))
}

type ChangeRow = (
    i64,
    String,
    String,
    DateTime<Utc>,
    Option<String>,
    Option<i64>,
    Option<i64>,
);

/// Every change of `machine_id`'s status, oldest first.
pub async fn history(
    pool: &PgPool,
    machine_id: i64,
) -> Result<Vec<MachineStatusChange>, sqlx::Error> {
    let rows: Vec<ChangeRow> =
        sqlx::query_as(
            "SELECT machine_id, from_status, to_status, changed_at, changed_by, via_record_id, entry_record_id
             FROM machine_status_changes WHERE machine_id = $1 ORDER BY changed_at, id",
        )
        .bind(machine_id)
        .fetch_all(pool)
        .await?;
    Ok(rows
        .into_iter()
        .map(|r| MachineStatusChange {
            machine_id: r.0,
            from_status: r.1,
            to_status: r.2,
            changed_at: r.3,
            changed_by: r.4,
            via_record_id: r.5,
            entry_record_id: r.6,
        })
        .collect())
}

/// What [`set_by_hand`] did.
#[derive(Debug, Clone)]
pub enum SetOnce {
    Changed(Box<(MachineStatusChange, Record)>),
    /// An earlier delivery of the same interaction wrote entry `0`.
    Existing(i64),
}

/// Sets a machine's status by hand (`/machine status`, the "Set Gorgar back
/// to Good?" button), in its own transaction, once per interaction. Refuses
/// an undeclared status and an unchanged one.
pub async fn set_by_hand(
    pool: &PgPool,
    kinds: &RecordKinds,
    interaction_id: u64,
    machine_id: i64,
    to: &str,
    cause: &StatusCause,
) -> Result<SetOnce, MachineStatusError> {
    let mut tx = pool.begin().await?;
    if let Some(entry) = super::interactions::lock_interaction(&mut tx, interaction_id).await? {
        tx.rollback().await?;
        return Ok(SetOnce::Existing(entry));
    }
    let changed = set_status_in(&mut tx, kinds, machine_id, to, cause).await?;
    let Some(changed) = changed else {
        let name: String = sqlx::query_scalar("SELECT name FROM machines WHERE id = $1")
            .bind(machine_id)
            .fetch_one(&mut *tx)
            .await?;
        return Err(MachineStatusError::Unchanged {
            machine: name,
            label: kinds.machine_statuses().label(to),
        });
    };
    super::interactions::remember_interaction(&mut tx, interaction_id, changed.1.id).await?;
    tx.commit().await?;
    Ok(SetOnce::Changed(Box::new(changed)))
}
