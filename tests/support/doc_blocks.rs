//! Documentation a test runs: the fenced code blocks of a Markdown page, and
//! a loose comparison of what the page says the bot answers with what it
//! answered.
//!
//! The convention (stated for readers at the end of
//! docs/workflow-walkthrough.md):
//! - a block whose info string is `LANGUAGE file=PATH` is a file to write at
//!   `PATH`; blocks naming one path are joined in order, so a page may show a
//!   file in parts. The paragraph before the block must name the path in
//!   backticks too, so the reader sees where it goes;
//! - a block `text output=NAME` is what the bot answers at step `NAME`; a `…`
//!   in it stands for any text, and runs of white space compare equal.
#![allow(dead_code)]

use std::collections::BTreeMap;

/// One fenced block of a page.
#[derive(Debug, Clone)]
pub struct Block {
    /// The 1-based line of its opening fence.
    pub line: usize,
    pub language: String,
    /// The `key=value` words of its info string after the language.
    pub attributes: BTreeMap<String, String>,
    pub body: String,
    /// The text lines just before it (blank lines skipped), joined by spaces.
    pub paragraph: String,
}

/// Every fenced block of `markdown`, in order. Panics on a fence left open.
pub fn blocks(markdown: &str) -> Vec<Block> {
    let lines: Vec<&str> = markdown.lines().collect();
    let mut found = Vec::new();
    let mut index = 0;
    while index < lines.len() {
        let Some(info) = lines[index].strip_prefix("```") else {
            index += 1;
            continue;
        };
        let opened = index;
        let close = (opened + 1..lines.len())
            .find(|&i| lines[i].trim_end() == "```")
            .unwrap_or_else(|| panic!("line {}: the fenced block is never closed", opened + 1));
        let mut words = info.split_whitespace();
        let language = words.next().unwrap_or_default().to_string();
        let attributes = words
            .filter_map(|word| word.split_once('='))
            .map(|(key, value)| (key.to_string(), value.to_string()))
            .collect();
        let mut body = lines[opened + 1..close].join("\n");
        body.push('\n');
        found.push(Block {
            line: opened + 1,
            language,
            attributes,
            body,
            paragraph: paragraph_before(&lines, opened),
        });
        index = close + 1;
    }
    found
}

fn paragraph_before(lines: &[&str], fence: usize) -> String {
    let mut end = fence;
    while end > 0 && lines[end - 1].trim().is_empty() {
        end -= 1;
    }
    let mut start = end;
    while start > 0 && !lines[start - 1].trim().is_empty() {
        start -= 1;
    }
    lines[start..end].join(" ")
}

/// The files the page's `file=PATH` blocks make, by path. Panics when a
/// block's paragraph does not name its path.
pub fn files(blocks: &[Block]) -> BTreeMap<String, String> {
    let mut files: BTreeMap<String, String> = BTreeMap::new();
    for block in blocks {
        let Some(path) = block.attributes.get("file") else {
            continue;
        };
        assert!(
            block.paragraph.contains(&format!("`{path}`")),
            "line {}: the sentence before the block must name `{path}` for the reader: {:?}",
            block.line,
            block.paragraph
        );
        files.entry(path.clone()).or_default().push_str(&block.body);
    }
    files
}

/// The body of the page's `output=NAME` block. Panics when there is not
/// exactly one.
pub fn output<'a>(blocks: &'a [Block], name: &str) -> &'a str {
    let matching: Vec<&Block> = blocks
        .iter()
        .filter(|b| b.attributes.get("output").map(String::as_str) == Some(name))
        .collect();
    assert_eq!(
        matching.len(),
        1,
        "the page must show exactly one `output={name}` block"
    );
    &matching[0].body
}

/// Whether `actual` is what `expected` shows: equal, white space aside,
/// where each `…` in `expected` stands for any text (possibly none).
pub fn shows(expected: &str, actual: &str) -> Result<(), String> {
    let squeeze = |text: &str| text.split_whitespace().collect::<Vec<_>>().join(" ");
    let (expected, actual) = (squeeze(expected), squeeze(actual));
    let pieces: Vec<&str> = expected.split('…').map(str::trim).collect();
    let mismatch = |why: &str| {
        Err(format!(
            "{why}\nthe page shows:\n{expected}\nthe bot said:\n{actual}"
        ))
    };
    let mut rest = actual.as_str();
    let last = pieces.len() - 1;
    for (index, piece) in pieces.iter().enumerate() {
        if piece.is_empty() {
            continue;
        }
        let found = if index == 0 {
            rest.starts_with(piece).then_some(0)
        } else if index == last {
            rest.ends_with(piece).then(|| rest.len() - piece.len())
        } else {
            rest.find(piece)
        };
        match found {
            Some(at) => rest = &rest[at + piece.len()..],
            None => return mismatch(&format!("missing (in order): {piece:?}")),
        }
    }
    if !rest.is_empty() && !expected.ends_with('…') {
        return mismatch(&format!("more than the page shows: {rest:?}"));
    }
    Ok(())
}
