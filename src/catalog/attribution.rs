//! Who a record is attributed to, from a Discord user: the linked
//! maintainer; else a maintainer whose username equals the Discord username,
//! display name or global name (case-insensitively), which is then linked by
//! Discord user id (usernames change, ids do not); else the display name.

use sqlx::PgPool;

use super::links;
use crate::records::{to_db_id, Author};

/// The Discord identity of a person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiscordPerson {
    pub user_id: u64,
    pub username: String,
    pub global_name: Option<String>,
    /// The server nickname, when there is one.
    pub nickname: Option<String>,
}

impl DiscordPerson {
    /// What Discord shows: nickname, else global name, else username.
    pub fn display_name(&self) -> &str {
        self.nickname
            .as_deref()
            .or(self.global_name.as_deref())
            .unwrap_or(&self.username)
    }
}

/// Finds (and remembers) the maintainer behind `person`.
pub async fn attribute(pool: &PgPool, person: &DiscordPerson) -> Result<Author, sqlx::Error> {
    if let Some(maintainer) = links::maintainer_for(pool, person.user_id).await? {
        return Ok(Author::Maintainer(maintainer.id));
    }
    let candidates: Vec<&str> = [
        Some(person.username.as_str()),
        person.nickname.as_deref(),
        person.global_name.as_deref(),
    ]
    .into_iter()
    .flatten()
    .map(str::trim)
    .filter(|name| !name.is_empty())
    .collect();
    for candidate in candidates {
        let found: Option<i64> = sqlx::query_scalar(
            "SELECT id FROM maintainers WHERE lower(username) = lower($1) OR lower(display_name) = lower($1)
             ORDER BY (lower(username) = lower($1)) DESC, id LIMIT 1",
        )
        .bind(candidate)
        .fetch_optional(pool)
        .await?;
        let Some(maintainer_id) = found else { continue };
        // Remember the match by user id. A maintainer already linked to
        // someone else, or a race with another instance, leaves the existing
        // link in place and still attributes this record.
        let linked = sqlx::query(
            "INSERT INTO discord_user_links (discord_user_id, maintainer_id, discord_username, linked_by)
             VALUES ($1, $2, $3, 'auto: name match') ON CONFLICT DO NOTHING",
        )
        .bind(to_db_id(person.user_id))
        .bind(maintainer_id)
        .bind(&person.username)
        .execute(pool)
        .await?;
        if linked.rows_affected() == 1 {
            tracing::info!(
                discord_user_id = person.user_id,
                maintainer_id,
                "linked Discord user by name"
            );
            return Ok(Author::Maintainer(maintainer_id));
        }
        // The maintainer belongs to another Discord user: do not guess.
        break;
    }
    Ok(Author::Name(person.display_name().to_string()))
}
