//! `flipfix-bot import records`: the museum's real history (the sample
//! exports in ../shared), through the real binary and through the library,
//! on real Postgres.

use std::process::Command;

use chrono::{TimeZone, Utc};
use flipfix_bot::catalog::{import_machines, import_maintainers};
use flipfix_bot::config::{SettingKey, Settings};
use flipfix_bot::records::import::{import_records, ImportOptions, RecordImportReport};
use sqlx::PgPool;

use crate::support::process::database_url;
use crate::support::{repo_root, shared_dir, shipped_workflows};

fn sample(name: &str) -> String {
    shared_dir()
        .join("fixtures/flipfix-sample")
        .join(name)
        .to_string_lossy()
        .into_owned()
}

fn read(name: &str) -> (String, String) {
    let path = sample(name);
    let json = std::fs::read_to_string(&path).unwrap_or_else(|err| panic!("{path}: {err}"));
    (name.to_string(), json)
}

/// Runs the real binary against the test's database.
pub(crate) fn bot(pool: &PgPool, args: &[&str]) -> (i32, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_flipfix-bot"))
        .args(args)
        .current_dir(repo_root())
        .env("DATABASE_URL", database_url(pool))
        .env("RUST_LOG", "warn")
        .output()
        .expect("run flipfix-bot");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

async fn count(pool: &PgPool, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(pool).await.unwrap()
}

/// (problem reports, log entries on their own, log entries under a problem
/// report, part requests, part request updates under a part request)
async fn counts(pool: &PgPool) -> [i64; 5] {
    [
        count(
            pool,
            "SELECT count(*) FROM records WHERE kind = 'problem_report'",
        )
        .await,
        count(
            pool,
            "SELECT count(*) FROM records WHERE kind = 'log_entry' AND parent_id IS NULL",
        )
        .await,
        count(
            pool,
            "SELECT count(*) FROM records r JOIN records p ON p.id = r.parent_id
             WHERE r.kind = 'log_entry' AND p.kind = 'problem_report'",
        )
        .await,
        count(
            pool,
            "SELECT count(*) FROM records WHERE kind = 'part_request'",
        )
        .await,
        count(
            pool,
            "SELECT count(*) FROM records r JOIN records p ON p.id = r.parent_id
             WHERE r.kind = 'part_request_update' AND p.kind = 'part_request'",
        )
        .await,
    ]
}

async fn catalog(pool: &PgPool) {
    let (name, json) = read("machines.json");
    let statuses = crate::support::shipped_workflows()
        .kinds
        .machine_statuses()
        .clone();
    import_machines(pool, &statuses, &name, &json)
        .await
        .unwrap();
    let (name, json) = read("accounts.json");
    import_maintainers(pool, &name, &json).await.unwrap();
}

async fn import(
    pool: &PgPool,
    files: &[(String, String)],
    options: ImportOptions,
) -> RecordImportReport {
    import_records(
        pool,
        &shipped_workflows().kinds,
        files,
        options,
        crate::support::time::real_now(),
    )
    .await
    .unwrap()
}

fn sample_files() -> Vec<(String, String)> {
    vec![read("logs_problems.json"), read("part_requests.json")]
}

const ALL_MACHINES: ImportOptions = ImportOptions {
    add_missing_machines: true,
    notify: false,
};

#[sqlx::test(migrations = "./migrations")]
async fn the_sample_history_imports_completely_through_the_binary_and_a_second_run_adds_nothing(
    pool: PgPool,
) {
    // Posting is on: imported history must still not be queued.
    Settings::new(pool.clone(), true)
        .set(SettingKey::DiscordWebhooksEnabled, "true", "test")
        .await
        .unwrap();
    for (what, file) in [
        ("machines", "machines.json"),
        ("maintainers", "accounts.json"),
    ] {
        let (code, stdout, stderr) = bot(&pool, &["import", what, &sample(file)]);
        assert_eq!(code, 0, "{stdout}{stderr}");
    }
    let logs = sample("logs_problems.json");
    let parts = sample("part_requests.json");
    let args = ["import", "records", &logs, &parts, "--add-missing-machines"];

    let (code, stdout, stderr) = bot(&pool, &args);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(
        stdout.starts_with("227 imported, 0 already imported, 0 not imported"),
        "{stdout}"
    );
    assert!(
        stdout.contains("not posted to the webhook (--notify posts them)"),
        "{stdout}"
    );
    // The export's 54 log entries on their own, and the 24 written under
    // their problem reports.
    assert_eq!(counts(&pool).await, [20, 54, 24, 50, 79]);
    assert_eq!(
        count(&pool, "SELECT count(*) FROM notification_outbox").await,
        0
    );
    let machines = count(&pool, "SELECT count(*) FROM machines").await;
    assert_eq!(
        machines,
        39 + 9,
        "the 9 machines the records name beyond machines.json"
    );

    let (code, stdout, stderr) = bot(&pool, &args);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(
        stdout.starts_with("0 imported, 227 already imported, 0 not imported"),
        "{stdout}"
    );
    assert_eq!(counts(&pool).await, [20, 54, 24, 50, 79]);
    assert_eq!(count(&pool, "SELECT count(*) FROM records").await, 227);
    assert_eq!(
        count(&pool, "SELECT count(*) FROM machines").await,
        machines
    );
    assert_eq!(
        count(&pool, "SELECT count(*) FROM notification_outbox").await,
        0
    );
}

#[sqlx::test(migrations = "./migrations")]
async fn entries_on_unknown_machines_are_listed_the_rest_imported_and_a_rerun_completes(
    pool: PgPool,
) {
    catalog(&pool).await;
    let first = import(&pool, &sample_files(), ImportOptions::default()).await;
    // What the catalog has is imported.
    assert_eq!(counts(&pool).await, [10, 46, 0, 31, 47], "{first}");
    // Each entry left out is listed once, with its place and the reason;
    // its children go with it.
    assert_eq!(first.not_imported.len(), 10 + 8 + 19, "{first}");
    assert_eq!(first.left_out(), 10 + 24 + 8 + 19 + 32, "{first}");
    let text = first.to_string();
    assert!(
        text.contains("machine `Star Trek: The Next Generation` is not in the catalog (closest: "),
        "{text}"
    );
    // A near miss is not taken for the machine: #2 is another machine.
    let godzilla = first
        .not_imported
        .iter()
        .find(|left| left.reason.contains("`Godzilla (Premium) #2`"))
        .expect("Godzilla #2 is listed");
    assert!(
        godzilla.reason.contains("closest: Godzilla (Premium)"),
        "{}",
        godzilla.reason
    );
    assert!(godzilla
        .place
        .to_string()
        .starts_with("logs_problems.json problem_reports["));
    assert!(godzilla.reason.contains("--add-missing-machines"));

    // Adding the machines and running again imports the rest, once.
    let second = import(&pool, &sample_files(), ALL_MACHINES).await;
    assert!(second.not_imported.is_empty(), "{second}");
    assert_eq!(second.imported(), 10 + 24 + 8 + 19 + 32, "{second}");
    assert_eq!(second.count("problem_report").already, 10);
    assert_eq!(second.machines_added.len(), 9, "{second}");
    assert_eq!(counts(&pool).await, [20, 54, 24, 50, 79]);
}

#[sqlx::test(migrations = "./migrations")]
async fn times_authors_parents_and_statuses_are_kept(pool: PgPool) {
    catalog(&pool).await;
    let report = import(&pool, &sample_files(), ALL_MACHINES).await;

    let (occurred_at, author, machine, status): (
        chrono::DateTime<Utc>,
        Option<String>,
        String,
        Option<String>,
    ) = sqlx::query_as(
        "SELECT r.occurred_at, a.username, m.slug, r.status FROM records r
             JOIN machines m ON m.id = r.machine_id
             LEFT JOIN maintainers a ON a.id = r.author_maintainer_id
             WHERE r.description = 'Solenoids not firing, fuse blown'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(
        occurred_at,
        Utc.with_ymd_and_hms(2025, 8, 2, 10, 58, 0).unwrap()
    );
    assert_eq!(author.as_deref(), Some("ken"));
    assert_eq!(machine, "star-trek");
    assert_eq!(status.as_deref(), Some("open"));

    // floor1 is a terminal, not a maintainer: the name is kept.
    let terminal: (Option<i64>, Option<String>) = sqlx::query_as(
        "SELECT author_maintainer_id, author_name FROM records
         WHERE description = '#1 drop target spring missing'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(terminal, (None, Some("floor1".into())));

    // A log entry written under its problem report: linked, on the report's
    // machine, by the first maintainer it names; the others stay with the
    // imported entry.
    let (parent, parent_machine, own_machine, author, original): (
        String,
        i64,
        i64,
        Option<String>,
        serde_json::Value,
    ) = sqlx::query_as(
        "SELECT p.description, p.machine_id, r.machine_id, a.username, i.original
             FROM records r JOIN records p ON p.id = r.parent_id
             JOIN record_imports i ON i.record_id = r.id
             LEFT JOIN maintainers a ON a.id = r.author_maintainer_id
             WHERE r.description LIKE 'Installed new switch. All three city targets%'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(
        parent,
        "Some of the city building targets aren't registering hits"
    );
    assert_eq!(own_machine, parent_machine);
    assert_eq!(author.as_deref(), Some("ken"));
    assert_eq!(original["maintainers"], serde_json::json!(["ken", "brian"]));

    // `installed` is `received` here; the updates, in time order, walk the
    // request's status to the export's.
    let request: (i64, Option<String>) = sqlx::query_as(
        "SELECT id, status FROM records WHERE description = 'Replacement transformer - original is toast'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(request.1.as_deref(), Some("received"));
    let updates: Vec<(String, chrono::DateTime<Utc>)> = sqlx::query_as(
        "SELECT fields->>'new_status', occurred_at FROM records WHERE parent_id = $1 ORDER BY id",
    )
    .bind(request.0)
    .fetch_all(&pool)
    .await
    .unwrap();
    let statuses: Vec<&str> = updates.iter().map(|(s, _)| s.as_str()).collect();
    assert_eq!(statuses, ["ordered", "received", "received"]);
    assert!(updates.windows(2).all(|w| w[0].1 <= w[1].1));
    assert!(
        !report.notes.iter().any(|n| n.contains("the export says")),
        "{report}"
    );

    // Photos are named, not included: each record that had some says so.
    assert!(
        report
            .notes
            .iter()
            .any(|n| n.contains("part_bumper.jpg") && n.contains("the export names the files")),
        "{report}"
    );
    assert_eq!(
        count(&pool, "SELECT count(*) FROM record_imports").await,
        227
    );
    assert_eq!(
        count(
            &pool,
            "SELECT count(*) FROM records WHERE created_via <> 'import'"
        )
        .await,
        0
    );
}

#[sqlx::test(migrations = "./migrations")]
async fn imported_history_is_posted_only_when_asked(pool: PgPool) {
    Settings::new(pool.clone(), true)
        .set(SettingKey::DiscordWebhooksEnabled, "true", "test")
        .await
        .unwrap();
    let export = |text: &str| {
        format!(
            r#"{{"part_requests": [{{"text": "{text}", "requested_by": "ken",
                "occurred_at": "2025-05-20T09:00:00",
                "updates": [{{"text": "Ordered", "posted_by": "ken", "new_status": "ordered",
                              "occurred_at": "2025-05-21T09:00:00"}}]}}]}}"#
        )
    };
    let quiet = import(
        &pool,
        &[("a.json".into(), export("Fuses"))],
        ImportOptions::default(),
    )
    .await;
    assert_eq!(quiet.imported(), 2, "{quiet}");
    assert_eq!(
        count(&pool, "SELECT count(*) FROM notification_outbox").await,
        0
    );

    let asked = ImportOptions {
        notify: true,
        ..Default::default()
    };
    let posted = import(&pool, &[("b.json".into(), export("Rubbers"))], asked).await;
    assert_eq!(posted.imported(), 2, "{posted}");
    assert!(
        posted.to_string().contains("queued for the webhook"),
        "{posted}"
    );
    let queued: Vec<String> = sqlx::query_scalar(
        "SELECT r.description FROM notification_outbox o JOIN records r ON r.id = o.record_id ORDER BY o.id",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(queued, ["Rubbers", "Ordered"]);
}

#[sqlx::test(migrations = "./migrations")]
async fn a_broken_rule_is_listed_and_the_rest_of_the_entry_imported(pool: PgPool) {
    sqlx::query("INSERT INTO machines (slug, name) VALUES ('gorgar', 'Gorgar')")
        .execute(&pool)
        .await
        .unwrap();
    let long = "x".repeat(4001);
    let json = format!(
        r#"{{"problem_reports": [{{"machine": "Gorgar", "description": "{long}", "reported_by": "ken",
                                 "occurred_at": "2025-05-20T09:00:00"}}],
            "log_entries": [{{"machine": "Gorgar", "text": "Rubbers replaced", "maintainers": ["zed"],
                              "occurred_at": "2025-05-20T10:00:00"}},
                            {{"machine": "Gorgar", "text": "Nobody did it", "maintainers": [],
                              "occurred_at": "2025-05-20T11:00:00"}},
                            "not an entry"],
            "part_requests": [{{"machine": "Gorgar", "text": "Transformer", "requested_by": "ken",
                               "occurred_at": "2025-05-20T09:00:00", "status": "installed",
                               "updates": [
                {{"text": "Ordered", "posted_by": "ken", "new_status": "ordered", "occurred_at": "2025-05-21T09:00:00"}},
                {{"text": "Lost it", "posted_by": "ken", "new_status": "lost", "occurred_at": "2025-05-22T09:00:00"}},
                {{"text": "Arrived", "posted_by": "ken", "new_status": "installed", "occurred_at": "2025-05-23T09:00:00"}}]}}]}}"#
    );
    let report = import(
        &pool,
        &[("history.json".into(), json)],
        ImportOptions::default(),
    )
    .await;
    let reasons: Vec<String> = report
        .not_imported
        .iter()
        .map(|left| format!("{}: {}", left.place.path, left.reason))
        .collect();
    assert_eq!(reasons.len(), 4, "{report}");
    assert!(reasons[0].starts_with("problem_reports[0]: problem_report refused: the description has 4001 characters; at most 4000"), "{reasons:?}");
    assert!(
        reasons[1].starts_with("log_entries[1]: `maintainers` names nobody"),
        "{reasons:?}"
    );
    assert!(
        reasons[2].starts_with("log_entries[2]: cannot be read: invalid type: string"),
        "{reasons:?}"
    );
    assert!(
        reasons[3].starts_with("part_requests[0].updates[1]: part_request_update refused: field `new_status` is `lost`"),
        "{reasons:?}"
    );
    // The rest is there: the log entry by someone without an account keeps
    // the name, and the request's other updates set its status.
    let author: Option<String> = sqlx::query_scalar(
        "SELECT author_name FROM records WHERE description = 'Rubbers replaced'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(author.as_deref(), Some("zed"));
    let status: Option<String> =
        sqlx::query_scalar("SELECT status FROM records WHERE description = 'Transformer'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(status.as_deref(), Some("received"));
    assert_eq!(report.imported(), 4, "{report}");
    assert_eq!(count(&pool, "SELECT count(*) FROM records").await, 4);
}

#[sqlx::test(migrations = "./migrations")]
async fn an_entry_listed_twice_is_imported_once(pool: PgPool) {
    sqlx::query("INSERT INTO machines (slug, name) VALUES ('gorgar', 'Gorgar')")
        .execute(&pool)
        .await
        .unwrap();
    let entry = r#"{"machine": "Gorgar", "text": "Rubbers replaced", "maintainers": ["ken"],
                    "occurred_at": "2025-05-20T10:00:00"}"#;
    let json = format!(r#"{{"log_entries": [{entry}, {entry}]}}"#);
    let report = import(
        &pool,
        &[("logs.json".into(), json)],
        ImportOptions::default(),
    )
    .await;
    assert_eq!(report.imported(), 1, "{report}");
    assert_eq!(report.not_imported.len(), 1, "{report}");
    assert_eq!(report.not_imported[0].place.path, "log_entries[1]");
    assert!(report.not_imported[0]
        .reason
        .contains("the same entry as log_entries[0]"));
    assert_eq!(count(&pool, "SELECT count(*) FROM records").await, 1);
}

#[sqlx::test(migrations = "./migrations")]
async fn two_imports_at_once_store_each_entry_once(pool: PgPool) {
    catalog(&pool).await;
    let files = sample_files();
    let (a, b) = tokio::join!(
        import(&pool, &files, ALL_MACHINES),
        import(&pool, &files, ALL_MACHINES)
    );
    assert_eq!(a.imported() + b.imported(), 227, "{a}\n{b}");
    for report in [&a, &b] {
        let already: usize = report.kinds.iter().map(|(_, c)| c.already).sum();
        assert_eq!(report.imported() + already, 227, "{report}");
        assert!(report.not_imported.is_empty(), "{report}");
    }
    assert_eq!(count(&pool, "SELECT count(*) FROM records").await, 227);
    assert_eq!(count(&pool, "SELECT count(*) FROM machines").await, 39 + 9);
}

#[sqlx::test(migrations = "./migrations")]
async fn malformed_json_names_file_line_and_column_and_nothing_is_imported(pool: PgPool) {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.json");
    std::fs::write(
        &bad,
        "{\n  \"log_entries\": [\n    {\"text\": \"x\",}\n  ]\n}",
    )
    .unwrap();
    let logs = sample("logs_problems.json");
    let (code, stdout, stderr) = bot(
        &pool,
        &[
            "import",
            "records",
            &logs,
            bad.to_str().unwrap(),
            "--add-missing-machines",
        ],
    );
    assert_ne!(code, 0, "{stdout}");
    assert!(
        stderr.contains(&format!("{}:3:", bad.display())),
        "{stderr}"
    );
    assert_eq!(count(&pool, "SELECT count(*) FROM records").await, 0);
}

#[sqlx::test(migrations = "./migrations")]
async fn an_import_killed_midway_keeps_what_it_stored_and_a_rerun_completes_it(pool: PgPool) {
    sqlx::query(
        "INSERT INTO machines (slug, name) VALUES ('gorgar', 'Gorgar'), ('baseball', 'Baseball')",
    )
    .execute(&pool)
    .await
    .unwrap();
    // The first STORED entries are on Gorgar, the rest on Baseball, whose
    // row this test holds locked (FOR UPDATE blocks the foreign-key check
    // of a record's insert): the import stores the Gorgar entries, then
    // waits on the lock, and is killed there. A condition, not a race.
    const ENTRIES: i64 = 100;
    const STORED: i64 = 40;
    let entries: Vec<String> = (0..ENTRIES)
        .map(|i| {
            let machine = if i < STORED { "Gorgar" } else { "Baseball" };
            format!(
                r#"{{"machine": "{machine}", "text": "Job {i}", "maintainers": ["ken"],
                    "occurred_at": "2025-05-20T10:00:00"}}"#
            )
        })
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("logs.json");
    std::fs::write(
        &file,
        format!(r#"{{"log_entries": [{}]}}"#, entries.join(",")),
    )
    .unwrap();
    let file = file.to_str().unwrap();
    let mut holder = pool.begin().await.unwrap();
    sqlx::query("SELECT 1 FROM machines WHERE slug = 'baseball' FOR UPDATE")
        .execute(&mut *holder)
        .await
        .unwrap();

    let mut child = Command::new(env!("CARGO_BIN_EXE_flipfix-bot"))
        .args(["import", "records", file])
        .current_dir(repo_root())
        .env("DATABASE_URL", database_url(&pool))
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("start flipfix-bot");
    // Wait until the import is blocked on the locked machine.
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(60);
    let mut stored;
    loop {
        let waiting = count(
            &pool,
            "SELECT count(*) FROM pg_stat_activity
             WHERE datname = current_database() AND wait_event_type = 'Lock'",
        )
        .await;
        stored = count(&pool, "SELECT count(*) FROM records").await;
        if waiting > 0 && stored == STORED {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the import did not reach the locked machine: {stored} stored, {waiting} waiting"
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    child.kill().expect("kill -9 the import");
    child.wait().unwrap();
    holder.rollback().await.unwrap();
    // A COMMIT the server had already received still lands: wait until the
    // dead process's sessions are idle or gone, then count in one snapshot.
    for _ in 0..3000 {
        let busy = count(
            &pool,
            "SELECT count(*) FROM pg_stat_activity
             WHERE datname = current_database() AND pid <> pg_backend_pid() AND state <> 'idle'",
        )
        .await;
        if busy == 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let (after_kill, remembered): (i64, i64) = sqlx::query_as(
        "SELECT (SELECT count(*) FROM records), (SELECT count(*) FROM record_imports)",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(after_kill, stored, "what was stored before the kill stays");
    // Every stored record is whole: remembered, so the rerun skips it.
    assert_eq!(remembered, after_kill);

    let (code, stdout, stderr) = bot(&pool, &["import", "records", file]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(
        stdout.starts_with(&format!(
            "{} imported, {after_kill} already imported, 0 not imported",
            ENTRIES - after_kill
        )),
        "{stdout}"
    );
    assert_eq!(count(&pool, "SELECT count(*) FROM records").await, ENTRIES);
}
