//! Reading a `flipfix-bot export` (see `records::backup`) into entries the
//! importer stores, and restoring the catalog they point at. A file that is
//! not valid JSON, or of a newer version, stops the import with
//! file:line:column; a record that cannot be read is refused alone, with
//! its place (`records[i]`).

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;
use sqlx::PgPool;

use super::export::{Entry, Place, Read, Unreadable};
use crate::catalog::ImportError;
use crate::records::backup::{AuthorOut, Backup, MachineOut, MaintainerOut, MediaOut, RecordOut};
use crate::records::backup::{FORMAT, VERSION};
use crate::records::SourceMessage;

/// What an exported record needs beyond what the original system's entries
/// carry: it is restored as it was, not re-created as history.
#[derive(Debug, Clone)]
pub struct Restore {
    /// Its id in the exported database, which `parent` refers to.
    pub export_id: i64,
    pub parent: Option<i64>,
    /// The author is a name, not a maintainer's username.
    pub author_is_name: bool,
    pub status: Option<String>,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub created_via: String,
    pub created_by: Option<String>,
    pub sources: Vec<SourceMessage>,
    pub media: Vec<MediaOut>,
    /// `record_imports` as it was (hex key, source, original), when the
    /// record came from the original system's export.
    pub imported: Option<(String, String, Value)>,
    /// Its status history, restored once every record is in (a change
    /// points at the record that made it, often a later one).
    pub status_history: Vec<crate::records::backup::StatusChangeOut>,
}

/// A read export: the catalog, then the records in id order.
pub(crate) struct ReadBackup {
    pub machines: Vec<MachineOut>,
    pub maintainers: Vec<MaintainerOut>,
    pub records: Vec<Read>,
}

#[derive(Deserialize)]
struct Probe {
    #[serde(default)]
    format: Option<Value>,
}

/// `Some` when `json` says it is a `flipfix-bot export`; `None` for anything
/// else (the original system's exports are read by `export::read_export`,
/// which also reports JSON that does not parse).
pub(crate) fn read_backup(file: &str, json: &str) -> Result<Option<ReadBackup>, ImportError> {
    let format_error = |line, column, message: String| ImportError::Format {
        source_name: file.to_string(),
        format: FORMAT,
        line,
        column,
        message,
    };
    let Ok(probe) = serde_json::from_str::<Probe>(json) else {
        return Ok(None);
    };
    match probe.format {
        None => return Ok(None),
        Some(Value::String(format)) if format == FORMAT => {}
        Some(other) => {
            return Err(format_error(
                1,
                1,
                format!("`format` is {other}, not \"{FORMAT}\""),
            ))
        }
    }
    let backup: Backup = serde_json::from_str(json)
        .map_err(|err| format_error(err.line(), err.column(), err.to_string()))?;
    if backup.version > VERSION {
        return Err(format_error(
            1,
            1,
            format!(
                "version {} was written by a newer flipfix-bot (this one reads up to {VERSION}); upgrade first",
                backup.version
            ),
        ));
    }
    let records = backup
        .records
        .into_iter()
        .enumerate()
        .map(|(i, value)| record(file, i, value))
        .collect();
    Ok(Some(ReadBackup {
        machines: backup.machines,
        maintainers: backup.maintainers,
        records,
    }))
}

fn record(file: &str, index: usize, value: Value) -> Read {
    let label = value
        .get("id")
        .map(|id| format!("record #{id}"))
        .unwrap_or_default();
    let place = Place {
        file: file.to_string(),
        path: format!("records[{index}]"),
        label,
    };
    let refuse = |reason: String| Unreadable {
        place: place.clone(),
        reason,
        children: 0,
    };
    let parsed =
        RecordOut::deserialize(&value).map_err(|err| refuse(format!("cannot be read: {err}")))?;
    let mut sources = Vec::with_capacity(parsed.sources.len());
    for (i, source) in parsed.sources.iter().enumerate() {
        let id = |name: &str, raw: &str| {
            raw.trim().parse::<u64>().map_err(|_| {
                refuse(format!(
                    "`sources[{i}].{name}` is `{raw}`, not a Discord id (digits, as a string)"
                ))
            })
        };
        sources.push(SourceMessage {
            guild_id: match &source.guild_id {
                Some(raw) => Some(id("guild_id", raw)?),
                None => None,
            },
            channel_id: id("channel_id", &source.channel_id)?,
            message_id: id("message_id", &source.message_id)?,
        });
    }
    let (author, author_is_name) = match &parsed.author {
        AuthorOut::Maintainer(username) => (username.clone(), false),
        AuthorOut::Name(name) => (name.clone(), true),
    };
    if let Some(imported) = &parsed.imported {
        let key = &imported.key;
        if key.is_empty() || key.len() % 2 != 0 || !key.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(refuse(format!("`imported.key` is `{key}`, not hex")));
        }
    }
    let imported = parsed
        .imported
        .map(|imported| (imported.key, imported.source, imported.original));
    Ok(Entry {
        identity: format!("export#{}", parsed.id),
        kind: parsed.kind,
        machine: parsed.machine,
        description: parsed.description,
        fields: parsed.fields,
        author,
        occurred_at: parsed.occurred_at,
        media: Vec::new(),
        original: value,
        children: Vec::new(),
        restore: Some(Box::new(Restore {
            export_id: parsed.id,
            parent: parsed.parent,
            author_is_name,
            status: parsed.status,
            created_at: parsed.created_at,
            created_via: parsed.created_via,
            created_by: parsed.created_by,
            sources,
            media: parsed.media,
            imported,
            status_history: parsed.status_history,
        })),
        place,
    })
}

/// What restoring the catalog did.
#[derive(Debug, Default)]
pub(crate) struct CatalogRestored {
    pub machines_added: Vec<String>,
    pub maintainers_added: Vec<String>,
    pub notes: Vec<String>,
}

/// Adds the machines and maintainers (with their Discord links) the
/// database lacks; ones it has, by slug or name, are left as they are.
pub(crate) async fn restore_catalog(
    pool: &PgPool,
    file: &str,
    machines: &[MachineOut],
    maintainers: &[MaintainerOut],
) -> Result<CatalogRestored, ImportError> {
    let mut restored = CatalogRestored::default();
    let mut tx = pool.begin().await?;
    for machine in machines {
        let added = sqlx::query(
            "INSERT INTO machines (slug, name, short_name, aliases, model_name, manufacturer,
                                   year, serial_number, status, location)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT DO NOTHING",
        )
        .bind(&machine.slug)
        .bind(&machine.name)
        .bind(&machine.short_name)
        .bind(&machine.aliases)
        .bind(&machine.model_name)
        .bind(&machine.manufacturer)
        .bind(machine.year)
        .bind(&machine.serial_number)
        .bind(&machine.status)
        .bind(&machine.location)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if added > 0 {
            restored.machines_added.push(machine.name.clone());
        }
    }
    for (i, maintainer) in maintainers.iter().enumerate() {
        let added = sqlx::query(
            "INSERT INTO maintainers (username, display_name, is_admin)
             VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
        )
        .bind(&maintainer.username)
        .bind(&maintainer.display_name)
        .bind(maintainer.is_admin)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if added > 0 {
            restored.maintainers_added.push(maintainer.username.clone());
        }
        let Some(link) = &maintainer.discord else {
            continue;
        };
        // A link the database has (this user, or this maintainer) wins.
        let Ok(user_id) = link.user_id.trim().parse::<u64>() else {
            restored.notes.push(format!(
                "{file} maintainers[{i}].discord.user_id is `{}`, not a Discord id: {} is not linked",
                link.user_id, maintainer.username
            ));
            continue;
        };
        sqlx::query(
            "INSERT INTO discord_user_links (discord_user_id, maintainer_id, discord_username,
                                             linked_by, method)
             SELECT $1, id, $2, 'import', $3 FROM maintainers WHERE lower(username) = lower($4)
             ON CONFLICT DO NOTHING",
        )
        .bind(crate::domain::Snowflake(user_id))
        .bind(&link.username)
        .bind(&link.method)
        .bind(&maintainer.username)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(restored)
}

/// The exported fields and status of a record, to put back on a parent
/// whose restored children updated it on the way.
pub(crate) type Final = (BTreeMap<String, String>, Option<String>);
