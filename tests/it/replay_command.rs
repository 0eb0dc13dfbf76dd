//! `flipfix-bot replay --response` and `flipfix-bot eval --responses`,
//! offline (the real binary), on the reference answers (hand-made: what a
//! correct analysis returns per the scenario README; no usage) and on
//! deliberately faulty answers.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::{repo_root, shared_dir};

fn fixtures() -> Vec<(String, PathBuf)> {
    let dir = repo_root().join("tests/fixtures/reference_answers");
    let mut out: Vec<(String, PathBuf)> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .map(|p| (p.file_stem().unwrap().to_string_lossy().into_owned(), p))
        .collect();
    out.sort();
    assert_eq!(out.len(), 36, "one reference answer per eval scenario");
    out
}

fn scenario_path(name: &str) -> PathBuf {
    shared_dir().join(format!("scenarios/flipfix-eval/{name}.yaml"))
}

fn bot(args: &[&str]) -> (i32, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_flipfix-bot"))
        .args(args)
        .current_dir(repo_root())
        .env_remove("DATABASE_URL")
        .env("RUST_LOG", "warn")
        .output()
        .expect("run flipfix-bot");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[test]
fn replay_prints_cards_for_every_reference_answer_without_repairs_or_a_made_up_cost() {
    for (name, response) in fixtures() {
        let scenario = scenario_path(&name);
        let (code, stdout, stderr) =
            bot(&["replay", path(&scenario), "--response", path(&response)]);
        assert_eq!(code, 0, "{name}: {stderr}");
        assert!(
            stdout.contains(&format!("scenario {name}:")),
            "{name}: {stdout}"
        );
        assert!(
            stdout.contains(
                "tokens: not reported (the answer carries no usage); model claude-haiku-4-5; cost unknown"
            ),
            "{name}: {stdout}"
        );
        // A reference answer is what a correct analysis returns: nothing
        // for the validator to change.
        assert!(!stdout.contains("model suggestion"), "{name}: {stdout}");
    }
}

#[test]
fn replay_drops_a_suggestion_citing_only_messages_outside_the_conversation() {
    let (code, stdout, stderr) = bot(&[
        "replay",
        path(&scenario_path("webhook_reply_creates_linked_log")),
        "--response",
        "tests/fixtures/faulty_answers/ungrounded_webhook_reply_creates_linked_log.json",
        "--json",
    ]);
    assert_eq!(code, 0, "{stderr}");
    let report: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let suggestions = report["analysis"]["suggestions"].as_array().unwrap();
    assert_eq!(suggestions.len(), 1, "only the grounded one is left");
    assert_eq!(suggestions[0]["kind"], "log_entry");
    assert_eq!(
        report["analysis"]["repairs"],
        serde_json::json!([{
            "at": "2",
            "action": "dropped",
            "reason": "it cites only messages that are not in the conversation (\"4711\", \"4712\"): nothing shown supports it",
        }])
    );

    let (code, stdout, _) = bot(&[
        "replay",
        path(&scenario_path("webhook_reply_creates_linked_log")),
        "--response",
        "tests/fixtures/faulty_answers/ungrounded_webhook_reply_creates_linked_log.json",
    ]);
    assert_eq!(code, 0);
    assert!(
        stdout.contains("model suggestion 2: dropped: it cites only messages that are not in the conversation (\"4711\", \"4712\"): nothing shown supports it"),
        "{stdout}"
    );
    assert!(
        !stdout.contains("sparks"),
        "the invented record is not shown: {stdout}"
    );
}

#[test]
fn replay_repairs_an_answer_in_the_old_shape_and_shows_each_repair() {
    let (code, stdout, stderr) = bot(&[
        "replay",
        path(&scenario_path("nested_part_request_with_updates")),
        "--response",
        "tests/fixtures/faulty_answers/old_shape_nested_part_request_with_updates.json",
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.contains("model suggestion 1.1: repaired: `machine` is not part of a part_request_update child item (a child takes its parent's machine); removed"),
        "{stdout}"
    );
    assert_eq!(
        stdout.matches("`machine` is not part of").count(),
        1,
        "one repair, shown once: {stdout}"
    );
    assert!(stdout.contains("Ordered."), "the child is kept: {stdout}");
}

#[test]
fn replay_refuses_a_broken_answer_naming_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let answer = dir.path().join("broken.json");
    std::fs::write(
        &answer,
        r#"{"id": "msg_broken", "type": "message", "role": "assistant", "model": "claude-haiku-4-5",
            "content": [{"type": "tool_use", "id": "toolu_broken", "name": "record_suggestions",
                         "input": {"suggestions": {"kind": "part_request"}}}],
            "stop_reason": "tool_use", "stop_sequence": null}"#,
    )
    .unwrap();
    let (code, stdout, stderr) = bot(&[
        "replay",
        path(&scenario_path("nested_part_request_with_updates")),
        "--response",
        path(&answer),
    ]);
    assert_ne!(code, 0, "{stdout}");
    assert!(stderr.contains("`suggestions` is not a list"), "{stderr}");
}

#[test]
fn replay_shows_cards_links_and_children() {
    let (code, stdout, _) = bot(&[
        "replay",
        path(&scenario_path("webhook_reply_creates_linked_log")),
        "--response",
        "tests/fixtures/reference_answers/webhook_reply_creates_linked_log.json",
    ]);
    assert_eq!(code, 0);
    assert!(stdout.contains("🗒️ Log entry: Gorgar"), "{stdout}");
    assert!(stdout.contains("Linked to Problem report #42"), "{stdout}");
    assert!(
        stdout.contains("[73] Fixed it - adjusted the EOS switch"),
        "{stdout}"
    );

    let (code, stdout, _) = bot(&[
        "replay",
        path(&scenario_path("nested_part_request_with_updates")),
        "--response",
        "tests/fixtures/reference_answers/nested_part_request_with_updates.json",
    ]);
    assert_eq!(code, 0);
    assert!(
        stdout.contains("suggestion 1.2 (child of the part_request above)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("💬 Part request update: Ballyhoo"),
        "children inherit the machine: {stdout}"
    );
}

#[test]
fn replay_shows_every_repair_and_drop() {
    let (code, stdout, _) = bot(&[
        "replay",
        path(&scenario_path("author_id_attribution")),
        "--response",
        "tests/fixtures/faulty_answers/repairs_author_id_attribution.json",
    ]);
    assert_eq!(code, 0);
    for line in [
        "model suggestion 1: repaired: field `priority` is not a field of log_entry; removed",
        "model suggestion 1: repaired: source message \"999\" is not in the conversation; removed",
        "model suggestion 1: repaired: author `1009999999999999999` did not write in the conversation; attributed to Bob Wilson",
        "model suggestion 2: dropped: unknown record kind `maintenance_note`",
        "model suggestion 3: repaired: parent record #7 does not exist; link removed",
        "model suggestion 3: dropped: a part_request_update needs an existing parent record",
        "model suggestion 4: repaired: field `status` is not set on a new problem_report: it starts as open, and changes come as children or updates; removed",
        "model suggestion 4: repaired: machine `Blackout 2000` is not in the catalog; left for the reviewer to pick",
        "model suggestion 4: repaired: no source messages; the clicked message is used",
        "model suggestion 4: repaired: no author_id; attributed to Bob Wilson (who wrote its first source message)",
    ] {
        assert!(stdout.contains(line), "missing {line:?} in:\n{stdout}");
    }
    assert!(stdout.contains("machine: unknown (model said `Blackout 2000`), to be picked"));
}

#[test]
fn replay_json_is_machine_readable() {
    let (code, stdout, stderr) = bot(&[
        "replay",
        path(&scenario_path("multi_item_mixed_types")),
        "--response",
        "tests/fixtures/reference_answers/multi_item_mixed_types.json",
        "--json",
        "--show-prompt",
    ]);
    assert_eq!(code, 0, "{stderr}");
    // --show-prompt output comes first; the JSON is the rest.
    let json_start = stdout.find("===== answer =====\n").map(|i| i + 19).unwrap();
    let report: serde_json::Value = serde_json::from_str(&stdout[json_start..]).unwrap();
    assert_eq!(report["scenario"], "multi_item_mixed_types");
    let suggestions = report["analysis"]["suggestions"].as_array().unwrap();
    assert_eq!(suggestions.len(), 2);
    assert_eq!(
        suggestions[0]["machine"]["slug"], "derby-day",
        "machine named `Derby Day` matched"
    );
    assert_eq!(
        report["analysis"]["cost_usd"],
        serde_json::Value::Null,
        "a reference answer has no usage, so no cost"
    );
    assert!(stdout.contains("===== system (cached prefix) ====="));
}

#[test]
fn replay_refuses_ambiguous_sources() {
    let (code, _, stderr) = bot(&["replay", path(&scenario_path("author_id_attribution"))]);
    assert_ne!(code, 0);
    assert!(
        stderr.contains("--response FILE") && stderr.contains("--live"),
        "{stderr}"
    );
}

#[test]
fn eval_passes_every_scenario_on_the_reference_answers() {
    let (code, stdout, stderr) = bot(&[
        "eval",
        path(&shared_dir().join("scenarios/flipfix-eval")),
        "--responses",
        "tests/fixtures/reference_answers",
    ]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(
        stdout.contains("36/36 passed; cost unknown (no answer reports usage)"),
        "{stdout}"
    );
}

#[test]
fn eval_reports_what_a_wrong_answer_gets_wrong() {
    // One scenario, answered with the faulty answer that keeps an extra,
    // unrelated problem report.
    let dir = tempfile::tempdir().unwrap();
    let source = shared_dir().join("scenarios/flipfix-eval");
    std::fs::copy(
        source.join("_catalog.yaml"),
        dir.path().join("_catalog.yaml"),
    )
    .unwrap();
    std::fs::copy(
        scenario_path("author_id_attribution"),
        dir.path().join("author_id_attribution.yaml"),
    )
    .unwrap();
    let answers = tempfile::tempdir().unwrap();
    std::fs::copy(
        repo_root().join("tests/fixtures/faulty_answers/repairs_author_id_attribution.json"),
        answers.path().join("author_id_attribution.json"),
    )
    .unwrap();
    let (code, stdout, stderr) = bot(&[
        "eval",
        path(dir.path()),
        "--responses",
        path(answers.path()),
    ]);
    assert_eq!(code, 1, "{stdout}{stderr}");
    assert!(stdout.contains("FAIL author_id_attribution"), "{stdout}");
    assert!(
        stdout.contains("  extra: #2 problem_report (no machine)"),
        "{stdout}"
    );
    assert!(stdout.contains("0/1 passed"), "{stdout}");
}

/// The URL of the test's own database, for the binary.
fn database_url(pool: &sqlx::PgPool) -> String {
    let options = pool.connect_options();
    format!(
        "postgres://{}@{}:{}/{}",
        options.get_username(),
        options.get_host(),
        options.get_port(),
        options.get_database().unwrap_or("postgres")
    )
}

#[sqlx::test(migrations = "./migrations")]
async fn replay_create_saves_the_suggestions_as_records(pool: sqlx::PgPool) {
    let output = Command::new(env!("CARGO_BIN_EXE_flipfix-bot"))
        .args([
            "replay",
            path(&scenario_path("nested_part_request_with_updates")),
            "--response",
            "tests/fixtures/reference_answers/nested_part_request_with_updates.json",
            "--create",
        ])
        .current_dir(repo_root())
        .env("DATABASE_URL", database_url(&pool))
        .env("RUST_LOG", "warn")
        .output()
        .expect("run flipfix-bot");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains("created suggestion 1.2 as record #"),
        "{stdout}"
    );

    let rows: Vec<(String, Option<i64>, Option<String>)> = sqlx::query_as(
        "SELECT r.kind, r.parent_id, m.slug FROM records r LEFT JOIN machines m ON m.id = r.machine_id ORDER BY r.id",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[0].0, "part_request");
    assert_eq!(rows[0].2.as_deref(), Some("ballyhoo"));
    let parent: i64 = sqlx::query_scalar("SELECT min(id) FROM records")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert!(rows[1..]
        .iter()
        .all(|r| r.0 == "part_request_update" && r.1 == Some(parent)));
    // The last update set the request's status (updates_parent).
    let status: Option<String> = sqlx::query_scalar("SELECT status FROM records WHERE id = $1")
        .bind(parent)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(status.as_deref(), Some("received"));
    let sources: i64 = sqlx::query_scalar("SELECT count(*) FROM record_sources")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(sources, 3);
}

#[test]
fn replay_and_eval_take_workflow_and_an_unknown_name_lists_the_declared_ones() {
    let (name, response) = fixtures().remove(0);
    let scenario = scenario_path(&name);
    let (code, stdout, stderr) = bot(&[
        "replay",
        path(&scenario),
        "--response",
        path(&response),
        "--workflow",
        "add_to_flipfix",
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains(&format!("scenario {name}:")), "{stdout}");

    let (code, _, stderr) = bot(&[
        "replay",
        path(&scenario),
        "--response",
        path(&response),
        "--workflow",
        "nope",
    ]);
    assert_ne!(code, 0);
    assert!(
        stderr.contains("no workflow is named `nope` (declared: add_to_flipfix"),
        "{stderr}"
    );
    let responses = repo_root().join("tests/fixtures/reference_answers");
    let (code, _, stderr) = bot(&[
        "eval",
        path(&shared_dir().join("scenarios/flipfix-eval")),
        "--responses",
        path(&responses),
        "--workflow",
        "nope",
    ]);
    assert_ne!(code, 0);
    assert!(stderr.contains("no workflow is named `nope`"), "{stderr}");
}
