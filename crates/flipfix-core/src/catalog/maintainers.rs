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

#[derive(Debug, thiserror::Error)]
pub enum MaintainerError {
    #[error("a maintainer with username `{0}` already exists")]
    UsernameTaken(String),
    #[error("the username is empty")]
    EmptyUsername,
    #[error("database error")]
    Database(#[from] sqlx::Error),
}

/// Adds a maintainer.
pub async fn add(
    pool: &PgPool,
    username: &str,
    display_name: Option<&str>,
) -> Result<Maintainer, MaintainerError> {
    let username = username.trim();
    if username.is_empty() {
        return Err(MaintainerError::EmptyUsername);
    }
    let display_name = display_name.map(str::trim).filter(|s| !s.is_empty());
    sqlx::query_as(
        "INSERT INTO maintainers (username, display_name) VALUES ($1, $2)
         RETURNING id, username, display_name, is_admin",
    )
    .bind(username)
    .bind(display_name)
    .fetch_one(pool)
    .await
    .map_err(|err| {
        if err
            .as_database_error()
            .is_some_and(|db| db.is_unique_violation())
        {
            MaintainerError::UsernameTaken(username.to_string())
        } else {
            MaintainerError::Database(err)
        }
    })
}
