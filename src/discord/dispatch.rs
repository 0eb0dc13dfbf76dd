//! The bot's own dispatcher for commands that come from workflow files.
//! poise takes its command list when the framework is built, so a command a
//! reload adds or renames would be unknown to it: these interactions are
//! matched here, by type and name, against the commands of the workflows in
//! force, then run through poise's own argument parsing, checks and error
//! handling with a command list made for this one interaction.
//!
//! The gates are the same as for every command: the home-server gate
//! (`home::HomeOnly`) wraps the whole framework, this event handler
//! included, and every handler defers before any database, settings or
//! lock work. Matching reads only the in-memory workflow set.

use std::sync::atomic::AtomicBool;

use poise::serenity_prelude as serenity;

use super::command_sync::CommandKey;
use super::workflow_commands::{beside_static, keys};
use super::{reply, Data, Error};

type Framework<'a> = poise::FrameworkContext<'a, Data, Error>;

/// What someone is told when a command they used no longer exists (a
/// reload removed or renamed it and their client still showed it).
pub const GONE: &str =
    "This command is no longer offered: a workflow reload removed or renamed it. Nothing was done.";

/// Routes a command or autocomplete interaction that poise does not know.
/// Returns whether the interaction was this dispatcher's.
pub async fn route(framework: Framework<'_>, interaction: &serenity::Interaction) -> bool {
    let (command, autocomplete) = match interaction {
        serenity::Interaction::Command(command) => (command, false),
        serenity::Interaction::Autocomplete(command) => (command, true),
        _ => return false,
    };
    let key = CommandKey {
        kind: u64::from(u8::from(command.data.kind)),
        name: command.data.name.clone(),
    };
    // poise answered its own commands already.
    if framework
        .options
        .commands
        .iter()
        .any(|c| keys(c).contains(&key))
    {
        return false;
    }
    let workflows = framework.user_data.workflows();
    let (commands, _) = beside_static(&framework.options.commands, &workflows);
    if !commands.iter().any(|c| keys(c).contains(&key)) {
        answer_gone(framework.serenity_context, command, autocomplete).await;
        return true;
    }
    let options = poise::FrameworkOptions {
        commands,
        on_error: framework.options.on_error,
        ..Default::default()
    };
    let framework = poise::FrameworkContext {
        options: &options,
        ..framework
    };
    let invocation_data = tokio::sync::Mutex::new(Box::new(()) as _);
    let mut command_tree = Vec::new();
    let arguments = command.data.options();
    let sent = AtomicBool::new(false);
    let result = if autocomplete {
        poise::dispatch_autocomplete(
            framework,
            command,
            &sent,
            &invocation_data,
            &arguments,
            &mut command_tree,
        )
        .await
    } else {
        poise::dispatch_interaction(
            framework,
            command,
            &sent,
            &invocation_data,
            &arguments,
            &mut command_tree,
        )
        .await
    };
    if let Err(error) = result {
        error.handle(&options).await;
    }
    true
}

/// A command the workflows no longer declare: said privately; an
/// autocomplete gets no choices.
async fn answer_gone(
    ctx: &serenity::Context,
    command: &serenity::CommandInteraction,
    autocomplete: bool,
) {
    tracing::info!(command = %command.data.name, "a command no workflow declares any more was used");
    let response = if autocomplete {
        serenity::CreateInteractionResponse::Autocomplete(
            serenity::CreateAutocompleteResponse::new(),
        )
    } else {
        serenity::CreateInteractionResponse::Message(
            serenity::CreateInteractionResponseMessage::new()
                .content(GONE)
                .ephemeral(true)
                .allowed_mentions(reply::no_mentions()),
        )
    };
    if let Err(err) = command.create_response(&ctx.http, response).await {
        tracing::warn!(error = %err, "could not answer a command that is no longer offered");
    }
}
