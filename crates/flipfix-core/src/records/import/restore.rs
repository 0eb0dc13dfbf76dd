//! Restoring a `flipfix-bot export`: the catalog, then each record (found
//! when the database already has it, else created through the store), and
//! the database side of it: finding it when the
//! database already has it (so a second import adds nothing), and putting
//! back what the store does not set (how and when it was created, the
//! state of its photos, the original system's identity).

use sqlx::{Connection as _, PgConnection};

use super::backup::{Final, ReadBackup, Restore};
use super::export::{Entry, Read, Unreadable};
use super::write::{load_machines, Importer, Outcome, Restored, IMPORT_LOCK};
use crate::catalog::ImportError;
use crate::domain::Snowflake;
use crate::records::{self, Author, CreatedVia, Media, NewRecord, RecordError};

impl Importer<'_> {
    /// Imports a `flipfix-bot export`: the catalog it needs, then each
    /// record in id order (a parent before its children), each in its own
    /// transaction.
    pub(crate) async fn import_backup(
        &mut self,
        file: &str,
        backup: ReadBackup,
    ) -> Result<(), ImportError> {
        let catalog =
            super::backup::restore_catalog(self.pool, file, &backup.machines, &backup.maintainers)
                .await?;
        self.report.machines_added.extend(catalog.machines_added);
        self.report
            .maintainers_added
            .extend(catalog.maintainers_added);
        self.report.notes.extend(catalog.notes);
        let maintainers: Vec<(String, i64)> =
            sqlx::query_as("SELECT lower(username), id FROM maintainers")
                .fetch_all(self.pool)
                .await?;
        self.maintainers = maintainers.into_iter().collect();
        self.machines = load_machines(&mut *self.pool.acquire().await?).await?;
        self.machine_names = backup
            .machines
            .into_iter()
            .map(|machine| (machine.slug, machine.name))
            .collect();
        let mut histories = Vec::new();
        for read in backup.records {
            if let Some(restore) = read
                .as_ref()
                .ok()
                .and_then(|entry| entry.restore.as_deref())
            {
                histories.push((restore.export_id, restore.status_history.clone()));
            }
            self.import_restored(read).await?;
        }
        super::history::restore_histories(self.pool, &self.restored, &histories).await?;
        Ok(())
    }

    async fn import_restored(&mut self, read: Read) -> Result<(), ImportError> {
        let entry = match read {
            Ok(entry) => entry,
            Err(unreadable) => {
                self.leave(unreadable);
                return Ok(());
            }
        };
        let Some(restore) = entry.restore.as_deref() else {
            return self.import_top(Ok(entry)).await;
        };
        let (export_id, exported) = (
            restore.export_id,
            (entry.fields.clone(), restore.status.clone()),
        );
        let parent = match restore.parent {
            None => None,
            Some(parent) => match self.restored.get(&parent) {
                Some(restored) => Some((restored.id, restored.now, restored.exported.clone())),
                None => {
                    self.leave(Unreadable {
                        place: entry.place.clone(),
                        reason: format!(
                            "its parent, record #{parent}, is not imported (left out, or not listed before it)"
                        ),
                        children: 0,
                    });
                    return Ok(());
                }
            },
        };
        let mut tx = self.pool.begin().await?;
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(IMPORT_LOCK)
            .execute(&mut *tx)
            .await?;
        let outcome = self
            .import_one(&mut tx, &entry, parent.as_ref().map(|p| p.0))
            .await?;
        match outcome {
            Outcome::Left(reason) => self.leave(Unreadable {
                place: entry.place.clone(),
                reason,
                children: 0,
            }),
            Outcome::Already(id) => {
                self.restored.insert(
                    export_id,
                    Restored {
                        id,
                        now: false,
                        exported,
                    },
                );
            }
            Outcome::Imported(id) => {
                if let Some((parent_id, true, parent_exported)) = &parent {
                    put_back(&mut tx, *parent_id, parent_exported).await?;
                }
                self.restored.insert(
                    export_id,
                    Restored {
                        id,
                        now: true,
                        exported,
                    },
                );
            }
        }
        tx.commit().await?;
        Ok(())
    }

    /// An exported record: found if the database has it, else created
    /// through the store and finished as it was.
    pub(super) async fn restore_one(
        &mut self,
        conn: &mut PgConnection,
        entry: &Entry,
        restore: &Restore,
        parent_id: Option<i64>,
    ) -> Result<Outcome, ImportError> {
        let machine_id = match &entry.machine {
            None => None,
            Some(slug) => {
                let by_slug: Option<i64> =
                    sqlx::query_scalar("SELECT id FROM machines WHERE slug = $1")
                        .bind(slug)
                        .fetch_optional(&mut *conn)
                        .await?;
                match (by_slug, self.machine_names.get(slug).cloned()) {
                    (Some(id), _) => Some(id),
                    (None, Some(name)) => match self.machine(conn, &name).await? {
                        Ok(id) => Some(id),
                        Err(reason) => return Ok(Outcome::Left(reason)),
                    },
                    (None, None) => {
                        return Ok(Outcome::Left(format!(
                            "machine `{slug}` is neither in this database nor in the export's `machines`"
                        )))
                    }
                }
            }
        };
        if let Some(id) = find_existing(conn, entry, restore, machine_id, parent_id).await? {
            self.report.count_mut(&entry.kind).already += 1;
            return Ok(Outcome::Already(id));
        }
        let author = match self.maintainers.get(&entry.author.to_lowercase()) {
            Some(id) if !restore.author_is_name => Author::Maintainer(*id),
            _ => Author::Name(entry.author.clone()),
        };
        let new = NewRecord {
            kind: entry.kind.clone(),
            machine_id,
            parent_id,
            description: entry.description.clone(),
            fields: entry.fields.clone(),
            author,
            occurred_at: entry.occurred_at,
            created_at: restore.created_at,
            created_via: CreatedVia::Import {
                notify: self.options.notify,
            },
            created_by: restore.created_by.clone(),
            sources: restore.sources.clone(),
            media: restore
                .media
                .iter()
                .map(|media| Media {
                    url: media.url.clone(),
                    filename: media.filename.clone(),
                    content_type: media.content_type.clone(),
                    size_bytes: media.size_bytes,
                })
                .collect(),
        };
        let mut savepoint = conn.begin().await?;
        let record = match records::create_record_in(&mut savepoint, self.kinds, &new).await {
            Ok(record) => record,
            Err(RecordError::Database(err)) => return Err(err.into()),
            Err(refused) => {
                savepoint.rollback().await?;
                return Ok(Outcome::Left(refused.to_string()));
            }
        };
        let without_bytes = finish(&mut savepoint, record.id, restore).await?;
        savepoint.commit().await?;
        let count = self.report.count_mut(&entry.kind);
        count.imported += 1;
        if parent_id.is_some() {
            count.under_parent += 1;
        }
        if without_bytes > 0 {
            self.report.notes.push(format!(
                "{}: record #{}: {without_bytes} photo(s) listed without their bytes (an export has references only; restore them from the database dump or the bucket)",
                entry.place, record.id
            ));
        }
        Ok(Outcome::Imported(record.id))
    }
}

/// The record this entry already is, if the database has it: by the
/// original system's identity, by its Discord messages, or else by kind,
/// time, text, machine and parent.
async fn find_existing(
    conn: &mut PgConnection,
    entry: &Entry,
    restore: &Restore,
    machine_id: Option<i64>,
    parent_id: Option<i64>,
) -> Result<Option<i64>, sqlx::Error> {
    if let Some((key, _, _)) = &restore.imported {
        let known: Option<i64> = sqlx::query_scalar(
            "SELECT record_id FROM record_imports WHERE key = decode($1, 'hex')",
        )
        .bind(key)
        .fetch_optional(&mut *conn)
        .await?;
        if known.is_some() {
            return Ok(known);
        }
    }
    if !restore.sources.is_empty() {
        let messages: Vec<Snowflake> = restore
            .sources
            .iter()
            .map(|source| Snowflake(source.message_id))
            .collect();
        let known: Option<i64> = sqlx::query_scalar(
            "SELECT r.id FROM record_sources s JOIN records r ON r.id = s.record_id
             WHERE s.message_id = ANY($1) AND r.kind = $2 AND r.description = btrim($3)
             ORDER BY r.id LIMIT 1",
        )
        .bind(&messages)
        .bind(&entry.kind)
        .bind(&entry.description)
        .fetch_optional(&mut *conn)
        .await?;
        if known.is_some() {
            return Ok(known);
        }
    }
    sqlx::query_scalar(
        "SELECT id FROM records
         WHERE kind = $1 AND occurred_at = $2 AND description = btrim($3)
           AND machine_id IS NOT DISTINCT FROM $4 AND parent_id IS NOT DISTINCT FROM $5
         ORDER BY id LIMIT 1",
    )
    .bind(&entry.kind)
    .bind(entry.occurred_at)
    .bind(&entry.description)
    .bind(machine_id)
    .bind(parent_id)
    .fetch_optional(&mut *conn)
    .await
}

/// Puts back what the store set its own way. Returns how many photos were
/// restored as references whose bytes this export does not carry.
async fn finish(
    conn: &mut PgConnection,
    record_id: i64,
    restore: &Restore,
) -> Result<usize, sqlx::Error> {
    sqlx::query("UPDATE records SET created_via = $2, created_by = $3 WHERE id = $1")
        .bind(record_id)
        .bind(&restore.created_via)
        .bind(&restore.created_by)
        .execute(&mut *conn)
        .await?;
    let mut without_bytes = 0;
    for media in &restore.media {
        // A copy that was made is not here: say where it was, so it can be
        // brought back from the database dump or the bucket.
        let (state, error) = match media.copy_state.as_str() {
            "stored" => {
                without_bytes += 1;
                (
                    "failed",
                    Some(format!(
                        "restored from an export without its bytes; the copy was in {} as {}",
                        media.storage.as_deref().unwrap_or("storage"),
                        media.stored_key.as_deref().unwrap_or("an unknown key")
                    )),
                )
            }
            "failed" => ("failed", Some("restored from an export".to_string())),
            "skipped" => ("skipped", None),
            _ => ("pending", None),
        };
        sqlx::query(
            "UPDATE record_media SET copy_state = $3, copy_error = $4, stored_type = $5,
                    stored_bytes = $6
             WHERE record_id = $1 AND url = $2",
        )
        .bind(record_id)
        .bind(&media.url)
        .bind(state)
        .bind(error)
        .bind(&media.stored_type)
        .bind(media.stored_bytes)
        .execute(&mut *conn)
        .await?;
    }
    if let Some((key, source, original)) = &restore.imported {
        sqlx::query(
            "INSERT INTO record_imports (key, record_id, source, original)
             VALUES (decode($1, 'hex'), $2, $3, $4) ON CONFLICT DO NOTHING",
        )
        .bind(key)
        .bind(record_id)
        .bind(source)
        .bind(original)
        .execute(&mut *conn)
        .await?;
    }
    Ok(without_bytes)
}

/// A parent restored in this run as the export has it: its children's
/// updates (a part request's status) changed it on the way in.
async fn put_back(
    conn: &mut PgConnection,
    record_id: i64,
    (fields, status): &Final,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE records SET fields = $2, status = $3 WHERE id = $1")
        .bind(record_id)
        .bind(sqlx::types::Json(fields))
        .bind(status)
        .execute(&mut *conn)
        .await?;
    Ok(())
}
