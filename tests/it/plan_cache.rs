//! A machine's timeline and a record's children are planned once per
//! connection: after its five trial plans Postgres keeps the one plan for
//! any values (the generic plan), which `pg_prepared_statements` counts.
//! Planned again at every request, they cost more to plan than to run
//! (`cargo bench --bench pages`). Needs data in which a bound `LIMIT` or an
//! array of parents would make the generic plan look dearer: 2,000 records
//! on the machine, half of them logs, and current statistics.

use flipfix_bot::records::browse::{machine_timeline, record_detail, PageRequest, Seek, Visible};
use sqlx::{PgConnection, PgPool};

use crate::support::add_machine;
use crate::support::shipped_workflows;
use crate::support::time::pinned;

/// The (generic, custom) plans made so far for each of this connection's
/// prepared statements whose text is `like` (a `LIKE` pattern).
async fn plans(conn: &mut PgConnection, like: &str) -> Vec<(i64, i64)> {
    let found: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT generic_plans, custom_plans FROM pg_prepared_statements \
         WHERE statement LIKE $1 ORDER BY statement",
    )
    .bind(like)
    .fetch_all(conn)
    .await
    .unwrap();
    assert!(!found.is_empty(), "no prepared statement is like {like:?}");
    found
}

#[sqlx::test(migrations = "./migrations")]
async fn the_timeline_and_a_records_children_keep_one_plan(pool: PgPool) {
    let gorgar = add_machine(&pool, "gorgar", "Gorgar").await;
    let xenon = add_machine(&pool, "xenon", "Xenon").await;
    sqlx::query(
        "INSERT INTO records (kind, machine_id, description, author_name, occurred_at, created_via) \
         SELECT 'problem_report', CASE WHEN g % 2 = 0 THEN $1 ELSE $2 END, 'report ' || g, 'Ruth', \
                $3 - g * interval '1 minute', 'cli' \
         FROM generate_series(1, 2000) g",
    )
    .bind(gorgar)
    .bind(xenon)
    .bind(pinned("2025-02-01T10:00:00Z"))
    .execute(&pool)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO records (kind, machine_id, parent_id, description, author_name, occurred_at, created_via) \
         SELECT 'log_entry', machine_id, id, 'log', 'Ruth', occurred_at + interval '30 seconds', 'cli' \
         FROM records",
    )
    .execute(&pool)
    .await
    .unwrap();
    sqlx::query("ANALYZE records").execute(&pool).await.unwrap();
    let report: i64 = sqlx::query_scalar(
        "SELECT id FROM records WHERE kind = 'problem_report' AND machine_id = $1 LIMIT 1",
    )
    .bind(gorgar)
    .fetch_one(&pool)
    .await
    .unwrap();

    let visible = Visible::for_viewer(&shipped_workflows().kinds, |_| true);
    let mut conn = pool.acquire().await.unwrap();
    let mut older = None;
    for round in 0..14 {
        // Page 1 and the pages after it by the Older links: one statement
        // each, both kept.
        let page = match older {
            Some(cursor) => PageRequest::at(2, 25, Seek::After(cursor)),
            None => PageRequest::new(1, 25),
        };
        let timeline = machine_timeline(&mut conn, &visible, "gorgar", page)
            .await
            .unwrap()
            .expect("the machine exists");
        assert_eq!(timeline.entries.len(), 25, "round {round}: a full page");
        assert!(
            timeline.entries.iter().all(|e| e.children.len() == 1),
            "round {round}: each report with its log"
        );
        older = if round % 2 == 0 { timeline.older } else { None };
        record_detail(&mut conn, &visible, report).await.unwrap();
    }

    // Page 1 and a page after a cursor: two statements, seven runs each.
    let timeline = plans(&mut conn, "WITH roots AS%").await;
    assert_eq!(timeline.len(), 2, "{timeline:?}");
    for (generic, custom) in timeline {
        assert!(
            generic >= 1 && custom <= 5,
            "the timeline kept its generic plan: {generic} generic, {custom} custom"
        );
    }
    for (generic, custom) in plans(&mut conn, "%WHERE r.parent_id = $1 %").await {
        assert!(
            generic >= 1 && custom <= 5,
            "a record's children kept their generic plan: {generic} generic, {custom} custom"
        );
    }
}
