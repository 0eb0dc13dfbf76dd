//! One clock rules each comparison (see `src/clock.rs`): no query in the
//! program reads the database's clock, except to stamp an audit column that
//! nothing compares. Reading the system's time outside `clock` is refused by
//! clippy (`clippy.toml`); this test covers the SQL strings clippy cannot see.

use std::path::Path;

/// Columns that only record when something happened, for people reading
/// the rows; no query compares them, so the database's clock may fill them.
const AUDIT_COLUMNS: &[&str] = &[
    "updated_at",
    "linked_at",
    "decided_at",
    "stored_at",
    "settled_at",
];

/// SQL's ways of reading the server's clock.
const SQL_CLOCKS: &[&str] = &[
    "now()",
    "current_timestamp",
    "current_date",
    "current_time",
    "localtimestamp",
    "localtime",
    "clock_timestamp(",
    "statement_timestamp(",
    "transaction_timestamp(",
];

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("read src") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Where `needle` (lower case) stands in `line` as SQL, not as a Rust call
/// (`Utc::now()`, `clock.now()`, `Instant::now()`).
fn sql_uses(line: &str, needle: &str) -> Vec<usize> {
    let lower = line.to_ascii_lowercase();
    lower
        .match_indices(needle)
        .map(|(at, _)| at)
        .filter(|&at| {
            let before = lower[..at].chars().next_back();
            let after = lower[at + needle.len()..].chars().next();
            let word_start = !before.is_some_and(|c| c.is_alphanumeric() || "_.:".contains(c));
            let word_end = needle.ends_with('(')
                || needle.ends_with(')')
                || !after.is_some_and(|c| c.is_alphanumeric() || c == '_');
            word_start && word_end
        })
        .collect()
}

fn stamps_an_audit_column(line: &str, at: usize) -> bool {
    let before = line[..at].trim_end();
    let Some(before) = before.strip_suffix('=') else {
        return false;
    };
    let column = before
        .trim_end()
        .rsplit(|c: char| !(c.is_alphanumeric() || c == '_'))
        .next()
        .unwrap_or_default();
    AUDIT_COLUMNS.contains(&column)
}

fn offences(text: &str) -> Vec<(usize, String)> {
    let mut found = Vec::new();
    for (number, line) in text.lines().enumerate() {
        if line.trim_start().starts_with("//") {
            continue;
        }
        for needle in SQL_CLOCKS {
            for at in sql_uses(line, needle) {
                if !(*needle == "now()" && stamps_an_audit_column(line, at)) {
                    found.push((number + 1, line.trim().to_string()));
                }
            }
        }
    }
    found
}

#[test]
fn no_query_compares_against_the_database_clock() {
    let mut files = Vec::new();
    rust_files(&crate::support::repo_root().join("src"), &mut files);
    assert!(files.len() > 50, "found only {} source files", files.len());
    let mut problems = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(&file).expect("read source");
        for (line, text) in offences(&text) {
            problems.push(format!("{}:{line}: {text}", file.display()));
        }
    }
    assert!(
        problems.is_empty(),
        "bind the app clock's `now` instead of reading the database's clock:\n{}",
        problems.join("\n")
    );
}

#[test]
fn the_check_finds_what_it_looks_for() {
    // Each of these would mix the two clocks.
    for sql in [
        r#""UPDATE notification_outbox SET next_attempt_at = now() WHERE id = $1""#,
        r#""SELECT 1 FROM o WHERE delivered_at > NOW() - interval '1 day'""#,
        r#""INSERT INTO t (created_at) VALUES (CURRENT_TIMESTAMP)""#,
        r#""SELECT clock_timestamp()""#,
        r#""UPDATE t SET updated_at = now(), due_at = now() WHERE id = $1""#,
    ] {
        assert!(!offences(sql).is_empty(), "missed: {sql}");
    }
    // Audit stamps and Rust calls are fine.
    for ok in [
        r#""UPDATE machines SET name = $2, updated_at = now() WHERE slug = $1""#,
        "let now = app.clock.now();",
        "let started = std::time::Instant::now();",
        "// a comment about now()",
        r#""SELECT nowhere FROM t""#,
    ] {
        assert_eq!(offences(ok), Vec::new(), "flagged: {ok}");
    }
}
