//! 0.x files: the single `context_menu:` flow and its top-level `examples:`
//! are refused, each with the exact `workflows:` entry that replaces them,
//! written from the file's own text so comments and values carry over.
//! There is one loader; the old form is rewritten, not read twice.
//!
//! 0.x's `summaries:` still loads (through the same checks as a schedule
//! workflow's `summary:`), with a warning that shows its rewrite.

use std::path::Path;

use serde_saphyr::Spanned;

use crate::workflow::summaries::{SummaryDecl, OLD_SLOTS};
use crate::workflow::Problem;

/// The warning for a file's `summaries:` section, with the `workflows:`
/// entries that replace it.
pub(super) fn summaries_warning(
    path: &Path,
    section: &Spanned<Vec<Spanned<SummaryDecl>>>,
) -> Problem {
    let message = if section.value.is_empty() {
        "warning: `summaries:` is deprecated (a daily summary is now a workflow with a `schedule:` trigger); this one is empty: remove it".to_string()
    } else {
        let old_slots = section
            .value
            .iter()
            .any(|s| s.value.open_reports.is_some() || s.value.parts_waiting.is_some());
        let templates_note = if old_slots {
            " A template that reads `open_reports` or `parts_waiting` reads `listings` instead."
        } else {
            ""
        };
        format!(
            "warning: `summaries:` is deprecated: a daily summary is now a workflow with a `schedule:` trigger. It still loads as written; to rewrite it, replace `summaries:` with these entries (under the file's `workflows:` if it has one); the name stays, so a day already posted is not posted again.{templates_note}\n{}",
            rewrite_summaries(&section.value)
        )
    };
    Problem::new(path, message).at_location(section.referenced)
}

/// The `workflows:` YAML replacing `summaries:` entries, each value quoted.
fn rewrite_summaries(decls: &[Spanned<SummaryDecl>]) -> String {
    let quote = |text: &str| serde_json::to_string(text).unwrap_or_default();
    let listing = |title: &str, kind: &str, statuses: &[String]| {
        let statuses: Vec<String> = statuses.iter().map(|s| quote(s)).collect();
        format!(
            "        - {{title: {}, kind: {}, statuses: [{}]}}",
            quote(title),
            quote(kind),
            statuses.join(", ")
        )
    };
    let mut out = vec!["workflows:".to_string()];
    for decl in decls {
        let decl = &decl.value;
        out.push(format!("  - name: {}", quote(&decl.name.value)));
        out.push("    triggers:".into());
        out.push(format!(
            "      - schedule: {{at: {}, timezone: {}}}",
            quote(&decl.at.value),
            quote(&decl.timezone.value)
        ));
        out.push("    summary:".into());
        out.push(format!("      template: {}", quote(&decl.template.value)));
        let old = [&decl.open_reports, &decl.parts_waiting];
        if let Some(listings) = &decl.listings {
            out.push("      listings:".into());
            for l in listings {
                let statuses: Vec<String> = l
                    .value
                    .statuses
                    .value
                    .iter()
                    .map(|s| s.value.clone())
                    .collect();
                out.push(listing(
                    &l.value.title.value,
                    &l.value.kind.value,
                    &statuses,
                ));
            }
        } else if old.iter().any(|slot| slot.is_some()) {
            out.push("      listings:".into());
            for (&(_, title, kind, statuses), given) in OLD_SLOTS.iter().zip(old) {
                let (kind, statuses) = match given {
                    Some(given) => (given.value.kind.clone(), given.value.statuses.clone()),
                    None => (
                        kind.to_string(),
                        statuses.iter().map(|s| s.to_string()).collect(),
                    ),
                };
                out.push(listing(title, &kind, &statuses));
            }
        }
    }
    out.join("\n")
}

/// The `workflows:` YAML replacing `context_menu:` and `examples:` in
/// `text`, or `None` when the file has no top-level `context_menu:`.
pub fn rewrite_context_menu(text: &str) -> Option<String> {
    let lines: Vec<&str> = text.lines().collect();
    let menu = top_level_block(&lines, "context_menu")?;
    let examples = top_level_block(&lines, "examples");
    let mut command = String::new();
    let mut gather = Vec::new();
    let mut analyze = Vec::new();
    let mut after = Vec::new();
    let (children, trailing) = children(&lines[menu.start + 1..menu.end]);
    for child in children {
        match child.key.as_str() {
            "command_name" => {
                command = child.lines[child.key_line]
                    .trim_start()
                    .trim_start_matches("command_name:")
                    .trim()
                    .to_string();
                // Its comments go with the trigger.
                gather.extend(child.lines[..child.key_line].iter().map(|l| indent(l, 2)));
            }
            "windows" => {
                for (i, line) in child.lines.iter().enumerate() {
                    if i == child.key_line {
                        gather.push(format!(
                            "    gather:{}",
                            line.trim_start().trim_start_matches("windows:")
                        ));
                    } else {
                        gather.push(indent(line, 2));
                    }
                }
            }
            "on_created" => after.extend(child.lines.iter().map(|l| indent(l, 2))),
            _ => analyze.extend(child.lines.iter().map(|l| indent(l, 4))),
        }
    }
    // Comments after the last key are commented-out analysis settings.
    analyze.extend(trailing.iter().map(|l| indent(l, 4)));
    if let Some(examples) = examples {
        analyze.extend(
            lines[examples.start..examples.end]
                .iter()
                .map(|l| indent(l, 6)),
        );
    }
    let mut out = vec![
        "workflows:".to_string(),
        format!("  - name: {}", workflow_name(&command)),
        "    triggers:".to_string(),
        format!("      - message_command: {command}"),
    ];
    out.extend(gather);
    out.push("    analyze:".to_string());
    out.extend(analyze);
    out.extend(after);
    let mut text = out
        .into_iter()
        .map(|l| l.trim_end().to_string())
        .collect::<Vec<_>>()
        .join("\n");
    text.push('\n');
    Some(text)
}

/// `Add to Flipfix` → `add_to_flipfix`.
fn workflow_name(command: &str) -> String {
    let command = command.trim_matches(|c| c == '"' || c == '\'');
    let mut name = String::new();
    for c in command.chars() {
        if c.is_ascii_alphanumeric() {
            name.push(c.to_ascii_lowercase());
        } else if !name.ends_with('_') && !name.is_empty() {
            name.push('_');
        }
    }
    let name = name.trim_end_matches('_').to_string();
    if name.starts_with(|c: char| c.is_ascii_lowercase()) {
        name
    } else {
        format!("workflow_{name}")
    }
}

fn indent(line: &str, by: usize) -> String {
    if line.trim().is_empty() {
        String::new()
    } else {
        format!("{}{line}", " ".repeat(by))
    }
}

struct Block {
    /// The first line: the key itself, or the comments right above it.
    start: usize,
    /// One past the last line of its body.
    end: usize,
}

fn is_top_level_key(line: &str) -> bool {
    line.starts_with(|c: char| c.is_ascii_alphabetic()) && line.contains(':')
}

fn is_top_level_comment(line: &str) -> bool {
    line.starts_with('#')
}

/// The lines of the top-level `key:` (with the comment lines right above
/// it), up to the next top-level key and its comments.
fn top_level_block(lines: &[&str], key: &str) -> Option<Block> {
    let header = lines
        .iter()
        .position(|l| l.strip_prefix(key).is_some_and(|r| r.starts_with(':')))?;
    let mut start = header;
    while start > 0 && is_top_level_comment(lines[start - 1]) {
        start -= 1;
    }
    let mut end = header + 1;
    while end < lines.len() && !is_top_level_key(lines[end]) {
        end += 1;
    }
    // Comments and blank lines at column 0 before the next key are that
    // key's, not this block's.
    while end > header + 1
        && (is_top_level_comment(lines[end - 1]) || lines[end - 1].trim().is_empty())
    {
        end -= 1;
    }
    Some(Block { start, end })
}

struct Child<'a> {
    key: String,
    /// Its comments, then its key line, then its body.
    lines: Vec<&'a str>,
    key_line: usize,
}

/// The keys of a block indented by two, each with the comments above it,
/// and the comment lines after the last key.
fn children<'a>(body: &[&'a str]) -> (Vec<Child<'a>>, Vec<&'a str>) {
    let mut children: Vec<Child<'a>> = Vec::new();
    let mut pending = Vec::new();
    for line in body {
        let depth = line.len() - line.trim_start().len();
        let trimmed = line.trim_start();
        if depth == 2 && trimmed.starts_with('#') {
            pending.push(*line);
        } else if depth == 2 && !trimmed.is_empty() {
            let key = trimmed.split(':').next().unwrap_or_default().to_string();
            let key_line = pending.len();
            let mut lines = std::mem::take(&mut pending);
            lines.push(*line);
            children.push(Child {
                key,
                lines,
                key_line,
            });
        } else if let Some(last) = children.last_mut() {
            last.lines.append(&mut pending);
            last.lines.push(*line);
        }
    }
    (children, pending)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_context_menu_becomes_one_workflow_with_its_examples() {
        let old = "# header\n\ncontext_menu:\n  command_name: Add to Flipfix\n  windows:\n    channel_before: 30  # before\n  # the model\n  model: m\n  on_created:\n    react: \"✅\"\n  # provider: x\n\n# Worked examples\nexamples:\n  - name: one\n    lesson: >-\n      two lines\n";
        let new = rewrite_context_menu(old).unwrap();
        assert_eq!(
            new,
            "workflows:\n  - name: add_to_flipfix\n    triggers:\n      - message_command: Add to Flipfix\n    gather:\n      channel_before: 30  # before\n    analyze:\n      # the model\n      model: m\n      # provider: x\n      # Worked examples\n      examples:\n        - name: one\n          lesson: >-\n            two lines\n    on_created:\n      react: \"✅\"\n"
        );
    }
}
