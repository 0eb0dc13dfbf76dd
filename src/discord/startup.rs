//! Start-up that cannot leave a silent bot: command registration is retried
//! with backoff until the start-up deadline, and the outcome is reported to
//! `run`, which exits non-zero naming the cause when it is not a success.

use std::time::Duration;

use poise::serenity_prelude as serenity;

use super::{register_commands, Data, Error};
use crate::app::App;

/// Registers the commands, retrying failures (a Discord 5xx, a network
/// error, a database hiccup) with doubling waits from 1 s (at most 10 s)
/// until `deadline`. The first failure is logged as a warning, the last as
/// the error.
pub async fn register_commands_with_retry(
    ctx: &serenity::Context,
    app: &App,
    commands: &[poise::Command<Data, Error>],
    deadline: tokio::time::Instant,
) -> anyhow::Result<()> {
    let mut wait = Duration::from_secs(1);
    let mut attempt = 1u32;
    loop {
        let err = match register_commands(ctx, app, commands).await {
            Ok(()) => {
                if attempt > 1 {
                    tracing::info!(attempt, "commands registered after retrying");
                }
                return Ok(());
            }
            Err(err) => err,
        };
        let now = tokio::time::Instant::now();
        if now + wait > deadline {
            let answer = discord_status(&err)
                .map(|status| format!(" (Discord answered HTTP {status})"))
                .unwrap_or_default();
            return Err(err.context(format!(
                "command registration failed {attempt} time(s){answer}; giving up"
            )));
        }
        if attempt == 1 {
            tracing::warn!(
                error = format!("{err:#}"),
                "command registration failed; retrying with backoff (check Discord's status and the bot token)"
            );
        } else {
            tracing::debug!(
                attempt,
                error = format!("{err:#}"),
                "command registration failed again"
            );
        }
        tokio::time::sleep(wait).await;
        wait = (wait * 2).min(Duration::from_secs(10));
        attempt += 1;
    }
}

/// The HTTP status Discord answered, when the error is Discord refusing.
fn discord_status(err: &anyhow::Error) -> Option<u16> {
    err.chain()
        .find_map(|cause| match cause.downcast_ref::<serenity::Error>() {
            Some(serenity::Error::Http(serenity::HttpError::UnsuccessfulRequest(response))) => {
                Some(response.status_code.as_u16())
            }
            _ => None,
        })
}
