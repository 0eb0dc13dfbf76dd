//! `check` refuses slash-command workflows Discord would refuse or that
//! would shadow another command, each at file:line:column: a free-text
//! option named like the command's machine or attachment option, and a
//! slash command named like a kind's record command. A message command of
//! the same name is another command type, and loads.

use crate::workflow_check::{minimal, problems, with_extra};

#[test]
fn a_text_option_named_like_the_machine_or_attachment_option_is_refused() {
    let dir = with_extra(&format!(
        "workflows:\n{}{}",
        minimal(
            "typed",
            "slash_command: {name: typed, description: Type a note, text_option: machine}"
        ),
        minimal(
            "filed",
            "slash_command: {name: filed, description: File a note, text_option: attachment}"
        ),
    ));
    assert_eq!(
        problems(dir.path()),
        [
            "/workflows/extra.yaml:4:9: workflow `typed`: slash_command text_option `machine` has the name of its machine option; rename it, or turn the machine option off with `machine_option: false`",
            "/workflows/extra.yaml:7:9: workflow `filed`: slash_command text_option `attachment` has the name of its attachment option; rename it, or turn the attachment option off with `attachment_option: false`",
        ]
    );
    // With the clashing option off, the name is free.
    let dir = with_extra(&format!(
        "workflows:\n{}",
        minimal(
            "typed",
            "slash_command: {name: typed, description: Type a note, text_option: machine, machine_option: false}"
        ),
    ));
    assert_eq!(problems(dir.path()), Vec::<String>::new());
}

#[test]
fn a_slash_command_named_like_a_record_command_is_refused_but_a_message_command_is_not() {
    let dir = with_extra(&format!(
        "workflows:\n{}{}{}",
        minimal(
            "quick_log",
            "slash_command: {name: log, description: Log work quickly}"
        ),
        minimal("notes_menu", "message_command: notes"),
        minimal(
            "notes_slash",
            "slash_command: {name: notes, description: Take a note}"
        ),
    ));
    let found = problems(dir.path());
    assert_eq!(found.len(), 1, "{found:#?}");
    assert!(
        found[0].starts_with("/workflows/extra.yaml:4:9: workflow `quick_log`: slash_command `log` is already the record command of kind `log_entry` ("),
        "{found:#?}"
    );
    assert!(
        found[0].ends_with("/workflows/record_kinds.yaml); rename one of them"),
        "{found:#?}"
    );
}

#[test]
fn a_slash_command_or_record_command_named_like_a_built_in_command_is_refused() {
    let dir = with_extra(&format!(
        "workflows:\n{}{}",
        minimal(
            "finder",
            "slash_command: {name: find, description: Find a note}"
        ),
        // A message command is another command type: its name is free.
        minimal("history_menu", "message_command: history"),
    ));
    // A kind's record command takes a built-in name.
    let kinds = dir.path().join("workflows/record_kinds.yaml");
    let shipped = std::fs::read_to_string(&kinds).unwrap();
    assert!(
        shipped.contains("      name: part\n"),
        "the shipped part_request command moved"
    );
    std::fs::write(
        &kinds,
        shipped.replace("      name: part\n", "      name: close\n"),
    )
    .unwrap();
    let found = problems(dir.path());
    assert_eq!(found.len(), 2, "{found:#?}");
    assert!(
        found.iter().any(|p| p.starts_with("/workflows/record_kinds.yaml:")
            && p.ends_with(": command name `close` is the bot's built-in /close command; choose another name")),
        "{found:#?}"
    );
    assert!(
        found.contains(&"/workflows/extra.yaml:4:9: workflow `finder`: slash_command name `find` is the bot's built-in /find command; choose another name".to_string()),
        "{found:#?}"
    );
}
