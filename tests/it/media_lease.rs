//! docs/operating.md on photo copies, with the shipped worker configuration
//! (`serve::media_worker_config`): a copy claimed by a process that died is
//! taken over once its lease ends; a copy that keeps failing is tried 6
//! times with a growing wait.

use chrono::Duration;
use flipfix_bot::app::App;
use flipfix_bot::config::{Secrets, Settings};
use flipfix_bot::media::{CopyStep, MediaWorker};
use flipfix_bot::records::{create_record, NewRecord};
use sqlx::PgPool;

use super::media::photo;
use crate::support::fake_cdn::{FakeCdn, Mode, PNG};
use crate::support::{add_machine, new_record, shipped_workflows};

async fn shipped_worker(pool: &PgPool) -> MediaWorker {
    let app = App::new(
        pool.clone(),
        crate::support::run_config(Secrets::default()),
        shipped_workflows(),
    );
    let mut config = flipfix_bot::serve::media_worker_config(&app);
    // Only the fake CDN's address differs from a running bot.
    config.allow_loopback = true;
    MediaWorker::new(pool.clone(), Settings::new(pool.clone(), true), config)
}

async fn one_photo(pool: &PgPool, cdn: &FakeCdn) {
    let url = cdn.add("coil.png", "image/png", PNG);
    let record = NewRecord {
        media: vec![photo(&url, "coil.png", PNG.len() as i64)],
        machine_id: Some(add_machine(pool, "gorgar", "Gorgar").await),
        ..new_record("problem_report")
    };
    create_record(pool, &shipped_workflows().kinds, &record)
        .await
        .expect("record");
}

#[sqlx::test(migrations = "./migrations")]
async fn a_copy_claimed_by_a_dead_process_is_taken_over_when_its_lease_ends(pool: PgPool) {
    let cdn = FakeCdn::start().await;
    one_photo(&pool, &cdn).await;
    let worker = shipped_worker(&pool).await;
    let now = crate::support::time::real_now();
    // A process claimed it with the shipped lease, then died mid-download.
    sqlx::query(
        "UPDATE record_media SET copy_claimed_until = $1, copy_attempts = 1, copy_due_at = $2",
    )
    .bind(now + Duration::minutes(2))
    .bind(now)
    .execute(&pool)
    .await
    .unwrap();
    assert_eq!(
        worker.step(now + Duration::seconds(119)).await.unwrap(),
        CopyStep::Idle,
        "the lease is still held"
    );
    assert_eq!(cdn.requests(), 0);
    let step = worker.step(now + Duration::minutes(2)).await.unwrap();
    assert!(
        matches!(step, CopyStep::Stored { .. }),
        "taken over: {step:?}"
    );
}

#[sqlx::test(migrations = "./migrations")]
async fn a_failing_copy_is_tried_6_times_with_a_growing_wait(pool: PgPool) {
    let cdn = FakeCdn::start().await;
    cdn.set_mode(Mode::Failing);
    one_photo(&pool, &cdn).await;
    let worker = shipped_worker(&pool).await;
    let mut now = crate::support::time::real_now();
    let mut waits = Vec::new();
    loop {
        match worker.step(now).await.unwrap() {
            CopyStep::Retry { at, .. } => {
                waits.push(at - now);
                now = at;
            }
            CopyStep::Failed { .. } => break,
            other => panic!("after {} tries: {other:?}", waits.len() + 1),
        }
    }
    assert_eq!(cdn.requests(), 6, "6 attempts in all");
    assert_eq!(waits.len(), 5);
    assert!(
        waits.iter().all(|wait| *wait <= Duration::minutes(30)),
        "{waits:?}"
    );
    // 30 s doubling with jitter (half to all of it): the 5th wait is 4 to
    // 8 minutes. With 6 attempts the 30-minute cap is never reached; its
    // value is pinned in shipped_defaults.rs.
    assert!(
        waits[4] >= Duration::minutes(4) && waits[4] <= Duration::minutes(8) + Duration::seconds(5),
        "backoff grows: {waits:?}"
    );
}
