//! A checked workflow: one plugin, with its triggers, where it may run, its
//! analysis, its review and its version; and the lookups the adapters use.

use std::path::PathBuf;

use super::analyze::Analyze;
use super::trigger::{SlashCommand, Trigger};

/// One workflow after validation.
#[derive(Debug, Clone)]
pub struct Workflow {
    pub name: String,
    /// The file and line it is declared at, for messages.
    pub declared_in: PathBuf,
    /// Line and column of its `name:` value.
    pub at: (u64, u64),
    pub triggers: Vec<Trigger>,
    /// Line and column of each trigger, in `triggers` order.
    pub triggers_at: Vec<(u64, u64)>,
    pub scope: Scope,
    pub daily_cap: Option<DailyCap>,
    /// `None` for a template-only workflow (a schedule).
    pub analyze: Option<Analyze>,
    pub review: Review,
    /// A short fingerprint of its own declaration, the templates it names
    /// and the kinds it may suggest: a review keeps the version it began on.
    pub version: String,
}

/// Where a workflow may run and who may start it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scope {
    /// Channel ids (a thread counts as its parent); empty = every channel.
    pub channels: Vec<u64>,
    /// Role ids allowed to start it; empty = every member.
    pub roles: Vec<u64>,
    /// Role ids not counted against the daily cap.
    pub exempt_roles: Vec<u64>,
}

/// Bounds on one workflow's runs per UTC day, across all members.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DailyCap {
    pub runs: Option<u32>,
    pub cost_usd: Option<f64>,
}

/// Who reviews a run's suggestions.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Review {
    /// The member who started the run, privately.
    #[default]
    Starter,
}

impl Workflow {
    /// The name of its message command, if it has one.
    pub fn message_command(&self) -> Option<&str> {
        self.triggers.iter().find_map(|t| match t {
            Trigger::MessageCommand { name } => Some(name.as_str()),
            _ => None,
        })
    }

    /// Its slash command, if it has one.
    pub fn slash_command(&self) -> Option<&SlashCommand> {
        self.triggers.iter().find_map(|t| match t {
            Trigger::SlashCommand(command) => Some(command),
            _ => None,
        })
    }

    /// Its `thread_created` trigger that is on: (channel, first messages).
    pub fn thread_created(&self) -> Option<(u64, usize)> {
        self.triggers.iter().find_map(|t| match t {
            Trigger::ThreadCreated {
                channel,
                first_messages,
            } if *channel != super::trigger::OFF_CHANNEL => Some((*channel, *first_messages)),
            _ => None,
        })
    }

    /// Its reaction triggers: (emoji, channels; empty = every channel).
    pub fn reactions(&self) -> impl Iterator<Item = (&str, &[u64])> {
        self.triggers.iter().filter_map(|t| match t {
            Trigger::Reaction { emoji, channels } => Some((emoji.as_str(), channels.as_slice())),
            _ => None,
        })
    }
}
