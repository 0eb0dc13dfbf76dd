//! Workflows as plugins at load time: the 0.x `context_menu:` form is
//! refused with its exact rewrite, and triggers this version does not
//! serve are refused at their line.

use std::path::Path;

use flipfix_bot::template_check::load_workflows;

use crate::support::{copy_workflows, repo_root};

/// Every problem `check` would print for the workflows in `dir`, with the
/// directory cut off the file names.
fn problems(dir: &Path) -> Vec<String> {
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
    assert_eq!(analyze.examples.len(), 6);
    assert_eq!(analyze.windows.channel_before, 30);
}

/// Comments the shipped file adds to the rewrite (scope, cap, triggers).
fn is_added_comment(line: &str) -> bool {
    let added = [
        "# What starts it",
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
fn triggers_not_served_by_this_version_are_refused_at_their_line() {
    let dir = copy_workflows();
    let file = dir.path().join("workflows/add_to_flipfix.yaml");
    let text = std::fs::read_to_string(&file).unwrap();
    let trigger = "      - message_command: Add to Flipfix\n";
    assert!(text.contains(trigger));
    std::fs::write(
        &file,
        text.replace(
            trigger,
            &format!(
                "{trigger}      - reaction: \"🔧\"\n      - thread_created: {{channel: \"123\"}}\n"
            ),
        ),
    )
    .unwrap();
    let line = text.lines().position(|l| l == trigger.trim_end()).unwrap() + 2;
    assert_eq!(
        problems(dir.path()),
        [
            format!("/workflows/add_to_flipfix.yaml:{line}:9: workflow `add_to_flipfix`: trigger `reaction` is not served by this version; remove it or upgrade the bot"),
            format!("/workflows/add_to_flipfix.yaml:{}:9: workflow `add_to_flipfix`: trigger `thread_created` is not served by this version; remove it or upgrade the bot", line + 1),
        ]
    );
}
