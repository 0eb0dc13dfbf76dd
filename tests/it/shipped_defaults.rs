//! The defaults the binary ships, read where the running bot reads them
//! (`serve`'s configs, the settings table, the constants the loops use),
//! not values a test set. Each matches what the docs state; tests that
//! need them shorter set them through the same config structs.

use chrono::Duration;
use flipfix_bot::app::App;
use flipfix_bot::config::{Secrets, SettingKey};
use flipfix_bot::summary::scheduler::{Outcome, MAX_SLEEP, RETRY_AFTER};
use sqlx::PgPool;

use crate::support::shipped_workflows;

async fn app(pool: &PgPool) -> std::sync::Arc<App> {
    App::new(
        pool.clone(),
        crate::support::run_config(Secrets::default()),
        shipped_workflows(),
    )
}

#[sqlx::test(migrations = "./migrations")]
async fn the_dispatcher_ships_a_2_minute_lease_a_15_s_timeout_and_a_10_minute_backoff_cap(
    pool: PgPool,
) {
    let config = flipfix_bot::serve::dispatcher_config(&*app(&pool).await);
    assert_eq!(config.lease, Duration::minutes(2));
    assert_eq!(config.http_timeout, std::time::Duration::from_secs(15));
    assert!(
        config.lease.to_std().unwrap() > config.http_timeout,
        "the lease outlives a call"
    );
    assert_eq!(config.backoff_base, Duration::seconds(2));
    assert_eq!(config.backoff_cap, Duration::minutes(10));
    assert_eq!(config.poll_interval, std::time::Duration::from_secs(60));
    assert!(config.listen);
}

#[sqlx::test(migrations = "./migrations")]
async fn the_media_worker_ships_a_lease_6_attempts_and_a_30_minute_cap(pool: PgPool) {
    let config = flipfix_bot::serve::media_worker_config(&*app(&pool).await);
    assert_eq!(config.lease, Duration::minutes(2));
    assert_eq!(config.max_attempts, 6);
    assert_eq!(config.backoff_base, Duration::seconds(30));
    assert_eq!(config.backoff_cap, Duration::minutes(30));
    assert!(!config.allow_loopback, "only Discord's CDN outside tests");
}

#[sqlx::test(migrations = "./migrations")]
async fn settings_ship_a_24_hour_review_expiry_and_5_notification_attempts(pool: PgPool) {
    let app = app(&pool).await;
    assert_eq!(
        app.settings
            .get_hours(SettingKey::ReviewExpiryHours)
            .await
            .unwrap(),
        24
    );
    assert_eq!(
        app.settings
            .get_count(SettingKey::NotifyMaxAttempts)
            .await
            .unwrap(),
        Some(5)
    );
    assert_eq!(
        app.settings
            .get_count(SettingKey::MediaMaxMb)
            .await
            .unwrap(),
        Some(25)
    );
}

#[sqlx::test(migrations = "./migrations")]
async fn the_summary_scheduler_sleeps_at_most_15_minutes_and_retries_after_5(pool: PgPool) {
    let scheduler = flipfix_bot::serve::summary_scheduler(&app(&pool).await);
    let now = crate::support::time::real_now();
    // The shipped workflows have no summary: only the longest sleep.
    assert_eq!(scheduler.next_wake(now, &[]), now + Duration::minutes(15));
    assert_eq!(MAX_SLEEP, Duration::minutes(15));
    let failed = Outcome::Failed(flipfix_bot::summary::SummaryError::Database(
        sqlx::Error::PoolTimedOut,
    ));
    assert_eq!(
        scheduler.next_wake(now, &[("daily".into(), failed)]),
        now + Duration::minutes(5)
    );
    assert_eq!(RETRY_AFTER, Duration::minutes(5));
}

#[test]
fn model_calls_retry_4_times_within_45_s_and_photos_wait_2_minutes() {
    let retry = flipfix_bot::llm::RetryPolicy::default();
    assert_eq!(retry.max_attempts, 4);
    assert_eq!(retry.max_delay, std::time::Duration::from_secs(20));
    assert_eq!(retry.max_total, std::time::Duration::from_secs(45));
    assert_eq!(
        flipfix_bot::notify::dispatcher::PHOTO_WAIT,
        Duration::minutes(2)
    );
    assert_eq!(
        flipfix_bot::analysis::vision::DOWNLOAD_TIMEOUT,
        std::time::Duration::from_secs(8)
    );
    assert_eq!(
        flipfix_bot::llm::budget::RESERVATION_HOLD,
        Duration::minutes(10)
    );
}

#[test]
fn a_standby_tries_the_lock_every_2_s_and_readyz_bounds_the_database_at_2_s() {
    assert_eq!(
        flipfix_bot::serve::LOCK_POLL,
        std::time::Duration::from_secs(2)
    );
    assert_eq!(
        flipfix_bot::web::health::DATABASE_BOUND,
        std::time::Duration::from_secs(2)
    );
}
