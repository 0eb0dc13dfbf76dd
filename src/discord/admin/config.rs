//! `/flipfix config show | set | reset`.

use poise::serenity_prelude as serenity;

use crate::config::settings::SettingsError;
use crate::config::{Key, Settings};
use crate::discord::{reply, Context, Error};

/// View and change settings.
#[poise::command(
    slash_command,
    subcommands("show", "set", "reset"),
    subcommand_required
)]
pub async fn config(_ctx: Context<'_>) -> Result<(), Error> {
    Ok(())
}

/// Show every setting (secrets masked).
#[poise::command(slash_command)]
async fn show(ctx: Context<'_>) -> Result<(), Error> {
    let switches = ctx.data().workflows().kinds.switches();
    let views = ctx.data().settings.show(&switches).await?;
    let lines: Vec<String> = views
        .iter()
        .map(|view| {
            format!(
                "`{}` = {}{}\n-# {}",
                view.key,
                reply::escape_markdown(&view.shown_value),
                if view.is_default { " (default)" } else { "" },
                view.description
            )
        })
        .collect::<Vec<_>>();
    reply::ephemeral_embed(ctx, "flipfix settings", &lines.join("\n")).await
}

/// Set a setting.
#[poise::command(slash_command)]
async fn set(
    ctx: Context<'_>,
    #[description = "Setting"]
    #[autocomplete = "autocomplete_key"]
    key: String,
    #[description = "New value"] value: String,
) -> Result<(), Error> {
    let switches = ctx.data().workflows().kinds.switches();
    let key = match Settings::lookup(&key, &switches) {
        Ok(key) => key,
        Err(err) => return reply::ephemeral(ctx, format!("❌ {err}")).await,
    };
    let settings = &ctx.data().settings;
    match settings.set(key.clone(), &value, &reply::actor(ctx)).await {
        Ok(()) => {}
        Err(err @ SettingsError::InvalidValue { .. }) => {
            return reply::ephemeral(ctx, format!("❌ {err}. Nothing was changed.")).await;
        }
        Err(err) => return Err(err.into()),
    }
    let shown = shown_value(settings, &key, &switches).await?;
    reply::ephemeral(ctx, format!("✅ `{}` is now {shown}.", key.name())).await
}

/// Return a setting to its default.
#[poise::command(slash_command)]
async fn reset(
    ctx: Context<'_>,
    #[description = "Setting"]
    #[autocomplete = "autocomplete_key"]
    key: String,
) -> Result<(), Error> {
    let switches = ctx.data().workflows().kinds.switches();
    let key = match Settings::lookup(&key, &switches) {
        Ok(key) => key,
        Err(err) => return reply::ephemeral(ctx, format!("❌ {err}")).await,
    };
    let settings = &ctx.data().settings;
    settings.reset(key.clone(), &reply::actor(ctx)).await?;
    let shown = shown_value(settings, &key, &switches).await?;
    reply::ephemeral(
        ctx,
        format!("✅ `{}` is back to its default: {shown}.", key.name()),
    )
    .await
}

/// The value as admins may see it (masked for secrets).
async fn shown_value(
    settings: &Settings,
    key: &Key,
    switches: &crate::config::DeclaredSwitches,
) -> Result<String, Error> {
    let views = settings.show(switches).await?;
    Ok(views
        .into_iter()
        .find(|view| view.key == key.name())
        .map(|view| format!("`{}`", view.shown_value.replace('`', "'")))
        .unwrap_or_default())
}

/// Keys matching what was typed, with description and current value.
async fn autocomplete_key<'a>(
    ctx: Context<'a>,
    partial: &'a str,
) -> serenity::CreateAutocompleteResponse {
    let switches = ctx.data().workflows().kinds.switches();
    let views = match ctx.data().settings.show(&switches).await {
        Ok(views) => views,
        Err(err) => {
            tracing::warn!(error = %err, "settings autocomplete failed");
            return serenity::CreateAutocompleteResponse::new();
        }
    };
    let partial = partial.to_ascii_uppercase();
    let choices = views
        .into_iter()
        .filter(|view| view.key.contains(&partial))
        .take(25)
        .map(|view| {
            let label = format!("{} = {} — {}", view.key, view.shown_value, view.description);
            serenity::AutocompleteChoice::new(crate::text::truncate_chars(&label, 100), view.key)
        })
        .collect::<Vec<_>>();
    serenity::CreateAutocompleteResponse::new().set_choices(choices)
}
