//! Creating and reading records in Postgres. Every rule the kind declares is
//! enforced here, inside the transaction that writes the record, so no path
//! (Discord, slash command, CLI) can bypass them.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgPool};

use crate::domain::Snowflake;

use super::{check_fields, Author, NewRecord, RecordError, RuleViolation};
use crate::workflow::{MachineRule, RecordKind, RecordKinds};

/// A stored record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub id: i64,
    pub kind: String,
    pub machine_id: Option<i64>,
    pub parent_id: Option<i64>,
    pub status: Option<String>,
    pub description: String,
    pub fields: BTreeMap<String, String>,
    pub author_maintainer_id: Option<i64>,
    pub author_name: Option<String>,
    pub occurred_at: DateTime<Utc>,
}

/// A message that already became a record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SavedSource {
    pub message_id: u64,
    pub record_id: i64,
    pub kind: String,
}

/// Creates a record in its own transaction.
pub async fn create_record(
    pool: &PgPool,
    kinds: &RecordKinds,
    new: &NewRecord,
) -> Result<Record, RecordError> {
    let mut tx = pool.begin().await?;
    let record = create_record_in(&mut tx, kinds, new).await?;
    tx.commit().await?;
    Ok(record)
}

/// Creates a record inside the caller's transaction, so callers can create
/// several records (a parent and its children) or other rows atomically.
pub async fn create_record_in(
    conn: &mut PgConnection,
    kinds: &RecordKinds,
    new: &NewRecord,
) -> Result<Record, RecordError> {
    let kind = kinds
        .get(&new.kind)
        .ok_or_else(|| RecordError::UnknownKind {
            kind: new.kind.clone(),
            known: kinds.names().join(", "),
        })?;
    let refuse = |violation| RecordError::Rule {
        kind: kind.name.clone(),
        declared_in: kind.declared_in.clone(),
        violation,
    };

    let fields = check_fields(kind, &new.description, &new.fields).map_err(refuse)?;
    let parent = load_parent(conn, kinds, kind, new.parent_id)
        .await?
        .map_err(refuse)?;
    let machine_id = resolve_machine(kind, new.machine_id, parent.as_ref()).map_err(refuse)?;
    if let Some(id) = machine_id {
        if !exists(
            conn,
            "SELECT EXISTS (SELECT 1 FROM machines WHERE id = $1)",
            id,
        )
        .await?
        {
            return Err(refuse(RuleViolation::MachineNotFound(id)));
        }
    }
    let (maintainer_id, author_name) = author_columns(conn, &new.author).await?.map_err(refuse)?;
    let status = kind
        .status_field
        .as_ref()
        .and_then(|f| fields.get(f))
        .cloned();

    let id: i64 = sqlx::query_scalar(
        "INSERT INTO records (kind, machine_id, parent_id, status, description, fields,
                              author_maintainer_id, author_name, occurred_at, created_via, created_by,
                              created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
         RETURNING id",
    )
    .bind(&kind.name)
    .bind(machine_id)
    .bind(new.parent_id)
    .bind(&status)
    .bind(new.description.trim())
    .bind(sqlx::types::Json(&fields))
    .bind(maintainer_id)
    .bind(&author_name)
    .bind(new.occurred_at)
    .bind(new.created_via)
    .bind(&new.created_by)
    .bind(new.created_at)
    .fetch_one(&mut *conn)
    .await?;

    insert_sources_and_media(conn, id, new).await?;
    if let Some(parent) = &parent {
        super::parent_updates::apply(conn, kinds, kind, &fields, parent, (id, new))
            .await
            .map_err(|err| match err {
                super::parent_updates::Error::Rule(violation) => refuse(violation),
                super::parent_updates::Error::Database(err) => RecordError::Database(err),
            })?;
    }
    // Same transaction: the record and its notification commit together.
    crate::outbox::enqueue_in(
        conn,
        kind,
        id,
        new.created_via,
        maintainer_id,
        new.created_at,
    )
    .await?;

    tracing::info!(record_id = id, kind = %kind.name, via = new.created_via.as_str(), "record created");
    Ok(Record {
        id,
        kind: kind.name.clone(),
        machine_id,
        parent_id: new.parent_id,
        status,
        description: new.description.trim().to_string(),
        fields,
        author_maintainer_id: maintainer_id,
        author_name,
        occurred_at: new.occurred_at,
    })
}

async fn exists(
    conn: &mut PgConnection,
    query: &'static str,
    id: i64,
) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar(query)
        .bind(id)
        .fetch_one(&mut *conn)
        .await
}

/// The author's columns: a maintainer that exists, or a name that is not
/// blank.
async fn author_columns(
    conn: &mut PgConnection,
    author: &Author,
) -> Result<Result<(Option<i64>, Option<String>), RuleViolation>, sqlx::Error> {
    Ok(match author {
        Author::Maintainer(id) => {
            if exists(
                conn,
                "SELECT EXISTS (SELECT 1 FROM maintainers WHERE id = $1)",
                *id,
            )
            .await?
            {
                Ok((Some(*id), None))
            } else {
                Err(RuleViolation::MaintainerNotFound(*id))
            }
        }
        Author::Name(name) if name.trim().is_empty() => Err(RuleViolation::AuthorNameEmpty),
        Author::Name(name) => Ok((None, Some(name.trim().to_string()))),
    })
}

/// The messages the record came from and the photos they carried.
async fn insert_sources_and_media(
    conn: &mut PgConnection,
    id: i64,
    new: &NewRecord,
) -> Result<(), sqlx::Error> {
    for source in &new.sources {
        // The same message listed twice is one source, not an error.
        sqlx::query(
            "INSERT INTO record_sources (record_id, guild_id, channel_id, message_id)
             VALUES ($1, $2, $3, $4) ON CONFLICT (record_id, message_id) DO NOTHING",
        )
        .bind(id)
        .bind(source.guild_id.map(Snowflake))
        .bind(Snowflake(source.channel_id))
        .bind(Snowflake(source.message_id))
        .execute(&mut *conn)
        .await?;
    }

    for media in &new.media {
        sqlx::query(
            "INSERT INTO record_media (record_id, url, filename, content_type, size_bytes, copy_due_at)
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (record_id, url) DO NOTHING",
        )
        .bind(id)
        .bind(&media.url)
        .bind(&media.filename)
        .bind(&media.content_type)
        .bind(media.size_bytes)
        .bind(new.created_at)
        .execute(&mut *conn)
        .await?;
    }

    Ok(())
}

pub(super) struct Parent {
    pub(super) id: i64,
    pub(super) kind: String,
    machine_id: Option<i64>,
    pub(super) status: Option<String>,
}

/// Loads (and locks, since children may update it) the parent record and
/// checks it is of an allowed kind.
async fn load_parent(
    conn: &mut PgConnection,
    kinds: &RecordKinds,
    kind: &RecordKind,
    parent_id: Option<i64>,
) -> Result<Result<Option<Parent>, RuleViolation>, RecordError> {
    let Some(parent_id) = parent_id else {
        if kind.parent_required {
            return Ok(Err(RuleViolation::ParentRequired {
                allowed: kind.parents.join(", "),
            }));
        }
        return Ok(Ok(None));
    };
    if kind.parents.is_empty() {
        return Ok(Err(RuleViolation::NoParentsAllowed));
    }
    let row: Option<(String, Option<i64>, Option<String>)> =
        sqlx::query_as("SELECT kind, machine_id, status FROM records WHERE id = $1 FOR UPDATE")
            .bind(parent_id)
            .fetch_optional(&mut *conn)
            .await?;
    let Some((parent_kind, machine_id, status)) = row else {
        return Ok(Err(RuleViolation::ParentNotFound(parent_id)));
    };
    if !kind.parents.contains(&parent_kind) || kinds.get(&parent_kind).is_none() {
        return Ok(Err(RuleViolation::ParentKindNotAllowed {
            id: parent_id,
            parent_kind,
            allowed: kind.parents.join(", "),
        }));
    }
    Ok(Ok(Some(Parent {
        id: parent_id,
        kind: parent_kind,
        machine_id,
        status,
    })))
}

fn resolve_machine(
    kind: &RecordKind,
    machine_id: Option<i64>,
    parent: Option<&Parent>,
) -> Result<Option<i64>, RuleViolation> {
    let inherited = parent
        .filter(|_| kind.inherit_machine)
        .and_then(|p| p.machine_id);
    let machine = match (machine_id, inherited) {
        (Some(own), Some(parent_machine)) if own != parent_machine => {
            return Err(RuleViolation::MachineDiffersFromParent {
                machine: own,
                parent_machine,
            })
        }
        (Some(own), _) => Some(own),
        (None, inherited) => inherited,
    };
    if machine.is_none() && kind.machine == MachineRule::Required {
        return Err(RuleViolation::MachineRequired);
    }
    Ok(machine)
}

/// Reads one record.
pub async fn get_record(pool: &PgPool, id: i64) -> Result<Option<Record>, sqlx::Error> {
    let row = sqlx::query_as::<_, RecordRow>(
        "SELECT id, kind, machine_id, parent_id, status, description, fields,
                author_maintainer_id, author_name, occurred_at
         FROM records WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(pool)
    .await?;
    Ok(row.map(Into::into))
}

/// Which of `message_ids` already became records, and which records.
pub async fn records_for_messages(
    pool: &PgPool,
    message_ids: &[u64],
) -> Result<Vec<SavedSource>, sqlx::Error> {
    let ids: Vec<Snowflake> = message_ids.iter().copied().map(Snowflake).collect();
    let rows: Vec<(Snowflake, i64, String)> = sqlx::query_as(
        "SELECT s.message_id, r.id, r.kind FROM record_sources s
         JOIN records r ON r.id = s.record_id
         WHERE s.message_id = ANY($1) ORDER BY s.message_id, r.id",
    )
    .bind(&ids)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(message_id, record_id, kind)| SavedSource {
            message_id: message_id.get(),
            record_id,
            kind,
        })
        .collect())
}

#[derive(sqlx::FromRow)]
struct RecordRow {
    id: i64,
    kind: String,
    machine_id: Option<i64>,
    parent_id: Option<i64>,
    status: Option<String>,
    description: String,
    fields: sqlx::types::Json<BTreeMap<String, String>>,
    author_maintainer_id: Option<i64>,
    author_name: Option<String>,
    occurred_at: DateTime<Utc>,
}

impl From<RecordRow> for Record {
    fn from(row: RecordRow) -> Self {
        Self {
            id: row.id,
            kind: row.kind,
            machine_id: row.machine_id,
            parent_id: row.parent_id,
            status: row.status,
            description: row.description,
            fields: row.fields.0,
            author_maintainer_id: row.author_maintainer_id,
            author_name: row.author_name,
            occurred_at: row.occurred_at,
        }
    }
}
