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

pub async fn list(pool: &PgPool) -> Result<Vec<Machine>, sqlx::Error> {
    sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM machines ORDER BY lower(name)"
    ))
    .fetch_all(pool)
    .await
}

pub async fn by_id(pool: &PgPool, id: i64) -> Result<Option<Machine>, sqlx::Error> {
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM machines WHERE id = $1"))
        .bind(id)
        .fetch_optional(pool)
        .await
}

pub async fn by_slug(pool: &PgPool, slug: &str) -> Result<Option<Machine>, sqlx::Error> {
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM machines WHERE slug = $1"))
        .bind(slug)
        .fetch_optional(pool)
        .await
}
