//! Importing the catalog from the original system's exports (`machines.json`,
//! `accounts.json`). Imports are idempotent: a second run changes nothing.
//! A machine's `operational_status` is read against the declared statuses
//! (by name or label, ignoring case); a value none of them means is named in
//! the summary and not stored, and the rest of the machine is imported.

use std::collections::HashSet;
use std::fmt;

use serde::Deserialize;
use sqlx::{PgConnection, PgPool};

use crate::text::slugify;
use crate::workflow::MachineStatuses;

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("{source_name}:{line}:{column}: not a valid {format} file: {message}")]
    Format {
        source_name: String,
        format: &'static str,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("database error during import")]
    Database(#[from] sqlx::Error),
}

/// What an import did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ImportSummary {
    pub added: Vec<String>,
    pub updated: Vec<String>,
    pub unchanged: usize,
    /// Entries left out, each with the reason.
    pub skipped: Vec<String>,
    /// Values the import could not store (an entry imported without one),
    /// each in a sentence naming the file, the entry, the value and what it
    /// could have been.
    pub not_imported: Vec<String>,
}

impl fmt::Display for ImportSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} added, {} updated, {} unchanged, {} skipped",
            self.added.len(),
            self.updated.len(),
            self.unchanged,
            self.skipped.len()
        )?;
        // Before the lists, so a reply cut to Discord's length keeps them.
        for sentence in &self.not_imported {
            write!(f, "\n  {sentence}")?;
        }
        for (label, names) in [
            ("added", &self.added),
            ("updated", &self.updated),
            ("skipped", &self.skipped),
        ] {
            if !names.is_empty() {
                write!(f, "\n  {label}: {}", names.join(", "))?;
            }
        }
        Ok(())
    }
}

#[derive(Debug, Deserialize)]
struct ModelJson {
    name: String,
    #[serde(default)]
    manufacturer: Option<String>,
    #[serde(default)]
    year: Option<i32>,
    #[serde(default)]
    instances: Vec<InstanceJson>,
}

#[derive(Debug, Deserialize)]
struct InstanceJson {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    short_name: Option<String>,
    #[serde(default)]
    serial_number: Option<String>,
    #[serde(default)]
    operational_status: Option<String>,
    #[serde(default)]
    location: Option<String>,
}

#[derive(Debug, Deserialize)]
struct AccountsJson {
    #[serde(default)]
    admins: Vec<AccountJson>,
    #[serde(default)]
    maintainers: Vec<AccountJson>,
    // `terminals` (shared workshop logins) are deliberately not imported:
    // they are devices, not people records can be attributed to.
}

#[derive(Debug, Deserialize)]
struct AccountJson {
    username: String,
    #[serde(default)]
    first_name: Option<String>,
    #[serde(default)]
    last_name: Option<String>,
}

fn parse<T: for<'de> Deserialize<'de>>(
    source_name: &str,
    format: &'static str,
    json: &str,
) -> Result<T, ImportError> {
    serde_json::from_str(json).map_err(|err| ImportError::Format {
        source_name: source_name.to_string(),
        format,
        line: err.line(),
        column: err.column(),
        message: err.to_string(),
    })
}

/// One machine as the import wants it stored.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
struct MachineFields {
    name: String,
    short_name: Option<String>,
    model_name: Option<String>,
    manufacturer: Option<String>,
    year: Option<i32>,
    serial_number: Option<String>,
    /// `None`: the file gives no declared status, so the stored one stays
    /// (a new machine's is unset, [`super::machines::UNSET_STATUS`]).
    status: Option<String>,
    location: Option<String>,
}

/// Imports `machines.json` (a list of models, each with `instances`; an
/// instance without its own `name` takes the model's). `statuses` are the
/// declared machine statuses the `operational_status` values must mean.
pub async fn import_machines(
    pool: &PgPool,
    statuses: &MachineStatuses,
    source_name: &str,
    json: &str,
) -> Result<ImportSummary, ImportError> {
    let models: Vec<ModelJson> = parse(source_name, "machines.json", json)?;
    let mut summary = ImportSummary::default();
    let mut seen = HashSet::new();
    let mut tx = pool.begin().await?;
    for model in models {
        if model.instances.is_empty() {
            summary
                .skipped
                .push(format!("{} (no instances)", model.name.trim()));
        }
        for instance in &model.instances {
            let name = clean(instance.name.as_deref()).or_else(|| clean(Some(&model.name)));
            let Some(name) = name else {
                summary.skipped.push("(a machine without a name)".into());
                continue;
            };
            if !seen.insert(name.to_lowercase()) {
                summary.skipped.push(format!("{name} (listed twice)"));
                continue;
            }
            let status = clean(instance.operational_status.as_deref());
            let declared = status.as_deref().and_then(|value| statuses.resolve(value));
            if let (Some(value), None) = (&status, declared) {
                summary.not_imported.push(format!(
                    "{source_name}: {name}: operational_status `{value}` is not a declared machine \
                     status (declared: {}), so its status was left as it was (unset for a new machine)",
                    statuses.names().join(", ")
                ));
            }
            let wanted = MachineFields {
                name: name.clone(),
                short_name: clean(instance.short_name.as_deref()),
                model_name: clean(Some(&model.name)),
                manufacturer: clean(model.manufacturer.as_deref()),
                year: model.year,
                serial_number: clean(instance.serial_number.as_deref()),
                status: declared.map(|s| s.name.clone()),
                location: clean(instance.location.as_deref()),
            };
            upsert_machine(&mut tx, &wanted, &mut summary).await?;
        }
    }
    tx.commit().await?;
    Ok(summary)
}

async fn upsert_machine(
    conn: &mut PgConnection,
    wanted: &MachineFields,
    summary: &mut ImportSummary,
) -> Result<(), sqlx::Error> {
    let existing: Option<(i64, MachineFields)> = sqlx::query_as::<_, MachineFieldsRow>(
        "SELECT id, name, short_name, model_name, manufacturer, year, serial_number, status, location
         FROM machines WHERE lower(name) = lower($1)",
    )
    .bind(&wanted.name)
    .fetch_optional(&mut *conn)
    .await?
    .map(|row| (row.id, row.fields));
    match existing {
        Some((id, stored)) => {
            let wanted = MachineFields {
                status: wanted.status.clone().or(stored.status.clone()),
                ..wanted.clone()
            };
            if wanted == stored {
                summary.unchanged += 1;
                return Ok(());
            }
            sqlx::query(
                "UPDATE machines SET name = $2, short_name = $3, model_name = $4, manufacturer = $5,
                        year = $6, serial_number = $7, status = $8, location = $9, updated_at = now()
                 WHERE id = $1",
            )
            .bind(id)
            .bind(&wanted.name)
            .bind(&wanted.short_name)
            .bind(&wanted.model_name)
            .bind(&wanted.manufacturer)
            .bind(wanted.year)
            .bind(&wanted.serial_number)
            .bind(&wanted.status)
            .bind(&wanted.location)
            .execute(&mut *conn)
            .await?;
            summary.updated.push(wanted.name);
        }
        None => {
            let slug = unique_slug(conn, &wanted.name).await?;
            sqlx::query(
                "INSERT INTO machines (slug, name, short_name, model_name, manufacturer, year,
                                       serial_number, status, location)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            )
            .bind(&slug)
            .bind(&wanted.name)
            .bind(&wanted.short_name)
            .bind(&wanted.model_name)
            .bind(&wanted.manufacturer)
            .bind(wanted.year)
            .bind(&wanted.serial_number)
            .bind(
                wanted
                    .status
                    .as_deref()
                    .unwrap_or(super::machines::UNSET_STATUS),
            )
            .bind(&wanted.location)
            .execute(&mut *conn)
            .await?;
            summary.added.push(wanted.name.clone());
        }
    }
    Ok(())
}

#[derive(sqlx::FromRow)]
struct MachineFieldsRow {
    id: i64,
    #[sqlx(flatten)]
    fields: MachineFields,
}

/// The slug of `name`, with `-2`, `-3`, … appended while it is taken.
pub(crate) async fn unique_slug(
    conn: &mut PgConnection,
    name: &str,
) -> Result<String, sqlx::Error> {
    let base = match slugify(name) {
        slug if slug.is_empty() => "machine".to_string(),
        slug => slug,
    };
    let taken: Vec<String> =
        sqlx::query_scalar("SELECT slug FROM machines WHERE slug = $1 OR slug LIKE $1 || '-%'")
            .bind(&base)
            .fetch_all(&mut *conn)
            .await?;
    let taken: HashSet<String> = taken.into_iter().collect();
    if !taken.contains(&base) {
        return Ok(base);
    }
    Ok((2..)
        .map(|n| format!("{base}-{n}"))
        .find(|candidate| !taken.contains(candidate))
        .unwrap_or(base))
}

/// Imports `accounts.json`: admins and maintainers (terminals are not people).
pub async fn import_maintainers(
    pool: &PgPool,
    source_name: &str,
    json: &str,
) -> Result<ImportSummary, ImportError> {
    let accounts: AccountsJson = parse(source_name, "accounts.json", json)?;
    let mut summary = ImportSummary::default();
    let mut seen = HashSet::new();
    let mut tx = pool.begin().await?;
    let people = accounts
        .admins
        .iter()
        .map(|a| (a, true))
        .chain(accounts.maintainers.iter().map(|a| (a, false)));
    for (account, is_admin) in people {
        let Some(username) = clean(Some(&account.username)) else {
            summary
                .skipped
                .push("(an account without a username)".into());
            continue;
        };
        if !seen.insert(username.to_lowercase()) {
            summary.skipped.push(format!("{username} (listed twice)"));
            continue;
        }
        let display_name = [account.first_name.as_deref(), account.last_name.as_deref()]
            .into_iter()
            .flatten()
            .map(str::trim)
            .filter(|part| !part.is_empty())
            .collect::<Vec<_>>()
            .join(" ");
        let display_name = (!display_name.is_empty()).then_some(display_name);
        let existing: Option<(i64, Option<String>, bool)> = sqlx::query_as(
            "SELECT id, display_name, is_admin FROM maintainers WHERE lower(username) = lower($1)",
        )
        .bind(&username)
        .fetch_optional(&mut *tx)
        .await?;
        match existing {
            Some((_, name, admin)) if name == display_name && admin == is_admin => {
                summary.unchanged += 1
            }
            Some((id, _, _)) => {
                sqlx::query("UPDATE maintainers SET display_name = $2, is_admin = $3, updated_at = now() WHERE id = $1")
                    .bind(id)
                    .bind(&display_name)
                    .bind(is_admin)
                    .execute(&mut *tx)
                    .await?;
                summary.updated.push(username);
            }
            None => {
                sqlx::query("INSERT INTO maintainers (username, display_name, is_admin) VALUES ($1, $2, $3)")
                    .bind(&username)
                    .bind(&display_name)
                    .bind(is_admin)
                    .execute(&mut *tx)
                    .await?;
                summary.added.push(username);
            }
        }
    }
    tx.commit().await?;
    Ok(summary)
}

fn clean(value: Option<&str>) -> Option<String> {
    value
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .map(str::to_string)
}
