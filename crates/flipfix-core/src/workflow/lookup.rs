//! Finding workflows in a loaded set: by name, by the trigger that fired.

use super::definition::Workflow;
use super::load::Workflows;

/// Why no workflow was chosen for a tool (`replay`, `eval`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChooseError {
    #[error("no workflow is named `{name}` (declared: {declared})")]
    Unknown { name: String, declared: String },
    #[error("workflow `{0}` has no analyze section")]
    NoAnalysis(String),
    #[error("no workflow with a message_command trigger is declared; name one with --workflow")]
    None,
    #[error("several workflows have a message_command trigger ({0}); name one with --workflow")]
    Ambiguous(String),
}

impl Workflows {
    /// The workflow named `name`.
    pub fn get(&self, name: &str) -> Option<&Workflow> {
        self.workflows.iter().find(|w| w.name == name)
    }

    /// The workflow whose message command is `name`.
    pub fn by_message_command(&self, name: &str) -> Option<&Workflow> {
        self.workflows
            .iter()
            .find(|w| w.message_command() == Some(name))
    }

    /// The workflow whose slash command is `/name`.
    pub fn by_slash_command(&self, name: &str) -> Option<&Workflow> {
        self.workflows
            .iter()
            .find(|w| w.slash_command().is_some_and(|c| c.name == name))
    }

    /// The workflow a new thread (or forum post) under `parent` starts.
    /// `check` lets one workflow claim a channel, and channel 0 (off) is
    /// never a parent.
    pub fn by_thread_parent(&self, parent: u64) -> Option<&Workflow> {
        self.workflows.iter().find(|w| {
            w.thread_created()
                .is_some_and(|(channel, _)| channel == parent)
        })
    }

    /// Workflows with at least one message command, in file order.
    pub fn with_message_command(&self) -> impl Iterator<Item = &Workflow> {
        self.workflows
            .iter()
            .filter(|w| w.message_command().is_some())
    }

    /// Workflows with at least one reaction trigger, in file order.
    pub fn with_reaction(&self) -> impl Iterator<Item = &Workflow> {
        self.workflows
            .iter()
            .filter(|w| w.reactions().next().is_some())
    }

    /// The workflow a reaction of `emoji` in `channel` starts: one scoped
    /// to that channel before an unscoped one.
    pub fn by_reaction(&self, emoji: &str, channel: u64) -> Option<&Workflow> {
        let mut unscoped = None;
        for workflow in self.with_reaction() {
            for (e, channels) in workflow.reactions() {
                if e != emoji {
                    continue;
                }
                if channels.contains(&channel) {
                    return Some(workflow);
                }
                if channels.is_empty() && unscoped.is_none() {
                    unscoped = Some(workflow);
                }
            }
        }
        unscoped
    }

    /// The names of every workflow, in file order.
    pub fn names(&self) -> Vec<&str> {
        self.workflows.iter().map(|w| w.name.as_str()).collect()
    }

    /// The workflow an offline tool runs: `name` when given, else the one
    /// workflow with a message command.
    pub fn choose(&self, name: Option<&str>) -> Result<&Workflow, ChooseError> {
        let workflow = match name {
            Some(name) => self.get(name).ok_or_else(|| ChooseError::Unknown {
                name: name.to_string(),
                declared: self.names().join(", "),
            })?,
            None => {
                let mut commands = self.with_message_command();
                let first = commands.next().ok_or(ChooseError::None)?;
                if commands.next().is_some() {
                    let names: Vec<&str> = self
                        .with_message_command()
                        .map(|w| w.name.as_str())
                        .collect();
                    return Err(ChooseError::Ambiguous(names.join(", ")));
                }
                first
            }
        };
        if workflow.analyze.is_none() {
            return Err(ChooseError::NoAnalysis(workflow.name.clone()));
        }
        Ok(workflow)
    }
}
