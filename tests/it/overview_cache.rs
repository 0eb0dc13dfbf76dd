//! The machines overview kept between requests (`records::browse::
//! OverviewCache`, the `browse_version` counter and its triggers), on a real
//! database: every change the overview shows is seen at the next request,
//! whichever connection made it and only once it commits; rows are read
//! again only when the counter moved.

use flipfix_bot::records::browse::{machines_overview, MachineOverview, OverviewCache, Visible};
use flipfix_bot::workflow::WebAccess;
use sqlx::{PgConnection, PgPool};

use crate::support::time::pinned;
use crate::support::{add_machine, shipped_workflows};

async fn version(pool: &PgPool) -> i64 {
    sqlx::query_scalar("SELECT version FROM browse_version")
        .fetch_one(pool)
        .await
        .unwrap()
}

/// Runs `sql` on `pool` (its own connection, its own transaction).
async fn run(pool: &PgPool, sql: &str) {
    sqlx::query(sql)
        .execute(pool)
        .await
        .unwrap_or_else(|err| panic!("{sql}: {err}"));
}

async fn add_report(pool: &PgPool, machine: i64, priority: &str, day: u32) -> i64 {
    sqlx::query_scalar(
        "INSERT INTO records (kind, machine_id, status, description, fields, author_name,
                              occurred_at, created_via)
         VALUES ('problem_report', $1, 'open', 'a report', jsonb_build_object('priority', $2::text),
                 'Ruth', $3, 'cli')
         RETURNING id",
    )
    .bind(machine)
    .bind(priority)
    .bind(pinned(&format!("2025-01-{day:02}T12:00:00Z")))
    .fetch_one(pool)
    .await
    .unwrap()
}

/// The overview through `cache` and straight from the database, which must
/// agree whenever the counter is kept by the triggers.
async fn both(
    cache: &OverviewCache,
    conn: &mut PgConnection,
    visible: &Visible,
) -> (Vec<MachineOverview>, Vec<MachineOverview>) {
    let kinds = &shipped_workflows().kinds;
    let kept = cache.overview(conn, kinds, visible).await.unwrap();
    let fresh = machines_overview(conn, kinds, visible).await.unwrap();
    (kept, fresh)
}

fn open_counts(listed: &[MachineOverview], slug: &str) -> Vec<(Option<String>, i64)> {
    let machine = listed
        .iter()
        .find(|m| m.slug == slug)
        .unwrap_or_else(|| panic!("{slug} is listed: {listed:?}"));
    machine
        .open
        .iter()
        .map(|c| (c.choice.clone(), c.count))
        .collect()
}

#[sqlx::test(migrations = "./migrations")]
async fn every_change_the_overview_shows_is_seen_at_the_next_request(pool: PgPool) {
    let kinds = &shipped_workflows().kinds;
    let everyone = Visible::for_viewer(kinds, |_| true);
    let cache = OverviewCache::default();
    let mut reader = pool.acquire().await.unwrap();
    let gorgar = add_machine(&pool, "gorgar", "Gorgar").await;
    let report = add_report(&pool, gorgar, "minor", 3).await;

    let (kept, fresh) = both(&cache, &mut reader, &everyone).await;
    assert_eq!(kept, fresh);
    assert_eq!(open_counts(&kept, "gorgar"), [(Some("minor".into()), 1)]);

    // Each change, made on another connection, shows at the next request.
    let changes = [
        format!("UPDATE records SET fields = '{{\"priority\": \"major\"}}' WHERE id = {report}"),
        format!(
            "UPDATE records SET occurred_at = occurred_at + interval '1 day' WHERE id = {report}"
        ),
        "UPDATE machines SET name = 'Gorgar (1979)', status = 'broken'".to_string(),
        format!("UPDATE records SET status = 'closed' WHERE id = {report}"),
        format!("DELETE FROM records WHERE id = {report}"),
        "INSERT INTO machines (slug, name) VALUES ('xenon', 'Xenon')".to_string(),
    ];
    for change in &changes {
        let before = both(&cache, &mut reader, &everyone).await.0;
        run(&pool, change).await;
        let (kept, fresh) = both(&cache, &mut reader, &everyone).await;
        assert_eq!(kept, fresh, "after {change}");
        assert_ne!(kept, before, "{change} changes what the overview shows");
    }

    // A change not yet committed is not shown; once committed it is.
    let other = add_report(&pool, gorgar, "unplayable", 4).await;
    let shown = both(&cache, &mut reader, &everyone).await.0;
    let mut writer = pool.begin().await.unwrap();
    sqlx::query("UPDATE records SET status = 'closed' WHERE id = $1")
        .bind(other)
        .execute(&mut *writer)
        .await
        .unwrap();
    assert_eq!(both(&cache, &mut reader, &everyone).await.0, shown);
    writer.commit().await.unwrap();
    let (kept, fresh) = both(&cache, &mut reader, &everyone).await;
    assert_eq!(kept, fresh);
    assert_eq!(open_counts(&kept, "gorgar"), []);
}

#[sqlx::test(migrations = "./migrations")]
async fn rows_are_read_again_only_when_the_counter_moved(pool: PgPool) {
    let kinds = &shipped_workflows().kinds;
    let everyone = Visible::for_viewer(kinds, |_| true);
    let visitor = Visible::for_viewer(kinds, |access| matches!(access, WebAccess::Public));
    let cache = OverviewCache::default();
    let mut reader = pool.acquire().await.unwrap();
    let gorgar = add_machine(&pool, "gorgar", "Gorgar").await;
    let report = add_report(&pool, gorgar, "minor", 3).await;
    let kept = both(&cache, &mut reader, &everyone).await.0;
    let kept_for_visitor = cache.overview(&mut reader, kinds, &visitor).await.unwrap();

    // A write with triggers off (replication role) leaves the counter where
    // it was: the kept rows are served, though the database changed.
    let mut quiet = pool.acquire().await.unwrap();
    sqlx::query("SET session_replication_role = replica")
        .execute(&mut *quiet)
        .await
        .unwrap();
    sqlx::query("UPDATE records SET status = 'closed' WHERE id = $1")
        .bind(report)
        .execute(&mut *quiet)
        .await
        .unwrap();
    let (served, fresh) = both(&cache, &mut reader, &everyone).await;
    assert_eq!(served, kept, "the kept rows");
    assert_eq!(open_counts(&fresh, "gorgar"), [], "the database changed");
    // Each viewer's rows are kept under their own arguments.
    assert_eq!(
        cache.overview(&mut reader, kinds, &visitor).await.unwrap(),
        kept_for_visitor
    );

    // Any counted write moves the counter, and everything is read again.
    add_machine(&pool, "xenon", "Xenon").await;
    let (served, fresh) = both(&cache, &mut reader, &everyone).await;
    assert_eq!(served, fresh);
    assert_eq!(open_counts(&served, "gorgar"), []);
}

#[sqlx::test(migrations = "./migrations")]
async fn the_counter_moves_once_per_transaction_and_only_for_what_the_overview_shows(pool: PgPool) {
    let gorgar = add_machine(&pool, "gorgar", "Gorgar").await;
    let start = version(&pool).await;

    let mut tx = pool.begin().await.unwrap();
    for day in 1..=3 {
        sqlx::query(
            "INSERT INTO records (kind, machine_id, description, author_name, occurred_at, created_via)
             VALUES ('log_entry', $1, 'a log', 'Ruth', $2, 'cli')",
        )
        .bind(gorgar)
        .bind(pinned(&format!("2025-01-{day:02}T12:00:00Z")))
        .execute(&mut *tx)
        .await
        .unwrap();
    }
    sqlx::query("UPDATE machines SET status = 'fixing' WHERE id = $1")
        .bind(gorgar)
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    assert_eq!(version(&pool).await, start + 1, "one transaction, one step");

    // A rolled-back change leaves no step behind.
    let mut tx = pool.begin().await.unwrap();
    sqlx::query("UPDATE machines SET name = 'Gone' WHERE id = $1")
        .bind(gorgar)
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.rollback().await.unwrap();
    assert_eq!(version(&pool).await, start + 1);

    // A description is not on the overview: no step.
    run(&pool, "UPDATE records SET description = 'an edited log'").await;
    assert_eq!(version(&pool).await, start + 1);
    run(&pool, "UPDATE records SET status = 'done'").await;
    assert_eq!(version(&pool).await, start + 2);
}

#[sqlx::test(migrations = "./migrations")]
async fn without_the_counters_row_the_overview_is_read_every_time(pool: PgPool) {
    let kinds = &shipped_workflows().kinds;
    let everyone = Visible::for_viewer(kinds, |_| true);
    let cache = OverviewCache::default();
    let mut reader = pool.acquire().await.unwrap();
    let gorgar = add_machine(&pool, "gorgar", "Gorgar").await;
    let report = add_report(&pool, gorgar, "minor", 3).await;
    let (kept, _) = both(&cache, &mut reader, &everyone).await;
    assert_eq!(open_counts(&kept, "gorgar"), [(Some("minor".into()), 1)]);

    // Deleted by hand: writes still succeed (the trigger updates no row),
    // and every request reads the database.
    run(&pool, "DELETE FROM browse_version").await;
    run(
        &pool,
        &format!("UPDATE records SET status = 'closed' WHERE id = {report}"),
    )
    .await;
    let (served, fresh) = both(&cache, &mut reader, &everyone).await;
    assert_eq!(served, fresh);
    assert_eq!(open_counts(&served, "gorgar"), []);
}
