//! The `slash_command:` trigger: a workflow's own slash command (`/report`)
//! that turns a typed note into records through the same analysis,
//! validation and private review as "Add to Flipfix".
//!
//! Each workflow with the trigger becomes one guild command (registered by
//! `command_sync`, routed by `dispatch`, both by difference, so a reload
//! adds or changes it without a restart) with a required free-text option,
//! an optional machine option (autocompleted from the catalog, as the record
//! commands') and an optional attachment. `note` makes the typed text a
//! message of the conversation; `run` is the handler.

mod note;
mod preflight;
mod run;

use std::borrow::Cow;

use poise::serenity_prelude as serenity;

use super::{Data, Error};
use crate::workflow::{SlashCommand, Workflows};

/// The machine option's name.
pub const MACHINE: &str = SlashCommand::MACHINE_OPTION;
/// The attachment option's name.
pub const ATTACHMENT: &str = SlashCommand::ATTACHMENT_OPTION;
/// Discord's longest string option value (`max_length` may be 1-6000).
pub const NOTE_MAX_CHARS: u16 = 6000;

/// One command per workflow with a `slash_command:` trigger.
pub fn slash_commands(workflows: &Workflows) -> Vec<poise::Command<Data, Error>> {
    workflows
        .workflows
        .iter()
        .filter(|w| w.analyze.is_some())
        .filter_map(|w| w.slash_command().map(|c| command_for(&w.name, c)))
        .collect()
}

fn command_for(workflow: &str, slash: &SlashCommand) -> poise::Command<Data, Error> {
    poise::Command {
        name: slash.name.clone().into(),
        qualified_name: slash.name.clone().into(),
        identifying_name: format!("workflow:{workflow}").into(),
        description: Some(slash.description.clone().into()),
        guild_only: true,
        parameters: parameters(slash),
        slash_action: Some(run::run),
        custom_data: Box::new(workflow.to_string()),
        ..Default::default()
    }
}

/// The options, required first (Discord's rule): the note, then the
/// machine and the attachment when the workflow offers them.
fn parameters(slash: &SlashCommand) -> Vec<poise::CommandParameter<Data, Error>> {
    let mut parameters = vec![parameter(
        &slash.text_option,
        "What happened, in your own words",
        true,
        note_option,
    )];
    if slash.machine_option {
        let mut machine = parameter(MACHINE, "The machine it is about", false, string_option);
        machine.autocomplete_callback = Some(autocomplete_machine);
        parameters.push(machine);
    }
    if slash.attachment_option {
        parameters.push(parameter(
            ATTACHMENT,
            "A photo or video to keep with the record",
            false,
            attachment_option,
        ));
    }
    parameters
}

fn parameter(
    name: &str,
    description: &str,
    required: bool,
    type_setter: fn(serenity::CreateCommandOption) -> serenity::CreateCommandOption,
) -> poise::CommandParameter<Data, Error> {
    poise::CommandParameter {
        name: name.to_string().into(),
        name_localizations: Cow::Borrowed(&[]),
        description: Some(description.to_string().into()),
        description_localizations: Cow::Borrowed(&[]),
        required,
        channel_types: None,
        choices: Cow::Borrowed(&[]),
        type_setter: Some(type_setter),
        autocomplete_callback: None,
        __non_exhaustive: (),
    }
}

fn note_option(option: serenity::CreateCommandOption) -> serenity::CreateCommandOption {
    option
        .kind(serenity::CommandOptionType::String)
        .max_length(NOTE_MAX_CHARS)
}

fn string_option(option: serenity::CreateCommandOption) -> serenity::CreateCommandOption {
    option.kind(serenity::CommandOptionType::String)
}

fn attachment_option(option: serenity::CreateCommandOption) -> serenity::CreateCommandOption {
    option.kind(serenity::CommandOptionType::Attachment)
}

fn autocomplete_machine<'a>(
    ctx: poise::ApplicationContext<'a, Data, Error>,
    partial: &'a str,
) -> poise::BoxFuture<'a, serenity::CreateAutocompleteResponse> {
    Box::pin(super::admin::autocomplete_machine(
        poise::Context::Application(ctx),
        partial,
    ))
}

#[cfg(test)]
mod tests {
    use serde_json::{json, Value};

    use super::*;

    fn report(machine_option: bool, attachment_option: bool) -> SlashCommand {
        SlashCommand {
            name: "report".into(),
            description: "Turn a note into records".into(),
            text_option: "note".into(),
            machine_option,
            attachment_option,
            history: 0,
        }
    }

    fn registered(slash: &SlashCommand) -> Value {
        let command = command_for("report", slash);
        let built = poise::builtins::create_application_commands(std::slice::from_ref(&command));
        serde_json::to_value(&built[0]).unwrap()
    }

    #[test]
    fn a_slash_workflow_registers_a_note_a_machine_and_an_attachment() {
        let command = registered(&report(true, true));
        assert_eq!(command["name"], "report");
        assert_eq!(command["description"], "Turn a note into records");
        let options = command["options"].as_array().unwrap();
        let summary: Vec<Value> = options
            .iter()
            .map(|o| json!([o["name"], o["type"], o["required"], o["autocomplete"]]))
            .collect();
        assert_eq!(
            summary,
            vec![
                json!(["note", 3, true, false]),
                json!(["machine", 3, false, true]),
                json!(["attachment", 11, false, false]),
            ]
        );
        assert_eq!(options[0]["max_length"], 6000);
    }

    #[test]
    fn options_the_workflow_turns_off_are_not_registered() {
        let mut slash = report(false, false);
        slash.text_option = "what".into();
        let command = registered(&slash);
        let names: Vec<&str> = command["options"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, vec!["what"]);
    }
}
