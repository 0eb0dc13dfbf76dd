//! Every way the preparation of a review can end leaves either a review
//! with buttons or a closed review whose message is free, and the person is
//! told which: an error (a Discord 5xx on an edit, a database or render
//! error), a panic in the task, or the process shutting down.

use std::future::Future;
use std::panic::AssertUnwindSafe;

use futures_util::FutureExt as _;
use poise::serenity_prelude as serenity;

use super::responder::Responder;
use super::{reply, Error};
use crate::app::App;
use crate::review::recovery;
use crate::review::{SessionStatus, StartOutcome};

const FAILED: &str = "⚠️ Something failed while preparing this review, so I closed it; nothing was saved. The message is free again: run Add to Flipfix once more. (The error was logged for the admins.)";
const INTERRUPTED: &str = "⚠️ The bot is restarting, so this analysis was stopped; nothing was saved. Run Add to Flipfix again in a minute.";

#[derive(Debug)]
enum Ending {
    Failed(String),
    Interrupted,
}

/// Runs `work` (preparing and showing review `session_id`) so that no
/// failure leaves the review open without buttons.
pub async fn guarded(
    responder: &Responder,
    interaction: &serenity::CommandInteraction,
    session_id: i64,
    work: impl Future<Output = Result<(), Error>>,
) -> Result<(), Error> {
    let app = &responder.app;
    let _in_flight = app.lifecycle.in_flight.enter();
    let Err(ending) = watch(work, app.lifecycle.shutdown.clone()).await else {
        return Ok(());
    };
    let (status, reason, text) = match &ending {
        Ending::Failed(reason) => (SessionStatus::Failed, reason.as_str(), FAILED),
        Ending::Interrupted => (
            SessionStatus::Interrupted,
            "the bot shut down while preparing it",
            INTERRUPTED,
        ),
    };
    match recovery::close(&app.pool, session_id, status, reason).await {
        Ok(_) => {
            if let Err(err) =
                crate::runs::settle_review_run(&app.pool, session_id, app.clock.now()).await
            {
                tracing::warn!(session_id, error = %err, "could not record how the run ended; it is settled as left over later");
            }
            match &ending {
            Ending::Failed(reason) => tracing::error!(
                session_id,
                error = %reason,
                "preparing a review failed; it was closed and its message freed, and the person was asked to try again"
            ),
            Ending::Interrupted => tracing::warn!(
                session_id,
                "a review being prepared was interrupted by shutdown and closed; the person was told"
            ),
            }
        }
        Err(err) => tracing::error!(
            session_id,
            error = %err,
            "could not close a failed review; it frees itself when this process is gone (or an admin runs /flipfix reviews cancel)"
        ),
    }
    tell(responder.http(), interaction, text).await;
    Ok(())
}

/// Runs `work` to its end, unless it fails, panics, or shutdown is
/// requested first (then it is dropped).
async fn watch(
    work: impl Future<Output = Result<(), Error>>,
    mut shutdown: crate::shutdown::Shutdown,
) -> Result<(), Ending> {
    tokio::select! {
        result = AssertUnwindSafe(work).catch_unwind() => match result {
            Ok(Ok(())) => Ok(()),
            Ok(Err(err)) => Err(Ending::Failed(format!("{err:#}"))),
            Err(panic) => Err(Ending::Failed(format!("the task panicked: {}", panic_message(panic.as_ref())))),
        },
        () = shutdown.requested() => Err(Ending::Interrupted),
    }
}

/// Replaces the reply with `text` (removing any buttons), or failing that
/// sends it as a follow-up.
async fn tell(http: &serenity::Http, interaction: &serenity::CommandInteraction, text: &str) {
    let edit = serenity::EditInteractionResponse::new()
        .content(text)
        .embeds(Vec::new())
        .components(Vec::new())
        .allowed_mentions(reply::no_mentions());
    let Err(edit_err) = interaction.edit_response(http, edit).await else {
        return;
    };
    let followup = serenity::CreateInteractionResponseFollowup::new()
        .content(text)
        .ephemeral(true)
        .allowed_mentions(reply::no_mentions());
    if let Err(err) = interaction.create_followup(http, followup).await {
        tracing::error!(edit_error = %edit_err, error = %err, "could not tell the person their review was closed; Discord refused both the edit and a follow-up");
    }
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(no message)".into())
}

/// Remembers the message with the review's buttons (for "already
/// reviewing" links). A failure only loses the link.
pub async fn shown(app: &App, session_id: i64, message: &serenity::Message) {
    if let Err(err) = recovery::set_review_message(&app.pool, session_id, message.id.get()).await {
        tracing::warn!(session_id, error = %err, "could not remember the review's message; \"already reviewing\" answers will carry no link");
    }
}

/// What to say when a review of this message is already open.
pub fn already_active(
    outcome: &StartOutcome,
    user_id: u64,
    guild_id: Option<u64>,
    channel_id: u64,
) -> String {
    let StartOutcome::AlreadyActive {
        owner_user_id,
        owner_name,
        status,
        review_message_id,
        ..
    } = outcome
    else {
        return String::new();
    };
    let own = *owner_user_id == user_id;
    match status {
        SessionStatus::Analysing if own => "Your earlier Add to Flipfix on this message is still being analysed; its answer will appear there in a moment.".into(),
        SessionStatus::Analysing => format!("{owner_name} started Add to Flipfix on this message a moment ago; it is being analysed."),
        _ if own => match (guild_id, review_message_id) {
            (Some(guild), Some(message)) => format!(
                "You are already reviewing this message: use the buttons on your earlier answer (https://discord.com/channels/{guild}/{channel_id}/{message})."
            ),
            _ => "You are already reviewing this message; use the buttons on your earlier answer.".into(),
        },
        _ => format!("{owner_name} is already reviewing this message."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn active(status: SessionStatus, review_message_id: Option<u64>) -> StartOutcome {
        StartOutcome::AlreadyActive {
            session_id: 1,
            owner_user_id: 7,
            owner_name: "Bob".into(),
            status,
            review_message_id,
        }
    }

    #[test]
    fn already_reviewing_links_the_review_when_its_message_is_known() {
        let text = already_active(&active(SessionStatus::Reviewing, Some(99)), 7, Some(1), 2);
        assert!(
            text.contains("https://discord.com/channels/1/2/99"),
            "{text}"
        );
        let text = already_active(&active(SessionStatus::Reviewing, None), 7, Some(1), 2);
        assert!(
            text.contains("use the buttons") && !text.contains("https://"),
            "{text}"
        );
    }

    #[tokio::test]
    async fn a_panic_an_error_or_shutdown_each_end_the_work_with_a_reason() {
        let never = crate::shutdown::Shutdown::never;
        assert!(watch(async { Ok(()) }, never()).await.is_ok());
        let panicked = watch(
            async {
                panic!("card template exploded");
                #[allow(unreachable_code)]
                Ok(())
            },
            never(),
        )
        .await;
        assert!(
            matches!(&panicked, Err(Ending::Failed(reason)) if reason.contains("panicked: card template exploded")),
            "{panicked:?}"
        );
        let failed = watch(async { Err(anyhow::anyhow!("Discord said 502")) }, never()).await;
        assert!(
            matches!(&failed, Err(Ending::Failed(reason)) if reason.contains("502")),
            "{failed:?}"
        );
        let (trigger, shutdown) = crate::shutdown::channel();
        trigger.request();
        let interrupted = watch(std::future::pending(), shutdown).await;
        assert!(
            matches!(interrupted, Err(Ending::Interrupted)),
            "{interrupted:?}"
        );
    }

    #[test]
    fn an_analysis_in_progress_never_claims_buttons_exist() {
        let own = already_active(&active(SessionStatus::Analysing, None), 7, Some(1), 2);
        assert!(!own.contains("buttons"), "{own}");
        let other = already_active(&active(SessionStatus::Analysing, None), 8, Some(1), 2);
        assert!(
            other.contains("Bob") && !other.contains("buttons"),
            "{other}"
        );
    }
}
