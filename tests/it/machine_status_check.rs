//! `flipfix-bot check` on machine statuses (issue #23): a bad `status_rules`
//! entry (unknown kind, field, choice or status) is refused at its
//! file:line:column, and with a database configured, machines whose stored
//! status the workflows do not declare are named in one sentence.

use std::process::Command;

use sqlx::PgPool;

use crate::check_command::{check, edit};
use crate::support::process::database_url;
use crate::support::{add_machine, copy_workflows, repo_root};

const RULES: &str = "workflows/machines.yaml";

/// `file:line:column` of the first `needle` in the copy's machines.yaml,
/// the column being where `value` starts in that line (1-based).
fn place(dir: &std::path::Path, needle: &str, value: &str) -> String {
    let text = std::fs::read_to_string(dir.join(RULES)).expect("read");
    let (index, line) = text
        .lines()
        .enumerate()
        .find(|(_, line)| line.contains(needle))
        .expect("needle present");
    let column = line.find(value).expect("value in its line") + 1;
    format!("machines.yaml:{}:{column}", index + 1)
}

#[test]
fn check_refuses_a_bad_rule_at_its_line_and_column() {
    let cases = [
        (
            "  - kind: problem_report",
            "  - kind: problem_reports",
            "problem_reports",
            "status rule: unknown record kind `problem_reports` (known: problem_report, log_entry, part_request, part_request_update)",
        ),
        (
            "    equals: unplayable",
            "    equals: smoking",
            "smoking",
            "status rule: `smoking` is not a choice of `problem_report.priority` (choices: untriaged, unplayable, major, minor, task)",
        ),
        (
            "    restore_to: good",
            "    restore_to: mended",
            "mended",
            "status rule: unknown machine status `mended` (declared: good, fixing, broken)",
        ),
        (
            "    field: priority",
            "    field: severity",
            "severity",
            "status rule: record kind `problem_report` has no field `severity`",
        ),
    ];
    for (from, to, value, message) in cases {
        let dir = copy_workflows();
        edit(dir.path(), RULES, from, to);
        let at = place(dir.path(), to, value);
        let run = check(dir.path());
        assert_ne!(run.code, 0, "{to}: {}", run.stdout);
        assert!(
            run.stdout.contains(&format!("{at}: {message}")),
            "{to}: expected {at}: {message}\n{}",
            run.stdout
        );
    }
}

/// `check` on the shipped files with the database behind `pool`.
fn check_with_database(pool: &PgPool) -> (i32, String) {
    let root = repo_root();
    let output = Command::new(env!("CARGO_BIN_EXE_flipfix-bot"))
        .arg("check")
        .arg("--workflows")
        .arg(root.join("workflows"))
        .arg("--prompts")
        .arg(root.join("prompts"))
        .env("DATABASE_URL", database_url(pool))
        .env("RUST_LOG", "warn")
        .output()
        .expect("run flipfix-bot check");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
    )
}

#[sqlx::test(migrations = "./migrations")]
async fn check_names_machines_in_an_undeclared_status(pool: PgPool) {
    for (slug, name, status) in [
        ("gorgar", "Gorgar", "kaput"),
        ("xenon", "Xenon", "broken"),
        ("firepower", "Firepower", "good"),
    ] {
        let id = add_machine(&pool, slug, name).await;
        sqlx::query("UPDATE machines SET status = $2 WHERE id = $1")
            .bind(id)
            .bind(status)
            .execute(&pool)
            .await
            .unwrap();
    }
    // Added without a status: the column's default, not a declared one.
    add_machine(&pool, "zaccaria", "Zaccaria").await;

    let (code, stdout) = check_with_database(&pool);
    // The files are fine: the data's problem does not fail them.
    assert_eq!(code, 0, "{stdout}");
    assert!(stdout.starts_with("ok: "), "{stdout}");
    assert!(
        stdout.contains(
            "database: 2 machines are in a status the workflows do not declare \
             (declared: good, fixing, broken): Gorgar (`kaput`), Zaccaria (`unknown`); \
             declare it under `machine_statuses:`, or set each with `/machine status`"
        ),
        "{stdout}"
    );

    sqlx::query("UPDATE machines SET status = 'fixing' WHERE status NOT IN ('good', 'broken')")
        .execute(&pool)
        .await
        .unwrap();
    let (code, stdout) = check_with_database(&pool);
    assert_eq!(code, 0, "{stdout}");
    assert!(!stdout.contains("database:"), "{stdout}");
}
