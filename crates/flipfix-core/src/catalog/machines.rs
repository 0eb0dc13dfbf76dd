//! Machines in the catalog.

use sqlx::PgPool;

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Machine {
    pub id: i64,
    pub slug: String,
    pub name: String,
    pub short_name: Option<String>,
    pub aliases: Vec<String>,
    pub status: String,
    pub location: Option<String>,
}

impl Machine {
    /// The short name when there is one, else the name.
    pub fn display_name(&self) -> &str {
        self.short_name.as_deref().unwrap_or(&self.name)
    }
}

const COLUMNS: &str = "id, slug, name, short_name, aliases, status, location";

/// The status column's default: nobody has set this machine's status (not a
/// declared status, so `check` names such machines).
pub const UNSET_STATUS: &str = "unknown";

/// Machines whose stored status `statuses` does not declare (imported or
/// added before it was, or left unset), by name: `(name, status)`.
pub async fn undeclared_statuses(
    pool: &PgPool,
    statuses: &crate::workflow::MachineStatuses,
) -> Result<Vec<(String, String)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT name, status FROM machines WHERE NOT (status = ANY($1)) ORDER BY lower(name), id",
    )
    .bind(statuses.names())
    .fetch_all(pool)
    .await
}

/// `check`'s sentence about [`undeclared_statuses`]; `None` when every
/// machine's status is declared.
pub fn undeclared_sentence(
    machines: &[(String, String)],
    statuses: &crate::workflow::MachineStatuses,
) -> Option<String> {
    if machines.is_empty() {
        return None;
    }
    let listed: Vec<String> = machines
        .iter()
        .map(|(name, status)| format!("{name} (`{status}`)"))
        .collect();
    let (count, verb) = match machines.len() {
        1 => ("1 machine".to_string(), "is"),
        n => (format!("{n} machines"), "are"),
    };
    Some(format!(
        "database: {count} {verb} in a status the workflows do not declare (declared: {}): {}; \
         declare it under `machine_statuses:`, or set each with `/machine status`",
        statuses.names().join(", "),
        listed.join(", ")
    ))
}

/// Every machine by name; `db` is a pool or a page's connection.
pub async fn list(db: impl sqlx::PgExecutor<'_>) -> Result<Vec<Machine>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM machines ORDER BY lower(name)"
    ))
    .fetch_all(db)
    .await
}

pub async fn by_id(pool: &PgPool, id: i64) -> Result<Option<Machine>, sqlx::Error> {
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM machines WHERE id = $1"))
        .bind(id)
        .fetch_optional(pool)
        .await
}

/// The machine `slug`; `db` is a pool or a page's connection.
pub async fn by_slug(
    db: impl sqlx::PgExecutor<'_>,
    slug: &str,
) -> Result<Option<Machine>, sqlx::Error> {
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM machines WHERE slug = $1"))
        .bind(slug)
        .fetch_optional(db)
        .await
}

#[derive(Debug, thiserror::Error)]
pub enum MachineError {
    #[error("a machine named `{0}` already exists")]
    NameTaken(String),
    #[error("no machine with slug `{0}`")]
    UnknownSlug(String),
    #[error("the name is empty")]
    EmptyName,
    #[error("alias `{alias}` already names machine `{slug}`")]
    AliasTaken { alias: String, slug: String },
    #[error("database error")]
    Database(#[from] sqlx::Error),
}

/// Adds a machine; its slug is derived from the name and made unique.
pub async fn add(
    pool: &PgPool,
    name: &str,
    short_name: Option<&str>,
) -> Result<Machine, MachineError> {
    let name = name.trim();
    if name.is_empty() {
        return Err(MachineError::EmptyName);
    }
    let mut tx = pool.begin().await?;
    let slug = super::import::unique_slug(&mut tx, name).await?;
    let short_name = short_name.map(str::trim).filter(|s| !s.is_empty());
    let machine = sqlx::query_as(&format!(
        "INSERT INTO machines (slug, name, short_name) VALUES ($1, $2, $3) RETURNING {COLUMNS}"
    ))
    .bind(&slug)
    .bind(name)
    .bind(short_name)
    .fetch_one(&mut *tx)
    .await
    .map_err(|err| unique_violation(err, || MachineError::NameTaken(name.to_string())))?;
    tx.commit().await?;
    Ok(machine)
}

/// Renames a machine (the slug stays, so links keep working).
pub async fn rename(pool: &PgPool, slug: &str, new_name: &str) -> Result<Machine, MachineError> {
    let new_name = new_name.trim();
    if new_name.is_empty() {
        return Err(MachineError::EmptyName);
    }
    sqlx::query_as(&format!(
        "UPDATE machines SET name = $2, updated_at = now() WHERE slug = $1 RETURNING {COLUMNS}"
    ))
    .bind(slug.trim())
    .bind(new_name)
    .fetch_optional(pool)
    .await
    .map_err(|err| unique_violation(err, || MachineError::NameTaken(new_name.to_string())))?
    .ok_or_else(|| MachineError::UnknownSlug(slug.trim().to_string()))
}

/// Adds another name the team uses for a machine ("EBD", "Hulk").
pub async fn add_alias(pool: &PgPool, slug: &str, alias: &str) -> Result<Machine, MachineError> {
    let alias = alias.trim();
    if alias.is_empty() {
        return Err(MachineError::EmptyName);
    }
    let key = crate::text::loose_key(alias);
    for other in list(pool).await? {
        let names = std::iter::once(&other.name)
            .chain(other.short_name.as_ref())
            .chain(&other.aliases);
        if other.slug != slug.trim() && names.into_iter().any(|n| crate::text::loose_key(n) == key)
        {
            return Err(MachineError::AliasTaken {
                alias: alias.to_string(),
                slug: other.slug,
            });
        }
    }
    sqlx::query_as(&format!(
        "UPDATE machines SET aliases = CASE WHEN $2 = ANY(aliases) THEN aliases ELSE array_append(aliases, $2) END,
                updated_at = now()
         WHERE slug = $1 RETURNING {COLUMNS}"
    ))
    .bind(slug.trim())
    .bind(alias)
    .fetch_optional(pool)
    .await?
    .ok_or_else(|| MachineError::UnknownSlug(slug.trim().to_string()))
}

fn unique_violation(err: sqlx::Error, conflict: impl FnOnce() -> MachineError) -> MachineError {
    if err
        .as_database_error()
        .is_some_and(|db| db.is_unique_violation())
    {
        conflict()
    } else {
        MachineError::Database(err)
    }
}
