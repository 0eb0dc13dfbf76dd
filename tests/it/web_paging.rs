//! Keyset paging of the lists: following "Older →" from page 1 walks every
//! family exactly once, in order, each page starting right after the last
//! one ended, and never splitting a story; "← Newer" walks back over the
//! same pages; a record added meanwhile neither repeats nor hides one.

use sqlx::PgPool;

use crate::support::add_machine;
use crate::web_pages::{insert, Site};

/// The record ids on a page, in the order their cards appear.
fn ids(page: &str) -> Vec<i64> {
    page.split("</a>")
        .filter_map(|part| part.rsplit_once('#'))
        .filter_map(|(_, id)| id.parse().ok())
        .collect()
}

/// The target of a paging link (`← Newer` or `Older →`), unescaped.
fn link(page: &str, label: &str) -> Option<String> {
    let end = page.find(&format!("\">{label}"))?;
    let start = page[..end].rfind("href=\"")? + "href=\"".len();
    Some(page[start..end].replace("&amp;", "&"))
}

/// Roots newest first (ties broken by id), each with its children oldest
/// first: the timeline as the database holds it.
async fn families(pool: &PgPool, machine: i64) -> Vec<Vec<i64>> {
    let roots: Vec<i64> = sqlx::query_scalar(
        "SELECT id FROM records WHERE machine_id = $1 AND parent_id IS NULL \
         ORDER BY occurred_at DESC, id DESC",
    )
    .bind(machine)
    .fetch_all(pool)
    .await
    .expect("roots");
    let mut out = Vec::new();
    for root in roots {
        let children: Vec<i64> = sqlx::query_scalar(
            "SELECT id FROM records WHERE parent_id = $1 ORDER BY occurred_at, id",
        )
        .bind(root)
        .fetch_all(pool)
        .await
        .expect("children");
        out.push(std::iter::once(root).chain(children).collect());
    }
    out
}

/// 60 stories on one machine, three at the same moment each day (so ties
/// on time are broken by id), every third with two logs under it.
async fn many_families(pool: &PgPool) -> i64 {
    let machine = add_machine(pool, "gorgar", "Gorgar").await;
    for n in 0..60u32 {
        let day = 1 + n / 3;
        let root = insert(
            pool,
            "problem_report",
            Some(machine),
            None,
            &format!("Report {n}"),
            day,
        )
        .await;
        if n % 3 == 0 {
            for step in 0..2 {
                insert(
                    pool,
                    "log_entry",
                    Some(machine),
                    Some(root),
                    &format!("Step {step} of report {n}"),
                    day + 5 + step,
                )
                .await;
            }
        }
    }
    machine
}

/// Fetches `path` and the pages after it by their "Older →" links.
async fn walk_older(site: &Site, path: &str) -> Vec<String> {
    let mut pages = Vec::new();
    let mut next = Some(path.to_string());
    while let Some(path) = next {
        let (status, body, _) = site.get(&path).await;
        assert_eq!(status, 200, "{path}: {body}");
        next = link(&body, "Older").map(|href| absolute(path.as_str(), &href));
        pages.push(body);
        assert!(pages.len() < 10, "the Older links never end");
    }
    pages
}

/// A link relative to the page at `from` (`?…` or `./`).
fn absolute(from: &str, href: &str) -> String {
    let base = from.split('?').next().unwrap_or(from);
    match href.strip_prefix("./") {
        Some(rest) => format!("{base}{rest}"),
        None => format!("{base}{href}"),
    }
}

#[sqlx::test(migrations = "./migrations")]
async fn the_machine_timeline_pages_by_position_without_repeating_or_splitting(pool: PgPool) {
    let machine = many_families(&pool).await;
    let families = families(&pool, machine).await;
    let site = Site::start(&pool).await;
    let pages = walk_older(&site, "/machines/gorgar/").await;
    assert_eq!(pages.len(), 3, "60 stories, 25 a page");
    // Each page is a run of whole families, and the next page starts with
    // the family right after the last one on the page before.
    let mut rest = families.iter();
    for (n, page) in pages.iter().enumerate() {
        let shown = ids(page);
        let mut expected = Vec::new();
        let mut roots = 0;
        while expected.len() < shown.len() {
            let family = rest.next().expect("more families than there are");
            expected.extend_from_slice(family);
            roots += 1;
        }
        assert_eq!(shown, expected, "page {}", n + 1);
        assert!(roots <= 25, "page {}: {roots} stories", n + 1);
        assert!(page.contains(&format!("Page {}", n + 1)));
    }
    assert!(rest.next().is_none(), "every story is on some page");

    // "← Newer" walks back over the same pages; page 2's goes to page 1.
    let last = pages.last().expect("pages");
    let mut newer = link(last, "← Newer").expect("a newer link on the last page");
    for n in (0..pages.len() - 1).rev() {
        let path = absolute("/machines/gorgar/", &newer);
        let (_, body, _) = site.get(&path).await;
        assert_eq!(ids(&body), ids(&pages[n]), "back to page {}", n + 1);
        if n == 0 {
            assert_eq!(path, "/machines/gorgar/", "page 1 is page 1");
            assert!(link(&body, "← Newer").is_none());
        } else {
            newer = link(&body, "← Newer").expect("a newer link");
        }
    }

    // A story added after page 1 was read: page 2 still starts right after
    // page 1 (counting would show page 1's last story again).
    let (_, first, _) = site.get("/machines/gorgar/").await;
    let older = link(&first, "Older").expect("an older link");
    insert(&pool, "problem_report", Some(machine), None, "Newest", 28).await;
    let (_, second, _) = site.get(&absolute("/machines/gorgar/", &older)).await;
    assert_eq!(ids(&second), ids(&pages[1]), "no story repeated or skipped");

    // Old links by number still work (read by counting).
    let (status, by_number, _) = site.get("/machines/gorgar/?page=3").await;
    assert_eq!(status, 200);
    assert!(ids(&by_number).contains(ids(&pages[2]).last().expect("page 3")));
    // A position that no link of this site made is refused in one sentence.
    let (status, body, _) = site.get("/machines/gorgar/?after=yesterday").await;
    assert_eq!(status, 400);
    assert!(body.contains("“after” must be a page position"), "{body}");
}

#[sqlx::test(migrations = "./migrations")]
async fn the_index_pages_by_position_through_filters(pool: PgPool) {
    let machine = many_families(&pool).await;
    let all: Vec<i64> = sqlx::query_scalar(
        "SELECT id FROM records WHERE machine_id = $1 AND kind = 'problem_report' \
         ORDER BY occurred_at DESC, id DESC",
    )
    .bind(machine)
    .fetch_all(&pool)
    .await
    .expect("records");
    let site = Site::start(&pool).await;
    let pages = walk_older(&site, "/?kind=problem_report&machine=gorgar").await;
    assert_eq!(pages.len(), 3);
    assert!(pages
        .iter()
        .all(|page| link(page, "Older").is_none_or(|l| l.contains("kind=problem_report"))));
    let shown: Vec<i64> = pages.iter().flat_map(|page| ids(page)).collect();
    assert_eq!(shown, all, "each record once, newest first, across pages");
}
