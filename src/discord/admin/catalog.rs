//! `/flipfix machines …`, `/flipfix maintainers …`, `/flipfix import`.

use poise::serenity_prelude as serenity;

use crate::catalog::machines::{self, MachineError};
use crate::catalog::maintainers::{self, MaintainerError};
use crate::catalog::{import_machines, import_maintainers, ImportError};
use crate::discord::{reply, Context, Error};

/// Manage machines.
#[poise::command(
    slash_command,
    subcommands("machines_list", "machines_add", "machines_rename", "machines_alias"),
    subcommand_required
)]
pub async fn machines(_ctx: Context<'_>) -> Result<(), Error> {
    Ok(())
}

/// List machines.
#[poise::command(slash_command, rename = "list")]
async fn machines_list(ctx: Context<'_>) -> Result<(), Error> {
    let all = machines::list(&ctx.data().pool).await?;
    if all.is_empty() {
        return reply::ephemeral(
            ctx,
            "No machines yet. Use `/flipfix machines add` or `/flipfix import`.",
        )
        .await;
    }
    let lines: Vec<String> = all
        .iter()
        .map(|m| {
            let mut line = format!("`{}` {}", m.slug, reply::escape_markdown(&m.name));
            if let Some(short) = &m.short_name {
                line.push_str(&format!(" ({})", reply::escape_markdown(short)));
            }
            if !m.aliases.is_empty() {
                line.push_str(&format!(
                    " — also: {}",
                    reply::escape_markdown(&m.aliases.join(", "))
                ));
            }
            line
        })
        .collect::<Vec<_>>();
    reply::ephemeral_embed(ctx, &format!("Machines ({})", all.len()), &lines.join("\n")).await
}

/// Add a machine.
#[poise::command(slash_command, rename = "add")]
async fn machines_add(
    ctx: Context<'_>,
    #[description = "Full name"] name: String,
    #[description = "Short name used in titles"] short_name: Option<String>,
) -> Result<(), Error> {
    let answer = machines::add(&ctx.data().pool, &name, short_name.as_deref()).await;
    machine_answer(ctx, answer, "added").await
}

/// Rename a machine (its slug stays).
#[poise::command(slash_command, rename = "rename")]
async fn machines_rename(
    ctx: Context<'_>,
    #[description = "Machine"]
    #[autocomplete = "autocomplete_machine"]
    machine: String,
    #[description = "New name"] name: String,
) -> Result<(), Error> {
    let answer = machines::rename(&ctx.data().pool, &machine, &name).await;
    machine_answer(ctx, answer, "renamed").await
}

/// Add another name for a machine.
#[poise::command(slash_command, rename = "alias")]
async fn machines_alias(
    ctx: Context<'_>,
    #[description = "Machine"]
    #[autocomplete = "autocomplete_machine"]
    machine: String,
    #[description = "Another name the team uses"] alias: String,
) -> Result<(), Error> {
    let answer = machines::add_alias(&ctx.data().pool, &machine, &alias).await;
    machine_answer(ctx, answer, "updated").await
}

async fn machine_answer(
    ctx: Context<'_>,
    answer: Result<machines::Machine, MachineError>,
    done: &str,
) -> Result<(), Error> {
    match answer {
        Ok(m) => {
            let aliases = if m.aliases.is_empty() {
                String::new()
            } else {
                format!(", also called {}", m.aliases.join(", "))
            };
            reply::ephemeral(
                ctx,
                format!("✅ Machine `{}` {done}: {}{aliases}.", m.slug, m.name),
            )
            .await
        }
        Err(MachineError::Database(err)) => Err(err.into()),
        Err(err) => reply::ephemeral(ctx, format!("❌ {err}. Nothing was changed.")).await,
    }
}

/// Manage maintainers.
#[poise::command(
    slash_command,
    subcommands("maintainers_list", "maintainers_add"),
    subcommand_required
)]
pub async fn maintainers(_ctx: Context<'_>) -> Result<(), Error> {
    Ok(())
}

/// List maintainers.
#[poise::command(slash_command, rename = "list")]
async fn maintainers_list(ctx: Context<'_>) -> Result<(), Error> {
    let all = maintainers::list(&ctx.data().pool).await?;
    if all.is_empty() {
        return reply::ephemeral(
            ctx,
            "No maintainers yet. Use `/flipfix maintainers add` or `/flipfix import`.",
        )
        .await;
    }
    let lines: Vec<String> = all
        .iter()
        .map(|m| match &m.display_name {
            Some(name) => format!("`{}` {}", m.username, reply::escape_markdown(name)),
            None => format!("`{}`", m.username),
        })
        .collect::<Vec<_>>();
    reply::ephemeral_embed(
        ctx,
        &format!("Maintainers ({})", all.len()),
        &lines.join("\n"),
    )
    .await
}

/// Add a maintainer.
#[poise::command(slash_command, rename = "add")]
async fn maintainers_add(
    ctx: Context<'_>,
    #[description = "Username"] username: String,
    #[description = "Display name"] display_name: Option<String>,
) -> Result<(), Error> {
    match maintainers::add(&ctx.data().pool, &username, display_name.as_deref()).await {
        Ok(m) => reply::ephemeral(ctx, format!("✅ Maintainer `{}` added.", m.username)).await,
        Err(MaintainerError::Database(err)) => Err(err.into()),
        Err(err) => reply::ephemeral(ctx, format!("❌ {err}. Nothing was changed.")).await,
    }
}

#[derive(Debug, Clone, Copy, poise::ChoiceParameter)]
pub enum ImportKind {
    #[name = "machines.json"]
    Machines,
    #[name = "accounts.json"]
    Maintainers,
}

/// Import machines.json or accounts.json exported from the original system.
#[poise::command(slash_command)]
pub async fn import(
    ctx: Context<'_>,
    #[description = "Which export"] kind: ImportKind,
    #[description = "The JSON file"] file: serenity::Attachment,
) -> Result<(), Error> {
    ctx.defer_ephemeral().await?;
    let json = match download(&file, ctx.data().secrets.allow_loopback_urls).await {
        Ok(json) => json,
        Err(problem) => {
            return reply::ephemeral(
                ctx,
                format!("❌ Could not read `{}`: {problem}", file.filename),
            )
            .await
        }
    };
    let pool = &ctx.data().pool;
    let result = match kind {
        ImportKind::Machines => {
            let statuses = ctx.data().workflows().kinds.machine_statuses().clone();
            import_machines(pool, &statuses, &file.filename, &json).await
        }
        ImportKind::Maintainers => import_maintainers(pool, &file.filename, &json).await,
    };
    match result {
        Ok(summary) => {
            reply::ephemeral(ctx, format!("✅ Imported `{}`: {summary}", file.filename)).await
        }
        Err(err @ ImportError::Format { .. }) => {
            reply::ephemeral(ctx, format!("❌ {err}. Nothing was imported.")).await
        }
        Err(err) => Err(err.into()),
    }
}

/// Largest import file accepted.
const MAX_IMPORT_BYTES: usize = 2 * 1024 * 1024;

/// The attachment's text, read from Discord's CDN within the size limit.
async fn download(file: &serenity::Attachment, allow_loopback: bool) -> Result<String, String> {
    let bytes = crate::discord::cdn::download(
        &file.url,
        Some(u64::from(file.size)),
        MAX_IMPORT_BYTES,
        allow_loopback,
    )
    .await
    .map_err(|err| err.to_string())?;
    String::from_utf8(bytes).map_err(|_| "the file is not UTF-8 text".to_string())
}

/// Machine slugs matching what was typed (by slug, name or alias).
pub async fn autocomplete_machine<'a>(
    ctx: Context<'a>,
    partial: &'a str,
) -> serenity::CreateAutocompleteResponse {
    let all = machines::list(&ctx.data().pool).await.unwrap_or_default();
    let key = crate::text::loose_key(partial);
    let choices = all
        .into_iter()
        .filter(|m| {
            std::iter::once(&m.slug)
                .chain(std::iter::once(&m.name))
                .chain(m.short_name.iter())
                .chain(m.aliases.iter())
                .any(|name| crate::text::loose_key(name).contains(&key))
        })
        .take(25)
        .map(|m| {
            serenity::AutocompleteChoice::new(crate::text::truncate_chars(&m.name, 100), m.slug)
        })
        .collect::<Vec<_>>();
    serenity::CreateAutocompleteResponse::new().set_choices(choices)
}

/// Maintainer usernames matching what was typed.
pub async fn autocomplete_maintainer<'a>(
    ctx: Context<'a>,
    partial: &'a str,
) -> serenity::CreateAutocompleteResponse {
    let all = maintainers::list(&ctx.data().pool)
        .await
        .unwrap_or_default();
    let partial = partial.to_lowercase();
    let choices = all
        .into_iter()
        .filter(|m| {
            m.username.to_lowercase().contains(&partial)
                || m.display_name
                    .as_deref()
                    .is_some_and(|d| d.to_lowercase().contains(&partial))
        })
        .take(25)
        .map(|m| {
            let label = match &m.display_name {
                Some(name) => format!("{} ({name})", m.username),
                None => m.username.clone(),
            };
            serenity::AutocompleteChoice::new(crate::text::truncate_chars(&label, 100), m.username)
        })
        .collect::<Vec<_>>();
    serenity::CreateAutocompleteResponse::new().set_choices(choices)
}
