//! A second machine or maintainer with a taken name is refused with the
//! sentence naming it (Postgres's unique violation, recognised through
//! sqlx's `is_unique_violation`), and any other database failure stays a
//! database error.

use flipfix_bot::catalog::{machines, maintainers};
use sqlx::PgPool;

#[sqlx::test(migrations = "./migrations")]
async fn a_taken_machine_name_is_refused_by_name(pool: PgPool) {
    machines::add(&pool, "Eight Ball Deluxe", None)
        .await
        .expect("first");
    let err = machines::add(&pool, "eight ball deluxe", None)
        .await
        .expect_err("the name is taken (case-insensitively)");
    assert!(
        matches!(err, machines::MachineError::NameTaken(_)),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "a machine named `eight ball deluxe` already exists"
    );

    let other = machines::add(&pool, "Hulk", None).await.expect("second");
    let err = machines::rename(&pool, &other.slug, "Eight Ball Deluxe")
        .await
        .expect_err("renaming onto a taken name");
    assert_eq!(
        err.to_string(),
        "a machine named `Eight Ball Deluxe` already exists"
    );
}

#[sqlx::test(migrations = "./migrations")]
async fn a_taken_username_is_refused_by_name(pool: PgPool) {
    maintainers::add(&pool, "alice", None).await.expect("first");
    let err = maintainers::add(&pool, "Alice", Some("Alice"))
        .await
        .expect_err("the username is taken");
    assert!(
        matches!(err, maintainers::MaintainerError::UsernameTaken(_)),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "a maintainer with username `Alice` already exists"
    );
}

#[sqlx::test(migrations = "./migrations")]
async fn another_database_failure_is_not_mistaken_for_a_taken_name(pool: PgPool) {
    sqlx::query("DROP TABLE maintainers CASCADE")
        .execute(&pool)
        .await
        .expect("drop");
    let err = maintainers::add(&pool, "bob", None)
        .await
        .expect_err("no table");
    assert!(
        matches!(err, maintainers::MaintainerError::Database(_)),
        "{err:?}"
    );
}
