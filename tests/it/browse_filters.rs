//! The index's filters (`records::browse::latest`) on a real database: the
//! author matches a maintainer's username or display name or a kept author
//! name, case-insensitively, alone and with a machine (whose page is found
//! in the machine's list index first); a machine's filtered list pages by
//! position in both directions without repeating or skipping a record.

use flipfix_bot::records::browse::{latest, Filter, PageRequest, Seek, Visible};
use sqlx::PgPool;

use crate::support::time::pinned;
use crate::support::{add_machine, shipped_workflows};

struct Seeded {
    /// On Gorgar: by the maintainer ruth (a log, then a report), by the
    /// kept name "RUTH" (a log), by Bob (a log).
    ruth_log: i64,
    ruth_report: i64,
    kept_name_log: i64,
    bob_log: i64,
    /// Ruth's log on another machine.
    elsewhere: i64,
}

async fn record(
    pool: &PgPool,
    kind: &str,
    machine: i64,
    maintainer: Option<i64>,
    name: Option<&str>,
    hour: u32,
) -> i64 {
    sqlx::query_scalar(
        "INSERT INTO records (kind, machine_id, status, description, author_maintainer_id,
                              author_name, occurred_at, created_via)
         VALUES ($1, $2, CASE WHEN $1 = 'problem_report' THEN 'open' END, $1 || ' at ' || $6,
                 $3, $4, $5, 'cli')
         RETURNING id",
    )
    .bind(kind)
    .bind(machine)
    .bind(maintainer)
    .bind(name)
    .bind(pinned(&format!("2025-03-01T{hour:02}:00:00Z")))
    .bind(hour.to_string())
    .fetch_one(pool)
    .await
    .unwrap()
}

async fn seed(pool: &PgPool) -> Seeded {
    let gorgar = add_machine(pool, "gorgar", "Gorgar").await;
    let xenon = add_machine(pool, "xenon", "Xenon").await;
    let ruth: i64 = sqlx::query_scalar(
        "INSERT INTO maintainers (username, display_name) VALUES ('ruth', 'Ruth Q') RETURNING id",
    )
    .fetch_one(pool)
    .await
    .unwrap();
    Seeded {
        ruth_log: record(pool, "log_entry", gorgar, Some(ruth), None, 1).await,
        ruth_report: record(pool, "problem_report", gorgar, Some(ruth), None, 2).await,
        kept_name_log: record(pool, "log_entry", gorgar, None, Some("RUTH"), 3).await,
        bob_log: record(pool, "log_entry", gorgar, None, Some("Bob"), 4).await,
        elsewhere: record(pool, "log_entry", xenon, Some(ruth), None, 5).await,
    }
}

async fn ids(pool: &PgPool, filter: Filter) -> Vec<i64> {
    let everyone = Visible::for_viewer(&shipped_workflows().kinds, |_| true);
    let listed = latest(
        &mut pool.acquire().await.unwrap(),
        &everyone,
        &filter,
        PageRequest::new(1, 25),
    )
    .await
    .unwrap();
    listed.items.iter().map(|s| s.id).collect()
}

fn by(author: &str) -> Filter {
    Filter {
        author: Some(author.into()),
        ..Filter::default()
    }
}

fn on_gorgar(filter: Filter) -> Filter {
    Filter {
        machine_slug: Some("gorgar".into()),
        ..filter
    }
}

#[sqlx::test(migrations = "./migrations")]
async fn the_author_is_a_username_a_display_name_or_a_kept_name(pool: PgPool) {
    let s = seed(&pool).await;
    let ruths = vec![s.elsewhere, s.kept_name_log, s.ruth_report, s.ruth_log];
    assert_eq!(ids(&pool, by("Ruth")).await, ruths);
    assert_eq!(
        ids(&pool, by("ruth q")).await,
        [s.elsewhere, s.ruth_report, s.ruth_log]
    );
    assert_eq!(ids(&pool, by("bob")).await, [s.bob_log]);
    assert_eq!(ids(&pool, by("nobody")).await, Vec::<i64>::new());

    // With a machine: the same matches, on that machine only.
    assert_eq!(
        ids(&pool, on_gorgar(by("RUTH"))).await,
        [s.kept_name_log, s.ruth_report, s.ruth_log]
    );
    let ruths_logs = Filter {
        kind: Some("log_entry".into()),
        ..on_gorgar(by("ruth"))
    };
    assert_eq!(ids(&pool, ruths_logs).await, [s.kept_name_log, s.ruth_log]);
    assert_eq!(
        ids(&pool, on_gorgar(by("ruth q"))).await,
        [s.ruth_report, s.ruth_log]
    );
    assert_eq!(ids(&pool, on_gorgar(by("nobody"))).await, Vec::<i64>::new());
    let unknown_machine = Filter {
        machine_slug: Some("no-such-machine".into()),
        ..Filter::default()
    };
    assert_eq!(ids(&pool, unknown_machine).await, Vec::<i64>::new());
}

#[sqlx::test(migrations = "./migrations")]
async fn a_machines_filtered_list_pages_by_position_both_ways(pool: PgPool) {
    let gorgar = add_machine(&pool, "gorgar", "Gorgar").await;
    let mut logs = Vec::new();
    for hour in 1..=7 {
        logs.push(record(&pool, "log_entry", gorgar, None, Some("Ruth"), hour).await);
        record(&pool, "problem_report", gorgar, None, Some("Ruth"), hour).await;
    }
    logs.reverse();
    let everyone = Visible::for_viewer(&shipped_workflows().kinds, |_| true);
    let filter = Filter {
        kind: Some("log_entry".into()),
        ..on_gorgar(by("ruth"))
    };
    let mut conn = pool.acquire().await.unwrap();
    let mut seen: Vec<i64> = Vec::new();
    let mut pages = Vec::new();
    let mut page = PageRequest::new(1, 3);
    loop {
        let listed = latest(&mut conn, &everyone, &filter, page).await.unwrap();
        let on_page: Vec<i64> = listed.items.iter().map(|s| s.id).collect();
        seen.extend(&on_page);
        pages.push((page, on_page, listed.newer));
        match listed.older {
            Some(older) => page = PageRequest::at(page.number + 1, 3, Seek::After(older)),
            None => break,
        }
    }
    assert_eq!(seen, logs, "every log once, newest first");
    assert_eq!(pages.len(), 3);
    // Back from the last page by its "newer" link: the page before it.
    let (_, second, _) = &pages[1];
    let (last, _, newer) = &pages[2];
    let newer = newer.expect("the last page links back");
    let back = latest(
        &mut conn,
        &everyone,
        &filter,
        PageRequest::at(last.number - 1, 3, Seek::Before(newer)),
    )
    .await
    .unwrap();
    let back: Vec<i64> = back.items.iter().map(|s| s.id).collect();
    assert_eq!(&back, second);
    // An old `?page=2` link (counted) lands on the same records.
    let counted = latest(&mut conn, &everyone, &filter, PageRequest::new(2, 3))
        .await
        .unwrap();
    let counted: Vec<i64> = counted.items.iter().map(|s| s.id).collect();
    assert_eq!(&counted, second);
}
