//! `/flipfix workflows reload`: validate, swap only if valid, then sync the
//! commands the workflows declare by difference.

use crate::discord::{reply, sync_commands, Context, Error};

/// Workflows and templates.
#[poise::command(slash_command, subcommands("reload"), subcommand_required)]
pub async fn workflows(_ctx: Context<'_>) -> Result<(), Error> {
    Ok(())
}

/// Reload workflows/ and prompts/ from disk; on any problem the running version stays.
#[poise::command(slash_command)]
async fn reload(ctx: Context<'_>) -> Result<(), Error> {
    // Loading, rendering and syncing with Discord take longer than the three
    // seconds Discord waits for an answer.
    ctx.defer_ephemeral().await?;
    let app = ctx.data().clone();
    // Reading and rendering every template is blocking file and CPU work.
    let result = tokio::task::spawn_blocking(move || app.reload_workflows()).await?;
    let loaded = match result {
        Ok(loaded) => loaded,
        Err(problems) => {
            let list: Vec<String> = problems.iter().map(|p| p.to_string()).collect();
            let current = ctx.data().workflows().version.clone();
            return reply::ephemeral(
                ctx,
                format!(
                    "❌ Not reloaded; version `{current}` keeps running. {} problem(s):\n```\n{}\n```",
                    list.len(),
                    list.join("\n").replace("```", "'''")
                ),
            )
            .await;
        }
    };
    tracing::info!(version = %loaded.version, by = %reply::actor(ctx), "workflows reloaded");
    let reloaded = format!(
        "✅ Workflows reloaded: version `{}`, record kinds: {}.",
        loaded.version,
        loaded.kinds.names().join(", ")
    );
    let statics = &ctx.framework().options().commands;
    let commands = match sync_commands(ctx.http(), ctx.data(), statics).await {
        Ok(summary) => format!(" Discord: {}.", summary.changes()),
        Err(err) => {
            tracing::error!(
                version = %loaded.version,
                error = format!("{err:#}"),
                "workflows reloaded but the command sync failed; the next reload or restart retries it"
            );
            " ⚠️ The new workflows are in force, but Discord did not take the command changes; \
             new or renamed commands may not show yet, run the reload again later (it retries)."
                .to_string()
        }
    };
    reply::ephemeral(ctx, format!("{reloaded}{commands}")).await
}
