//! `flipfix-bot export [--out FILE]`: the portable logical backup (see
//! `records::backup`), as JSON on stdout or in a file.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;

use crate::app::Database;
use crate::config::Secrets;
use crate::records::backup;

/// Writes the export; the count goes to stderr so stdout stays JSON.
pub async fn run(secrets: &Secrets, out: Option<PathBuf>) -> anyhow::Result<ExitCode> {
    let database = Database::open(secrets).await?;
    let exported = backup::export(&database.pool, crate::clock::system_now()).await;
    database.close().await;
    let exported = exported.context("cannot read the records to export")?;
    let mut json = serde_json::to_string_pretty(&exported).context("cannot write the export")?;
    json.push('\n');
    let what = format!(
        "{} records, {} machines, {} maintainers",
        exported.records.len(),
        exported.machines.len(),
        exported.maintainers.len()
    );
    match out {
        None => {
            std::io::stdout()
                .lock()
                .write_all(json.as_bytes())
                .context("cannot write the export to stdout")?;
            eprintln!("exported {what}");
        }
        Some(path) => {
            write_whole(&path, json.as_bytes())?;
            eprintln!("exported {what} to {}", path.display());
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Writes beside the target and renames, so an interrupted export never
/// leaves half a file under the name a backup script keeps.
fn write_whole(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let mut partial = path.as_os_str().to_owned();
    partial.push(".partial");
    let partial = PathBuf::from(partial);
    std::fs::write(&partial, bytes)
        .with_context(|| format!("cannot write {}", partial.display()))?;
    std::fs::rename(&partial, path)
        .with_context(|| format!("cannot rename {} to {}", partial.display(), path.display()))
}
