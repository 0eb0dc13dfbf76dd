//! `/flipfix workflows reload`.

use crate::discord::{reply, Context, Error};

/// Workflows and templates.
#[poise::command(slash_command, subcommands("reload"), subcommand_required)]
pub async fn workflows(_ctx: Context<'_>) -> Result<(), Error> {
    Ok(())
}

/// Reload workflows/ and prompts/ from disk; on any problem the running version stays.
#[poise::command(slash_command)]
async fn reload(ctx: Context<'_>) -> Result<(), Error> {
    let app = ctx.data().clone();
    // Reading and rendering every template is blocking file and CPU work.
    let result = tokio::task::spawn_blocking(move || app.reload_workflows()).await?;
    match result {
        Ok(loaded) => {
            tracing::info!(version = %loaded.version, by = %reply::actor(ctx), "workflows reloaded");
            reply::ephemeral(
                ctx,
                format!(
                    "✅ Workflows reloaded: version `{}`, record kinds: {}.",
                    loaded.version,
                    loaded.kinds.names().join(", ")
                ),
            )
            .await
        }
        Err(problems) => {
            let list: Vec<String> = problems.iter().map(|p| p.to_string()).collect();
            let current = ctx.data().workflows().version.clone();
            reply::ephemeral(
                ctx,
                format!(
                    "❌ Not reloaded; version `{current}` keeps running. {} problem(s):\n```\n{}\n```",
                    list.len(),
                    list.join("\n").replace("```", "'''")
                ),
            )
            .await
        }
    }
}
