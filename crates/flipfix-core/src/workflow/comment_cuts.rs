//! A YAML trap that loads without error: in a plain (unquoted) scalar, ` #`
//! starts a comment, so `lesson: work on #12, not a new report` is read as
//! `work on`. The text is cut silently and the prompt shows half a sentence.
//! This lint reads the files as text (the parser has already dropped the
//! comment) and warns about such lines where authors write prose: the worked
//! `examples:` and every `guidance:`.

use std::path::Path;

use super::Problem;

/// Warnings, one per line where a plain scalar in `examples:` or a
/// `guidance:` is followed by a comment on the same line.
pub fn comment_cuts(path: &Path, text: &str) -> Vec<Problem> {
    let mut warnings = Vec::new();
    // Indentation of the `examples:` key whose items are being read (at the
    // top level in 0.x files, under `analyze:` in workflows).
    let mut examples_at: Option<usize> = None;
    // Indentation of the key that opened a block scalar (`|`, `>`): deeper
    // lines are its text, where `#` is literal.
    let mut block_of: Option<usize> = None;
    for (index, line) in text.lines().enumerate() {
        let indent = line.len() - line.trim_start().len();
        let body = line.trim_start();
        if body.is_empty() {
            continue;
        }
        if let Some(key_indent) = block_of {
            if indent > key_indent {
                continue;
            }
            block_of = None;
        }
        if body.starts_with('#') {
            continue;
        }
        if examples_at.is_some_and(|at| indent <= at) {
            examples_at = None;
        }
        if body.starts_with("examples:") {
            examples_at = Some(indent);
        }
        let in_examples = examples_at.is_some();
        // `- key: value`, `key: value` or `- value`.
        let item = body.strip_prefix("- ").map_or(body, str::trim_start);
        let (key, value, value_at) = match split_key(item) {
            Some((key, value)) => (Some(key), value, line.len() - value.len()),
            None if body.starts_with("- ") => (None, item, line.len() - item.len()),
            None => continue,
        };
        if is_block_indicator(value) {
            block_of = Some(indent);
            continue;
        }
        let watched = in_examples || key == Some("guidance");
        if !watched || value.starts_with(['"', '\'', '{', '[', '&', '*', '!', '|', '>']) {
            continue;
        }
        let Some(cut) = comment_start(value) else {
            continue;
        };
        let kept = value[..cut].trim_end();
        if kept.is_empty() {
            continue; // `key: # note`: no text to cut
        }
        let name = key.map_or_else(|| "this list item".to_string(), |k| format!("`{k}`"));
        // 1-based column of the `#`.
        let column = value_at + cut + 2;
        warnings.push(
            Problem::new(
                path,
                format!(
                    "warning: the text of {name} ends at ` #`: YAML reads the rest of the line as a comment, so the text is only {kept:?}; quote the text or write it as a block (`>-`)"
                ),
            )
            .at(index as u64 + 1, column as u64),
        );
    }
    warnings
}

/// [`comment_cuts`] over every workflow file in `dir` (unreadable files are
/// already problems of the load).
pub fn comment_warnings(dir: &Path) -> Vec<Problem> {
    let files = super::load::yaml_files(dir).unwrap_or_default();
    files
        .iter()
        .filter_map(|path| Some((path, std::fs::read_to_string(path).ok()?)))
        .flat_map(|(path, text)| comment_cuts(path, &text))
        .collect()
}

/// `key: value` → (`key`, `value`) for a simple key; `None` otherwise.
fn split_key(item: &str) -> Option<(&str, &str)> {
    let colon = item
        .find(": ")
        .or_else(|| item.ends_with(':').then(|| item.len() - 1))?;
    let key = &item[..colon];
    let simple = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    simple.then(|| (key, item[colon + 1..].trim_start()))
}

fn is_block_indicator(value: &str) -> bool {
    let value = comment_start(value)
        .map_or(value, |cut| &value[..cut])
        .trim_end();
    value.starts_with(['|', '>'])
        && value[1..]
            .chars()
            .all(|c| matches!(c, '-' | '+') || c.is_ascii_digit())
}

/// Byte offset of the whitespace before a comment's `#` in a plain scalar.
fn comment_start(value: &str) -> Option<usize> {
    value
        .char_indices()
        .find(|&(i, c)| c.is_whitespace() && value[i + c.len_utf8()..].starts_with('#'))
        .map(|(i, _)| i)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn warn(text: &str) -> Vec<String> {
        comment_cuts(Path::new("w.yaml"), text)
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn a_lesson_cut_by_a_comment_is_named_with_its_line_and_column() {
        let text = "record_kinds: []\nexamples:\n  - name: a\n    lesson: Logs work on #12, not a new report.\n";
        assert_eq!(
            warn(text),
            vec!["w.yaml:4:26: warning: the text of `lesson` ends at ` #`: YAML reads the rest of the line as a comment, so the text is only \"Logs work on\"; quote the text or write it as a block (`>-`)".to_string()]
        );
    }

    #[test]
    fn guidance_anywhere_is_checked_and_other_keys_outside_examples_are_not() {
        let text = "record_kinds:\n  - name: x  # the kind\n    guidance: see #3 first\n    label: A label # a note\n";
        let warnings = warn(text);
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(warnings[0].starts_with("w.yaml:3:19: warning: the text of `guidance`"));
    }

    #[test]
    fn quoted_block_and_hash_without_space_are_fine() {
        let text = "examples:\n  - name: a\n    lesson: \"on #12\"\n    other: >-\n      on #12 too\n    tag: issue#12\n    note: # only a comment\n  - name: b # a comment after a name is still a cut\n";
        let warnings = warn(text);
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(warnings[0].starts_with("w.yaml:8:"), "{warnings:?}");
    }
}
