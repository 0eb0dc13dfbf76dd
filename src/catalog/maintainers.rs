//! Maintainers in the catalog.

use sqlx::PgPool;

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Maintainer {
    pub id: i64,
    pub username: String,
    pub display_name: Option<String>,
    pub is_admin: bool,
}

pub async fn list(pool: &PgPool) -> Result<Vec<Maintainer>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, username, display_name, is_admin FROM maintainers ORDER BY lower(username)",
    )
    .fetch_all(pool)
    .await
}

pub async fn by_username(pool: &PgPool, username: &str) -> Result<Option<Maintainer>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, username, display_name, is_admin FROM maintainers WHERE lower(username) = lower($1)",
    )
    .bind(username.trim())
    .fetch_optional(pool)
    .await
}
