//! Records have a lifecycle (issue #23): a fix closes its report, every
//! status change is kept and shown, and closed records leave the open lists.
//! Real Postgres, the real dispatcher with the fake webhook. The Discord
//! commands and buttons are in `record_lifecycle_discord`.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use flipfix_bot::records::open::{likely_duplicate, open_on_machines};
use flipfix_bot::records::status::{create_resolving_in, history};
use flipfix_bot::records::{NewRecord, Record};
use sqlx::PgPool;

use crate::check_command::{check, edit, line_of};
use crate::notify::{description, drain, Env};
use crate::support::{add_machine, copy_workflows, new_record, shipped_workflows};

pub(crate) const BOB: u64 = 610_000_000_000_000_001;
const REPORT_TEXT: &str = "Left flipper is weak and sticks after a long game";

pub(crate) async fn status_of(pool: &PgPool, id: i64) -> (Option<String>, Option<String>) {
    sqlx::query_as("SELECT status, fields->>'status' FROM records WHERE id = $1")
        .bind(id)
        .fetch_one(pool)
        .await
        .unwrap()
}

fn fix_under(report: i64) -> NewRecord {
    NewRecord {
        parent_id: Some(report),
        description: "fixed it: new EOS switch".into(),
        created_by: Some(format!("discord:{BOB} (bob_the_fixer)")),
        ..new_record("log_entry")
    }
}

async fn create_fix(pool: &PgPool, new: &NewRecord, resolves: bool) -> Record {
    let mut tx = pool.begin().await.unwrap();
    let (record, _) = create_resolving_in(&mut tx, &shipped_workflows().kinds, new, resolves)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    record
}

#[sqlx::test(migrations = "./migrations")]
async fn a_fix_closes_its_report_and_keep_open_leaves_it_open(pool: PgPool) {
    let env = Env::new(pool.clone()).await;
    let kinds = &shipped_workflows().kinds;
    let problem_kind = kinds.get("problem_report").unwrap();
    let report = env
        .create(NewRecord {
            description: REPORT_TEXT.into(),
            ..new_record("problem_report")
        })
        .await;
    let kept = env
        .create(NewRecord {
            description: "Ball trough switch 3 is flaky".into(),
            ..new_record("problem_report")
        })
        .await;
    let occurred = new_record("problem_report").occurred_at;
    let duplicate = || likely_duplicate(&pool, problem_kind, env.machine, REPORT_TEXT, occurred);
    assert_eq!(
        duplicate().await.unwrap().map(|d| d.record_id),
        Some(report),
        "open, it is offered as a duplicate"
    );

    let fix = create_fix(&pool, &fix_under(report), true).await;
    let keep = create_fix(&pool, &fix_under(kept), false).await;

    assert_eq!(
        status_of(&pool, report).await,
        (Some("closed".into()), Some("closed".into()))
    );
    assert_eq!(
        status_of(&pool, kept).await,
        (Some("open".into()), Some("open".into()))
    );
    let entries: Vec<(i64, i64)> =
        sqlx::query_as("SELECT id, parent_id FROM records WHERE kind = 'log_entry' ORDER BY id")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(entries, vec![(fix.id, report), (keep.id, kept)]);

    let changes = history(&pool, report).await.unwrap();
    assert_eq!(changes.len(), 1, "{changes:?}");
    let change = &changes[0];
    assert_eq!(
        (change.from_status.as_deref(), change.to_status.as_str()),
        (Some("open"), "closed")
    );
    assert_eq!(change.changed_by_discord_id, Some(BOB));
    assert_eq!(change.who().as_deref(), Some("bob_the_fixer"));
    assert_eq!(change.via_record_id, Some(fix.id));
    // When, by the app's clock: the fix's own `created_at`.
    let fixed_at: DateTime<Utc> =
        sqlx::query_scalar("SELECT created_at FROM records WHERE id = $1")
            .bind(fix.id)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(change.changed_at, fixed_at);
    assert!(history(&pool, kept).await.unwrap().is_empty());

    // Closed, it leaves the duplicate check and the prompt's open records.
    assert_eq!(duplicate().await.unwrap(), None);
    let open: Vec<i64> = open_on_machines(&pool, kinds, &[env.machine], 15)
        .await
        .unwrap()
        .iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(open, vec![kept]);

    // The fix's notification says it closed the report; the other does not.
    let mut dispatcher = env.dispatcher();
    drain(&mut dispatcher, crate::support::time::real_now()).await;
    let bodies = env.checked_bodies();
    assert_eq!(bodies.len(), 4);
    assert!(
        description(&bodies[2]).contains(&format!("↳ ✅ closed #{report} (Problem report)")),
        "{}",
        description(&bodies[2])
    );
    assert!(
        description(&bodies[3]).contains(&format!("↳ Problem report #{kept}")),
        "{}",
        description(&bodies[3])
    );
    assert!(!description(&bodies[3]).contains("closed"));
}

#[sqlx::test(migrations = "./migrations")]
async fn a_part_update_that_changes_the_status_is_kept_in_the_history(pool: PgPool) {
    let env = Env::new(pool.clone()).await;
    let part = env.create(new_record("part_request")).await;
    let mut fields = BTreeMap::new();
    fields.insert("new_status".to_string(), "received".to_string());
    let update = env
        .create(NewRecord {
            parent_id: Some(part),
            fields,
            created_by: Some("discord:42 (ruth)".into()),
            ..new_record("part_request_update")
        })
        .await;
    let changes = history(&pool, part).await.unwrap();
    assert_eq!(changes.len(), 1, "{changes:?}");
    assert_eq!(
        (
            changes[0].from_status.as_deref(),
            changes[0].to_status.as_str(),
            changes[0].via_record_id,
            changes[0].changed_by_discord_id,
        ),
        (Some("requested"), "received", Some(update), Some(42))
    );
    // An update without a new status changes nothing and keeps nothing.
    env.create(NewRecord {
        parent_id: Some(part),
        ..new_record("part_request_update")
    })
    .await;
    assert_eq!(history(&pool, part).await.unwrap().len(), 1);
}

#[sqlx::test(migrations = "./migrations")]
async fn the_record_page_shows_the_status_history(pool: PgPool) {
    let seed = crate::web_pages::seed(&pool).await;
    let fix = create_fix(&pool, &fix_under(seed.problem), true).await;
    let site = crate::web_pages::Site::start(&pool).await;
    let (status, body, _) = site
        .get(&format!("/problem-reports/{}/", seed.problem))
        .await;
    assert_eq!(status, 200, "{body}");
    for expected in [
        "Status history",
        "open → <strong>closed</strong> by bob_the_fixer",
        &format!("<a href=\"/logs/{}/\">#{}</a>", fix.id, fix.id),
    ] {
        assert!(body.contains(expected), "missing {expected:?} in {body}");
    }
    let (_, body, _) = site.get(&format!("/logs/{}/", fix.id)).await;
    assert!(!body.contains("Status history"), "a log entry has none");
}

#[test]
fn check_refuses_a_resolves_parent_status_the_parent_does_not_close_with() {
    let dir = copy_workflows();
    edit(
        dir.path(),
        "workflows/record_kinds.yaml",
        "      status: closed",
        "      status: fixed",
    );
    let line = line_of(dir.path(), "workflows/record_kinds.yaml", "status: fixed");
    let run = check(dir.path());
    assert_ne!(run.code, 0);
    assert!(
        run.stdout.contains(&format!("record_kinds.yaml:{line}:")),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains(
            "resolves_parent.status `fixed` is not one of parent kind `problem_report`'s closed_statuses (closed)"
        ),
        "{}",
        run.stdout
    );
}

#[sqlx::test(migrations = "./migrations")]
async fn attach_and_close_attaches_to_the_duplicate_and_closes_it(pool: PgPool) {
    use flipfix_bot::review::duplicates::find_and_store;
    use flipfix_bot::review::{Decision, DecisionOutcome, ReviewItem, ReviewStore};
    let gorgar = add_machine(&pool, "gorgar", "Gorgar").await;
    let kinds = &shipped_workflows().kinds;
    let earlier = new_record("problem_report");
    let report = flipfix_bot::records::create_record(
        &pool,
        kinds,
        &NewRecord {
            machine_id: Some(gorgar),
            description: REPORT_TEXT.into(),
            ..earlier.clone()
        },
    )
    .await
    .unwrap()
    .id;
    let again = ReviewItem {
        occurred_at: earlier.occurred_at + chrono::Duration::days(1),
        ..crate::review_flow::item("problem_report", Some(gorgar), REPORT_TEXT)
    };
    let session =
        crate::review_flow::session(&pool, vec![(again, None)], chrono::Duration::hours(1)).await;
    assert_eq!(find_and_store(&pool, kinds, session).await.unwrap(), 1);
    let (outcome, _) = ReviewStore::new(pool.clone())
        .decide(
            kinds,
            session,
            0,
            Decision::AttachAndClose,
            crate::review_flow::OWNER,
            crate::support::time::real_now(),
        )
        .await
        .unwrap();
    let DecisionOutcome::Created { record_id: entry } = outcome else {
        panic!("{outcome:?}");
    };
    let (kind, parent): (String, Option<i64>) =
        sqlx::query_as("SELECT kind, parent_id FROM records WHERE id = $1")
            .bind(entry)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!((kind.as_str(), parent), ("log_entry", Some(report)));
    assert_eq!(status_of(&pool, report).await.0.as_deref(), Some("closed"));
    let changes = history(&pool, report).await.unwrap();
    assert_eq!(changes.len(), 1);
    assert_eq!(changes[0].via_record_id, Some(entry));
    assert_eq!(
        changes[0].changed_by_discord_id,
        Some(crate::review_flow::OWNER)
    );
}
