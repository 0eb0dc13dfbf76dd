//! Checks across every workflow file: names, triggers claimed twice, and
//! Discord's limits on one application's commands.

use std::collections::HashMap;

use crate::workflow::definition::Workflow;
use crate::workflow::trigger::{Trigger, OFF_CHANNEL};
use crate::workflow::{Problem, Problems, RecordKinds};

/// Message commands one application may register in a guild. Discord's
/// documentation: "Apps can have a maximum of 5 global context menu
/// commands, and an additional 5 guild-specific context menu commands per
/// guild" (per type: USER and MESSAGE) —
/// https://docs.discordnet.dev/guides/int_basics/application-commands/context-menu-commands/creating-context-menu-commands.html,
/// restating https://discord.com/developers/docs/interactions/application-commands#registering-a-command.
/// The bot registers its commands in the home guild.
pub const MAX_MESSAGE_COMMANDS: usize = 5;
/// Slash commands one application may register in a guild (same sources).
pub const MAX_SLASH_COMMANDS: usize = 100;
/// Options one slash command may have (Discord: "max 25").
pub const MAX_OPTIONS: usize = 25;

pub(super) fn check_across(workflows: &[Workflow], kinds: &RecordKinds, problems: &mut Problems) {
    unique_names(workflows, problems);
    unique_triggers(workflows, problems);
    beside_record_commands(workflows, kinds, problems);
    command_limits(workflows, problems);
}

fn at(workflow: &Workflow, (line, column): (u64, u64), message: String) -> Problem {
    Problem::new(&workflow.declared_in, message).at(line, column)
}

fn place(workflow: &Workflow, (line, _): (u64, u64)) -> String {
    format!("{}:{line}", workflow.declared_in.display())
}

fn unique_names(workflows: &[Workflow], problems: &mut Problems) {
    let mut seen: HashMap<&str, &Workflow> = HashMap::new();
    for workflow in workflows {
        match seen.get(workflow.name.as_str()) {
            Some(first) => problems.push(at(
                workflow,
                workflow.at,
                format!(
                    "workflow `{}` is already declared at {}; names must be unique",
                    workflow.name,
                    place(first, first.at)
                ),
            )),
            None => {
                seen.insert(&workflow.name, workflow);
            }
        }
    }
}

/// What two triggers may not share: a command name (per command type), or
/// an emoji in one channel (an unscoped reaction claims every channel).
fn unique_triggers(workflows: &[Workflow], problems: &mut Problems) {
    let mut claimed: Vec<(&Workflow, (u64, u64), &Trigger)> = Vec::new();
    for workflow in workflows {
        for (trigger, &trigger_at) in workflow.triggers.iter().zip(&workflow.triggers_at) {
            let clash = claimed
                .iter()
                .find_map(|(w, a, t)| clash(t, trigger).map(|what| (w, a, what)));
            if let Some((first, first_at, what)) = clash {
                problems.push(at(
                    workflow,
                    trigger_at,
                    format!(
                        "workflow `{}`: {what} is already claimed by workflow `{}` at {}",
                        workflow.name,
                        first.name,
                        place(first, *first_at)
                    ),
                ));
            } else {
                claimed.push((workflow, trigger_at, trigger));
            }
        }
    }
}

fn clash(a: &Trigger, b: &Trigger) -> Option<String> {
    match (a, b) {
        (Trigger::MessageCommand { name: x }, Trigger::MessageCommand { name: y }) if x == y => {
            Some(format!("message_command `{y}`"))
        }
        (Trigger::SlashCommand(x), Trigger::SlashCommand(y)) if x.name == y.name => {
            Some(format!("slash_command `{}`", y.name))
        }
        (
            Trigger::Reaction {
                emoji: x,
                channels: cx,
            },
            Trigger::Reaction {
                emoji: y,
                channels: cy,
            },
        ) if x == y => {
            if cx.is_empty() && cy.is_empty() {
                Some(format!("reaction {y} in every channel"))
            } else {
                cy.iter()
                    .find(|c| cx.contains(c))
                    .map(|c| format!("reaction {y} in channel {c}"))
            }
        }
        // Channel 0 is a trigger switched off: several may wait for a channel.
        (Trigger::ThreadCreated { channel: x, .. }, Trigger::ThreadCreated { channel: y, .. })
            if x == y && *y != OFF_CHANNEL =>
        {
            Some(format!("thread_created in channel {y}"))
        }
        _ => None,
    }
}

/// A slash workflow may not take the name of a kind's record command: both
/// are slash commands, and Discord keeps one command per name. (A message
/// command of the same name is another type, and allowed.)
fn beside_record_commands(workflows: &[Workflow], kinds: &RecordKinds, problems: &mut Problems) {
    for workflow in workflows {
        for (trigger, &trigger_at) in workflow.triggers.iter().zip(&workflow.triggers_at) {
            let Trigger::SlashCommand(command) = trigger else {
                continue;
            };
            let Some(kind) = kinds
                .iter()
                .find(|k| k.command.as_ref().is_some_and(|c| c.name == command.name))
            else {
                continue;
            };
            problems.push(at(
                workflow,
                trigger_at,
                format!(
                    "workflow `{}`: slash_command `{}` is already the record command of kind `{}` ({}); rename one of them",
                    workflow.name,
                    command.name,
                    kind.name,
                    kind.declared_in.display()
                ),
            ));
        }
    }
}

fn command_limits(workflows: &[Workflow], problems: &mut Problems) {
    let mut message_commands = 0;
    let mut slash_commands = 0;
    for workflow in workflows {
        for (trigger, &trigger_at) in workflow.triggers.iter().zip(&workflow.triggers_at) {
            match trigger {
                Trigger::MessageCommand { name } => {
                    message_commands += 1;
                    if message_commands > MAX_MESSAGE_COMMANDS {
                        problems.push(at(
                            workflow,
                            trigger_at,
                            format!(
                                "workflow `{}`: message_command `{name}` is message command {message_commands}; Discord allows an app at most {MAX_MESSAGE_COMMANDS}",
                                workflow.name
                            ),
                        ));
                    }
                }
                Trigger::SlashCommand(command) => {
                    slash_commands += 1;
                    if slash_commands > MAX_SLASH_COMMANDS {
                        problems.push(at(
                            workflow,
                            trigger_at,
                            format!(
                                "workflow `{}`: slash_command `{}` is slash command {slash_commands}; Discord allows an app at most {MAX_SLASH_COMMANDS}",
                                workflow.name, command.name
                            ),
                        ));
                    }
                    if command.option_count() > MAX_OPTIONS {
                        problems.push(at(
                            workflow,
                            trigger_at,
                            format!(
                                "workflow `{}`: slash_command `{}` has {} options; Discord allows at most {MAX_OPTIONS}",
                                workflow.name,
                                command.name,
                                command.option_count()
                            ),
                        ));
                    }
                }
                _ => {}
            }
        }
    }
}
