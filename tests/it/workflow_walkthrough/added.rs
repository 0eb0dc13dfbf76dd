//! What the walkthrough's files add to the shipped set, as the bot loads
//! them, and what a model request made by the added workflow must carry.

use flipfix_bot::workflow::{RecordKind, Trigger, Workflow, Workflows};
use serde_json::{json, Value};

use crate::support::shipped_workflows;

/// What the page's files add to the shipped set, as the bot loads them.
pub(super) struct Added {
    pub(super) workflow: Workflow,
    pub(super) kind: RecordKind,
    pub(super) message_command: String,
    pub(super) slash_command: String,
    /// The slash command's free-text option.
    pub(super) slash_text_option: String,
}

pub(super) fn added(loaded: &Workflows) -> Added {
    let shipped = shipped_workflows();
    let workflows: Vec<&Workflow> = loaded
        .workflows
        .iter()
        .filter(|w| shipped.get(&w.name).is_none())
        .collect();
    let kinds: Vec<&str> = loaded
        .kinds
        .names()
        .into_iter()
        .filter(|k| shipped.kinds.get(k).is_none())
        .collect();
    assert_eq!(workflows.len(), 1, "the page adds one workflow");
    assert_eq!(kinds.len(), 1, "the page adds one kind");
    let workflow = workflows[0].clone();
    let command = |pick: &dyn Fn(&Trigger) -> Option<String>| {
        workflow
            .triggers
            .iter()
            .find_map(pick)
            .expect("the walkthrough's workflow has a message and a slash command")
    };
    let message_command = command(&|t| match t {
        Trigger::MessageCommand { name } => Some(name.clone()),
        _ => None,
    });
    let slash_command = command(&|t| match t {
        Trigger::SlashCommand(slash) => Some(slash.name.clone()),
        _ => None,
    });
    let slash_text_option = command(&|t| match t {
        Trigger::SlashCommand(slash) => Some(slash.text_option.clone()),
        _ => None,
    });
    Added {
        kind: loaded.kinds.get(kinds[0]).expect("declared").clone(),
        workflow,
        message_command,
        slash_command,
        slash_text_option,
    }
}

fn system_text(body: &Value) -> String {
    match &body["system"] {
        Value::String(text) => text.clone(),
        blocks => blocks
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|b| b["text"].as_str())
            .collect::<Vec<_>>()
            .join("\n"),
    }
}

/// The model request carries the workflow's model, its prompt (every line
/// of the page's template without template syntax) and only its kinds.
pub(super) fn assert_asked_with_the_workflow(body: &Value, added: &Added, prompt: &str) {
    let analyze = added.workflow.analyze.as_ref().expect("an analysis");
    assert_eq!(body["model"], json!(analyze.model));
    let system = system_text(body);
    for line in prompt.lines().map(str::trim) {
        if !line.is_empty() && !line.contains('{') && !line.contains('%') {
            assert!(system.contains(line), "the prompt's {line:?} in: {system}");
        }
    }
    let schema = body["tools"][0]["input_schema"].to_string();
    assert!(schema.contains(&added.kind.name), "{schema}");
    for field in &added.kind.fields {
        assert!(schema.contains(&field.name), "{schema}");
    }
    for other in shipped_workflows().kinds.names() {
        assert!(!schema.contains(other), "only its kind: {schema}");
    }
}

/// The card's buttons, and its menu for the kind's `card_select` field
/// preset to the suggestion's value, as the page describes them.
pub(super) fn assert_card_controls(card: &Value, added: &Added, suggestion: &Value) {
    let controls: Vec<&Value> = card["components"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|row| row["components"].as_array().into_iter().flatten())
        .collect();
    let buttons: Vec<&str> = controls
        .iter()
        .filter(|c| c["type"] == json!(2))
        .filter_map(|c| c["label"].as_str())
        .collect();
    for label in ["Create", "Edit", "Skip", "Cancel"] {
        assert!(buttons.contains(&label), "{label}: {card}");
    }
    let field = added.kind.card_select.as_deref().expect("a card menu");
    let label = &added.kind.field(field).expect("declared").label;
    let preset = format!("{label}: {}", suggestion["fields"][field].as_str().unwrap());
    assert!(
        controls
            .iter()
            .filter(|c| c["type"] == json!(3))
            .any(|menu| {
                menu["options"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|o| o["label"] == json!(preset) && o["default"] == json!(true))
            }),
        "a menu preset to {preset:?}: {card}"
    );
}
