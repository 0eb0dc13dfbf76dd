//! `/flipfix doctor`: the same checks as `flipfix-bot doctor`, run by the
//! bot itself with its own Discord client, answered to the admin alone.

use crate::discord::{reply, Context, Error};
use crate::doctor::{diagnose, Inputs};

/// Check the configuration: secrets, database, Discord, webhook, model key, pages.
#[poise::command(slash_command)]
pub async fn doctor(ctx: Context<'_>) -> Result<(), Error> {
    // Acknowledge first: the checks make several network calls.
    ctx.defer_ephemeral().await?;
    let app = ctx.data();
    let report = diagnose(Inputs {
        secrets: &app.secrets,
        pool: Ok(&app.pool),
        workflows: Ok(app.workflows()),
        http: Some(ctx.http()),
        quick: false,
    })
    .await;
    let title = if report.has_failures() {
        "Doctor: something needs fixing"
    } else {
        "Doctor: all checks passed"
    };
    reply::ephemeral_embed(ctx, title, &report.render()).await
}
