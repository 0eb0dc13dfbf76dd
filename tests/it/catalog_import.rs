//! Importing the museum's real catalog exports.

use flipfix_bot::catalog::{import_machines, import_maintainers, machines};
use flipfix_bot::workflow::MachineStatuses;
use sqlx::PgPool;

use crate::support::{shared_dir, shipped_workflows};

/// The shipped statuses: good, fixing, broken.
fn declared() -> MachineStatuses {
    shipped_workflows().kinds.machine_statuses().clone()
}

/// Every machine row, every column, as text: what "changes nothing" means.
async fn machine_rows(pool: &PgPool) -> Vec<String> {
    sqlx::query_scalar("SELECT m::text FROM machines m ORDER BY id")
        .fetch_all(pool)
        .await
        .unwrap()
}

async fn stored(pool: &PgPool, slug: &str) -> machines::Machine {
    machines::by_slug(pool, slug).await.unwrap().unwrap()
}

fn fixture(name: &str) -> String {
    let path = shared_dir().join("fixtures/flipfix-sample").join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|err| panic!("{}: {err}", path.display()))
}

#[sqlx::test(migrations = "./migrations")]
async fn machines_import_is_complete_and_idempotent(pool: PgPool) {
    let json = fixture("machines.json");
    let first = import_machines(&pool, &declared(), "machines.json", &json)
        .await
        .unwrap();
    assert_eq!(first.added.len(), 39, "{first}");
    assert!(
        first.updated.is_empty() && first.skipped.is_empty(),
        "{first}"
    );
    // The export's four `unknown` statuses are not declared: each is named
    // with its file, its machine and the declared statuses.
    assert_eq!(first.not_imported.len(), 4, "{first}");
    assert!(
        first.not_imported.contains(&"machines.json: The Addams Family (Boonstra): operational_status `unknown` is not a declared machine status (declared: good, fixing, broken), so its status was left as it was (unset for a new machine)".to_string()),
        "{first}"
    );
    let after_first = machine_rows(&pool).await;

    let second = import_machines(&pool, &declared(), "machines.json", &json)
        .await
        .unwrap();
    assert!(
        second.added.is_empty() && second.updated.is_empty(),
        "{second}"
    );
    assert_eq!(second.unchanged, 39);
    assert_eq!(second.not_imported, first.not_imported, "named again");
    assert_eq!(machine_rows(&pool).await, after_first, "nothing changed");

    let all = machines::list(&pool).await.unwrap();
    assert_eq!(all.len(), 39);
    let slugs: Vec<&str> = all.iter().map(|m| m.slug.as_str()).collect();
    for expected in [
        "the-getaway-high-speed-ii",
        "ballyhoo",
        "aztec-em",
        "aztec-exhibit",
    ] {
        assert!(slugs.contains(&expected), "{expected} in {slugs:?}");
    }
    // Instances take the model's name unless they have their own; short
    // names and status come from the instance.
    let addams = machines::by_slug(&pool, "the-addams-family")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(addams.short_name.as_deref(), Some("Addams Family"));
    assert_eq!(addams.display_name(), "Addams Family");
    let boonstra = machines::by_slug(&pool, "the-addams-family-boonstra")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(boonstra.status, "unknown");
    assert_eq!(boonstra.location.as_deref(), Some("Storage"));
}

#[sqlx::test(migrations = "./migrations")]
async fn colliding_slugs_get_a_suffix(pool: PgPool) {
    let json = r#"[{"name": "Star Trip", "instances": [{}]},
                   {"name": "Star-Trip!", "instances": [{}]}]"#;
    let summary = import_machines(&pool, &declared(), "inline", json)
        .await
        .unwrap();
    assert_eq!(summary.added.len(), 2, "{summary}");
    let mut slugs: Vec<String> = machines::list(&pool)
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.slug)
        .collect();
    slugs.sort();
    assert_eq!(slugs, vec!["star-trip", "star-trip-2"]);
}

#[sqlx::test(migrations = "./migrations")]
async fn a_changed_export_updates_in_place(pool: PgPool) {
    let before = r#"[{"name": "Gorgar", "instances": [{"operational_status": "good"}]}]"#;
    let after = r#"[{"name": "Gorgar", "instances": [{"operational_status": "broken"}]}]"#;
    import_machines(&pool, &declared(), "before", before)
        .await
        .unwrap();
    let summary = import_machines(&pool, &declared(), "after", after)
        .await
        .unwrap();
    assert_eq!(summary.updated, vec!["Gorgar".to_string()]);
    assert_eq!(
        machines::by_slug(&pool, "gorgar")
            .await
            .unwrap()
            .unwrap()
            .status,
        "broken"
    );
}

#[sqlx::test(migrations = "./migrations")]
async fn maintainers_import_admins_and_maintainers_not_terminals(pool: PgPool) {
    let json = fixture("accounts.json");
    let first = import_maintainers(&pool, "accounts.json", &json)
        .await
        .unwrap();
    assert_eq!(first.added.len(), 36, "{first}");
    let second = import_maintainers(&pool, "accounts.json", &json)
        .await
        .unwrap();
    assert!(
        second.added.is_empty() && second.updated.is_empty(),
        "{second}"
    );
    assert_eq!(second.unchanged, 36);

    let terminals: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM maintainers WHERE username IN ('workshop1', 'floor1')",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(terminals, 0);
    let william: (Option<String>, bool) =
        sqlx::query_as("SELECT display_name, is_admin FROM maintainers WHERE username = 'william'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(william, (Some("William Pietri".into()), true));
}

#[sqlx::test(migrations = "./migrations")]
async fn malformed_json_names_file_line_and_column(pool: PgPool) {
    let err = import_machines(&pool, &declared(), "machines.json", "[\n  {\"name\": 3}\n]")
        .await
        .unwrap_err();
    let message = err.to_string();
    assert!(message.starts_with("machines.json:2:"), "{message}");
    let err = import_maintainers(&pool, "accounts.json", "{\"admins\": [{}]}")
        .await
        .unwrap_err();
    assert!(err.to_string().contains("username"), "{err}");
}

#[sqlx::test(migrations = "./migrations")]
async fn statuses_map_by_name_or_label_and_an_unknown_value_is_named(pool: PgPool) {
    let json = r#"[{"name": "Gorgar", "instances": [{"operational_status": "Good"}]},
                   {"name": "Xenon", "instances": [{"operational_status": "BROKEN"}]},
                   {"name": "Firepower", "instances": [{"operational_status": " fixing "}]},
                   {"name": "Zaccaria", "instances": [{"operational_status": "kaput", "location": "Floor"}]}]"#;
    let summary = import_machines(&pool, &declared(), "catalog.json", json)
        .await
        .unwrap();
    assert_eq!(summary.added.len(), 4, "the rest is loaded: {summary}");
    assert_eq!(
        summary.not_imported,
        vec!["catalog.json: Zaccaria: operational_status `kaput` is not a declared machine status (declared: good, fixing, broken), so its status was left as it was (unset for a new machine)".to_string()],
    );
    assert!(
        summary
            .to_string()
            .contains("Zaccaria: operational_status `kaput`"),
        "the printed summary names it: {summary}"
    );
    assert_eq!(stored(&pool, "gorgar").await.status, "good");
    assert_eq!(stored(&pool, "xenon").await.status, "broken");
    assert_eq!(stored(&pool, "firepower").await.status, "fixing");
    let zaccaria = stored(&pool, "zaccaria").await;
    assert_eq!(zaccaria.status, machines::UNSET_STATUS, "not `kaput`");
    assert_eq!(zaccaria.location.as_deref(), Some("Floor"));

    // A declared status set since is kept when a later export still says
    // something undeclared, and the import twice changes nothing.
    sqlx::query("UPDATE machines SET status = 'fixing' WHERE slug = 'zaccaria'")
        .execute(&pool)
        .await
        .unwrap();
    let before = machine_rows(&pool).await;
    for _ in 0..2 {
        let again = import_machines(&pool, &declared(), "catalog.json", json)
            .await
            .unwrap();
        assert_eq!(again.unchanged, 4, "{again}");
        assert_eq!(again.not_imported.len(), 1, "{again}");
    }
    assert_eq!(machine_rows(&pool).await, before);
    assert_eq!(stored(&pool, "zaccaria").await.status, "fixing");
}

#[sqlx::test(migrations = "./migrations")]
async fn the_binary_names_an_undeclared_status_and_imports_the_rest(pool: PgPool) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("machines.json");
    std::fs::write(
        &file,
        r#"[{"name": "Gorgar", "instances": [{"operational_status": "Broken"}]},
            {"name": "Zaccaria", "instances": [{"operational_status": "in the shop"}]}]"#,
    )
    .unwrap();
    let file = file.display().to_string();
    let (code, stdout, stderr) = crate::records_import::bot(&pool, &["import", "machines", &file]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(
        stdout.starts_with("2 added, 0 updated, 0 unchanged, 0 skipped"),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!("{file}: Zaccaria: operational_status `in the shop` is not a declared machine status (declared: good, fixing, broken)")),
        "{stdout}"
    );
    let statuses: Vec<(String, String)> =
        sqlx::query_as("SELECT slug, status FROM machines ORDER BY slug")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(
        statuses,
        vec![
            ("gorgar".to_string(), "broken".to_string()),
            ("zaccaria".to_string(), "unknown".to_string())
        ]
    );
}
