//! What starts a workflow run: the five trigger kinds, checked. This version
//! serves all five; an unknown kind fails to parse, at its line.

use chrono::NaiveTime;
use chrono_tz::Tz;

/// A checked trigger.
#[derive(Debug, Clone, PartialEq)]
pub enum Trigger {
    /// A command in Discord's message menu (Apps → name).
    MessageCommand { name: String },
    /// A member adds `emoji` to a message; in `channels` only, when listed.
    Reaction { emoji: String, channels: Vec<u64> },
    /// `/name` with a free-text option.
    SlashCommand(SlashCommand),
    /// A new forum post (or thread) in `channel`; `channel: 0` is the
    /// trigger switched off (Discord never gives an id 0), so a shipped
    /// workflow can wait for its channel to be named.
    ThreadCreated { channel: u64, first_messages: usize },
    /// Every day at `at` local time in `timezone`.
    Schedule { at: NaiveTime, timezone: Tz },
}

/// The `thread_created` channel that means "off until a channel is named".
pub const OFF_CHANNEL: u64 = 0;

/// The slash commands the bot itself serves. A workflow's `slash_command` or
/// a kind's record command may not take one of these names: Discord keeps
/// one command per name, and the built-in one would win. (The Discord
/// adapter has a test that this list is exactly its own commands.)
pub const BUILT_IN_SLASH_COMMANDS: [&str; 6] =
    ["flipfix", "find", "history", "close", "reopen", "machine"];

/// The sentence that refuses `name` when it is a built-in command.
pub fn built_in_clash(name: &str) -> Option<String> {
    BUILT_IN_SLASH_COMMANDS
        .contains(&name)
        .then(|| format!("`{name}` is the bot's built-in /{name} command; choose another name"))
}

/// `slash_command:` after validation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlashCommand {
    pub name: String,
    pub description: String,
    /// The free-text option's name.
    pub text_option: String,
    pub machine_option: bool,
    pub attachment_option: bool,
    /// The channel's last N messages read before the typed text.
    pub history: usize,
}

impl SlashCommand {
    /// The optional machine option's name.
    pub const MACHINE_OPTION: &'static str = "machine";
    /// The optional attachment option's name.
    pub const ATTACHMENT_OPTION: &'static str = "attachment";

    /// The option `text_option` would share a name with, if any: Discord
    /// refuses a command with two options of one name.
    pub fn option_clash(&self) -> Option<&'static str> {
        [
            (Self::MACHINE_OPTION, self.machine_option),
            (Self::ATTACHMENT_OPTION, self.attachment_option),
        ]
        .into_iter()
        .find(|(name, offered)| *offered && self.text_option == *name)
        .map(|(name, _)| name)
    }

    /// Options the command registers (Discord allows at most 25).
    pub fn option_count(&self) -> usize {
        1 + usize::from(self.machine_option) + usize::from(self.attachment_option)
    }
}

/// The kinds, by the key authors write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TriggerKind {
    MessageCommand,
    Reaction,
    SlashCommand,
    ThreadCreated,
    Schedule,
}

impl TriggerKind {
    pub fn key(self) -> &'static str {
        match self {
            Self::MessageCommand => "message_command",
            Self::Reaction => "reaction",
            Self::SlashCommand => "slash_command",
            Self::ThreadCreated => "thread_created",
            Self::Schedule => "schedule",
        }
    }
}

impl Trigger {
    pub fn kind(&self) -> TriggerKind {
        match self {
            Self::MessageCommand { .. } => TriggerKind::MessageCommand,
            Self::Reaction { .. } => TriggerKind::Reaction,
            Self::SlashCommand(_) => TriggerKind::SlashCommand,
            Self::ThreadCreated { .. } => TriggerKind::ThreadCreated,
            Self::Schedule { .. } => TriggerKind::Schedule,
        }
    }
}
