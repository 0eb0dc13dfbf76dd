//! docs/pages.md on the machine timeline: paged by parent, so a story (a
//! report and the logs under it) is never split across pages; lists show
//! no totals.

use sqlx::PgPool;

use crate::support::add_machine;
use crate::web_pages::{insert, Site};

/// docs/pages.md: the machine timeline is paged by parent, so a story (a
/// report and the logs under it) is never split across pages; lists show
/// no totals.
#[sqlx::test(migrations = "./migrations")]
async fn the_machine_timeline_never_splits_a_story_and_shows_no_totals(pool: PgPool) {
    let machine = add_machine(&pool, "gorgar", "Gorgar").await;
    let mut story = None;
    for day in 1..=26 {
        let id = insert(
            &pool,
            "problem_report",
            Some(machine),
            None,
            &format!("Report {day}"),
            day,
        )
        .await;
        if day == 2 {
            story = Some(id);
        }
    }
    let story = story.unwrap();
    let mut children = Vec::new();
    for (n, day) in [3, 4, 5, 6, 7].into_iter().enumerate() {
        let id = insert(
            &pool,
            "log_entry",
            Some(machine),
            Some(story),
            &format!("Step {n}"),
            day,
        )
        .await;
        children.push(id);
    }
    let site = Site::start(&pool).await;
    let pages = [
        site.get("/machines/gorgar/").await.1,
        site.get("/machines/gorgar/?page=2").await.1,
    ];
    let with_story: Vec<&String> = pages
        .iter()
        .filter(|page| page.contains(&format!("/problem-reports/{story}/")))
        .collect();
    assert_eq!(with_story.len(), 1, "the report is on one page");
    for child in &children {
        assert!(
            with_story[0].contains(&format!("/logs/{child}/")),
            "log #{child} is with its report"
        );
        for page in pages
            .iter()
            .filter(|p| !p.contains(&format!("/problem-reports/{story}/")))
        {
            assert!(
                !page.contains(&format!("/logs/{child}/")),
                "split across pages"
            );
        }
    }
    // 26 reports, 25 a page: both pages are used.
    assert!(pages[0].contains("page=2") && pages[1].contains("/problem-reports/"));
    for page in &pages {
        let lower = page.to_lowercase();
        assert!(
            !lower.contains("total")
                && !lower.contains("31 records")
                && !lower.contains("26 records"),
            "no totals on a list"
        );
    }
}
