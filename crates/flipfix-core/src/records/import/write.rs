//! Storing read entries: machine and author lookup, the record through the
//! store (in a savepoint, so a refused record leaves nothing behind), and
//! the entry's identity in `record_imports`.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sqlx::{Connection as _, PgConnection, PgPool};

use super::backup::Final;
use super::export::{Entry, Place, Read, Unreadable};
use super::report::{NotImported, RecordImportReport};
use super::ImportOptions;
use crate::catalog::matching::{match_exactly, match_machine, MachineMatch};
use crate::catalog::{ImportError, Machine};
use crate::records::{self, Author, CreatedVia, NewRecord, RecordError};
use crate::text::{edit_distance, loose_key};
use crate::workflow::RecordKinds;

/// Serialises imports (a transaction-level advisory lock, one bigint key:
/// "FFX" + 0x10), so two at once cannot both store the same entry.
pub(super) const IMPORT_LOCK: i64 = 0x4646_5810;

const MACHINE_COLUMNS: &str = "id, slug, name, short_name, aliases, status, location";

pub(crate) struct Importer<'a> {
    pub(super) pool: &'a PgPool,
    pub(super) kinds: &'a RecordKinds,
    pub(super) options: ImportOptions,
    /// When this import runs: every imported record enters the bot then.
    pub(super) now: DateTime<Utc>,
    pub(super) machines: Vec<Machine>,
    /// Maintainer id by lower-case username.
    pub(super) maintainers: HashMap<String, i64>,
    /// Where each identity was first met in this run.
    pub(super) seen: HashMap<String, Place>,
    /// Exported records met so far, by their id in the export.
    pub(super) restored: HashMap<i64, Restored>,
    /// The export's machine names by slug.
    pub(super) machine_names: HashMap<String, String>,
    pub(super) report: RecordImportReport,
}

/// An exported record in this database.
pub(super) struct Restored {
    pub(super) id: i64,
    /// Stored by this run (not found already there).
    pub(super) now: bool,
    pub(super) exported: Final,
}

pub(super) enum Outcome {
    Imported(i64),
    Already(i64),
    Left(String),
}

impl<'a> Importer<'a> {
    pub async fn load(
        pool: &'a PgPool,
        kinds: &'a RecordKinds,
        options: ImportOptions,
        now: DateTime<Utc>,
    ) -> Result<Self, ImportError> {
        let maintainers: Vec<(String, i64)> =
            sqlx::query_as("SELECT lower(username), id FROM maintainers")
                .fetch_all(pool)
                .await?;
        let mut conn = pool.acquire().await?;
        let machines = load_machines(&mut conn).await?;
        Ok(Self {
            pool,
            kinds,
            options,
            now,
            machines,
            maintainers: maintainers.into_iter().collect(),
            seen: HashMap::new(),
            restored: HashMap::new(),
            machine_names: HashMap::new(),
            report: RecordImportReport {
                notified: options.notify,
                ..Default::default()
            },
        })
    }

    pub fn finish(self) -> RecordImportReport {
        self.report
    }

    /// Imports one top-level entry and its children in one transaction.
    pub(crate) async fn import_top(&mut self, read: Read) -> Result<(), ImportError> {
        let entry = match read {
            Ok(entry) => entry,
            Err(unreadable) => {
                self.leave(unreadable);
                return Ok(());
            }
        };
        let mut tx = self.pool.begin().await?;
        sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(IMPORT_LOCK)
            .execute(&mut *tx)
            .await?;
        let outcome = self.import_one(&mut tx, &entry, None).await?;
        let parent_id = match outcome {
            Outcome::Left(reason) => {
                self.leave(Unreadable {
                    place: entry.place.clone(),
                    reason,
                    children: entry.children.len(),
                });
                tx.commit().await?;
                return Ok(());
            }
            Outcome::Imported(id) | Outcome::Already(id) => id,
        };
        // In time order, so each update sets its parent's status in turn.
        let mut children: Vec<&Read> = entry.children.iter().collect();
        children.sort_by_key(|child| child.as_ref().ok().map(|c| c.occurred_at));
        let mut children_imported = 0;
        for child in children {
            match child {
                Err(unreadable) => self.leave(unreadable.clone()),
                Ok(child) => match self.import_one(&mut tx, child, Some(parent_id)).await? {
                    Outcome::Imported(_) => children_imported += 1,
                    Outcome::Already(_) => {}
                    Outcome::Left(reason) => self.leave(Unreadable {
                        place: child.place.clone(),
                        reason,
                        children: 0,
                    }),
                },
            }
        }
        if children_imported > 0 {
            self.check_status(&mut tx, &entry, parent_id).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    pub(super) async fn import_one(
        &mut self,
        conn: &mut PgConnection,
        entry: &Entry,
        parent_id: Option<i64>,
    ) -> Result<Outcome, ImportError> {
        if let Some(first) = self.seen.get(&entry.identity) {
            return Ok(Outcome::Left(format!(
                "listed twice: the same entry as {}",
                first.path
            )));
        }
        self.seen
            .insert(entry.identity.clone(), entry.place.clone());
        if let Some(restore) = entry.restore.as_deref() {
            return self.restore_one(conn, entry, restore, parent_id).await;
        }
        let known: Option<i64> = sqlx::query_scalar(
            "SELECT record_id FROM record_imports WHERE key = sha256(convert_to($1, 'UTF8'))",
        )
        .bind(&entry.identity)
        .fetch_optional(&mut *conn)
        .await?;
        if let Some(id) = known {
            self.report.count_mut(&entry.kind).already += 1;
            return Ok(Outcome::Already(id));
        }
        let machine_id = match &entry.machine {
            None => None,
            Some(name) if name.is_empty() => None,
            Some(name) => match self.machine(conn, name).await? {
                Ok(id) => Some(id),
                Err(reason) => return Ok(Outcome::Left(reason)),
            },
        };
        let author = match self.maintainers.get(&entry.author.to_lowercase()) {
            Some(id) => Author::Maintainer(*id),
            None => Author::Name(entry.author.clone()),
        };
        let new = NewRecord {
            kind: entry.kind.clone(),
            machine_id,
            parent_id,
            description: entry.description.clone(),
            fields: entry.fields.clone(),
            author,
            occurred_at: entry.occurred_at,
            created_at: self.now,
            created_via: CreatedVia::Import {
                notify: self.options.notify,
            },
            created_by: Some(format!("import {}", entry.place.file)),
            sources: Vec::new(),
            media: Vec::new(),
        };
        // A savepoint: a record the store refuses after writing (a parent
        // update that breaks a rule) leaves nothing behind.
        let mut savepoint = conn.begin().await?;
        let record = match records::create_record_in(&mut savepoint, self.kinds, &new).await {
            Ok(record) => record,
            Err(RecordError::Database(err)) => return Err(err.into()),
            Err(refused) => {
                savepoint.rollback().await?;
                return Ok(Outcome::Left(refused.to_string()));
            }
        };
        sqlx::query(
            "INSERT INTO record_imports (key, record_id, source, original)
             VALUES (sha256(convert_to($1, 'UTF8')), $2, $3, $4)",
        )
        .bind(&entry.identity)
        .bind(record.id)
        .bind(format!("{} {}", entry.place.file, entry.place.path))
        .bind(sqlx::types::Json(&entry.original))
        .execute(&mut *savepoint)
        .await?;
        savepoint.commit().await?;

        let count = self.report.count_mut(&entry.kind);
        count.imported += 1;
        if parent_id.is_some() {
            count.under_parent += 1;
        }
        if !entry.media.is_empty() {
            self.report.notes.push(format!(
                "{}: record #{} without its {} photo(s) ({}): the export names the files, not their contents",
                entry.place,
                record.id,
                entry.media.len(),
                entry.media.join(", ")
            ));
        }
        Ok(Outcome::Imported(record.id))
    }

    /// The catalog machine `name` names exactly, or a new one when asked
    /// for; else why the entry is left out.
    pub(super) async fn machine(
        &mut self,
        conn: &mut PgConnection,
        name: &str,
    ) -> Result<Result<i64, String>, ImportError> {
        if let Some(machine) = match_exactly(&self.machines, name) {
            return Ok(Ok(machine.id));
        }
        // Someone may have added it meanwhile.
        self.machines = load_machines(conn).await?;
        if let Some(machine) = match_exactly(&self.machines, name) {
            return Ok(Ok(machine.id));
        }
        if !self.options.add_missing_machines {
            let closest: Vec<String> = match match_machine(&self.machines, name) {
                MachineMatch::Found(near) => vec![near.name],
                MachineMatch::Unknown { closest } => closest
                    .into_iter()
                    .filter(|candidate| resembles(name, candidate))
                    .collect(),
            };
            let closest = if closest.is_empty() {
                String::new()
            } else {
                format!(" (closest: {})", closest.join(", "))
            };
            return Ok(Err(format!(
                "machine `{name}` is not in the catalog{closest}; add it, or import with --add-missing-machines"
            )));
        }
        let slug = crate::catalog::import::unique_slug(conn, name).await?;
        let machine: Machine = sqlx::query_as(&format!(
            "INSERT INTO machines (slug, name) VALUES ($1, $2) RETURNING {MACHINE_COLUMNS}"
        ))
        .bind(&slug)
        .bind(name)
        .fetch_one(&mut *conn)
        .await?;
        tracing::info!(machine = %machine.name, slug = %machine.slug, "machine added by the history import");
        self.report.machines_added.push(machine.name.clone());
        let id = machine.id;
        self.machines.push(machine);
        Ok(Ok(id))
    }

    /// A parent whose status its children set (part requests): say so when
    /// they leave it other than the export has it.
    async fn check_status(
        &mut self,
        conn: &mut PgConnection,
        entry: &Entry,
        id: i64,
    ) -> Result<(), ImportError> {
        let Some(field) = self
            .kinds
            .get(&entry.kind)
            .and_then(|kind| kind.status_field.as_ref())
        else {
            return Ok(());
        };
        let Some(exported) = entry.fields.get(field) else {
            return Ok(());
        };
        let stored: Option<String> = sqlx::query_scalar("SELECT status FROM records WHERE id = $1")
            .bind(id)
            .fetch_one(&mut *conn)
            .await?;
        if stored.as_deref() != Some(exported.as_str()) {
            self.report.notes.push(format!(
                "{}: record #{id}: its updates leave the {field} `{}`; the export says `{exported}`",
                entry.place,
                stored.unwrap_or_default()
            ));
        }
        Ok(())
    }

    pub(super) fn leave(&mut self, unreadable: Unreadable) {
        self.report.not_imported.push(NotImported {
            place: unreadable.place,
            reason: unreadable.reason,
            children: unreadable.children,
        });
    }
}

/// Whether `candidate` is worth suggesting for `name`: one contains the
/// other ("Star Trek" in "Star Trek: The Next Generation"), or they differ in
/// under half their letters. The closest of unrelated names helps nobody.
fn resembles(name: &str, candidate: &str) -> bool {
    let (a, b) = (loose_key(name), loose_key(candidate));
    if a.is_empty() || b.is_empty() {
        return false;
    }
    a.contains(&b) || b.contains(&a) || 2 * edit_distance(&a, &b) < a.len().max(b.len())
}

pub(super) async fn load_machines(conn: &mut PgConnection) -> Result<Vec<Machine>, sqlx::Error> {
    sqlx::query_as(&format!("SELECT {MACHINE_COLUMNS} FROM machines"))
        .fetch_all(conn)
        .await
}

#[cfg(test)]
mod tests {
    use super::resembles;

    #[test]
    fn only_resembling_names_are_suggested() {
        assert!(resembles("Star Trek: The Next Generation", "Star Trek"));
        assert!(resembles("Attack from Mars", "Revenge From Mars"));
        assert!(!resembles("Jurassic Park (Stern)", "Teacher's Pet"));
        assert!(!resembles("Monster Bash", "Baseball"));
    }
}
