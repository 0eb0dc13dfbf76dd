//! Application commands synced by difference: list what the home server
//! has, then create only the new, edit only the changed and delete only the
//! removed ones, one request each, logged one line per action.
//!
//! Never a bulk overwrite: Discord allows 200 application command creates
//! per day per guild ("There is a global rate limit of 200 application
//! command creates per day, per guild", Discord's Application Commands
//! documentation, "Registering a Command":
//! https://discord.com/developers/docs/interactions/application-commands#registering-a-command,
//! discord/discord-api-docs docs/interactions/Application_Commands.md).
//! A start-up or reload that changes nothing sends one `GET` and no write.

mod diff;

use anyhow::Context as _;
use poise::serenity_prelude as serenity;

pub use diff::CommandKey;
use diff::{key_of, plan, shape, Existing};

/// What a sync did, by command.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct SyncSummary {
    pub created: Vec<String>,
    pub edited: Vec<String>,
    pub deleted: Vec<String>,
    pub unchanged: usize,
}

impl SyncSummary {
    pub fn changed(&self) -> bool {
        !(self.created.is_empty() && self.edited.is_empty() && self.deleted.is_empty())
    }

    /// "1 command created, 1 deleted" — only what changed, for people.
    pub fn changes(&self) -> String {
        let mut parts: Vec<String> = Vec::new();
        for (count, verb) in [
            (self.created.len(), "created"),
            (self.edited.len(), "edited"),
            (self.deleted.len(), "deleted"),
        ] {
            if count == 0 {
                continue;
            }
            let noun = match (parts.is_empty(), count) {
                (false, _) => "",
                (true, 1) => "command ",
                (true, _) => "commands ",
            };
            parts.push(format!("{count} {noun}{verb}"));
        }
        if parts.is_empty() {
            "commands unchanged".to_string()
        } else {
            parts.join(", ")
        }
    }
}

impl std::fmt::Display for SyncSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} created, {} edited, {} deleted, {} unchanged",
            self.created.len(),
            self.edited.len(),
            self.deleted.len(),
            self.unchanged
        )
    }
}

/// Makes the home server's commands exactly `wanted`, by difference.
/// Deletions go first (a renamed message command frees its slot among the
/// five Discord allows), then edits, then creations. A failure stops the
/// sync with the commands done so far in place; the next sync starts from
/// what Discord then has.
pub async fn sync_guild_commands(
    http: &serenity::Http,
    guild: serenity::GuildId,
    wanted: &[serenity::CreateCommand],
) -> anyhow::Result<SyncSummary> {
    let registered = http
        .get_guild_commands(guild)
        .await
        .context("cannot list the home server's commands")?;
    let registered: Vec<Existing> = registered
        .iter()
        .map(|command| {
            let body = serde_json::to_value(command).unwrap_or_default();
            Existing {
                id: command.id.get(),
                key: key_of(&body),
                shape: shape(&body),
            }
        })
        .collect();
    let bodies = wanted
        .iter()
        .map(serde_json::to_value)
        .collect::<Result<Vec<_>, _>>()
        .context("cannot serialise a command")?;
    let shapes: Vec<_> = bodies.iter().map(shape).collect();
    let plan = plan(&shapes, &registered);

    let mut summary = SyncSummary {
        unchanged: plan.unchanged,
        ..SyncSummary::default()
    };
    for (id, key) in &plan.delete {
        http.delete_guild_command(guild, serenity::CommandId::new(*id))
            .await
            .with_context(|| format!("cannot delete {key}"))?;
        tracing::info!(command = %key, id, "command deleted: no workflow or module declares it any more");
        summary.deleted.push(key.to_string());
    }
    for (id, index) in &plan.edit {
        let key = key_of(&bodies[*index]);
        http.edit_guild_command(guild, serenity::CommandId::new(*id), &wanted[*index])
            .await
            .with_context(|| format!("cannot edit {key}"))?;
        tracing::info!(command = %key, id, "command edited: its declaration changed");
        summary.edited.push(key.to_string());
    }
    for index in &plan.create {
        let key = key_of(&bodies[*index]);
        let created = http
            .create_guild_command(guild, &wanted[*index])
            .await
            .with_context(|| format!("cannot create {key}"))?;
        tracing::info!(command = %key, id = created.id.get(), "command created");
        summary.created.push(key.to_string());
    }
    tracing::info!(
        guild_id = guild.get(),
        created = summary.created.len(),
        edited = summary.edited.len(),
        deleted = summary.deleted.len(),
        unchanged = summary.unchanged,
        "commands: {summary}"
    );
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn summary(created: usize, edited: usize, deleted: usize) -> SyncSummary {
        SyncSummary {
            created: vec!["a".into(); created],
            edited: vec!["b".into(); edited],
            deleted: vec!["c".into(); deleted],
            unchanged: 9,
        }
    }

    #[test]
    fn the_log_line_counts_every_action() {
        assert_eq!(
            summary(1, 0, 1).to_string(),
            "1 created, 0 edited, 1 deleted, 9 unchanged"
        );
    }

    #[test]
    fn people_are_told_only_what_changed() {
        assert_eq!(summary(1, 0, 1).changes(), "1 command created, 1 deleted");
        assert_eq!(summary(0, 2, 0).changes(), "2 commands edited");
        assert_eq!(summary(0, 0, 0).changes(), "commands unchanged");
        assert!(!summary(0, 0, 0).changed());
    }
}
