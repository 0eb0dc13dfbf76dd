//! A machine's timeline reached by counting (an old `?page=N` link, which
//! decides a parent's visibility from the machine's own records where it
//! can) lists exactly the stories the "Older" links list, page for page,
//! for a visitor and a member, whatever the parents: none, on the same
//! machine or on another, of a kind the viewer may see or not.

use flipfix_bot::records::browse::{machine_timeline, PageRequest, Seek, Visible};
use flipfix_bot::workflow::WebAccess;
use sqlx::PgPool;

use crate::support::add_machine;
use crate::support::shipped_workflows;
use crate::support::time::pinned;

async fn record(pool: &PgPool, kind: &str, machine: i64, parent: Option<i64>, minute: u32) -> i64 {
    sqlx::query_scalar(
        "INSERT INTO records (kind, machine_id, parent_id, description, author_name,
                              occurred_at, created_via)
         VALUES ($1, $2, $3, $1, 'Ruth', $4, 'cli')
         RETURNING id",
    )
    .bind(kind)
    .bind(machine)
    .bind(parent)
    .bind(pinned(&format!("2025-02-01T10:{minute:02}:00Z")))
    .fetch_one(pool)
    .await
    .unwrap()
}

/// The roots of every page, `size` a page, by position and by counting.
async fn both_ways(pool: &PgPool, visible: &Visible, size: u32) -> (Vec<Vec<i64>>, Vec<Vec<i64>>) {
    let mut conn = pool.acquire().await.unwrap();
    let roots = |timeline: &flipfix_bot::records::browse::Timeline| -> Vec<i64> {
        timeline.entries.iter().map(|e| e.record.id).collect()
    };
    let (mut by_position, mut by_counting) = (Vec::new(), Vec::new());
    let mut page = PageRequest::new(1, size);
    loop {
        let timeline = machine_timeline(&mut conn, visible, "gorgar", page)
            .await
            .unwrap()
            .expect("the machine exists");
        by_position.push(roots(&timeline));
        let counted = machine_timeline(
            &mut conn,
            visible,
            "gorgar",
            PageRequest::new(page.number, size),
        )
        .await
        .unwrap()
        .expect("the machine exists");
        by_counting.push(roots(&counted));
        match timeline.older {
            Some(older) => page = PageRequest::at(page.number + 1, size, Seek::After(older)),
            None => break,
        }
    }
    (by_position, by_counting)
}

#[sqlx::test(migrations = "./migrations")]
async fn counting_and_the_older_links_give_the_same_pages(pool: PgPool) {
    let gorgar = add_machine(&pool, "gorgar", "Gorgar").await;
    let xenon = add_machine(&pool, "xenon", "Xenon").await;
    let (mut for_visitor, mut for_member) = (Vec::new(), Vec::new());
    for round in 0..4 {
        let at = round * 10;
        let report = record(&pool, "problem_report", gorgar, None, at).await;
        let part = record(&pool, "part_request", gorgar, None, at + 1).await;
        let elsewhere_report = record(&pool, "problem_report", xenon, None, at + 2).await;
        let elsewhere_part = record(&pool, "part_request", xenon, None, at + 3).await;
        record(&pool, "log_entry", gorgar, Some(report), at + 4).await;
        let under_part = record(&pool, "log_entry", gorgar, Some(part), at + 5).await;
        // Its parent is on Xenon, visible to all: part of Xenon's story.
        record(&pool, "log_entry", gorgar, Some(elsewhere_report), at + 6).await;
        let under_elsewhere_part =
            record(&pool, "log_entry", gorgar, Some(elsewhere_part), at + 7).await;
        for_visitor.extend([report, under_part, under_elsewhere_part]);
        for_member.extend([report, part]);
    }
    let kinds = &shipped_workflows().kinds;
    let visitor = Visible::for_viewer(kinds, |access| matches!(access, WebAccess::Public));
    let member = Visible::for_viewer(kinds, |_| true);
    for (who, visible, mut expected) in [
        ("visitor", &visitor, for_visitor),
        ("member", &member, for_member),
    ] {
        expected.sort_by(|a, b| b.cmp(a));
        let (by_position, by_counting) = both_ways(&pool, visible, 3).await;
        assert_eq!(by_counting, by_position, "{who}: page for page");
        assert_eq!(
            by_position.concat(),
            expected,
            "{who}: the stories, newest first"
        );
    }
}
