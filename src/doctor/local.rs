//! Checks that need no network beyond the database: secrets, database and
//! migrations, workflows, media storage.

use std::collections::HashSet;

use sqlx::PgPool;

use super::report::Report;
use crate::config::Secrets;
use crate::db::MIGRATOR;
use crate::workflow::Workflows;

/// Secrets present and well-formed. Values are never shown.
pub fn secrets(report: &mut Report, secrets: &Secrets) {
    match &secrets.discord_token {
        None => report.fail(
            "DISCORD_TOKEN",
            "not set: copy the bot token from the Developer Portal (Bot → Reset Token)",
        ),
        Some(token) => {
            let token = token.expose();
            if token.starts_with("Bot ") || token.starts_with("Bearer ") {
                report.fail(
                    "DISCORD_TOKEN",
                    "starts with \"Bot \": set the token alone, without the prefix",
                );
            } else if token
                .chars()
                .any(|c| c.is_whitespace() || c == '"' || c == '\'')
            {
                report.fail(
                    "DISCORD_TOKEN",
                    "contains spaces or quotes: copy it again, without them",
                );
            } else if token.split('.').filter(|p| !p.is_empty()).count() != 3 {
                report.warn("DISCORD_TOKEN", "does not look like a bot token (three parts separated by dots): check you copied the token, not the client secret");
            } else {
                report.ok("DISCORD_TOKEN", "set and well-formed");
            }
        }
    }
    match secrets.discord_guild_id {
        Some(id) => report.ok("DISCORD_GUILD_ID", format!("home server {id}")),
        None => report.fail(
            "DISCORD_GUILD_ID",
            "not set: right-click the server in Discord (developer mode on) → Copy Server ID",
        ),
    }
    match &secrets.database_url {
        Some(_) => report.ok("DATABASE_URL", "set"),
        None => report.ok(
            "DATABASE_URL",
            format!(
                "not set: the embedded cluster in {} is used",
                secrets.data_dir.display()
            ),
        ),
    }
    if secrets.session_secret.is_some() {
        match secrets.check_session_secret() {
            Ok(()) => report.ok("SESSION_SECRET", "set, at least 32 bytes"),
            Err(err) => report.fail("SESSION_SECRET", err.to_string()),
        }
    }
    if !secrets.unknown_keys.is_empty() {
        report.warn(
            "secrets file",
            format!(
                "unknown keys {}: a typo? Secrets.example.toml lists every key",
                secrets.unknown_keys.join(", ")
            ),
        );
    }
}

/// The model key's shape; the key may come from the secret or the setting.
pub fn model_key_shape(report: &mut Report, key: Option<&str>) -> bool {
    match key {
        None => {
            report.fail(
                "ANTHROPIC_API_KEY",
                "not set: Add to Flipfix cannot analyse; set the secret or /flipfix config set ANTHROPIC_API_KEY",
            );
            false
        }
        Some(key) if key.chars().any(char::is_whitespace) => {
            report.fail(
                "ANTHROPIC_API_KEY",
                "contains spaces: copy it again from the Anthropic console",
            );
            false
        }
        Some(key) if !key.starts_with("sk-ant-") => {
            report.warn(
                "ANTHROPIC_API_KEY",
                "does not start with sk-ant-: check it is an Anthropic API key",
            );
            true
        }
        Some(_) => true,
    }
}

/// Migrations applied and none pending; doctor never applies them itself.
pub async fn migrations(report: &mut Report, pool: &PgPool) {
    let applied: Result<Vec<i64>, sqlx::Error> =
        sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success")
            .fetch_all(pool)
            .await;
    match applied {
        Err(err) => report.fail(
            "migrations",
            format!("cannot read the migration table ({err}): run `flipfix-bot migrate`"),
        ),
        Ok(applied) => {
            let applied: HashSet<i64> = applied.into_iter().collect();
            let pending = MIGRATOR
                .iter()
                .filter(|m| !m.migration_type.is_down_migration() && !applied.contains(&m.version))
                .count();
            if pending == 0 {
                report.ok(
                    "migrations",
                    format!("{} applied, none pending", applied.len()),
                );
            } else {
                report.fail(
                    "migrations",
                    format!("{pending} pending: run `flipfix-bot migrate` (run also applies them at start)"),
                );
            }
        }
    }
}

/// The workflows' `check` result.
pub fn workflows(report: &mut Report, loaded: &Result<std::sync::Arc<Workflows>, String>) {
    match loaded {
        Ok(workflows) => report.ok(
            "workflows",
            format!(
                "{} record kinds, version {}",
                workflows.kinds.names().len(),
                workflows.version
            ),
        ),
        Err(problems) => report.fail(
            "workflows",
            format!("{problems}: run `flipfix-bot check` for each file and line"),
        ),
    }
}

/// Media storage: where durable copies of photos go, and whether they can
/// be written there (`quick` leaves a bucket unchecked: that is network).
pub async fn media(report: &mut Report, secrets: &Secrets, pool: Option<&PgPool>, quick: bool) {
    let store = crate::media::BlobStore::new(secrets.media_s3.clone());
    if quick && store.kind() == "s3" {
        report.warn(
            "media storage",
            "a bucket is configured (not checked with --quick)",
        );
        return;
    }
    let Some(pool) = pool else {
        report.warn("media storage", "not checked: the database is unreachable");
        return;
    };
    match store.probe(pool).await {
        Ok(what) => report.ok("media storage", what),
        Err(err) => report.fail(
            "media storage",
            format!("{err}: photos stay on Discord's expiring links until this is fixed (check MEDIA_S3_URL and its credentials, or the database role)"),
        ),
    }
}

/// Whether a matching username alone may link someone to a maintainer.
pub fn maintainer_role(report: &mut Report, role: Option<u64>) {
    const NAME: &str = "DISCORD_MAINTAINER_ROLE";
    match role {
        Some(role) => report.ok(
            NAME,
            format!("set (role {role}): only members holding it are linked to a maintainer by username"),
        ),
        None => report.warn(
            NAME,
            "not set: anyone whose Discord username equals a maintainer's login is linked to that maintainer; give maintainers a role and set it with /flipfix config set DISCORD_MAINTAINER_ROLE @role (see docs/security.md)",
        ),
    }
}
