//! Importing the museum's real catalog exports.

use flipfix_bot::catalog::{import_machines, import_maintainers, machines};
use sqlx::PgPool;

use crate::support::shared_dir;

fn fixture(name: &str) -> String {
    let path = shared_dir().join("fixtures/flipfix-sample").join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|err| panic!("{}: {err}", path.display()))
}

#[sqlx::test(migrations = "./migrations")]
async fn machines_import_is_complete_and_idempotent(pool: PgPool) {
    let json = fixture("machines.json");
    let first = import_machines(&pool, "machines.json", &json)
        .await
        .unwrap();
    assert_eq!(first.added.len(), 39, "{first}");
    assert!(
        first.updated.is_empty() && first.skipped.is_empty(),
        "{first}"
    );

    let second = import_machines(&pool, "machines.json", &json)
        .await
        .unwrap();
    assert!(
        second.added.is_empty() && second.updated.is_empty(),
        "{second}"
    );
    assert_eq!(second.unchanged, 39);

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
    let summary = import_machines(&pool, "inline", json).await.unwrap();
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
    import_machines(&pool, "before", before).await.unwrap();
    let summary = import_machines(&pool, "after", after).await.unwrap();
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
    let err = import_machines(&pool, "machines.json", "[\n  {\"name\": 3}\n]")
        .await
        .unwrap_err();
    let message = err.to_string();
    assert!(message.starts_with("machines.json:2:"), "{message}");
    let err = import_maintainers(&pool, "accounts.json", "{\"admins\": [{}]}")
        .await
        .unwrap_err();
    assert!(err.to_string().contains("username"), "{err}");
}
