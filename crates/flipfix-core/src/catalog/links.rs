//! Which Discord user is which maintainer. One Discord user ↔ one
//! maintainer; links are keyed by Discord user id because usernames change.

use sqlx::PgPool;

use super::Maintainer;
use crate::domain::Snowflake;

#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    #[error("no maintainer with username `{0}`")]
    UnknownMaintainer(String),
    #[error("maintainer `{maintainer}` is already linked to another Discord user (id {discord_user_id}); unlink that user first")]
    MaintainerTaken {
        maintainer: String,
        discord_user_id: u64,
    },
    #[error("database error while linking")]
    Database(#[from] sqlx::Error),
}

/// How a link was made. Stored as TEXT (its CHECK lists the values);
/// `sqlx::Type` reads and binds it by these snake_case names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::Type)]
#[sqlx(type_name = "text", rename_all = "snake_case")]
pub enum LinkMethod {
    /// The Discord username equals the maintainer's username.
    Username,
    /// An admin linked them with `/flipfix link`.
    Admin,
    /// Made by matching a display name, before identity came from
    /// usernames only: an admin should confirm or remove it.
    NameMatch,
}

/// A stored link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    pub discord_user_id: u64,
    pub discord_username: Option<String>,
    pub maintainer: Maintainer,
    pub method: LinkMethod,
    /// Who made it (`discord:<id> (<name>)` for an admin).
    pub linked_by: String,
}

/// Links `discord_user_id` to the maintainer with `username`, replacing the
/// user's previous link. Refuses when that maintainer belongs to someone else.
pub async fn link(
    pool: &PgPool,
    discord_user_id: u64,
    discord_username: &str,
    username: &str,
    by: &str,
) -> Result<Maintainer, LinkError> {
    let maintainer = super::maintainers::by_username(pool, username)
        .await?
        .ok_or_else(|| LinkError::UnknownMaintainer(username.trim().to_string()))?;
    let mut tx = pool.begin().await?;
    let holder: Option<Snowflake> = sqlx::query_scalar(
        "SELECT discord_user_id FROM discord_user_links WHERE maintainer_id = $1 FOR UPDATE",
    )
    .bind(maintainer.id)
    .fetch_optional(&mut *tx)
    .await?;
    if let Some(holder) = holder.map(Snowflake::get).filter(|h| *h != discord_user_id) {
        return Err(LinkError::MaintainerTaken {
            maintainer: maintainer.username,
            discord_user_id: holder,
        });
    }
    sqlx::query(
        "INSERT INTO discord_user_links (discord_user_id, maintainer_id, discord_username, linked_by, method)
         VALUES ($1, $2, $3, $4, 'admin')
         ON CONFLICT (discord_user_id) DO UPDATE
         SET maintainer_id = EXCLUDED.maintainer_id, discord_username = EXCLUDED.discord_username,
             linked_by = EXCLUDED.linked_by, method = 'admin', linked_at = now()",
    )
    .bind(Snowflake(discord_user_id))
    .bind(maintainer.id)
    .bind(discord_username)
    .bind(by)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    tracing::info!(discord_user_id, maintainer = %maintainer.username, by, "Discord user linked");
    Ok(maintainer)
}

/// Removes the user's link; returns the maintainer it pointed to.
pub async fn unlink(pool: &PgPool, discord_user_id: u64) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar(
        "DELETE FROM discord_user_links l USING maintainers m
         WHERE l.discord_user_id = $1 AND m.id = l.maintainer_id
         RETURNING m.username",
    )
    .bind(Snowflake(discord_user_id))
    .fetch_optional(pool)
    .await
}

/// The maintainer linked to a Discord user.
pub async fn maintainer_for(
    pool: &PgPool,
    discord_user_id: u64,
) -> Result<Option<Maintainer>, sqlx::Error> {
    sqlx::query_as(
        "SELECT m.id, m.username, m.display_name, m.is_admin
         FROM discord_user_links l JOIN maintainers m ON m.id = l.maintainer_id
         WHERE l.discord_user_id = $1",
    )
    .bind(Snowflake(discord_user_id))
    .fetch_optional(pool)
    .await
}

#[derive(sqlx::FromRow)]
struct LinkRow {
    discord_user_id: Snowflake,
    discord_username: Option<String>,
    method: LinkMethod,
    linked_by: String,
    #[sqlx(flatten)]
    maintainer: Maintainer,
}

/// Every link, by maintainer username.
pub async fn list(pool: &PgPool) -> Result<Vec<Link>, sqlx::Error> {
    let rows: Vec<LinkRow> = sqlx::query_as(
        "SELECT l.discord_user_id, l.discord_username, l.method, l.linked_by,
                m.id, m.username, m.display_name, m.is_admin
         FROM discord_user_links l JOIN maintainers m ON m.id = l.maintainer_id
         ORDER BY lower(m.username)",
    )
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|row| Link {
            discord_user_id: row.discord_user_id.get(),
            discord_username: row.discord_username,
            maintainer: row.maintainer,
            method: row.method,
            linked_by: row.linked_by,
        })
        .collect())
}
