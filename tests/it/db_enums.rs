//! The database's status columns are TEXT with a CHECK listing their
//! values; the Rust enums read and bind them through `sqlx::Type`. Every
//! variant round-trips through Postgres under the name the CHECK allows, and
//! Discord ids round-trip as `Snowflake`s.

use flipfix_bot::catalog::links::LinkMethod;
use flipfix_bot::domain::CreatedVia;
use flipfix_bot::media::CopyState;
use flipfix_bot::review::{ItemState, SessionStatus};
use flipfix_bot::runs::{Outcome, Trigger};
use sqlx::PgPool;

/// The CHECK constraints on `table`, as Postgres prints them.
async fn checks(pool: &PgPool, table: &str) -> String {
    let defs: Vec<String> = sqlx::query_scalar(
        "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = $1::regclass AND contype = 'c'",
    )
    .bind(table)
    .fetch_all(pool)
    .await
    .expect("constraints");
    defs.join("\n")
}

/// Binds `value`, reads it back as text and as the enum.
async fn round_trip<T>(pool: &PgPool, value: T) -> (String, T)
where
    T: for<'r> sqlx::Decode<'r, sqlx::Postgres>
        + for<'q> sqlx::Encode<'q, sqlx::Postgres>
        + sqlx::Type<sqlx::Postgres>
        + Send
        + Unpin
        + Copy
        + 'static,
{
    let text: String = sqlx::query_scalar("SELECT $1::text")
        .bind(value)
        .fetch_one(pool)
        .await
        .expect("bind");
    let back: T = sqlx::query_scalar("SELECT $1::text")
        .bind(&text)
        .fetch_one(pool)
        .await
        .expect("decode");
    (text, back)
}

#[sqlx::test(migrations = "./migrations")]
async fn every_status_round_trips_under_the_name_its_column_allows(pool: PgPool) {
    let sessions = checks(&pool, "review_sessions").await;
    for (status, name) in [
        (SessionStatus::Analysing, "analysing"),
        (SessionStatus::Reviewing, "reviewing"),
        (SessionStatus::Finished, "finished"),
        (SessionStatus::Cancelled, "cancelled"),
        (SessionStatus::Failed, "failed"),
        (SessionStatus::Expired, "expired"),
        (SessionStatus::Interrupted, "interrupted"),
    ] {
        assert_eq!(round_trip(&pool, status).await, (name.to_string(), status));
        assert!(
            sessions.contains(&format!("'{name}'")),
            "{name}: {sessions}"
        );
    }
    let items = checks(&pool, "review_items").await;
    for (state, name) in [
        (ItemState::Pending, "pending"),
        (ItemState::Created, "created"),
        (ItemState::Skipped, "skipped"),
    ] {
        assert_eq!(round_trip(&pool, state).await, (name.to_string(), state));
        assert!(items.contains(&format!("'{name}'")), "{name}: {items}");
    }
    let media = checks(&pool, "record_media").await;
    for (state, name) in [
        (CopyState::Pending, "pending"),
        (CopyState::Stored, "stored"),
        (CopyState::Failed, "failed"),
        (CopyState::Skipped, "skipped"),
    ] {
        assert_eq!(round_trip(&pool, state).await, (name.to_string(), state));
        assert!(media.contains(&format!("'{name}'")), "{name}: {media}");
    }
    let runs = checks(&pool, "workflow_runs").await;
    for (outcome, name) in [
        (Outcome::InProgress, "in_progress"),
        (Outcome::Created, "created"),
        (Outcome::Skipped, "skipped"),
        (Outcome::Refused, "refused"),
        (Outcome::Failed, "failed"),
        (Outcome::Posted, "posted"),
    ] {
        assert_eq!(
            round_trip(&pool, outcome).await,
            (name.to_string(), outcome)
        );
        assert_eq!(outcome.as_str(), name);
        assert!(runs.contains(&format!("'{name}'")), "{name}: {runs}");
    }
    for (trigger, name) in [
        (Trigger::MessageCommand, "message_command"),
        (Trigger::Reaction, "reaction"),
        (Trigger::SlashCommand, "slash_command"),
        (Trigger::ThreadCreated, "thread_created"),
        (Trigger::Schedule, "schedule"),
    ] {
        assert_eq!(
            round_trip(&pool, trigger).await,
            (name.to_string(), trigger)
        );
        assert_eq!(trigger.as_str(), name);
        assert!(runs.contains(&format!("'{name}'")), "{name}: {runs}");
    }
    let links = checks(&pool, "discord_user_links").await;
    for (method, name) in [
        (LinkMethod::Username, "username"),
        (LinkMethod::Admin, "admin"),
        (LinkMethod::NameMatch, "name_match"),
    ] {
        assert_eq!(round_trip(&pool, method).await, (name.to_string(), method));
        assert!(links.contains(&format!("'{name}'")), "{name}: {links}");
    }

    // How a record came to be is written only (an import's `notify` is not
    // stored, and the column has no CHECK): it binds as its name.
    for (via, name) in [
        (CreatedVia::DiscordMessage, "discord_message"),
        (CreatedVia::SlashCommand, "slash_command"),
        (CreatedVia::Cli, "cli"),
        (CreatedVia::Api, "api"),
        (CreatedVia::Import { notify: true }, "import"),
        (CreatedVia::Import { notify: false }, "import"),
    ] {
        let text: String = sqlx::query_scalar("SELECT $1::text")
            .bind(via)
            .fetch_one(&pool)
            .await
            .expect("bind");
        assert_eq!(text, name);
    }

    // A value outside the enum is a decode error, not a silent default.
    let err = sqlx::query_scalar::<_, SessionStatus>("SELECT 'paused'::text")
        .fetch_one(&pool)
        .await
        .expect_err("unknown status");
    assert!(err.to_string().contains("paused"), "{err}");
}

/// Discord ids are stored as the BIGINT with the same bits: every id comes
/// back as it went in, alone or in an array, and a real id reads as the
/// same number in SQL.
#[sqlx::test(migrations = "./migrations")]
async fn a_snowflake_round_trips_every_bit(pool: PgPool) {
    use flipfix_bot::domain::Snowflake;
    for id in [0, 1, 1_100_000_000_000_000_001, 1 << 63, u64::MAX] {
        let back: Snowflake = sqlx::query_scalar("SELECT $1::BIGINT")
            .bind(Snowflake(id))
            .fetch_one(&pool)
            .await
            .expect("round trip");
        assert_eq!(back, Snowflake(id));
    }
    let ids = vec![Snowflake(5), Snowflake(u64::MAX)];
    let back: Vec<Snowflake> = sqlx::query_scalar("SELECT $1::BIGINT[]")
        .bind(&ids)
        .fetch_one(&pool)
        .await
        .expect("array round trip");
    assert_eq!(back, ids);
    let stored: i64 = sqlx::query_scalar("SELECT $1::BIGINT")
        .bind(Snowflake(1_100_000_000_000_000_001))
        .fetch_one(&pool)
        .await
        .expect("stored");
    assert_eq!(stored, 1_100_000_000_000_000_001);
}
