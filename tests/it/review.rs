//! Review sessions in Postgres: one review per message, exactly-once
//! creation, parents before children, owners, expiry.

use std::collections::BTreeMap;

use chrono::Duration;
use flipfix_bot::records::{Author, SourceMessage};
use flipfix_bot::review::{
    Decision, DecisionOutcome, ItemState, NewSession, ReviewError, ReviewItem, ReviewStore,
    SessionStatus, StartOutcome,
};
use sqlx::PgPool;

use crate::support::{add_machine, shipped_workflows};

const OWNER: u64 = 620_000_000_000_000_001;
const OTHER: u64 = 620_000_000_000_000_002;
const MESSAGE: u64 = 620_000_000_000_000_100;

fn session() -> NewSession {
    NewSession {
        guild_id: Some(1),
        channel_id: 2,
        target_message_id: MESSAGE,
        owner_user_id: OWNER,
        owner_name: "Bob Wilson".into(),
        expires_at: crate::support::time::real_now() + Duration::hours(24),
    }
}

pub(crate) fn item(kind: &str, machine_id: Option<i64>) -> ReviewItem {
    ReviewItem {
        kind: kind.into(),
        machine_id,
        machine_hint: None,
        description: format!("a suggested {kind}"),
        fields: BTreeMap::new(),
        parent_record_id: None,
        sources: vec![SourceMessage {
            guild_id: Some(1),
            channel_id: 2,
            message_id: MESSAGE,
        }],
        author: Author::Name("Bob Wilson".into()),
        author_hint: None,
        occurred_at: crate::support::time::real_now(),
        media: Vec::new(),
        resolves: false,
    }
}

async fn started(store: &ReviewStore) -> i64 {
    match store
        .start(&session(), crate::support::time::real_now())
        .await
        .unwrap()
    {
        StartOutcome::Started(id) => id,
        other => panic!("expected a new session, got {other:?}"),
    }
}

async fn record_count(pool: &PgPool) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM records")
        .fetch_one(pool)
        .await
        .unwrap()
}

#[sqlx::test(migrations = "./migrations")]
async fn one_active_review_per_message_even_when_started_at_once(pool: PgPool) {
    let store = ReviewStore::new(pool.clone());
    let (first, second) = (session(), session());
    let (a, b) = tokio::join!(
        store.start(&first, crate::support::time::real_now()),
        store.start(&second, crate::support::time::real_now())
    );
    let outcomes = [a.unwrap(), b.unwrap()];
    let started = outcomes
        .iter()
        .filter(|o| matches!(o, StartOutcome::Started(_)))
        .count();
    assert_eq!(started, 1, "{outcomes:?}");
    let busy = outcomes
        .iter()
        .find(|o| matches!(o, StartOutcome::AlreadyActive { .. }))
        .unwrap();
    assert!(
        matches!(busy, StartOutcome::AlreadyActive { owner_name, .. } if owner_name == "Bob Wilson")
    );
}

#[sqlx::test(migrations = "./migrations")]
async fn create_happens_once_however_often_it_is_clicked(pool: PgPool) {
    let kinds = shipped_workflows().kinds.clone();
    let gorgar = add_machine(&pool, "gorgar", "Gorgar").await;
    let store = ReviewStore::new(pool.clone());
    let id = started(&store).await;
    store
        .set_items(
            id,
            &[
                (item("problem_report", Some(gorgar)), None),
                (item("part_request", None), None),
            ],
        )
        .await
        .unwrap();

    // Two concurrent clicks, then a retry.
    let now = crate::support::time::real_now();
    let (a, b) = tokio::join!(
        store.decide(&kinds, id, 0, Decision::Create, OWNER, now),
        store.decide(&kinds, id, 0, Decision::Create, OWNER, now)
    );
    let outcomes = [a.unwrap().0, b.unwrap().0];
    assert_eq!(
        outcomes
            .iter()
            .filter(|o| matches!(o, DecisionOutcome::Created { .. }))
            .count(),
        1,
        "{outcomes:?}"
    );
    assert!(outcomes.iter().any(|o| matches!(
        o,
        DecisionOutcome::AlreadyDecided {
            state: ItemState::Created,
            ..
        }
    )));
    let (retry, session) = store
        .decide(&kinds, id, 0, Decision::Create, OWNER, now)
        .await
        .unwrap();
    assert!(matches!(retry, DecisionOutcome::AlreadyDecided { .. }));
    assert_eq!(record_count(&pool).await, 1);
    assert_eq!(
        session.current_position, 1,
        "moved on to the next suggestion"
    );

    let (_, session) = store
        .decide(&kinds, id, 1, Decision::Skip, OWNER, now)
        .await
        .unwrap();
    assert_eq!(session.status, SessionStatus::Finished);
    assert_eq!(record_count(&pool).await, 1);
}

#[sqlx::test(migrations = "./migrations")]
async fn children_follow_their_parent(pool: PgPool) {
    let kinds = shipped_workflows().kinds.clone();
    let gorgar = add_machine(&pool, "gorgar", "Gorgar").await;
    let store = ReviewStore::new(pool.clone());
    let id = started(&store).await;
    let mut update = item("part_request_update", None);
    update.fields.insert("new_status".into(), "ordered".into());
    store
        .set_items(
            id,
            &[
                (item("problem_report", Some(gorgar)), None),
                (item("log_entry", None), Some(0)),
                (item("part_request", None), None),
                (update, Some(2)),
            ],
        )
        .await
        .unwrap();
    let now = crate::support::time::real_now();
    let (created, _) = store
        .decide(&kinds, id, 0, Decision::Create, OWNER, now)
        .await
        .unwrap();
    let DecisionOutcome::Created { record_id: report } = created else {
        panic!("{created:?}")
    };
    let (created, _) = store
        .decide(&kinds, id, 1, Decision::Create, OWNER, now)
        .await
        .unwrap();
    let DecisionOutcome::Created { record_id: log } = created else {
        panic!("{created:?}")
    };
    let (parent, machine): (Option<i64>, Option<i64>) =
        sqlx::query_as("SELECT parent_id, machine_id FROM records WHERE id = $1")
            .bind(log)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(
        (parent, machine),
        (Some(report), Some(gorgar)),
        "linked to the parent created first"
    );

    // Skipping a parent skips its children.
    let (skipped, session) = store
        .decide(&kinds, id, 2, Decision::Skip, OWNER, now)
        .await
        .unwrap();
    assert_eq!(
        skipped,
        DecisionOutcome::Skipped {
            also_skipped: vec![3]
        }
    );
    assert_eq!(session.status, SessionStatus::Finished);
    assert_eq!(record_count(&pool).await, 2);
}

#[sqlx::test(migrations = "./migrations")]
async fn only_the_owner_acts_and_expired_reviews_say_so(pool: PgPool) {
    let kinds = shipped_workflows().kinds.clone();
    let store = ReviewStore::new(pool.clone());
    let id = started(&store).await;
    store
        .set_items(id, &[(item("part_request", None), None)])
        .await
        .unwrap();

    let err = store
        .decide(
            &kinds,
            id,
            0,
            Decision::Create,
            OTHER,
            crate::support::time::real_now(),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ReviewError::NotOwner { owner_name } if owner_name == "Bob Wilson"),
        "{err}"
    );
    assert!(err.to_string().contains("Bob Wilson"));

    let later = crate::support::time::real_now() + Duration::hours(25);
    let err = store
        .decide(&kinds, id, 0, Decision::Create, OWNER, later)
        .await
        .unwrap_err();
    assert!(matches!(err, ReviewError::Expired), "{err}");
    assert!(err.to_string().contains("expired"));
    assert_eq!(record_count(&pool).await, 0);
    assert_eq!(store.load(id).await.unwrap().status, SessionStatus::Expired);

    // The message is free for a new review.
    assert!(matches!(
        store.start(&session(), later).await.unwrap(),
        StartOutcome::Started(_)
    ));
}

#[sqlx::test(migrations = "./migrations")]
async fn an_unknown_machine_must_be_chosen_before_create(pool: PgPool) {
    let kinds = shipped_workflows().kinds.clone();
    let gorgar = add_machine(&pool, "gorgar", "Gorgar").await;
    let store = ReviewStore::new(pool.clone());
    let id = started(&store).await;
    let mut unknown = item("problem_report", None);
    unknown.machine_hint = Some("Gorgarr".into());
    store
        .set_items(id, &[(unknown.clone(), None)])
        .await
        .unwrap();

    let err = store
        .decide(
            &kinds,
            id,
            0,
            Decision::Create,
            OWNER,
            crate::support::time::real_now(),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&err, ReviewError::MachineUnknown(hint) if hint == "Gorgarr"),
        "{err}"
    );
    assert_eq!(record_count(&pool).await, 0);

    unknown.machine_id = Some(gorgar);
    store
        .edit(id, 0, &unknown, OWNER, crate::support::time::real_now())
        .await
        .unwrap();
    let (outcome, session) = store
        .decide(
            &kinds,
            id,
            0,
            Decision::Create,
            OWNER,
            crate::support::time::real_now(),
        )
        .await
        .unwrap();
    assert!(matches!(outcome, DecisionOutcome::Created { .. }));
    assert_eq!(session.status, SessionStatus::Finished);
}

#[sqlx::test(migrations = "./migrations")]
async fn cancel_ends_the_review_and_creates_nothing_more(pool: PgPool) {
    let kinds = shipped_workflows().kinds.clone();
    let store = ReviewStore::new(pool.clone());
    let id = started(&store).await;
    store
        .set_items(
            id,
            &[
                (item("part_request", None), None),
                (item("part_request", None), None),
            ],
        )
        .await
        .unwrap();
    store
        .decide(
            &kinds,
            id,
            0,
            Decision::Create,
            OWNER,
            crate::support::time::real_now(),
        )
        .await
        .unwrap();
    let session = store
        .cancel(id, OWNER, crate::support::time::real_now())
        .await
        .unwrap();
    assert_eq!(session.status, SessionStatus::Cancelled);
    let err = store
        .decide(
            &kinds,
            id,
            1,
            Decision::Create,
            OWNER,
            crate::support::time::real_now(),
        )
        .await
        .unwrap_err();
    assert!(matches!(err, ReviewError::Over), "{err}");
    assert_eq!(record_count(&pool).await, 1);
}

#[sqlx::test(migrations = "./migrations")]
async fn a_refused_record_leaves_the_item_pending(pool: PgPool) {
    let kinds = shipped_workflows().kinds.clone();
    let store = ReviewStore::new(pool.clone());
    let id = started(&store).await;
    let mut bad = item("part_request", None);
    bad.fields.insert("status".into(), "lost".into());
    store.set_items(id, &[(bad, None)]).await.unwrap();
    let err = store
        .decide(
            &kinds,
            id,
            0,
            Decision::Create,
            OWNER,
            crate::support::time::real_now(),
        )
        .await
        .unwrap_err();
    assert!(err.to_string().contains("`status` is `lost`"), "{err}");
    let session = store.load(id).await.unwrap();
    assert_eq!(session.items[0].state, ItemState::Pending);
    assert_eq!(session.status, SessionStatus::Reviewing);
}
