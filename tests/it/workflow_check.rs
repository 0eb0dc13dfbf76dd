//! Workflows as plugins at load time: the 0.x `context_menu:` form is
//! refused with its exact rewrite, and triggers this version does not
//! serve are refused at their line.

use std::path::Path;

use flipfix_bot::template_check::load_workflows;

use crate::support::{copy_workflows, repo_root};

/// Every problem `check` would print for the workflows in `dir`, with the
/// directory cut off the file names.
pub(crate) fn problems(dir: &Path) -> Vec<String> {
    match load_workflows(&dir.join("workflows"), &dir.join("prompts")) {
        Ok(_) => Vec::new(),
        Err(problems) => problems
            .iter()
            .map(|p| p.to_string().replace(&dir.display().to_string(), ""))
            .collect(),
    }
}

#[test]
fn a_context_menu_file_is_refused_with_its_rewrite_and_the_rewrite_loads() {
    let dir = copy_workflows();
    let file = dir.path().join("workflows/add_to_flipfix.yaml");
    let old = repo_root().join("tests/fixtures/legacy_workflows/add_to_flipfix.yaml");
    std::fs::copy(&old, &file).unwrap();
    let found = problems(dir.path());
    assert_eq!(found.len(), 1, "{found:#?}");
    let (head, rewrite) = found[0]
        .split_once(" with:\n")
        .expect("the message carries the rewrite");
    assert_eq!(
        head,
        "/workflows/add_to_flipfix.yaml:6:3: `context_menu:` is now one entry of `workflows:`; replace `context_menu:` and the top-level `examples:` with:"
            .trim_end_matches(" with:")
    );
    // Exactly what the shipped file now declares, below its header.
    let shipped =
        std::fs::read_to_string(repo_root().join("workflows/add_to_flipfix.yaml")).unwrap();
    let declared = &shipped[shipped.find("workflows:\n").unwrap()..];
    let expected: Vec<&str> = declared.lines().filter(|l| !is_added_comment(l)).collect();
    let written: Vec<&str> = rewrite.lines().filter(|l| !l.trim().is_empty()).collect();
    let expected: Vec<&str> = expected
        .into_iter()
        .filter(|l| !l.trim().is_empty())
        .collect();
    assert_eq!(written, expected);
    // Written in place, it loads, with the same analysis.
    std::fs::write(&file, rewrite).unwrap();
    let loaded = load_workflows(&dir.path().join("workflows"), &dir.path().join("prompts"))
        .unwrap_or_else(|p| panic!("{p}"));
    let workflow = loaded.get("add_to_flipfix").unwrap();
    assert_eq!(workflow.message_command(), Some("Add to Flipfix"));
    let analyze = workflow.analyze.as_ref().unwrap();
    assert_eq!(analyze.model, "claude-haiku-4-5");
    assert_eq!(analyze.examples.len(), 7);
    assert_eq!(analyze.windows.channel_before, 30);
}

/// Comments the shipped file adds to the rewrite (scope, cap, triggers),
/// and its 🔧 reaction trigger (a legacy file had no reactions).
fn is_added_comment(line: &str) -> bool {
    let added = [
        "# What starts it",
        "# message (docs/commands.md",
        "- reaction: \"🔧\"",
        "# Flipfix). Triggers",
        "# `flipfix-bot check`, never",
        "# Where it may run",
        "# every channel, every member)",
        "# channels:",
        "# roles:",
        "# exempt_roles:",
        "# daily_cap:",
        "# What is gathered",
    ];
    added.iter().any(|a| line.trim_start().starts_with(a))
}

#[test]
fn a_trigger_kind_this_version_does_not_know_is_refused_at_its_line() {
    let dir = copy_workflows();
    let file = dir.path().join("workflows/add_to_flipfix.yaml");
    let text = std::fs::read_to_string(&file).unwrap();
    let trigger = "      - message_command: Add to Flipfix\n";
    assert!(text.contains(trigger));
    std::fs::write(
        &file,
        text.replace(
            trigger,
            &format!("{trigger}      - webhook: {{path: /intake}}\n"),
        ),
    )
    .unwrap();
    let line = text.lines().position(|l| l == trigger.trim_end()).unwrap() + 2;
    let problems = problems(dir.path());
    assert_eq!(problems.len(), 1, "{problems:?}");
    let at = format!("/workflows/add_to_flipfix.yaml:{line}:");
    assert!(problems[0].starts_with(&at), "{problems:?}");
    assert!(
        problems[0].ends_with(
            "unknown variant `webhook`, expected one of message_command, reaction, slash_command, thread_created, schedule"
        ),
        "{problems:?}"
    );
}

/// Writes `workflows/extra.yaml` into a copy of the shipped workflows.
pub(crate) fn with_extra(yaml: &str) -> tempfile::TempDir {
    let dir = copy_workflows();
    std::fs::write(dir.path().join("workflows/extra.yaml"), yaml).unwrap();
    dir
}

/// A workflow with nothing but a name and one trigger line.
pub(crate) fn minimal(name: &str, trigger: &str) -> String {
    format!("  - name: {name}\n    triggers:\n      - {trigger}\n")
}

#[test]
fn two_workflows_with_one_name_are_refused_at_the_second() {
    let dir = with_extra(&format!(
        "workflows:\n{}",
        minimal("add_to_flipfix", "message_command: Add again")
    ));
    let found = problems(dir.path());
    let shipped_line = std::fs::read_to_string(repo_root().join("workflows/add_to_flipfix.yaml"))
        .unwrap()
        .lines()
        .position(|l| l == "  - name: add_to_flipfix")
        .unwrap()
        + 1;
    assert_eq!(
        found,
        [format!("/workflows/extra.yaml:2:11: workflow `add_to_flipfix` is already declared at {}:{shipped_line}; names must be unique",
            dir.path().join("workflows/add_to_flipfix.yaml").display())
            .replace(&dir.path().display().to_string(), "")]
    );
}

#[test]
fn one_emoji_claimed_twice_in_one_channel_is_refused() {
    let dir = with_extra(&format!(
        "workflows:\n{}{}",
        minimal(
            "first",
            "reaction: {emoji: \"🔧\", channels: [\"11\", \"22\"]}"
        ),
        minimal("second", "reaction: {emoji: \"🔧\", channels: [\"22\"]}"),
    ));
    let found = problems(dir.path());
    assert!(
        found.iter().any(|p| p == "/workflows/extra.yaml:7:9: workflow `second`: reaction 🔧 in channel 22 is already claimed by workflow `first` at /workflows/extra.yaml:4"),
        "{found:#?}"
    );
    // Other channels do not clash.
    let dir = with_extra(&format!(
        "workflows:\n{}{}",
        minimal("first", "reaction: {emoji: \"🔧\", channels: [\"11\"]}"),
        minimal("second", "reaction: {emoji: \"🔧\", channels: [\"22\"]}"),
    ));
    assert!(
        problems(dir.path())
            .iter()
            .all(|p| !p.contains("already claimed")),
        "{:#?}",
        problems(dir.path())
    );
}

#[test]
fn a_sixth_message_command_is_refused_at_its_line() {
    // The shipped file declares one; five more make six.
    let extra: String = (1..=5)
        .map(|i| minimal(&format!("more_{i}"), &format!("message_command: More {i}")))
        .collect();
    let dir = with_extra(&format!("workflows:\n{extra}"));
    assert_eq!(
        problems(dir.path()),
        ["/workflows/extra.yaml:16:9: workflow `more_5`: message_command `More 5` is message command 6; Discord allows an app at most 5"]
    );
}

#[test]
fn an_unknown_kind_is_refused_at_its_line_and_column() {
    let dir = copy_workflows();
    let file = dir.path().join("workflows/add_to_flipfix.yaml");
    let text = std::fs::read_to_string(&file).unwrap();
    let kinds = "      kinds: [problem_report, log_entry, part_request, part_request_update]\n";
    assert!(text.contains(kinds));
    std::fs::write(
        &file,
        text.replace(kinds, "      kinds: [problem_report, visitor_feedback]\n"),
    )
    .unwrap();
    let line = text.lines().position(|l| l == kinds.trim_end()).unwrap() + 1;
    let found = problems(dir.path());
    assert!(
        found.contains(&format!("/workflows/add_to_flipfix.yaml:{line}:31: workflow `add_to_flipfix`: kind `visitor_feedback` is not declared (declared: problem_report, log_entry, part_request, part_request_update)")),
        "{found:#?}"
    );
}

#[test]
fn a_second_workflows_prompt_that_does_not_render_is_refused_at_its_line() {
    let dir = copy_workflows();
    std::fs::write(
        dir.path().join("prompts/analysis/other.md.j2"),
        "Kinds:\n{{ kinds | lenght }}\n",
    )
    .unwrap();
    let shipped =
        std::fs::read_to_string(dir.path().join("workflows/add_to_flipfix.yaml")).unwrap();
    let second = shipped[shipped.find("workflows:\n").unwrap()..]
        .replace("name: add_to_flipfix", "name: other")
        .replace("message_command: Add to Flipfix", "message_command: Other")
        .replace("reaction: \"🔧\"", "reaction: \"🛠️\"")
        .replace(
            "system: analysis/system.md.j2",
            "system: analysis/other.md.j2",
        );
    std::fs::write(dir.path().join("workflows/other.yaml"), second).unwrap();
    let found = problems(dir.path());
    assert_eq!(found.len(), 1, "{found:#?}");
    assert!(
        found[0].starts_with("/prompts/analysis/other.md.j2:2")
            && found[0].contains("rendering the sample system prompt"),
        "{found:#?}"
    );
}

#[test]
fn forum_intake_is_shipped_off_and_turned_on_by_naming_its_channel() {
    let dir = copy_workflows();
    let loaded = load_workflows(&dir.path().join("workflows"), &dir.path().join("prompts"))
        .unwrap_or_else(|p| panic!("{p}"));
    let intake = loaded.get("forum_intake").expect("forum intake is shipped");
    assert_eq!(
        intake.thread_created(),
        None,
        "off until a channel is named"
    );
    assert!(loaded.by_thread_parent(0).is_none());

    let file = dir.path().join("workflows/forum_intake.yaml");
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(
        text.contains("To turn it on, put the"),
        "the file says how to turn it on"
    );
    std::fs::write(
        &file,
        text.replace("channel: 0", "channel: \"700000000000000123\""),
    )
    .unwrap();
    let loaded = load_workflows(&dir.path().join("workflows"), &dir.path().join("prompts"))
        .unwrap_or_else(|p| panic!("{p}"));
    let intake = loaded.get("forum_intake").unwrap();
    assert_eq!(intake.thread_created(), Some((700_000_000_000_000_123, 10)));
    assert_eq!(
        loaded
            .by_thread_parent(700_000_000_000_000_123)
            .map(|w| w.name.as_str()),
        Some("forum_intake")
    );
}

#[test]
fn one_channel_claimed_by_two_thread_triggers_is_refused_but_two_off_ones_are_not() {
    let twice = with_extra(&format!(
        "workflows:\n{}{}",
        minimal("intake_a", "thread_created: {channel: \"555\"}"),
        minimal("intake_b", "thread_created: {channel: \"555\"}")
    ));
    let found = problems(twice.path());
    assert!(
        found.iter().any(|p| p == "/workflows/extra.yaml:7:9: workflow `intake_b`: thread_created in channel 555 is already claimed by workflow `intake_a` at /workflows/extra.yaml:4"),
        "{found:#?}"
    );

    // Channel 0 is "off": two workflows waiting for a channel do not clash.
    let off = with_extra(&format!(
        "workflows:\n{}{}",
        minimal("intake_c", "thread_created: {channel: 0}"),
        minimal("intake_d", "thread_created: {channel: 0}")
    ));
    let found = problems(off.path());
    assert!(
        found.iter().all(|p| !p.contains("already claimed")),
        "{found:#?}"
    );
}

#[test]
fn more_first_messages_than_a_conversation_holds_are_refused() {
    let dir = with_extra(&format!(
        "workflows:\n{}",
        minimal(
            "intake",
            "thread_created: {channel: \"555\", first_messages: 100}"
        )
    ));
    let found = problems(dir.path());
    assert!(
        found.iter().any(|p| p == "/workflows/extra.yaml:4:9: workflow `intake`: thread_created first_messages is 100; at most 99"),
        "{found:#?}"
    );
}
