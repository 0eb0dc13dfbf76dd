//! The machines overview (`/machines/`, issue #23) through the real router
//! and a real database: every machine with its status, its open reports by
//! priority and its last activity, out-of-service machines first; a
//! visitor's counts and dates leave members-only records out; the index
//! links to it before anything else.

use std::collections::BTreeMap;

use flipfix_bot::records::browse::{machines_overview, OpenCount, Visible};
use flipfix_bot::records::{create_record, NewRecord};
use sqlx::PgPool;

use crate::support::fake_discord::FakeUser;
use crate::support::time::pinned;
use crate::support::web::{Browser, Site};
use crate::support::{add_machine, new_record, shipped_workflows};

const RUTH: u64 = 730_000_000_000_000_011;

async fn machine(pool: &PgPool, slug: &str, name: &str, status: &str) -> i64 {
    let id = add_machine(pool, slug, name).await;
    sqlx::query("UPDATE machines SET status = $2 WHERE id = $1")
        .bind(id)
        .bind(status)
        .execute(pool)
        .await
        .unwrap();
    id
}

/// A record of `kind` on `machine` on January `day` (pinned), with `fields`.
async fn record(pool: &PgPool, kind: &str, machine: i64, day: u32, fields: &[(&str, &str)]) -> i64 {
    let at = pinned(&format!("2025-01-{day:02}T12:00:00Z"));
    let new = NewRecord {
        machine_id: Some(machine),
        description: format!("{kind} on day {day}"),
        fields: fields
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect::<BTreeMap<_, _>>(),
        occurred_at: at,
        // The status rule's log entry takes this time: pinned as well.
        created_at: at,
        ..new_record(kind)
    };
    create_record(pool, &shipped_workflows().kinds, &new)
        .await
        .unwrap_or_else(|err| panic!("{kind}: {err}"))
        .id
}

fn day(day: u32) -> String {
    pinned(&format!("2025-01-{day:02}T12:00:00Z"))
        .format("%Y-%m-%d %H:%M UTC")
        .to_string()
}

/// Gorgar: an unplayable report (the rule breaks it), a minor one, a closed
/// major one, a log entry on day 14. Xenon: broken by hand, no records.
/// Attack from Mars: good, a minor report (day 5) and a members-only part
/// request (day 20). Black Knight: fixing. Zaccaria: never set.
async fn seed(pool: &PgPool) {
    let gorgar = machine(pool, "gorgar", "Gorgar", "good").await;
    machine(pool, "xenon", "Xenon", "broken").await;
    let mars = machine(pool, "attack-from-mars", "Attack from Mars", "good").await;
    machine(pool, "black-knight", "Black Knight", "fixing").await;
    add_machine(pool, "zaccaria", "Zaccaria").await;
    record(
        pool,
        "problem_report",
        gorgar,
        10,
        &[("priority", "unplayable")],
    )
    .await;
    record(pool, "problem_report", gorgar, 11, &[("priority", "minor")]).await;
    record(pool, "problem_report", gorgar, 12, &[("priority", "minor")]).await;
    record(
        pool,
        "problem_report",
        gorgar,
        13,
        &[("priority", "major"), ("status", "closed")],
    )
    .await;
    record(pool, "log_entry", gorgar, 14, &[]).await;
    record(pool, "problem_report", mars, 5, &[("priority", "minor")]).await;
    record(pool, "part_request", mars, 20, &[]).await;
}

/// Where each name first appears in `body`, in the order given.
fn positions(body: &str, names: &[&str]) -> Vec<usize> {
    names
        .iter()
        .map(|name| {
            body.find(&format!(">{name}</a>"))
                .unwrap_or_else(|| panic!("{name} is listed: {body}"))
        })
        .collect()
}

/// The card of `name`: from its link to the next card.
fn card<'a>(body: &'a str, name: &str) -> &'a str {
    let start = body
        .find(&format!(">{name}</a>"))
        .unwrap_or_else(|| panic!("{name} is listed"));
    let rest = &body[start..];
    &rest[..rest.find("</article>").unwrap_or(rest.len())]
}

#[sqlx::test(migrations = "./migrations")]
async fn broken_machines_come_first_with_open_reports_by_priority_and_last_activity(pool: PgPool) {
    seed(&pool).await;
    let site = Site::start(pool.clone(), |_| {}).await;
    let mut visitor = Browser::new();
    let page = visitor.get(&site.url("/machines/")).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let body = page.body.replace("&#x2f;", "/");

    let order = positions(
        &body,
        &[
            "Gorgar",
            "Xenon",
            "Attack from Mars",
            "Black Knight",
            "Zaccaria",
        ],
    );
    assert!(order.windows(2).all(|w| w[0] < w[1]), "{order:?}: {body}");
    assert!(body.contains("2 machines out of service"), "{body}");

    let gorgar = card(&body, "Gorgar");
    assert!(gorgar.contains("❌ Broken"), "{gorgar}");
    // The unplayable report broke it, the closed major one is not counted,
    // and priorities come in their declared order.
    assert!(
        gorgar.contains("⚠️ Problem report: 1 unplayable, 2 minor</div>"),
        "{gorgar}"
    );
    assert!(gorgar.contains(&day(14)), "the log entry: {gorgar}");
    assert!(
        body.contains("<a href=\"/machines/gorgar/\">Gorgar</a>"),
        "links its page: {body}"
    );

    let mars = card(&body, "Attack from Mars");
    assert!(mars.contains("✅ Good"), "{mars}");
    assert!(mars.contains("Problem report: 1 minor"), "{mars}");
    // The members-only part request is neither counted nor dated.
    assert!(!mars.contains("Part request"), "{mars}");
    assert!(mars.contains(&day(5)) && !mars.contains(&day(20)), "{mars}");

    let knight = card(&body, "Black Knight");
    assert!(knight.contains("🔧 Fixing"), "{knight}");
    assert!(
        knight.contains("Nothing open") && knight.contains("none yet"),
        "{knight}"
    );
    // A status nobody declared shows as stored, after the declared ones.
    assert!(card(&body, "Zaccaria").contains("unknown"), "{body}");

    // A member sees the part request in the counts and the dates.
    site.fake.add_member(RUTH);
    let mut member = Browser::new();
    let done = member
        .sign_in(&site, &FakeUser::member(RUTH, "ruth"), "/machines/")
        .await;
    assert_eq!(done.status, 303, "{}", done.body);
    let page = member.get(&site.url("/machines/")).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let body = page.body.replace("&#x2f;", "/");
    let mars = card(&body, "Attack from Mars");
    assert!(mars.contains("📦 Part request: 1 open"), "{mars}");
    assert!(mars.contains(&day(20)), "{mars}");
}

#[sqlx::test(migrations = "./migrations")]
async fn the_index_links_to_the_overview_first(pool: PgPool) {
    seed(&pool).await;
    let site = Site::start(pool, |_| {}).await;
    let page = Browser::new().get(&site.url("/")).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let body = page.body.replace("&#x2f;", "/");
    let main = &body[body.find("<main>").expect("a main element")..];
    let first_link = &main[main.find("<a ").expect("a link")..];
    assert!(
        first_link.starts_with("<a href=\"/machines/\">"),
        "the first link of the page's content: {main}"
    );
    assert!(main.contains("2 machines out of service"), "{main}");
}

#[sqlx::test(migrations = "./migrations")]
async fn the_overview_counts_open_records_of_every_status_but_the_closed_ones(pool: PgPool) {
    let kinds = &shipped_workflows().kinds;
    let mars = machine(&pool, "attack-from-mars", "Attack from Mars", "good").await;
    record(&pool, "problem_report", mars, 3, &[("priority", "task")]).await;
    // Statuses `open` never declared (imported, or from an older
    // declaration) are open as everywhere else; no status at all too.
    for status in [Some("waiting"), None, Some("closed")] {
        sqlx::query(
            "INSERT INTO records (kind, machine_id, status, description, fields, author_name,
                                  occurred_at, created_via)
             VALUES ('problem_report', $1, $2, 'legacy', '{\"priority\": \"major\"}', 'Ruth',
                     $3, 'cli')",
        )
        .bind(mars)
        .bind(status)
        .bind(pinned("2025-01-02T12:00:00Z"))
        .execute(&pool)
        .await
        .unwrap();
    }
    let everyone = Visible::for_viewer(kinds, |_| true);
    let listed = machines_overview(&mut pool.acquire().await.unwrap(), kinds, &everyone)
        .await
        .unwrap();
    assert_eq!(listed.len(), 1);
    let count = |choice: &str, count: i64| OpenCount {
        kind: "problem_report".into(),
        choice: Some(choice.into()),
        count,
    };
    assert_eq!(listed[0].open, vec![count("major", 2), count("task", 1)]);
    assert_eq!(
        listed[0].last_activity,
        Some(pinned("2025-01-03T12:00:00Z"))
    );
    // Nobody may see problem reports: nothing counted, nothing dated.
    let nobody = Visible::for_viewer(kinds, |_| false);
    let listed = machines_overview(&mut pool.acquire().await.unwrap(), kinds, &nobody)
        .await
        .unwrap();
    assert_eq!(listed[0].open, Vec::new());
    assert_eq!(listed[0].last_activity, None);
}
