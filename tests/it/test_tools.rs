//! A test that needs an external tool never passes without it
//! (tests/support/tools.rs): under CI a missing tool fails the run, naming it.

use std::process::Command;

use crate::support::repo_root;

#[test]
fn under_ci_a_missing_browser_fails_scripts_test_naming_it() {
    let output = Command::new("bash")
        .arg(repo_root().join("scripts/test"))
        .current_dir(repo_root())
        .env("CI", "true")
        .env("FLIPFIX_TEST_WITHOUT", "chromium")
        // scripts/test stops before starting cargo; the database is not
        // used, but naming one skips starting a cluster.
        .env("DATABASE_URL", "postgres://postgres@127.0.0.1:1/none")
        .output()
        .expect("run scripts/test");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "the run fails: {stderr}");
    assert!(
        stderr.contains("FAILED: chromium is missing"),
        "names the browser: {stderr}"
    );
    assert!(!stderr.contains("nextest run"), "no test ran: {stderr}");
}

#[test]
#[should_panic(expected = "chromium is missing")]
fn a_test_needing_a_missing_tool_fails_rather_than_passing() {
    // What the browser, moto and embedded-cluster tests call on a missing
    // tool: a panic (a failed test), with or without CI, never a return.
    crate::support::tools::missing(crate::support::tools::Tool::Chromium, "test");
}
