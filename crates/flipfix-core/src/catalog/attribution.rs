//! Who a record is attributed to, from a Discord user. Identity comes from
//! ids and unique usernames only:
//! 1. the maintainer linked to the Discord user id;
//! 2. else the maintainer whose username equals the Discord username
//!    (case-insensitively; usernames are unique handles), which is then
//!    linked by user id (usernames change, ids do not). With
//!    `DISCORD_MAINTAINER_ROLE` set, only for a member known to hold that
//!    role: a free username equal to an old maintainer's login proves
//!    nothing, an admin-granted role does;
//! 3. else the person's own Discord name, never a maintainer.
//!
//! Display names, global names and server nicknames are chosen freely by
//! anyone, so they never link and never attribute. When one happens to
//! match a maintainer, the reviewer is told (a hint), and the record names
//! the person by their unique username so it cannot pass for the maintainer.

use sqlx::PgPool;

use super::links::{self, LinkMethod};
use crate::domain::{Author, Snowflake};

/// The Discord identity of a person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiscordPerson {
    pub user_id: u64,
    pub username: String,
    pub global_name: Option<String>,
    /// The server nickname, when there is one.
    pub nickname: Option<String>,
    /// The member's role ids, when Discord told them (the member object of
    /// an interaction or a message); `None` when unknown.
    pub roles: Option<Vec<u64>>,
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

/// The author of a record, and what a reviewer should know about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attribution {
    pub author: Author,
    /// Set when a free-form name of the person matches a maintainer who is
    /// not linked to them: "Shown as Ruth Ng; not linked — …".
    pub hint: Option<String>,
}

impl Attribution {
    fn maintainer(id: i64) -> Self {
        Self {
            author: Author::Maintainer(id),
            hint: None,
        }
    }
}

/// Finds (and remembers) the maintainer behind `person`. With
/// `maintainer_role` set, a username match links only a person known to
/// hold that role.
pub async fn attribute(
    pool: &PgPool,
    person: &DiscordPerson,
    maintainer_role: Option<u64>,
) -> Result<Attribution, sqlx::Error> {
    if let Some(maintainer) = links::maintainer_for(pool, person.user_id).await? {
        return Ok(Attribution::maintainer(maintainer.id));
    }
    let username = person.username.trim();
    let by_username: Option<i64> =
        sqlx::query_scalar("SELECT id FROM maintainers WHERE lower(username) = lower($1)")
            .bind(username)
            .fetch_optional(pool)
            .await?;
    let proven = maintainer_role.is_none_or(|role| {
        person
            .roles
            .as_ref()
            .is_some_and(|roles| roles.contains(&role))
    });
    if by_username.is_some() && !proven {
        tracing::info!(
            discord_user_id = person.user_id,
            "username matches a maintainer, but the person is not known to hold DISCORD_MAINTAINER_ROLE; not linked"
        );
    }
    if let Some(maintainer_id) = by_username.filter(|_| proven) {
        // A maintainer already linked to someone else (who held this
        // username before), or a race with another instance, leaves the
        // existing link in place.
        let linked = sqlx::query(
            "INSERT INTO discord_user_links (discord_user_id, maintainer_id, discord_username, linked_by, method)
             VALUES ($1, $2, $3, 'auto: username', $4) ON CONFLICT DO NOTHING",
        )
        .bind(Snowflake(person.user_id))
        .bind(maintainer_id)
        .bind(username)
        .bind(LinkMethod::Username)
        .execute(pool)
        .await?;
        if linked.rows_affected() == 1 {
            tracing::info!(
                discord_user_id = person.user_id,
                maintainer_id,
                "linked Discord user by username"
            );
            return Ok(Attribution::maintainer(maintainer_id));
        }
    }
    let shown = person.display_name().trim();
    let lookalike: Option<i64> = sqlx::query_scalar(
        "SELECT id FROM maintainers
         WHERE lower(display_name) = lower($1) OR lower(username) = lower($1)
            OR lower(display_name) = lower($2) OR lower(username) = lower($2)
         ORDER BY id LIMIT 1",
    )
    .bind(shown)
    .bind(username)
    .fetch_optional(pool)
    .await?;
    Ok(match lookalike {
        None => Attribution {
            author: Author::Name(shown.to_string()),
            hint: None,
        },
        Some(_) => Attribution {
            // The unique handle, so the record cannot pass for the maintainer.
            author: Author::Name(format!("@{username}")),
            hint: Some(if by_username.is_some() && !proven {
                format!(
                    "Shown as {shown} (@{username}); not linked: without the maintainer role (DISCORD_MAINTAINER_ROLE) a matching username is not proof — an admin can link with /flipfix link"
                )
            } else {
                format!(
                    "Shown as {shown} (@{username}); not linked — an admin can link with /flipfix link"
                )
            }),
        },
    })
}
