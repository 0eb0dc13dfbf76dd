//! The running dispatcher honours Discord's bucket headers: after a response
//! with `X-RateLimit-Remaining: 0` it sends nothing more until
//! `X-RateLimit-Reset-After` has passed, so it never earns a 429.
//!
//! An ordering check, not a speed test: the fake webhook enforces a real
//! window (a request inside a used-up window is answered 429), and the
//! assertions are lower bounds on when requests arrived, which a loaded
//! machine can only make larger.

use std::sync::Arc;
use std::time::Duration;

use flipfix_bot::config::{SettingKey, Settings};
use flipfix_bot::notify::dispatcher::{Dispatcher, DispatcherConfig};
use flipfix_bot::records::create_record;
use sqlx::PgPool;

use crate::support::fake_webhook::{FakeWebhook, Limit};
use crate::support::{add_machine, new_record, shipped_workflows};

/// Long enough that two posts made back to back land in one window even on
/// a loaded 2-core CI; the test waits this long once.
const WINDOW: Duration = Duration::from_secs(3);

#[sqlx::test(migrations = "./migrations")]
async fn the_dispatcher_pauses_until_the_bucket_resets(pool: PgPool) {
    // Two posts per window: the second answer says `Remaining: 0` and
    // `Reset-After` the rest of the window.
    let fake = FakeWebhook::start(Some(Limit {
        limit: 2,
        window: WINDOW,
    }))
    .await;
    let settings = Settings::new(pool.clone(), true);
    settings
        .set(SettingKey::DiscordWebhooksEnabled, "true", "test")
        .await
        .unwrap();
    settings
        .set(SettingKey::DiscordWebhookUrl, &fake.url("tok"), "test")
        .await
        .unwrap();
    let machine = add_machine(&pool, "gorgar", "Gorgar").await;
    let workflows = shipped_workflows();
    for _ in 0..3 {
        let mut record = new_record("problem_report");
        record.machine_id = Some(machine);
        create_record(&pool, &workflows.kinds, &record)
            .await
            .unwrap();
    }
    let dispatcher = Dispatcher::new(
        pool.clone(),
        settings,
        Arc::new(move || workflows.clone()),
        DispatcherConfig {
            // Far longer than the test: the rate limit alone decides when
            // the third post goes out.
            poll_interval: Duration::from_secs(3600),
            ..Default::default()
        },
    )
    .unwrap();
    let task = tokio::spawn(dispatcher.run(flipfix_bot::shutdown::Shutdown::never()));
    // Generous: the wait includes the window and real work on a busy machine.
    let all =
        tokio::time::timeout(WINDOW + Duration::from_secs(30), fake.wait_for_requests(3)).await;
    task.abort();
    assert!(all.is_ok(), "all three records were posted");

    let received = fake.received();
    let statuses: Vec<u16> = received.iter().map(|r| r.status).collect();
    assert_eq!(statuses, vec![200, 200, 200], "no request earned a 429");
    let second_after_first = received[1].at.duration_since(received[0].at);
    assert!(
        second_after_first < WINDOW,
        "the first two posts share a window ({second_after_first:?}), so the second answer said Remaining: 0"
    );
    // The second answer's Reset-After was WINDOW minus the time since the
    // window opened with the first post: the third waited at least that.
    let third_after_first = received[2].at.duration_since(received[0].at);
    assert!(
        third_after_first >= WINDOW,
        "the third post waited for the reset: {third_after_first:?} after the first"
    );
}
