//! Reading the database into a [`Backup`]: one query per table, joined here
//! by record id, in one read-only snapshot so the parts agree.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use sqlx::{Connection as _, PgPool};

use super::{
    AuthorOut, Backup, DiscordLinkOut, ImportedOut, MachineOut, MaintainerOut, MediaOut, RecordOut,
    SourceOut, StatusChangeOut, FORMAT, VERSION,
};
use crate::domain::Snowflake;

type MachineRow = (
    String,
    String,
    Option<String>,
    Vec<String>,
    Option<String>,
    Option<String>,
    Option<i32>,
    Option<String>,
    String,
    Option<String>,
);

type MaintainerRow = (
    String,
    Option<String>,
    bool,
    Option<Snowflake>,
    Option<String>,
    Option<String>,
);

#[derive(sqlx::FromRow)]
struct RecordRow {
    id: i64,
    kind: String,
    machine: Option<String>,
    parent_id: Option<i64>,
    status: Option<String>,
    description: String,
    fields: sqlx::types::Json<BTreeMap<String, String>>,
    maintainer: Option<String>,
    author_name: Option<String>,
    occurred_at: DateTime<Utc>,
    created_at: DateTime<Utc>,
    created_via: String,
    created_by: Option<String>,
}

#[derive(sqlx::FromRow)]
struct MediaRow {
    id: i64,
    record_id: i64,
    url: String,
    filename: String,
    content_type: Option<String>,
    size_bytes: Option<i64>,
    copy_state: String,
    stored_type: Option<String>,
    stored_bytes: Option<i64>,
    storage: Option<String>,
}

/// Everything `import records` needs to rebuild the records, as of one
/// snapshot of the database; `now` is the clock's reading.
type StatusChangeRow = (
    i64,
    Option<String>,
    String,
    DateTime<Utc>,
    Option<Snowflake>,
    Option<String>,
    Option<i64>,
);

pub async fn export(pool: &PgPool, now: DateTime<Utc>) -> Result<Backup, sqlx::Error> {
    let mut conn = pool.acquire().await?;
    let mut tx = conn.begin().await?;
    sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        .execute(&mut *tx)
        .await?;

    let machines: Vec<MachineRow> = sqlx::query_as(
        "SELECT slug, name, short_name, aliases, model_name, manufacturer, year, serial_number,
                status, location
         FROM machines ORDER BY id",
    )
    .fetch_all(&mut *tx)
    .await?;
    let maintainers: Vec<MaintainerRow> = sqlx::query_as(
        "SELECT m.username, m.display_name, m.is_admin,
                l.discord_user_id, l.discord_username, l.method
         FROM maintainers m LEFT JOIN discord_user_links l ON l.maintainer_id = m.id
         ORDER BY m.id",
    )
    .fetch_all(&mut *tx)
    .await?;
    let records: Vec<RecordRow> = sqlx::query_as(
        "SELECT r.id, r.kind, m.slug AS machine, r.parent_id, r.status, r.description, r.fields,
                a.username AS maintainer, r.author_name, r.occurred_at, r.created_at,
                r.created_via, r.created_by
         FROM records r
         LEFT JOIN machines m ON m.id = r.machine_id
         LEFT JOIN maintainers a ON a.id = r.author_maintainer_id
         ORDER BY r.id",
    )
    .fetch_all(&mut *tx)
    .await?;

    let mut sources: HashMap<i64, Vec<SourceOut>> = HashMap::new();
    let rows: Vec<(i64, Option<Snowflake>, Snowflake, Snowflake)> = sqlx::query_as(
        "SELECT record_id, guild_id, channel_id, message_id FROM record_sources
         ORDER BY record_id, message_id",
    )
    .fetch_all(&mut *tx)
    .await?;
    for (record_id, guild, channel, message) in rows {
        sources.entry(record_id).or_default().push(SourceOut {
            guild_id: guild.map(|id| id.get().to_string()),
            channel_id: channel.get().to_string(),
            message_id: message.get().to_string(),
        });
    }

    let mut media: HashMap<i64, Vec<MediaOut>> = HashMap::new();
    let rows: Vec<MediaRow> = sqlx::query_as(
        "SELECT id, record_id, url, filename, content_type, size_bytes, copy_state,
                stored_type, stored_bytes, storage
         FROM record_media ORDER BY record_id, id",
    )
    .fetch_all(&mut *tx)
    .await?;
    for row in rows {
        let stored_key = row.storage.as_ref().map(|_| format!("media/{}", row.id));
        media.entry(row.record_id).or_default().push(MediaOut {
            url: row.url,
            filename: row.filename,
            content_type: row.content_type,
            size_bytes: row.size_bytes,
            copy_state: row.copy_state,
            stored_type: row.stored_type,
            stored_bytes: row.stored_bytes,
            storage: row.storage,
            stored_key,
        });
    }

    let mut imported: HashMap<i64, ImportedOut> = HashMap::new();
    let rows: Vec<(i64, String, String, serde_json::Value)> = sqlx::query_as(
        "SELECT record_id, encode(key, 'hex'), source, original FROM record_imports",
    )
    .fetch_all(&mut *tx)
    .await?;
    for (record_id, key, source, original) in rows {
        imported.insert(
            record_id,
            ImportedOut {
                key,
                source,
                original,
            },
        );
    }
    let mut history: HashMap<i64, Vec<StatusChangeOut>> = HashMap::new();
    let rows: Vec<StatusChangeRow> = sqlx::query_as(
        "SELECT record_id, from_status, to_status, changed_at, changed_by_discord_id,
                changed_by, via_record_id
         FROM record_status_changes ORDER BY record_id, changed_at, id",
    )
    .fetch_all(&mut *tx)
    .await?;
    for (record_id, from_status, to_status, changed_at, discord_id, changed_by, via) in rows {
        history.entry(record_id).or_default().push(StatusChangeOut {
            from_status,
            to_status,
            changed_at,
            changed_by_discord_id: discord_id.map(|id| id.get().to_string()),
            changed_by,
            via,
        });
    }
    tx.commit().await?;

    let records = records
        .into_iter()
        .map(|row| {
            let author = match (row.maintainer, row.author_name) {
                (Some(username), _) => AuthorOut::Maintainer(username),
                (None, name) => AuthorOut::Name(name.unwrap_or_default()),
            };
            let record = RecordOut {
                id: row.id,
                kind: row.kind,
                machine: row.machine,
                parent: row.parent_id,
                status: row.status,
                description: row.description,
                fields: row.fields.0,
                author,
                occurred_at: row.occurred_at,
                created_at: row.created_at,
                created_via: row.created_via,
                created_by: row.created_by,
                sources: sources.remove(&row.id).unwrap_or_default(),
                media: media.remove(&row.id).unwrap_or_default(),
                imported: imported.remove(&row.id),
                status_history: history.remove(&row.id).unwrap_or_default(),
            };
            serde_json::to_value(record).map_err(|err| sqlx::Error::Decode(Box::new(err)))
        })
        .collect::<Result<Vec<_>, _>>()?;

    Ok(Backup {
        format: FORMAT.to_string(),
        version: VERSION,
        exported_at: now,
        machines: machines
            .into_iter()
            .map(
                |(
                    slug,
                    name,
                    short_name,
                    aliases,
                    model_name,
                    manufacturer,
                    year,
                    serial_number,
                    status,
                    location,
                )| MachineOut {
                    slug,
                    name,
                    short_name,
                    aliases,
                    model_name,
                    manufacturer,
                    year,
                    serial_number,
                    status,
                    location,
                },
            )
            .collect(),
        maintainers: maintainers
            .into_iter()
            .map(
                |(username, display_name, is_admin, user_id, discord_username, method)| {
                    MaintainerOut {
                        username,
                        display_name,
                        is_admin,
                        discord: user_id.map(|id| DiscordLinkOut {
                            user_id: id.get().to_string(),
                            username: discord_username,
                            method: method.unwrap_or_else(super::admin),
                        }),
                    }
                },
            )
            .collect(),
        records,
    })
}
