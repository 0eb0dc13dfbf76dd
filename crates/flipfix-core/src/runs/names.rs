//! The names runs are recorded under, from one place.

use crate::workflow::Workflows;

/// The workflow the message command ("Add to Flipfix", the `context_menu:`
/// section) runs as. Until workflow files name their workflows this is the
/// one name; when they do, this reads it from `workflows`.
pub fn message_command_workflow(_workflows: &Workflows) -> &'static str {
    "add_to_flipfix"
}
