//! The commands that come from workflow files: the message command a
//! workflow names ("Add to Flipfix") and one record command per kind that
//! declares `command:` (`/log`, `/problem`, …). They are built from the
//! workflows in force each time they are needed, so a reload adds, renames
//! or removes them without a restart: `command_sync` registers them,
//! `dispatch` routes their interactions. The static commands (`/flipfix`,
//! `/find`, `/history`) stay with poise.

use poise::serenity_prelude as serenity;

use super::command_sync::CommandKey;
use super::{add_to_flipfix, record_commands, Data, Error};
use crate::workflow::Workflows;

pub type Command = poise::Command<Data, Error>;

/// Every command the workflows declare. This is the one place that turns
/// workflow triggers into Discord commands: a new trigger kind (a
/// workflow's own message or slash command) is one more entry here plus
/// its handler.
pub fn workflow_commands(workflows: &Workflows) -> Vec<Command> {
    let mut add = add_to_flipfix::add_to_flipfix();
    // Named by the workflow; poise's attribute holds the default.
    if let Some(name) = workflows
        .with_message_command()
        .find_map(|w| w.message_command())
    {
        add.context_menu_name = Some(name.to_string().into());
    }
    let mut commands = vec![add];
    commands.extend(record_commands::record_commands(&workflows.kinds));
    commands
}

/// The identities (type and name) a command registers under.
pub fn keys(command: &Command) -> Vec<CommandKey> {
    let mut keys = Vec::new();
    if command.slash_action.is_some() {
        keys.push(CommandKey {
            kind: 1,
            name: command.name.to_string(),
        });
    }
    if let Some(action) = command.context_menu_action {
        keys.push(CommandKey {
            kind: u64::from(u8::from(serenity::CommandType::from(action))),
            name: command
                .context_menu_name
                .as_deref()
                .unwrap_or(&command.name)
                .to_string(),
        });
    }
    keys
}

/// The workflow commands that do not take a static command's name and
/// type (the static one wins), and the keys of those that do.
pub fn beside_static(
    statics: &[Command],
    workflows: &Workflows,
) -> (Vec<Command>, Vec<CommandKey>) {
    let taken: Vec<CommandKey> = statics.iter().flat_map(keys).collect();
    let mut clashes = Vec::new();
    let kept = workflow_commands(workflows)
        .into_iter()
        .filter(|command| {
            let clashing: Vec<CommandKey> = keys(command)
                .into_iter()
                .filter(|key| taken.contains(key))
                .collect();
            let keep = clashing.is_empty();
            clashes.extend(clashing);
            keep
        })
        .collect();
    (kept, clashes)
}

/// What the home server should offer: the static commands and the
/// workflows' commands, as Discord builders.
pub fn wanted_commands(statics: &[Command], workflows: &Workflows) -> Vec<serenity::CreateCommand> {
    let (dynamic, clashes) = beside_static(statics, workflows);
    for key in clashes {
        tracing::warn!(command = %key, "a workflow declares a command the bot already has; the built-in one is kept, rename it in the workflow");
    }
    poise::builtins::create_application_commands(statics.iter().chain(dynamic.iter()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_command_is_keyed_by_its_menu_name() {
        let mut add = add_to_flipfix::add_to_flipfix();
        add.context_menu_name = Some("Save to Log".into());
        assert_eq!(
            keys(&add),
            vec![CommandKey {
                kind: 3,
                name: "Save to Log".into()
            }]
        );
    }
}
