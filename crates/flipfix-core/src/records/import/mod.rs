//! Importing the team's history from the original system's exports
//! (`flipfix-bot import records FILE…`). Every record goes through the store,
//! so every rule its kind declares holds; an entry that breaks one is listed
//! with the reason, and the rest is imported. A second import of the same
//! files adds nothing: each imported entry is remembered by its identity.
//! It also reads back `flipfix-bot export` (see `records::backup`).

mod backup;
mod export;
mod history;
mod report;
mod restore;
mod values;
mod write;

pub use export::Place;
pub use report::{KindCount, NotImported, RecordImportReport};
pub use values::{parse_time, part_status};

use sqlx::PgPool;

use crate::catalog::ImportError;
use crate::workflow::RecordKinds;

/// What the import may do beyond storing records.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ImportOptions {
    /// Add a machine the catalog lacks, under the name the export gives.
    pub add_missing_machines: bool,
    /// Post the imported records to the webhook (history is not, normally).
    pub notify: bool,
}

/// A file read: this bot's own export, or the original system's.
enum Read<'a> {
    Backup(&'a str, backup::ReadBackup),
    Original(Vec<export::Read>),
}

/// Imports `files` (name, contents): the original system's exports, or
/// `flipfix-bot export` files (restored as they were). Every file is read first: a file that
/// is not a records export stops the import before anything is stored.
pub async fn import_records(
    pool: &PgPool,
    kinds: &RecordKinds,
    files: &[(String, String)],
    options: ImportOptions,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<RecordImportReport, ImportError> {
    let mut exports = Vec::with_capacity(files.len());
    for (name, json) in files {
        exports.push(match backup::read_backup(name, json)? {
            Some(backup) => Read::Backup(name, backup),
            None => Read::Original(export::read_export(name, json)?),
        });
    }
    let mut importer = write::Importer::load(pool, kinds, options, now).await?;
    for export in exports {
        match export {
            Read::Backup(name, backup) => importer.import_backup(name, backup).await?,
            Read::Original(entries) => {
                for entry in entries {
                    importer.import_top(entry).await?;
                }
            }
        }
    }
    Ok(importer.finish())
}
