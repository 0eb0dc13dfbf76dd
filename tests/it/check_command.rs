//! `flipfix-bot check` on the shipped workflows and on broken copies.

use std::path::Path;
use std::process::Command;

use crate::support::{copy_workflows, repo_root};

pub(crate) struct CheckRun {
    pub(crate) code: i32,
    pub(crate) stdout: String,
}

pub(crate) fn check(dir: &Path) -> CheckRun {
    let output = Command::new(env!("CARGO_BIN_EXE_flipfix-bot"))
        .arg("check")
        .arg("--workflows")
        .arg(dir.join("workflows"))
        .arg("--prompts")
        .arg(dir.join("prompts"))
        .env_remove("DATABASE_URL")
        .output()
        .expect("run flipfix-bot check");
    CheckRun {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
    }
}

/// Rewrites `file` under `dir` with `from` replaced by `to` (which must occur).
pub(crate) fn edit(dir: &Path, file: &str, from: &str, to: &str) {
    let path = dir.join(file);
    let text = std::fs::read_to_string(&path).expect("read");
    assert!(text.contains(from), "{file} must contain {from:?}");
    std::fs::write(&path, text.replacen(from, to, 1)).expect("write");
}

/// The 1-based line of the first occurrence of `needle` in `file`.
pub(crate) fn line_of(dir: &Path, file: &str, needle: &str) -> usize {
    let text = std::fs::read_to_string(dir.join(file)).expect("read");
    text.lines()
        .position(|line| line.contains(needle))
        .expect("needle present")
        + 1
}

#[test]
fn shipped_workflows_are_clean() {
    let run = check(&repo_root());
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert!(
        run.stdout.starts_with("ok: 4 record kinds"),
        "{}",
        run.stdout
    );
}

#[test]
fn unknown_key_is_named_with_its_line() {
    let dir = copy_workflows();
    edit(
        dir.path(),
        "workflows/record_kinds.yaml",
        "    link_path: logs\n",
        "    link_path: logs\n    colour: red\n",
    );
    let line = line_of(dir.path(), "workflows/record_kinds.yaml", "colour: red");
    let run = check(dir.path());
    assert_ne!(run.code, 0);
    let expected = format!("record_kinds.yaml:{line}:");
    assert!(
        run.stdout.contains(&expected) && run.stdout.contains("unknown field `colour`"),
        "{}",
        run.stdout
    );
}

#[test]
fn wrong_type_is_named_with_its_line() {
    let dir = copy_workflows();
    edit(
        dir.path(),
        "workflows/record_kinds.yaml",
        "max_length: 4000",
        "max_length: plenty",
    );
    let line = line_of(
        dir.path(),
        "workflows/record_kinds.yaml",
        "max_length: plenty",
    );
    let run = check(dir.path());
    assert_ne!(run.code, 0);
    assert!(
        run.stdout.contains(&format!("record_kinds.yaml:{line}:")),
        "{}",
        run.stdout
    );
}

#[test]
fn missing_template_is_named_where_it_is_referenced() {
    let dir = copy_workflows();
    edit(
        dir.path(),
        "workflows/record_kinds.yaml",
        "card: cards/record.md.j2",
        "card: cards/nope.j2",
    );
    let line = line_of(dir.path(), "workflows/record_kinds.yaml", "cards/nope.j2");
    let run = check(dir.path());
    assert_ne!(run.code, 0);
    assert!(
        run.stdout.contains(&format!("record_kinds.yaml:{line}:")),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("template `cards/nope.j2` not found"),
        "{}",
        run.stdout
    );
}

#[test]
fn template_syntax_error_names_the_template_and_line() {
    let dir = copy_workflows();
    edit(
        dir.path(),
        "prompts/cards/record.md.j2",
        "{% endfor %}",
        "{% endfro %}",
    );
    let line = line_of(dir.path(), "prompts/cards/record.md.j2", "endfro");
    let run = check(dir.path());
    assert_ne!(run.code, 0);
    assert!(
        run.stdout
            .contains(&format!("cards/record.md.j2:{line}: syntax error")),
        "{}",
        run.stdout
    );
    // A broken template is reported once, not again as "not found".
    assert!(!run.stdout.contains("not found"), "{}", run.stdout);
}

#[test]
fn undefined_variable_names_the_template_and_line() {
    let dir = copy_workflows();
    edit(
        dir.path(),
        "prompts/notifications/record.md.j2",
        "{{ description }}",
        "{{ descripton }}",
    );
    let line = line_of(
        dir.path(),
        "prompts/notifications/record.md.j2",
        "descripton",
    );
    let run = check(dir.path());
    assert_ne!(run.code, 0);
    assert!(
        run.stdout.contains(&format!(
            "notifications/record.md.j2:{line}: undefined value"
        )),
        "{}",
        run.stdout
    );
    assert_eq!(
        run.stdout.lines().count(),
        1,
        "reported once: {}",
        run.stdout
    );
}

#[test]
fn unguarded_optional_value_is_caught_by_the_minimal_sample() {
    let dir = copy_workflows();
    // `machine` is none for a part request without a machine.
    edit(
        dir.path(),
        "prompts/notifications/record.md.j2",
        "{{ description }}",
        "{{ machine.name }} {{ description }}",
    );
    let run = check(dir.path());
    assert_ne!(run.code, 0);
    assert!(
        run.stdout.contains("without optional parts"),
        "{}",
        run.stdout
    );
}

#[test]
fn undeclared_parent_kind_is_named_with_its_line() {
    let dir = copy_workflows();
    edit(
        dir.path(),
        "workflows/record_kinds.yaml",
        "parents: [part_request]",
        "parents: [part_requests]",
    );
    let line = line_of(
        dir.path(),
        "workflows/record_kinds.yaml",
        "parents: [part_requests]",
    );
    let run = check(dir.path());
    assert_ne!(run.code, 0);
    assert!(
        run.stdout.contains(&format!("record_kinds.yaml:{line}:")),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains("parent kind `part_requests` is not declared"),
        "{}",
        run.stdout
    );
}

#[test]
fn every_problem_is_listed_not_just_the_first() {
    let dir = copy_workflows();
    edit(
        dir.path(),
        "workflows/record_kinds.yaml",
        "parents: [part_request]",
        "parents: [part_requests]",
    );
    edit(
        dir.path(),
        "prompts/cards/record.md.j2",
        "{% endfor %}",
        "{% endfro %}",
    );
    let run = check(dir.path());
    assert_ne!(run.code, 0);
    assert_eq!(run.stdout.lines().count(), 2, "{}", run.stdout);
}

#[test]
fn context_menu_kinds_models_and_prompts_are_checked_with_their_lines() {
    let dir = copy_workflows();
    let file = "workflows/add_to_flipfix.yaml";
    edit(
        dir.path(),
        file,
        "part_request_update]",
        "part_request_updat]",
    );
    edit(
        dir.path(),
        file,
        "model: claude-haiku-4-5",
        "model: claude-unpriced",
    );
    edit(
        dir.path(),
        file,
        "system: analysis/system.md.j2",
        "system: analysis/nope.md.j2",
    );
    let run = check(dir.path());
    assert_ne!(run.code, 0);
    for (needle, message) in [
        (
            "part_request_updat]",
            "kind `part_request_updat` is not declared",
        ),
        (
            "claude-unpriced",
            "model `claude-unpriced` has no entry in prices",
        ),
        (
            "analysis/nope.md.j2",
            "template `analysis/nope.md.j2` not found",
        ),
    ] {
        let line = line_of(dir.path(), file, needle);
        let expected = format!("add_to_flipfix.yaml:{line}:");
        assert!(
            run.stdout
                .lines()
                .any(|l| l.contains(&expected) && l.contains(message)),
            "{message} at line {line}:\n{}",
            run.stdout
        );
    }
}

#[test]
fn a_prompt_template_that_fails_on_sample_data_is_reported() {
    let dir = copy_workflows();
    let file = "prompts/analysis/conversation.md.j2";
    edit(
        dir.path(),
        file,
        "{{ m.author_name }}",
        "{{ m.author.nmae }}",
    );
    let line = line_of(dir.path(), file, "m.author.nmae");
    let run = check(dir.path());
    assert_ne!(run.code, 0);
    assert!(
        run.stdout.contains(&format!("conversation.md.j2:{line}"))
            && run.stdout.contains("rendering the sample conversation"),
        "{}",
        run.stdout
    );
}

/// The 1-based line and column of the first occurrence of `needle`.
fn position_of(dir: &Path, file: &str, needle: &str) -> (usize, usize) {
    let text = std::fs::read_to_string(dir.join(file)).expect("read");
    text.lines()
        .enumerate()
        .find_map(|(index, line)| line.find(needle).map(|column| (index + 1, column + 1)))
        .expect("needle present")
}

#[test]
fn a_bad_webhook_switch_is_named_at_its_line_and_column() {
    let dir = copy_workflows();
    let file = "workflows/record_kinds.yaml";
    edit(
        dir.path(),
        file,
        "webhook_switch: DISCORD_WEBHOOKS_LOG_ENTRIES",
        "webhook_switch: DISCORD_GUILD_ID",
    );
    edit(
        dir.path(),
        file,
        "webhook_switch: DISCORD_WEBHOOKS_PARTS",
        "webhook_switch: discord-webhooks-parts",
    );
    edit(
        dir.path(),
        file,
        "webhook_switch: DISCORD_WEBHOOKS_PARTS",
        "webhook_switch: DISCORD_WEBHOOKS_ENABLED",
    );
    edit(dir.path(), file, "color: \"#e67e22\"", "color: orange");
    let run = check(dir.path());
    assert_ne!(run.code, 0);
    for (needle, message) in [
        (
            "DISCORD_GUILD_ID",
            "record kind `log_entry`: webhook_switch `DISCORD_GUILD_ID` is a fixed setting; a kind's switch needs a name of its own",
        ),
        (
            "discord-webhooks-parts",
            "record kind `part_request`: webhook_switch `discord-webhooks-parts` must be 1–64 upper-case letters, digits and _, starting with a letter",
        ),
        (
            "DISCORD_WEBHOOKS_ENABLED",
            "record kind `part_request_update`: webhook_switch `DISCORD_WEBHOOKS_ENABLED` is a fixed setting",
        ),
        ("orange", "color `orange` must look like #rrggbb"),
    ] {
        let (line, column) = position_of(dir.path(), file, needle);
        let at = format!("record_kinds.yaml:{line}:{column}: ");
        assert!(
            run.stdout
                .lines()
                .any(|l| l.contains(&at) && l.contains(message)),
            "{needle} at {at}: {}",
            run.stdout
        );
    }
}

#[test]
fn a_switch_derived_from_a_kind_name_must_not_be_a_fixed_setting() {
    let dir = copy_workflows();
    let file = "workflows/record_kinds.yaml";
    // A new kind named `enabled` with no switch of its own would get
    // DISCORD_WEBHOOKS_ENABLED, the master switch.
    let text = std::fs::read_to_string(dir.path().join(file)).expect("read");
    let kind = "\n  - name: enabled\n    label: Enabled\n    link_path: enabled\n    machine: optional\n    description: {label: Text, max_length: 100}\n    templates:\n      card: cards/record.md.j2\n      notification: notifications/record.md.j2\n";
    std::fs::write(dir.path().join(file), format!("{text}{kind}")).expect("write");
    let run = check(dir.path());
    assert_ne!(run.code, 0);
    let (line, column) = position_of(dir.path(), file, "name: enabled");
    let at = format!("record_kinds.yaml:{line}:{}: ", column + "name: ".len());
    assert!(
        run.stdout.lines().any(|l| l.contains(&at)
            && l.contains("webhook switch derived from the name `DISCORD_WEBHOOKS_ENABLED` is a fixed setting")
            && l.contains("name one with `webhook_switch:`")),
        "{at}: {}",
        run.stdout
    );
}

#[test]
fn the_old_notify_setting_key_still_loads() {
    let dir = copy_workflows();
    let file = "workflows/record_kinds.yaml";
    let path = dir.path().join(file);
    let text = std::fs::read_to_string(&path).expect("read");
    std::fs::write(&path, text.replace("webhook_switch:", "notify_setting:")).expect("write");
    let run = check(dir.path());
    assert_eq!(run.code, 0, "{}", run.stdout);

    // Both at once is a mistake, named at the old one.
    std::fs::write(
        &path,
        text.replacen(
            "webhook_switch: DISCORD_WEBHOOKS_PARTS",
            "webhook_switch: DISCORD_WEBHOOKS_PARTS\n    notify_setting: DISCORD_WEBHOOKS_PARTS",
            1,
        ),
    )
    .expect("write");
    let run = check(dir.path());
    assert_ne!(run.code, 0);
    let (line, column) = position_of(dir.path(), file, "notify_setting:");
    let at = format!(
        "record_kinds.yaml:{line}:{}: ",
        column + "notify_setting: ".len()
    );
    assert!(
        run.stdout
            .lines()
            .any(|l| l.contains(&at)
                && l.contains("keep only `webhook_switch: DISCORD_WEBHOOKS_PARTS`")),
        "{at}: {}",
        run.stdout
    );
}

/// Line and column where the answer of example `name` starts (the line after
/// its `answer:`, indented like the keys under it).
fn answer_start(dir: &Path, name: &str) -> (usize, usize) {
    let text = std::fs::read_to_string(dir.join("workflows/add_to_flipfix.yaml")).expect("read");
    let lines: Vec<&str> = text.lines().collect();
    let start = lines
        .iter()
        .position(|l| l.contains(&format!("- name: {name}")))
        .expect("example present");
    let answer = start
        + lines[start..]
            .iter()
            .position(|l| l.trim() == "answer:")
            .expect("a block answer");
    let next = lines[answer + 1];
    (answer + 2, next.len() - next.trim_start().len() + 1)
}

#[test]
fn shipped_examples_pass_the_real_pipeline() {
    // `shipped_workflows_are_clean` covers them; this names the examples the
    // prompt must show, so none can be deleted quietly.
    let text =
        std::fs::read_to_string(repo_root().join("workflows/add_to_flipfix.yaml")).expect("read");
    for name in [
        "fix_done_in_conversation",
        "unresolved_problem_with_two_attempts",
        "questions_and_answers_become_one_log_entry",
        "ordered_gives_a_part_request_with_an_update",
        "todo_list_over_several_machines",
    ] {
        assert!(text.contains(&format!("- name: {name}\n")), "{name}");
    }
    assert_eq!(check(&repo_root()).code, 0);
}

#[test]
fn an_example_answer_that_breaks_the_schema_fails_check_at_its_line() {
    let dir = copy_workflows();
    edit(
        dir.path(),
        "workflows/add_to_flipfix.yaml",
        "                  - description: Ordered.\n",
        "                  - description: Ordered.\n                    machine: hook\n",
    );
    let (line, column) = answer_start(dir.path(), "ordered_gives_a_part_request_with_an_update");
    let run = check(dir.path());
    assert_eq!(run.code, 1, "{}", run.stdout);
    let file = dir.path().join("workflows/add_to_flipfix.yaml");
    let at = format!(
        "{}:{line}:{column}: example `ordered_gives_a_part_request_with_an_update`",
        file.display()
    );
    for message in [
        "the answer breaks the tool schema: /suggestions/0/children/0: Additional properties are not allowed ('machine' was unexpected)",
        "the validator would change it: model suggestion 1.1: repaired: `machine` is not part of a part_request_update child item (a child takes its parent's machine); removed",
    ] {
        assert!(
            run.stdout.contains(&format!("{at}: {message}\n")),
            "missing {at}: {message}\nin:\n{}",
            run.stdout
        );
    }
}

#[test]
fn an_example_citing_a_message_outside_its_conversation_fails_check_at_its_line() {
    let dir = copy_workflows();
    edit(
        dir.path(),
        "workflows/add_to_flipfix.yaml",
        r#"source_message_ids: ["101", "103"]"#,
        r#"source_message_ids: ["999"]"#,
    );
    let (line, column) = answer_start(dir.path(), "fix_done_in_conversation");
    let run = check(dir.path());
    assert_eq!(run.code, 1, "{}", run.stdout);
    let file = dir.path().join("workflows/add_to_flipfix.yaml");
    let expected = format!(
        "{}:{line}:{column}: example `fix_done_in_conversation`: the validator would change it: model suggestion 1: dropped: it cites only messages that are not in the conversation (\"999\"): nothing shown supports it\n",
        file.display()
    );
    assert!(
        run.stdout.contains(&expected),
        "missing {expected}in:\n{}",
        run.stdout
    );
}

#[test]
fn the_shipped_follow_up_lesson_is_whole() {
    let root = repo_root();
    let workflows =
        flipfix_bot::template_check::load_workflows(&root.join("workflows"), &root.join("prompts"))
            .unwrap();
    let menu = flipfix_bot::analysis::menu(&workflows).unwrap();
    let example = menu
        .examples
        .iter()
        .find(|e| e.decl.name == "thread_follow_up_on_its_record")
        .unwrap();
    assert_eq!(
        example.decl.lesson,
        "A thread started from problem_report #12 logs its work on #12, not a new report."
    );
}

#[test]
fn a_comment_that_cuts_a_lesson_or_a_guidance_is_a_warning_with_file_and_line() {
    let dir = copy_workflows();
    edit(
        dir.path(),
        "workflows/add_to_flipfix.yaml",
        "          lesson: >-\n            A thread started from problem_report #12 logs its work on #12, not a\n            new report.\n",
        "          lesson: A thread started from problem_report #12 logs its work on #12, not a new report.\n",
    );
    edit(
        dir.path(),
        "workflows/record_kinds.yaml",
        "        guidance: set only when the update changes the request's status.\n",
        "        guidance: set only when the update changes the status #3.\n",
    );
    let run = check(dir.path());
    assert_eq!(run.code, 0, "warnings do not fail check: {}", run.stdout);
    let lesson_line = line_of(
        dir.path(),
        "workflows/add_to_flipfix.yaml",
        "lesson: A thread started",
    );
    let guidance_line = line_of(
        dir.path(),
        "workflows/record_kinds.yaml",
        "changes the status #3",
    );
    let lesson = format!(
        "{}:{lesson_line}:56: warning: the text of `lesson` ends at ` #`: YAML reads the rest of the line as a comment, so the text is only \"A thread started from problem_report\"; quote the text or write it as a block (`>-`)\n",
        dir.path().join("workflows/add_to_flipfix.yaml").display()
    );
    assert!(
        run.stdout.contains(&lesson),
        "missing {lesson}in:\n{}",
        run.stdout
    );
    let guidance = format!(
        "{}:{guidance_line}:",
        dir.path().join("workflows/record_kinds.yaml").display()
    );
    assert!(
        run.stdout.lines().any(|l| l.starts_with(&guidance)
            && l.contains("the text of `guidance` ends at ` #`")
            && l.contains("\"set only when the update changes the status\"")),
        "{}",
        run.stdout
    );
    assert_eq!(run.stdout.matches("warning:").count(), 2, "{}", run.stdout);
}
