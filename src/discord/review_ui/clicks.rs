//! A click on a card's buttons: Create, Attach, Skip or Cancel decided
//! here; Edit and menu choices handed to their own handlers.

use poise::serenity_prelude as serenity;

use super::edit_modal::open_edit_modal;
use super::refusals::refuse_acknowledged;
use super::render::render;
use crate::app::App;
use crate::discord::Error;
use crate::review::{Action, CustomId, Decision, DecisionOutcome, ReviewStore, Reviewer};

/// A click on Create, Edit, Skip or Cancel, or a choice in a card's menu.
pub async fn on_component(
    ctx: &serenity::Context,
    app: &App,
    component: &serenity::ComponentInteraction,
) -> Result<(), Error> {
    let Ok(id) = component.data.custom_id.parse::<CustomId>() else {
        return Ok(()); // not one of ours
    };
    let store = ReviewStore::new(app.pool.clone());
    let user = component.user.id.get();
    let position = usize::try_from(id.position).unwrap_or(usize::MAX);
    if id.action == Action::Edit {
        return open_edit_modal(ctx, app, component, id.session_id, position).await;
    }
    if matches!(id.action, Action::PickMachine | Action::PickChoice) {
        return crate::discord::card_menus::on_pick(ctx, app, component, id).await;
    }
    // Acknowledge at once; the database work and the edit follow.
    component
        .create_response(&ctx.http, serenity::CreateInteractionResponse::Acknowledge)
        .await?;
    // The review's own workflow version, or the sentence that it ended.
    let workflows = match app.review_workflows(id.session_id, user).await {
        Ok(workflows) => workflows,
        Err(err) => return refuse_acknowledged(ctx, app, component, id.session_id, err).await,
    };
    let result = match id.action {
        Action::Create
        | Action::Skip
        | Action::Attach
        | Action::CreateAndClose
        | Action::AttachAndClose => {
            let decision = match id.action {
                Action::Create => Decision::Create,
                Action::Attach => Decision::Attach,
                Action::CreateAndClose => Decision::CreateAndClose,
                Action::AttachAndClose => Decision::AttachAndClose,
                _ => Decision::Skip,
            };
            store
                .decide(
                    &workflows.kinds,
                    id.session_id,
                    position,
                    decision,
                    Reviewer::new(user, component.user.name.clone()),
                    app.clock.now(),
                )
                .await
                .map(|(outcome, session)| (Some(outcome), session))
        }
        _ => store
            .cancel(id.session_id, user, app.clock.now())
            .await
            .map(|session| (None, session)),
    };
    match result {
        Ok((outcome, session)) => {
            if let Some(DecisionOutcome::AlreadyDecided { .. }) = outcome {
                tracing::info!(session = id.session_id, position, "repeated click ignored");
            }
            let message = render(app, &session).await?;
            component
                .edit_response(&ctx.http, message.into_edit())
                .await?;
            // The fix closed a report of a machine out of normal service: say
            // so, and ask when it was the last (before the acknowledgement,
            // which may wait on Discord).
            if let (
                Action::CreateAndClose | Action::AttachAndClose,
                Some(DecisionOutcome::Created { record_id }),
            ) = (id.action, &outcome)
            {
                crate::discord::machine_status::ask_after_review_close(
                    ctx, app, component, *record_id,
                )
                .await;
            }
            // Only once the click is answered: never delays the card.
            crate::discord::acknowledge::after_decision(
                ctx,
                app,
                &workflows,
                component,
                position,
                outcome.as_ref(),
                &session,
            )
            .await;
            // A review opened from a prompt in the channel: say how it ended there.
            crate::discord::triggers::review_prompt::after_review_click(&ctx.http, app, &session)
                .await;
            Ok(())
        }
        Err(err) => refuse_acknowledged(ctx, app, component, id.session_id, err).await,
    }
}
