//! The bot's own dispatcher for commands that come from workflow files.
//! poise takes its command list when the framework is built, so a command a
//! reload adds or renames would be unknown to it: these interactions are
//! matched here, by type and name, against the commands of the workflows in
//! force, then run through poise's own argument parsing, checks and error
//! handling with a command list made once per workflow set (see `Table`).
//!
//! The gates are the same as for every command: the home-server gate
//! (`home::HomeOnly`) wraps the whole framework, this event handler
//! included, and every handler defers before any database, settings or
//! lock work. Matching reads only the in-memory workflow set.

use std::sync::atomic::AtomicBool;
use std::sync::{Arc, RwLock, Weak};

use poise::serenity_prelude as serenity;

use super::command_sync::CommandKey;
use super::workflow_commands::{beside_static, keys};
use super::{reply, Data, Error};
use crate::workflow::Workflows;

type Framework<'a> = poise::FrameworkContext<'a, Data, Error>;

/// What someone is told when a command they used no longer exists (a
/// reload removed or renamed it and their client still showed it).
pub const GONE: &str =
    "This command is no longer offered: a workflow reload removed or renamed it. Nothing was done.";

/// The commands of one workflow set, made once and shared by every
/// interaction while that set is in force: building them per interaction
/// cost most of the deferral's own work and ~10 KB per interaction in
/// flight (measured with `cargo bench --bench discord_burst`).
struct Table {
    /// The set this table was made from (a `Weak`, so a set that is gone
    /// cannot be mistaken for a new one at the same address).
    workflows: Weak<Workflows>,
    /// The keys poise serves itself (the static commands).
    static_keys: Vec<CommandKey>,
    /// The keys of the workflow commands, which this dispatcher serves.
    workflow_keys: Vec<CommandKey>,
    options: poise::FrameworkOptions<Data, Error>,
}

impl Table {
    fn new(framework: Framework<'_>, workflows: &Arc<Workflows>) -> Self {
        let (commands, _) = beside_static(&framework.options.commands, workflows);
        Self {
            workflows: Arc::downgrade(workflows),
            static_keys: framework.options.commands.iter().flat_map(keys).collect(),
            workflow_keys: commands.iter().flat_map(keys).collect(),
            options: poise::FrameworkOptions {
                commands,
                on_error: framework.options.on_error,
                // No workflow command declares a cooldown: skipping poise's
                // check leaves nothing to share between interactions.
                manual_cooldowns: true,
                ..Default::default()
            },
        }
    }

    fn is_for(&self, workflows: &Arc<Workflows>) -> bool {
        std::ptr::eq(self.workflows.as_ptr(), Arc::as_ptr(workflows))
    }
}

/// The table of the workflow set in force, made on first use after a
/// reload. The lock is held only to clone or replace an `Arc`.
fn table(framework: Framework<'_>) -> Arc<Table> {
    static TABLE: RwLock<Option<Arc<Table>>> = RwLock::new(None);
    let workflows = framework.user_data.workflows();
    let current = match TABLE.read() {
        Ok(guard) => guard.clone(),
        Err(poisoned) => poisoned.into_inner().clone(),
    };
    if let Some(table) = current.filter(|t| t.is_for(&workflows)) {
        return table;
    }
    let table = Arc::new(Table::new(framework, &workflows));
    match TABLE.write() {
        Ok(mut guard) => *guard = Some(table.clone()),
        Err(poisoned) => *poisoned.into_inner() = Some(table.clone()),
    }
    table
}

fn has_key(keys: &[CommandKey], kind: u64, name: &str) -> bool {
    keys.iter().any(|key| key.kind == kind && key.name == name)
}

/// Routes a command or autocomplete interaction that poise does not know.
/// Returns whether the interaction was this dispatcher's.
pub async fn route(framework: Framework<'_>, interaction: &serenity::Interaction) -> bool {
    let (command, autocomplete) = match interaction {
        serenity::Interaction::Command(command) => (command, false),
        serenity::Interaction::Autocomplete(command) => (command, true),
        _ => return false,
    };
    let kind = u64::from(u8::from(command.data.kind));
    let name = command.data.name.as_str();
    let table = table(framework);
    // poise answered its own commands already.
    if has_key(&table.static_keys, kind, name) {
        return false;
    }
    if !has_key(&table.workflow_keys, kind, name) {
        answer_gone(framework.serenity_context, command, autocomplete).await;
        return true;
    }
    let options = &table.options;
    let framework = poise::FrameworkContext {
        options,
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
        error.handle(options).await;
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
