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

/// A log under a members-only part request stands on its own for a
/// visitor, on every page, whether the page is reached by an "Older" link
/// (by position) or by an old `?page=2` link (by counting): the check of
/// the parent's kind is the same either way.
#[sqlx::test(migrations = "./migrations")]
async fn a_log_under_a_hidden_parent_is_its_own_story_on_every_page(pool: PgPool) {
    let machine = add_machine(&pool, "gorgar", "Gorgar").await;
    let mut logs = Vec::new();
    for day in 1..=30 {
        let part = insert(
            &pool,
            "part_request",
            Some(machine),
            None,
            &format!("Order {day}"),
            day,
        )
        .await;
        let log = insert(
            &pool,
            "log_entry",
            Some(machine),
            Some(part),
            &format!("Fitted {day}"),
            day,
        )
        .await;
        logs.push(log);
    }
    // Newest first (a day's log comes after its request, so ties on the
    // day fall to the id): the logs are the visitor's 30 stories.
    logs.reverse();
    let shown = |page: &str| -> Vec<i64> {
        logs.iter()
            .copied()
            .filter(|id| page.contains(&format!("/logs/{id}/")))
            .collect()
    };
    let site = Site::start(&pool).await;
    let (status, first, _) = site.get("/machines/gorgar/").await;
    assert_eq!(status, 200);
    assert_eq!(shown(&first), logs[..25].to_vec());
    assert!(!first.contains("/parts/"), "the part requests stay hidden");
    let (status, by_number, _) = site.get("/machines/gorgar/?page=2").await;
    assert_eq!(status, 200);
    assert_eq!(shown(&by_number), logs[25..].to_vec());
    let start = first.find("\">Older").expect("an older link");
    let href = &first[first[..start].rfind("href=\"").expect("a link") + 6..start];
    let path = format!("/machines/gorgar/{}", href.replace("&amp;", "&"));
    let (status, by_position, _) = site.get(&path).await;
    assert_eq!(status, 200, "{path}");
    assert_eq!(shown(&by_position), logs[25..].to_vec());
    assert!(!by_position.contains("/parts/"));
}
