//! `flipfix-bot check` validates the record page templates, naming the file
//! and line of a problem.

use std::path::Path;
use std::process::Command;

use crate::support::repo_root;

fn check_pages(pages: &Path) -> (i32, String) {
    let root = repo_root();
    let output = Command::new(env!("CARGO_BIN_EXE_flipfix-bot"))
        .arg("check")
        .arg("--workflows")
        .arg(root.join("workflows"))
        .arg("--prompts")
        .arg(root.join("prompts"))
        .arg("--pages")
        .arg(pages)
        .env_remove("DATABASE_URL")
        .output()
        .expect("run flipfix-bot check");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
    )
}

/// A copy of the shipped pages with `from` replaced by `to` in `file`.
fn pages_with(file: &str, from: &str, to: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    for entry in std::fs::read_dir(repo_root().join("pages")).expect("pages") {
        let path = entry.expect("entry").path();
        let name = path.file_name().expect("name").to_owned();
        let mut text = std::fs::read_to_string(&path).expect("read");
        if name == file {
            assert!(text.contains(from), "{file} must contain {from:?}");
            text = text.replacen(from, to, 1);
        }
        std::fs::write(dir.path().join(name), text).expect("write");
    }
    dir
}

#[test]
fn shipped_pages_are_clean() {
    let (code, stdout) = check_pages(&repo_root().join("pages"));
    assert_eq!(code, 0, "{stdout}");
}

#[test]
fn an_unguarded_optional_value_in_a_page_is_named_with_its_line() {
    // `record.machine` is none for a record without a machine.
    let dir = pages_with(
        "record.html.j2",
        "<p class=\"description\">",
        "{{ record.machine.slug }}\n<p class=\"description\">",
    );
    let (code, stdout) = check_pages(dir.path());
    assert_ne!(code, 0, "{stdout}");
    let line = std::fs::read_to_string(dir.path().join("record.html.j2"))
        .expect("read")
        .lines()
        .position(|l| l.contains("{{ record.machine.slug }}"))
        .expect("edited line")
        + 1;
    assert!(
        stdout.contains(&format!("record.html.j2:{line}")),
        "names the file and line {line}: {stdout}"
    );
    assert!(stdout.contains("without optional parts"), "{stdout}");
}

#[test]
fn a_missing_page_template_is_named() {
    let dir = pages_with("index.html.j2", "", "");
    std::fs::remove_file(dir.path().join("machine.html.j2")).expect("remove");
    let (code, stdout) = check_pages(dir.path());
    assert_ne!(code, 0);
    assert!(stdout.contains("machine.html.j2"), "{stdout}");
    assert!(stdout.contains("missing"), "{stdout}");
}
