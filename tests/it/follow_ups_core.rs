//! Duplicates and follow-ups (issue #12), the core: `closed_statuses`
//! validation, the similarity query over open records (real Postgres), the
//! review store's Attach, and where gathering says a conversation started.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, TimeZone, Utc};
use flipfix_bot::analysis::scenario::Scenario;
use flipfix_bot::records::open::{likely_duplicate, open_on_machines};
use flipfix_bot::records::{create_record, NewRecord};
use flipfix_bot::template_check::load_workflows;
use serde_json::json;
use sqlx::PgPool;

use crate::support::{add_machine, copy_workflows, new_record, shipped_workflows};

fn at(day: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 1, day, 12, 0, 0)
        .single()
        .unwrap()
}

async fn report(pool: &PgPool, machine: i64, status: &str, text: &str, when: DateTime<Utc>) -> i64 {
    let workflows = shipped_workflows();
    let new = NewRecord {
        machine_id: Some(machine),
        description: text.into(),
        fields: BTreeMap::from([("status".to_string(), status.to_string())]),
        occurred_at: when,
        ..new_record("problem_report")
    };
    create_record(pool, &workflows.kinds, &new)
        .await
        .unwrap()
        .id
}

const REPORTED: &str =
    "Left flipper on Twilight Zone is weak, it can't make the ramp shots anymore.";
const AGAIN: &str = "The left flipper is weak and can't make the ramp shots.";

/// The similarity query offers an open, recent, similar record of the same
/// kind on the same machine, and nothing else: an identical text that is
/// closed, on another machine or older than the window is never offered.
#[sqlx::test(migrations = "./migrations")]
async fn only_open_recent_similar_records_on_the_machine_are_offered(pool: PgPool) {
    let workflows = shipped_workflows();
    let problem = workflows.kinds.get("problem_report").unwrap();
    let tz = add_machine(&pool, "twilight-zone", "Twilight Zone").await;
    let mm = add_machine(&pool, "medieval-madness", "Medieval Madness").await;
    let open = report(&pool, tz, "open", REPORTED, at(13)).await;
    // Identical text scores higher than `open`: were any filter missing, it
    // would win.
    report(&pool, tz, "closed", AGAIN, at(14)).await;
    report(&pool, mm, "open", AGAIN, at(14)).await;
    report(&pool, tz, "open", AGAIN, at(15) - Duration::days(40)).await;
    report(&pool, tz, "open", "The castle gate motor is noisy.", at(14)).await;

    let found = likely_duplicate(&pool, problem, tz, AGAIN, at(15))
        .await
        .unwrap();
    let found = found.expect("the open report two days earlier");
    assert_eq!(found.record_id, open);
    assert!(found.similarity >= 0.35, "{found:?}");

    // Log entries track no open state: never a duplicate.
    let log = workflows.kinds.get("log_entry").unwrap();
    assert_eq!(
        likely_duplicate(&pool, log, tz, AGAIN, at(15))
            .await
            .unwrap(),
        None
    );

    // Once it is closed, nothing is offered.
    sqlx::query("UPDATE records SET status = 'closed' WHERE id = $1")
        .bind(open)
        .execute(&pool)
        .await
        .unwrap();
    assert_eq!(
        likely_duplicate(&pool, problem, tz, AGAIN, at(15))
            .await
            .unwrap(),
        None
    );

    // The prompt's list: open records of the machine, any age, newest first.
    let listed: Vec<i64> = open_on_machines(&pool, &workflows.kinds, &[tz], 15)
        .await
        .unwrap()
        .iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(
        listed.len(),
        2,
        "the noisy gate and the old report: {listed:?}"
    );
    let limited = open_on_machines(&pool, &workflows.kinds, &[tz], 1)
        .await
        .unwrap();
    assert_eq!(limited.len(), 1);
    assert_eq!(limited[0].description, "The castle gate motor is noisy.");
}

/// `closed_statuses` must name choices of the status field: a wrong one is
/// reported at its line and column.
#[test]
fn a_closed_status_that_is_no_choice_is_reported_at_its_line() {
    let dir = copy_workflows();
    let path = dir.path().join("workflows/record_kinds.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    let text = text.replace(
        "closed_statuses: [closed]",
        "closed_statuses: [closed, done]",
    );
    std::fs::write(&path, &text).unwrap();
    let line = text
        .lines()
        .position(|l| l.contains("closed_statuses: [closed, done]"))
        .unwrap()
        + 1;
    let problems = load_workflows(&dir.path().join("workflows"), &dir.path().join("prompts"))
        .expect_err("refused")
        .to_string();
    assert!(
        problems.contains(&format!("record_kinds.yaml:{line}:"))
            && problems.contains("closed status `done` is not one of the status field's choices"),
        "{problems}"
    );
}

/// Attach in the review store: the report becomes a log entry on the open
/// report (its priority, which log entries lack, dropped), its attempt goes
/// under that report too, a second Attach changes nothing, and an item with
/// no duplicate cannot be attached. A machine edit drops a stale hint.
#[sqlx::test(migrations = "./migrations")]
async fn attaching_a_report_puts_it_and_its_children_under_the_open_report(pool: PgPool) {
    use flipfix_bot::records::{Author, SourceMessage};
    use flipfix_bot::review::duplicates::find_and_store;
    use flipfix_bot::review::{
        Decision, DecisionOutcome, NewSession, ReviewError, ReviewItem, ReviewStore, StartOutcome,
    };

    let workflows = shipped_workflows();
    let tz = add_machine(&pool, "twilight-zone", "Twilight Zone").await;
    let open = report(&pool, tz, "open", REPORTED, at(13)).await;
    let owner = 630_000_000_000_000_001;
    let item = |kind: &str, machine_id, description: &str| ReviewItem {
        kind: kind.into(),
        machine_id,
        machine_hint: None,
        description: description.into(),
        fields: BTreeMap::new(),
        parent_record_id: None,
        sources: vec![SourceMessage {
            guild_id: Some(1),
            channel_id: 2,
            message_id: 630_000_000_000_000_100,
        }],
        author: Author::Name("Vic".into()),
        author_hint: None,
        occurred_at: at(15),
        media: Vec::new(),
        resolves: false,
    };
    let mut report_item = item("problem_report", Some(tz), AGAIN);
    report_item.fields.insert("priority".into(), "major".into());
    let store = ReviewStore::new(pool.clone());
    let new = NewSession {
        guild_id: Some(1),
        channel_id: 2,
        target_message_id: 630_000_000_000_000_100,
        owner_user_id: owner,
        owner_name: "Bob".into(),
        expires_at: crate::support::time::real_now() + Duration::hours(1),
    };
    let StartOutcome::Started(session) = store
        .start(&new, crate::support::time::real_now())
        .await
        .unwrap()
    else {
        panic!("a new session");
    };
    store
        .set_items(
            session,
            &[
                (report_item, None),
                (
                    item("log_entry", None, "Tried a new coil sleeve, still weak."),
                    Some(0),
                ),
                (item("part_request", None, "A new flipper coil."), None),
            ],
        )
        .await
        .unwrap();
    assert_eq!(
        find_and_store(&pool, &workflows.kinds, session)
            .await
            .unwrap(),
        1
    );
    let loaded = store.load(session).await.unwrap();
    assert_eq!(
        loaded.items[0].duplicate.as_ref().map(|d| d.record_id),
        Some(open)
    );
    assert!(loaded.items[1].duplicate.is_none() && loaded.items[2].duplicate.is_none());

    // Editing the text keeps the hint; choosing another machine drops it.
    let mut edited = loaded.items[0].item.clone();
    edited.description.push_str(" Seen twice today.");
    let kept = store
        .edit(session, 0, &edited, owner, crate::support::time::real_now())
        .await
        .unwrap();
    assert!(kept.items[0].duplicate.is_some());
    let mm = add_machine(&pool, "medieval-madness", "Medieval Madness").await;
    edited.machine_id = Some(mm);
    let dropped = store
        .edit(session, 0, &edited, owner, crate::support::time::real_now())
        .await
        .unwrap();
    assert!(dropped.items[0].duplicate.is_none());
    edited.machine_id = Some(tz);
    store
        .edit(session, 0, &edited, owner, crate::support::time::real_now())
        .await
        .unwrap();
    assert_eq!(
        find_and_store(&pool, &workflows.kinds, session)
            .await
            .unwrap(),
        1
    );

    let decide = |position, decision| {
        store.decide(
            &workflows.kinds,
            session,
            position,
            decision,
            owner,
            crate::support::time::real_now(),
        )
    };
    let (outcome, after) = decide(0, Decision::Attach).await.unwrap();
    let DecisionOutcome::Created {
        record_id: attached,
    } = outcome
    else {
        panic!("{outcome:?}");
    };
    assert_eq!(
        after.items[0].item.kind, "log_entry",
        "the card shows what was created"
    );
    assert_eq!(
        after.parent_record_id(1),
        Some(open),
        "the child follows its parent onto #{open}"
    );
    let (outcome, _) = decide(0, Decision::Attach).await.unwrap();
    assert!(
        matches!(outcome, DecisionOutcome::AlreadyDecided { .. }),
        "{outcome:?}"
    );
    let (outcome, _) = decide(1, Decision::Create).await.unwrap();
    let DecisionOutcome::Created { record_id: attempt } = outcome else {
        panic!("{outcome:?}");
    };
    let err = decide(2, Decision::Attach)
        .await
        .expect_err("nothing to attach to");
    assert!(
        matches!(&err, ReviewError::CannotAttach(why) if why.contains("no similar open record")),
        "{err:?}"
    );

    let rows: Vec<(i64, String, Option<i64>, serde_json::Value)> =
        sqlx::query_as("SELECT id, kind, parent_id, fields FROM records ORDER BY id")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(
        rows,
        vec![
            (
                open,
                "problem_report".into(),
                None,
                json!({"status": "open", "priority": "untriaged", "problem_type": "other"})
            ),
            (attached, "log_entry".into(), Some(open), json!({})),
            (attempt, "log_entry".into(), Some(open), json!({})),
        ]
    );
}

/// Gathering remembers where a thread or reply chain started (the message
/// whose record a follow-up belongs to); a plain channel has no origin.
#[tokio::test]
async fn gathering_marks_the_thread_starter_and_the_reply_chain_origin() {
    use flipfix_bot::analysis::gather::gather;
    let workflows = shipped_workflows();
    let windows = &flipfix_bot::analysis::menu(&workflows).unwrap().windows;
    for (name, origin) in [
        ("thread_with_preroll", Some(64)),
        ("reply_chain_fix", Some(66)),
        ("completed_work_simple_fix", None),
    ] {
        let path = crate::support::shared_dir().join(format!("scenarios/flipfix-eval/{name}.yaml"));
        let scenario = Scenario::load(&path).unwrap();
        let conversation = gather(
            &scenario,
            windows,
            None,
            scenario.target_channel_id,
            scenario.target_id,
        )
        .await
        .unwrap();
        assert_eq!(conversation.origin_message_id, origin, "{name}");
    }
}
