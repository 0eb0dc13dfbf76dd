//! The log capture the secret checks rely on: it sees every log line of a
//! test's task tree whatever global logger the process has (plain
//! `cargo test` runs all tests in one process), and the check fails when a
//! secret is logged.

use crate::support::logs::CapturedLogs;

const SECRET: &str = "sk-ant-api03-LOGGED-ON-PURPOSE-42";

/// The deliberate fault: a secret logged from a spawned task, with a global
/// logger already installed, must fail the check.
#[tokio::test]
async fn a_secret_logged_on_purpose_fails_the_check() {
    // What every bot test does first; under `cargo test` some other test
    // has usually installed it already.
    flipfix_bot::telemetry::init(None);
    let logs = CapturedLogs::capture();
    tokio::spawn(async {
        tracing::warn!(target: "flipfix_bot::config", key = "ANTHROPIC_API_KEY", value = SECRET, "oops");
    })
    .await
    .unwrap();
    let check = std::panic::AssertUnwindSafe(|| logs.assert_never_logged(&[SECRET]));
    let failure =
        std::panic::catch_unwind(check).expect_err("the check must fail on a logged secret");
    let message = failure
        .downcast_ref::<String>()
        .cloned()
        .unwrap_or_default();
    assert!(message.contains("a secret was logged"), "{message}");
    assert!(
        !message.contains(SECRET),
        "the failure report blanks the secret: {message}"
    );
}

#[tokio::test]
async fn clean_logs_pass_the_check_and_are_captured() {
    flipfix_bot::telemetry::init(None);
    let logs = CapturedLogs::capture();
    tokio::spawn(async {
        tracing::info!(target: "flipfix_bot::config", key = "ANTHROPIC_API_KEY", "setting changed");
    })
    .await
    .unwrap();
    assert!(logs.text().contains("setting changed"), "{}", logs.text());
    logs.assert_never_logged(&[SECRET]);
}

/// The capture refuses a runtime whose tasks it could not see.
#[test]
fn the_capture_refuses_a_multi_thread_runtime() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    let refused = runtime.block_on(async {
        tokio::spawn(async { std::panic::catch_unwind(|| drop(CapturedLogs::capture())) })
            .await
            .unwrap()
    });
    assert!(refused.is_err());
}
