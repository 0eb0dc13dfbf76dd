//! Just enough Markdown for the documentation checks: headings and their
//! GitHub anchors, and the links of the prose (code blocks and code spans
//! left out, since what is shown as code is never followed).

/// `text` with fenced code blocks and inline code spans blanked out (each
/// character a space, newlines kept), so positions still name the line and
/// column of the original.
pub fn without_code(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut in_fence = false;
    for line in text.split_inclusive('\n') {
        let fence = line.trim_start().starts_with("```");
        if fence || in_fence {
            out.extend(line.chars().map(|c| if c == '\n' { '\n' } else { ' ' }));
        } else {
            out.push_str(line);
        }
        if fence {
            in_fence = !in_fence;
        }
    }
    blank_code_spans(&out)
}

/// Blanks every code span: a run of backticks up to the next run of the
/// same length (it may cross a line break, as a span may in a paragraph).
fn blank_code_spans(text: &str) -> String {
    let mut chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        if chars[i] != '`' {
            i += 1;
            continue;
        }
        let run = chars[i..].iter().take_while(|&&c| c == '`').count();
        let mut j = i + run;
        let mut closing = None;
        while j < chars.len() {
            if chars[j] == '`' {
                let len = chars[j..].iter().take_while(|&&c| c == '`').count();
                if len == run {
                    closing = Some(j);
                    break;
                }
                j += len;
            } else {
                j += 1;
            }
        }
        match closing {
            Some(end) => {
                for c in &mut chars[i..end + run] {
                    if *c != '\n' {
                        *c = ' ';
                    }
                }
                i = end + run;
            }
            None => i += run,
        }
    }
    chars.into_iter().collect()
}

/// A heading's text as GitHub shows it: links read as their text, code and
/// emphasis marks dropped.
pub fn heading_text(raw: &str) -> String {
    let mut text = String::new();
    let mut rest = raw;
    while let Some(open) = rest.find("](") {
        let Some(close) = rest[open..].find(')') else {
            break;
        };
        text.push_str(&rest[..open]);
        rest = &rest[open + close + 1..];
    }
    text.push_str(rest);
    text.chars()
        .filter(|&c| !matches!(c, '`' | '*' | '['))
        .collect::<String>()
        .trim()
        .to_string()
}

/// GitHub's anchor for a heading: lower case, letters, digits, `-` and `_`
/// kept, spaces turned into `-`, everything else (punctuation, emoji)
/// dropped.
pub fn slug(heading: &str) -> String {
    heading_text(heading)
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
            _ => None,
        })
        .collect()
}

/// Every heading of `markdown` outside code blocks, as written (without
/// its `#` marks), in order.
pub fn headings(markdown: &str) -> Vec<String> {
    without_code(markdown)
        .lines()
        .zip(markdown.lines())
        .filter(|(blanked, _)| blanked.starts_with('#'))
        .filter_map(|(_, line)| {
            let marks = line.chars().take_while(|&c| c == '#').count();
            (marks <= 6)
                .then(|| line[marks..].strip_prefix(' '))
                .flatten()
                .map(str::to_string)
        })
        .collect()
}

/// The anchors GitHub gives the headings: a repeated slug gets `-1`, `-2`, …
pub fn anchors(markdown: &str) -> Vec<String> {
    let mut seen = std::collections::BTreeMap::<String, usize>::new();
    headings(markdown)
        .iter()
        .map(|heading| {
            let base = slug(heading);
            let count = seen.entry(base.clone()).or_insert(0);
            let anchor = match *count {
                0 => base,
                n => format!("{base}-{n}"),
            };
            *count += 1;
            anchor
        })
        .collect()
}

/// One inline link or image of the prose: where it is (1-based line and
/// column of its target) and its target as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    pub line: usize,
    pub column: usize,
    pub target: String,
}

/// Every `[text](target)` and `![alt](target)` outside code.
pub fn links(markdown: &str) -> Vec<Link> {
    let prose = without_code(markdown);
    let mut found = Vec::new();
    for (index, line) in prose.lines().enumerate() {
        let mut from = 0;
        while let Some(at) = line[from..].find("](") {
            let start = from + at + 2;
            let Some(len) = line[start..].find(')') else {
                break;
            };
            let target = line[start..start + len].trim();
            // A title after the address (`(file.md "title")`) is not part of it.
            let target = target.split_whitespace().next().unwrap_or("");
            found.push(Link {
                line: index + 1,
                column: line[..start].chars().count() + 1,
                target: target.to_string(),
            });
            from = start + len;
        }
    }
    found
}
