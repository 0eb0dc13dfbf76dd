//! `flipfix-bot export` and reading it back with `import records`: the
//! museum's sample history plus records made the way the bot makes them
//! (Discord sources, photos, statuses set by updates) are exported, imported
//! into an empty database, and exported again: the two exports hold the same
//! records. A second import adds nothing; bad input is named with its place.

use std::collections::HashMap;
use std::process::Command;

use chrono::{TimeZone, Utc};
use flipfix_bot::catalog::{import_machines, import_maintainers};
use flipfix_bot::records::backup::{self, Backup, RecordOut};
use flipfix_bot::records::import::{import_records, ImportOptions, RecordImportReport};
use flipfix_bot::records::{create_record, Author, CreatedVia, Media};
use sqlx::PgPool;

use crate::support::process::database_url;
use crate::support::{
    add_maintainer, new_record, repo_root, shared_dir, shipped_workflows, source, time,
};

fn sample(name: &str) -> (String, String) {
    let path = shared_dir().join("fixtures/flipfix-sample").join(name);
    let json = std::fs::read_to_string(&path).unwrap_or_else(|err| panic!("{path:?}: {err}"));
    (name.to_string(), json)
}

/// A second, empty (migrated) database beside the test's own.
struct Fresh {
    pool: PgPool,
    url: String,
    name: String,
    admin: PgPool,
}

impl Fresh {
    async fn create(pool: &PgPool) -> Self {
        let base = pool
            .connect_options()
            .get_database()
            .expect("the test database has a name")
            .to_string();
        // Quoted (the test database's name has capitals) and within
        // Postgres's 63 bytes, so it is neither folded nor cut into another.
        let name = format!("{}_restore", &base[..base.len().min(50)]);
        sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
            .execute(pool)
            .await
            .unwrap();
        sqlx::query(&format!("CREATE DATABASE \"{name}\""))
            .execute(pool)
            .await
            .unwrap();
        let mut url = url::Url::parse(&database_url(pool)).unwrap();
        url.set_path(&format!("/{name}"));
        let fresh = PgPool::connect(url.as_str()).await.unwrap();
        flipfix_bot::db::MIGRATOR.run(&fresh).await.unwrap();
        Self {
            pool: fresh,
            url: url.to_string(),
            name,
            admin: pool.clone(),
        }
    }

    async fn drop(self) {
        self.pool.close().await;
        sqlx::query(&format!(
            "DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)",
            self.name
        ))
        .execute(&self.admin)
        .await
        .unwrap();
    }
}

async fn import(pool: &PgPool, file: &str, json: &str) -> RecordImportReport {
    import_records(
        pool,
        &shipped_workflows().kinds,
        &[(file.to_string(), json.to_string())],
        ImportOptions::default(),
        time::real_now(),
    )
    .await
    .unwrap()
}

async fn count(pool: &PgPool, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(pool).await.unwrap()
}

/// The museum's sample history, and records as the bot makes them.
async fn seed(pool: &PgPool) {
    let (name, json) = sample("machines.json");
    let statuses = crate::support::shipped_workflows()
        .kinds
        .machine_statuses()
        .clone();
    import_machines(pool, &statuses, &name, &json)
        .await
        .unwrap();
    let (name, json) = sample("accounts.json");
    import_maintainers(pool, &name, &json).await.unwrap();
    let history = [sample("logs_problems.json"), sample("part_requests.json")];
    let report = import_records(
        pool,
        &shipped_workflows().kinds,
        &history,
        ImportOptions {
            add_missing_machines: true,
            notify: false,
        },
        time::real_now(),
    )
    .await
    .unwrap();
    assert!(report.not_imported.is_empty(), "{report}");

    let kinds = &shipped_workflows().kinds;
    let machine: i64 = sqlx::query_scalar("SELECT id FROM machines ORDER BY id LIMIT 1")
        .fetch_one(pool)
        .await
        .unwrap();
    let maintainer = add_maintainer(pool, "export-tester").await;
    sqlx::query(
        "INSERT INTO discord_user_links (discord_user_id, maintainer_id, discord_username, linked_by)
         VALUES (900000000000000777, $1, 'tester', 'test')",
    )
    .bind(maintainer)
    .execute(pool)
    .await
    .unwrap();

    let mut problem = new_record("problem_report");
    problem.machine_id = Some(machine);
    problem.description = "Left flipper sticks up after a game".into();
    problem.author = Author::Maintainer(maintainer);
    problem.created_via = CreatedVia::DiscordMessage;
    problem.created_by = Some("900000000000000777".into());
    problem.sources = vec![
        source(900_000_000_000_100_001),
        source(900_000_000_000_100_002),
    ];
    problem.media = vec![
        Media {
            url: "https://cdn.discordapp.com/attachments/1/2/flipper.png".into(),
            filename: "flipper.png".into(),
            content_type: Some("image/png".into()),
            size_bytes: Some(1234),
        },
        Media {
            url: "https://cdn.discordapp.com/attachments/1/3/later.jpg".into(),
            filename: "later.jpg".into(),
            content_type: Some("image/jpeg".into()),
            size_bytes: None,
        },
    ];
    let problem = create_record(pool, kinds, &problem).await.unwrap();
    // The first photo was copied into Postgres; the second is pending.
    sqlx::query(
        "UPDATE record_media SET copy_state = 'stored', storage = 'postgres',
                stored_type = 'image/png', stored_bytes = 4
         WHERE record_id = $1 AND filename = 'flipper.png'",
    )
    .bind(problem.id)
    .execute(pool)
    .await
    .unwrap();

    let mut fixed = new_record("log_entry");
    fixed.parent_id = Some(problem.id);
    fixed.description = "Replaced the coil stop; flipper returns".into();
    fixed.sources = vec![source(900_000_000_000_100_003)];
    let fixed = create_record(pool, kinds, &fixed).await.unwrap();
    // The log entry closed the report, by a Discord user: kept in the
    // status history with who, when and through which record.
    sqlx::query(
        "INSERT INTO record_status_changes
             (record_id, from_status, to_status, changed_at, changed_by_discord_id, changed_by,
              via_record_id)
         VALUES ($1, 'open', 'closed', '2025-01-12T10:00:00Z', 900000000000000777,
                 'discord:900000000000000777 (tester)', $2)",
    )
    .bind(problem.id)
    .bind(fixed.id)
    .execute(pool)
    .await
    .unwrap();

    let mut part = new_record("part_request");
    part.machine_id = Some(machine);
    part.description = "Flipper coil stop".into();
    let part = create_record(pool, kinds, &part).await.unwrap();
    for (status, day) in [("ordered", 16), ("received", 20)] {
        let mut update = new_record("part_request_update");
        update.parent_id = Some(part.id);
        update.description = format!("Now {status}");
        update.fields.insert("new_status".into(), status.into());
        update.occurred_at = Utc.with_ymd_and_hms(2025, 1, day, 9, 0, 0).unwrap();
        create_record(pool, kinds, &update).await.unwrap();
    }
    // Then someone edited the status by hand: the export's status is not
    // the one its last update set.
    sqlx::query(
        "UPDATE records SET status = 'cancelled', fields = fields || '{\"status\": \"cancelled\"}'
         WHERE id = $1",
    )
    .bind(part.id)
    .execute(pool)
    .await
    .unwrap();
}

/// An export with ids replaced by positions (a parent by its position),
/// photo copy states and the export's time left out: what must survive a
/// round trip into another database.
fn canonical(backup: &Backup) -> (Vec<RecordOut>, String) {
    let records: Vec<RecordOut> = backup
        .records
        .iter()
        .map(|value| serde_json::from_value(value.clone()).unwrap())
        .collect();
    let position: HashMap<i64, i64> = records
        .iter()
        .enumerate()
        .map(|(i, record)| (record.id, i as i64))
        .collect();
    let records = records
        .into_iter()
        .map(|mut record| {
            record.id = position[&record.id];
            record.parent = record.parent.map(|parent| position[&parent]);
            for change in &mut record.status_history {
                change.via = change.via.map(|via| position[&via]);
            }
            for media in &mut record.media {
                media.copy_state.clear();
                media.storage = None;
                media.stored_key = None;
            }
            record
        })
        .collect();
    let catalog =
        serde_json::to_string(&(&backup.machines, &backup.maintainers)).expect("catalog as JSON");
    (records, catalog)
}

#[sqlx::test(migrations = "./migrations")]
async fn an_export_imported_into_an_empty_database_gives_the_same_records_and_twice_adds_nothing(
    pool: PgPool,
) {
    seed(&pool).await;
    let total = count(&pool, "SELECT count(*) FROM records").await;
    assert!(total > 200, "{total}");
    let exported = backup::export(&pool, time::real_now()).await.unwrap();
    assert_eq!(exported.records.len() as i64, total);
    let changes = count(&pool, "SELECT count(*) FROM record_status_changes").await;
    assert!(changes >= 3, "{changes}");
    let json = serde_json::to_string_pretty(&exported).unwrap();

    let fresh = Fresh::create(&pool).await;
    let report = import(&fresh.pool, "backup.json", &json).await;
    assert!(report.not_imported.is_empty(), "{report}");
    assert_eq!(report.imported() as i64, total, "{report}");
    assert!(
        report
            .notes
            .iter()
            .any(|note| note.contains("1 photo(s) listed without their bytes")),
        "{report}"
    );
    let again = backup::export(&fresh.pool, time::real_now()).await.unwrap();
    assert_eq!(canonical(&again), canonical(&exported));
    // Every status change came back once, with its Discord user and the
    // record that made it (compared above with ids as positions).
    assert_eq!(
        count(&fresh.pool, "SELECT count(*) FROM record_status_changes").await,
        changes
    );
    assert_eq!(
        count(
            &fresh.pool,
            "SELECT count(*) FROM record_status_changes
             WHERE changed_by_discord_id = 900000000000000777 AND via_record_id IS NOT NULL"
        )
        .await,
        1
    );

    // The photo that was copied says where its bytes were.
    let error: String =
        sqlx::query_scalar("SELECT copy_error FROM record_media WHERE filename = 'flipper.png'")
            .fetch_one(&fresh.pool)
            .await
            .unwrap();
    assert!(error.contains("postgres as media/"), "{error}");
    // Restored history is not posted again.
    assert_eq!(
        count(&fresh.pool, "SELECT count(*) FROM notification_outbox").await,
        0
    );

    // The same export again, and into the database it came from: nothing.
    for target in [&fresh.pool, &pool] {
        let report = import(target, "backup.json", &json).await;
        assert_eq!(report.imported(), 0, "{report}");
        assert!(report.not_imported.is_empty(), "{report}");
        assert_eq!(count(target, "SELECT count(*) FROM records").await, total);
        assert_eq!(
            count(target, "SELECT count(*) FROM record_status_changes").await,
            changes
        );
    }
    // The museum's own export finds its records in the restored database.
    let history = [sample("logs_problems.json"), sample("part_requests.json")];
    let report = import_records(
        &fresh.pool,
        &shipped_workflows().kinds,
        &history,
        ImportOptions::default(),
        time::real_now(),
    )
    .await
    .unwrap();
    assert_eq!(report.imported(), 0, "{report}");
    fresh.drop().await;
}

#[sqlx::test(migrations = "./migrations")]
async fn export_and_import_round_trip_through_the_binary(pool: PgPool) {
    seed(&pool).await;
    let total = count(&pool, "SELECT count(*) FROM records").await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("backup.json");
    let run = |url: &str, args: &[&str]| {
        let output = Command::new(env!("CARGO_BIN_EXE_flipfix-bot"))
            .args(args)
            .current_dir(repo_root())
            .env("DATABASE_URL", url)
            .env("RUST_LOG", "warn")
            .output()
            .expect("run flipfix-bot");
        (
            output.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&output.stdout).into_owned(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    };
    let source = database_url(&pool);
    let (code, stdout, stderr) = run(&source, &["export"]);
    assert_eq!(code, 0, "{stderr}");
    let on_stdout: Backup = serde_json::from_str(&stdout).expect("stdout is the export");
    assert_eq!(on_stdout.records.len() as i64, total);
    assert!(
        stderr.contains(&format!("exported {total} records")),
        "{stderr}"
    );

    let out = file.to_string_lossy().into_owned();
    let (code, _, stderr) = run(&source, &["export", "--out", &out]);
    assert_eq!(code, 0, "{stderr}");

    let fresh = Fresh::create(&pool).await;
    let (code, stdout, stderr) = run(&fresh.url, &["import", "records", &out]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(
        stdout.starts_with(&format!(
            "{total} imported, 0 already imported, 0 not imported"
        )),
        "{stdout}"
    );
    let (code, stdout, stderr) = run(&fresh.url, &["import", "records", &out]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(
        stdout.starts_with(&format!("0 imported, {total} already imported")),
        "{stdout}"
    );
    assert_eq!(
        count(&fresh.pool, "SELECT count(*) FROM records").await,
        total
    );
    fresh.drop().await;
}

#[sqlx::test(migrations = "./migrations")]
async fn bad_exports_are_named_with_their_place(pool: PgPool) {
    let kinds = &shipped_workflows().kinds;
    let run = |json: &'static str| {
        let pool = pool.clone();
        async move {
            import_records(
                &pool,
                kinds,
                &[("backup.json".to_string(), json.to_string())],
                ImportOptions::default(),
                time::real_now(),
            )
            .await
        }
    };
    let err = run("{\"format\": \"flipfix-bot export\",\n \"version\": 1,\n \"records\": 7}")
        .await
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("backup.json:3:"), "{err}");
    let err = run(
        r#"{"format": "flipfix-bot export", "version": 9, "exported_at": "2026-01-01T00:00:00Z"}"#,
    )
    .await
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("version 9") && err.contains("upgrade"),
        "{err}"
    );
    let err = run(r#"{"format": "something else"}"#)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("not \"flipfix-bot export\""), "{err}");

    let report = run(
        r#"{"format": "flipfix-bot export", "version": 1, "exported_at": "2026-01-01T00:00:00Z",
            "records": [
              {"id": 5, "kind": "log_entry", "description": "Cleaned the playfield",
               "author": {"name": "Ann"}, "occurred_at": "2025-01-01T10:00:00Z",
               "created_at": "2025-01-01T10:00:00Z", "created_via": "discord_message",
               "sources": [{"channel_id": "12", "message_id": "abc"}]},
              {"id": 6, "kind": "log_entry", "parent": 4, "description": "Orphan",
               "author": {"name": "Ann"}, "occurred_at": "2025-01-01T10:00:00Z",
               "created_at": "2025-01-01T10:00:00Z", "created_via": "cli"},
              {"id": 7, "kind": "log_entry", "description": "Kept",
               "author": {"name": "Ann"}, "occurred_at": "2025-01-01T10:00:00Z",
               "created_at": "2025-01-01T10:00:00Z", "created_via": "cli", "colour": "red"}
            ]}"#,
    )
    .await
    .unwrap();
    let text = report.to_string();
    assert_eq!(report.imported(), 0, "{text}");
    assert!(
        text.contains("backup.json records[0] (record #5): `sources[0].message_id` is `abc`, not a Discord id"),
        "{text}"
    );
    assert!(
        text.contains("backup.json records[1] (record #6): its parent, record #4, is not imported"),
        "{text}"
    );
    assert!(
        text.contains("backup.json records[2] (record #7): cannot be read: unknown field `colour`"),
        "{text}"
    );
}
