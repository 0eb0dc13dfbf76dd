//! Checking a workflow's `triggers:`: each one's own rules (names, emoji,
//! times). Every kind that parses is served; an unknown key fails to parse
//! and is refused at its line.

use serde_saphyr::{Location, Spanned};

use crate::workflow::schema::{SlashCommandDecl, TriggerDecl};
use crate::workflow::trigger::{SlashCommand, Trigger};
use crate::workflow::{Problem, Problems};

/// Messages of a new thread read with its starter when not declared.
const DEFAULT_FIRST_MESSAGES: usize = 10;
/// Longest slash-command description Discord accepts.
const MAX_DESCRIPTION_CHARS: usize = 100;

pub(super) fn build_triggers(
    problem: &dyn Fn(Location, String) -> Problem,
    at: Location,
    decls: Vec<Spanned<TriggerDecl>>,
    problems: &mut Problems,
) -> (Vec<Trigger>, Vec<(u64, u64)>) {
    if decls.is_empty() {
        problems.push(problem(
            at,
            "triggers must list at least one trigger".into(),
        ));
    }
    let mut triggers = Vec::new();
    let mut triggers_at = Vec::new();
    for decl in decls {
        let at = decl.referenced;
        let Some(trigger) = build_trigger(problem, at, decl.value, problems) else {
            continue;
        };
        triggers.push(trigger);
        triggers_at.push((at.line(), at.column()));
    }
    (triggers, triggers_at)
}

fn build_trigger(
    problem: &dyn Fn(Location, String) -> Problem,
    at: Location,
    decl: TriggerDecl,
    problems: &mut Problems,
) -> Option<Trigger> {
    let mut refuse = |message: String| {
        problems.push(problem(at, message));
        None
    };
    match decl {
        TriggerDecl::MessageCommand(name) => {
            // Discord: a message command's name is 1-32 characters; spaces
            // and capitals are allowed (unlike slash commands).
            let length = name.chars().count();
            if name.trim().is_empty() || length > 32 || name.trim() != name {
                return refuse(format!(
                    "message_command `{name}` must be 1 to 32 characters, without leading or trailing spaces"
                ));
            }
            Some(Trigger::MessageCommand { name })
        }
        TriggerDecl::Reaction(reaction) => {
            let emoji = reaction.emoji.trim().to_string();
            if emoji.is_empty() || emoji.chars().count() > 64 {
                return refuse("reaction needs an emoji".into());
            }
            Some(Trigger::Reaction {
                emoji,
                channels: reaction.channels.iter().map(|c| c.0).collect(),
            })
        }
        TriggerDecl::SlashCommand(decl) => match slash_command(decl) {
            Ok(command) => Some(Trigger::SlashCommand(command)),
            Err(message) => refuse(message),
        },
        TriggerDecl::ThreadCreated(decl) => {
            let first_messages = decl.first_messages.unwrap_or(DEFAULT_FIRST_MESSAGES);
            // The starter is read as well, and a conversation holds at most
            // MAX_MESSAGES.
            let most = crate::workflow::MAX_MESSAGES - 1;
            if first_messages > most {
                return refuse(format!(
                    "thread_created first_messages is {first_messages}; at most {most}"
                ));
            }
            Some(Trigger::ThreadCreated {
                channel: decl.channel.0,
                first_messages,
            })
        }
        TriggerDecl::Schedule(decl) => {
            let (at, timezone) = crate::workflow::summaries::parse_schedule(
                &decl.at,
                &decl.timezone,
                &|location, message| problem(location, format!("schedule.{message}")),
                problems,
            )?;
            Some(Trigger::Schedule { at, timezone })
        }
    }
}

/// Discord's rules for a CHAT_INPUT command: a lowercase name of 1-32
/// letters, digits, `-` or `_` (`^[-_\p{L}\p{N}]{1,32}$`), a description of
/// 1-100 characters.
fn slash_command(decl: SlashCommandDecl) -> Result<SlashCommand, String> {
    let command = SlashCommand {
        text_option: decl.text_option.unwrap_or_else(|| "note".to_string()),
        machine_option: decl.machine_option.unwrap_or(true),
        attachment_option: decl.attachment_option.unwrap_or(true),
        history: decl.history.unwrap_or(0),
        name: decl.name,
        description: decl.description,
    };
    for name in [&command.name, &command.text_option] {
        if !is_slash_name(name) {
            return Err(format!(
                "slash_command name `{name}` must be 1 to 32 lowercase letters, digits, `-` or `_`"
            ));
        }
    }
    if let Some(clash) = crate::workflow::built_in_clash(&command.name) {
        return Err(format!("slash_command name {clash}"));
    }
    if let Some(option) = command.option_clash() {
        return Err(format!(
            "slash_command text_option `{}` has the name of its {option} option; rename it, or turn the {option} option off with `{option}_option: false`",
            command.text_option
        ));
    }
    let description = command.description.chars().count();
    if !(1..=MAX_DESCRIPTION_CHARS).contains(&description) {
        return Err(format!(
            "slash_command description must be 1 to {MAX_DESCRIPTION_CHARS} characters"
        ));
    }
    if command.history > crate::workflow::MAX_MESSAGES {
        return Err(format!(
            "slash_command history is {}; at most {}",
            command.history,
            crate::workflow::MAX_MESSAGES
        ));
    }
    Ok(command)
}

/// `^[-_\p{L}\p{N}]{1,32}$`, lowercase where the letter has a case.
pub(crate) fn is_slash_name(name: &str) -> bool {
    (1..=32).contains(&name.chars().count())
        && name
            .chars()
            .all(|c| (c.is_alphanumeric() || c == '-' || c == '_') && !c.is_uppercase())
}
