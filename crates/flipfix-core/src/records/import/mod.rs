//! Importing the team's history from the original system's exports
//! (`flipfix-bot import records FILE…`). Every record goes through the store,
//! so every rule its kind declares holds; an entry that breaks one is listed
//! with the reason, and the rest is imported. A second import of the same
//! files adds nothing: each imported entry is remembered by its identity.

mod export;
mod report;
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

/// Imports `files` (name, contents). Every file is read first: a file that
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
        exports.push(export::read_export(name, json)?);
    }
    let mut importer = write::Importer::load(pool, kinds, options, now).await?;
    for entries in exports {
        for entry in entries {
            importer.import_top(entry).await?;
        }
    }
    Ok(importer.finish())
}
