//! The names runs are recorded under, from one place.

use crate::workflow::Workflows;

/// The workflow a message command runs as: the one whose `message_command:`
/// trigger is `command`. A command a reload has just removed still records
/// under its own name, so the run is not lost.
pub fn message_command_workflow(workflows: &Workflows, command: &str) -> String {
    workflows
        .by_message_command(command)
        .map(|workflow| workflow.name.clone())
        .unwrap_or_else(|| command.to_string())
}
