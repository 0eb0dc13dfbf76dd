//! Durable media: the copy worker against a local fake of Discord's CDN,
//! `GET /media/<id>` through the real router, and notifications that use
//! the stored copy (linked, or uploaded as a file). Time is passed to
//! `step` explicitly, so retries are tested without waiting.

use std::sync::Arc;

use chrono::Duration;
use flipfix_bot::app::App;
use flipfix_bot::config::{Secrets, SettingKey, Settings};
use flipfix_bot::media::{store, CopyState, CopyStep, MediaWorker, WorkerConfig};
use flipfix_bot::notify::dispatcher::PHOTO_WAIT;
use flipfix_bot::notify::{DispatcherConfig, Step};
use flipfix_bot::records::{Media, NewRecord};
use flipfix_bot::web::{router, WebState};
use sqlx::PgPool;

use super::notify::{config, drain, Env};
use crate::support::fake_cdn::{FakeCdn, Mode, PNG};
use crate::support::fake_webhook::Reply;
use crate::support::openapi::validate_request;
use crate::support::{new_record, shipped_workflows};

pub(crate) fn worker(pool: &PgPool) -> MediaWorker {
    MediaWorker::new(
        pool.clone(),
        Settings::new(pool.clone(), true),
        WorkerConfig {
            allow_loopback: true,
            max_attempts: 3,
            ..Default::default()
        },
    )
}

pub(crate) fn photo(url: &str, filename: &str, size: i64) -> Media {
    Media {
        url: url.to_string(),
        filename: filename.to_string(),
        content_type: Some("image/png".into()),
        size_bytes: Some(size),
    }
}

/// Serves the real router on a loopback port; returns its base URL.
pub(crate) async fn serve_pages(pool: &PgPool) -> String {
    let secrets = Secrets {
        pages_dir: crate::support::repo_root().join("pages"),
        ..Secrets::default()
    };
    let app = App::new(
        pool.clone(),
        crate::support::run_config(secrets),
        shipped_workflows(),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let router = router(WebState::new(Arc::clone(&app)));
    tokio::spawn(async move { axum::serve(listener, router).await });
    format!("http://{addr}")
}

pub(crate) async fn media_of(pool: &PgPool, record: i64) -> Vec<flipfix_bot::media::MediaItem> {
    store::for_record(pool, record).await.unwrap()
}

pub(crate) async fn create_with(env: &Env, kind: &str, media: Vec<Media>) -> i64 {
    env.create(NewRecord {
        media,
        ..new_record(kind)
    })
    .await
}

#[sqlx::test(migrations = "./migrations")]
async fn a_photo_is_copied_and_served_after_the_cdn_url_expires(pool: PgPool) {
    let env = Env::new(pool.clone()).await;
    let cdn = FakeCdn::start().await;
    let url = cdn.add("coil.png", "image/png", PNG);
    let record = create_with(
        &env,
        "problem_report",
        vec![photo(&url, "coil <burnt>.PNG", PNG.len() as i64)],
    )
    .await;
    let item = &media_of(&pool, record).await[0];
    assert_eq!(item.state, CopyState::Pending);
    assert_eq!(item.state.label(), "photo pending");

    let step = worker(&pool)
        .step(crate::support::time::real_now())
        .await
        .unwrap();
    assert_eq!(
        step,
        CopyStep::Stored {
            id: item.id,
            content_type: "image/png".into()
        }
    );
    cdn.set_mode(Mode::Expired);

    let base = serve_pages(&pool).await;
    let response = reqwest::get(format!("{base}/media/{}", item.id))
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let headers = response.headers().clone();
    assert_eq!(headers["content-type"], "image/png");
    assert_eq!(headers["x-content-type-options"], "nosniff");
    // Public, but cached for an hour only: the kind could become
    // members-only, and a year-long `immutable` copy would outlive that.
    assert_eq!(headers["cache-control"], "public, max-age=3600");
    assert_eq!(
        headers["content-disposition"],
        format!("inline; filename=\"{}-coilburnt.png\"", item.id).as_str(),
        "a safe name: no quotes, spaces or angle brackets"
    );
    assert_eq!(response.bytes().await.unwrap().as_ref(), PNG);
    assert_eq!(media_of(&pool, record).await[0].state, CopyState::Stored);
}

#[sqlx::test(migrations = "./migrations")]
async fn a_members_only_photo_is_never_served_to_a_visitor(pool: PgPool) {
    let env = Env::new(pool.clone()).await;
    let cdn = FakeCdn::start().await;
    let url = cdn.add("part.png", "image/png", PNG);
    // Part requests are `web: members` in the shipped kinds.
    let record = create_with(&env, "part_request", vec![photo(&url, "part.png", 70)]).await;
    let id = media_of(&pool, record).await[0].id;
    assert!(matches!(
        worker(&pool)
            .step(crate::support::time::real_now())
            .await
            .unwrap(),
        CopyStep::Stored { .. }
    ));

    let base = serve_pages(&pool).await;
    let hidden = reqwest::get(format!("{base}/media/{id}")).await.unwrap();
    assert_eq!(hidden.status(), 404);
    let hidden = hidden.bytes().await.unwrap();
    assert_ne!(hidden.as_ref(), PNG);
    let missing = reqwest::get(format!("{base}/media/{}", id + 1000))
        .await
        .unwrap();
    assert_eq!(missing.status(), 404);
    assert_eq!(
        missing.bytes().await.unwrap(),
        hidden,
        "indistinguishable from a missing file"
    );
}

#[sqlx::test(migrations = "./migrations")]
async fn a_30_mb_attachment_is_refused_with_the_cap_named_and_the_record_stays(pool: PgPool) {
    let env = Env::new(pool.clone()).await;
    let cdn = FakeCdn::start().await;
    let url = cdn.add("huge.png", "image/png", PNG);
    let record = create_with(
        &env,
        "problem_report",
        vec![photo(&url, "huge.png", 30 * 1024 * 1024)],
    )
    .await;
    let step = worker(&pool)
        .step(crate::support::time::real_now())
        .await
        .unwrap();
    assert!(
        matches!(&step, CopyStep::Failed { error, .. } if error.contains("larger than 25 MB")),
        "{step:?}"
    );
    assert_eq!(
        cdn.requests(),
        0,
        "refused on the declared size, before downloading"
    );
    let item = &media_of(&pool, record).await[0];
    assert_eq!(item.state, CopyState::Failed);
    assert_eq!(item.error.as_deref(), Some("the file is larger than 25 MB"));
    let records: i64 = sqlx::query_scalar("SELECT count(*) FROM records")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(records, 1);
    assert_eq!(
        worker(&pool)
            .step(crate::support::time::real_now() + Duration::days(1))
            .await
            .unwrap(),
        CopyStep::Idle,
        "never retried"
    );
}

#[sqlx::test(migrations = "./migrations")]
async fn a_file_over_the_cap_is_stopped_even_when_its_size_was_not_declared(pool: PgPool) {
    let env = Env::new(pool.clone()).await;
    env.set(SettingKey::MediaMaxMb, "1").await;
    let cdn = FakeCdn::start().await;
    let mut big = PNG.to_vec();
    big.resize(2 * 1024 * 1024, 0);
    let url = cdn.add("big.png", "image/png", &big);
    let mut media = photo(&url, "big.png", 0);
    media.size_bytes = None;
    create_with(&env, "problem_report", vec![media]).await;
    let step = worker(&pool)
        .step(crate::support::time::real_now())
        .await
        .unwrap();
    assert!(
        matches!(&step, CopyStep::Failed { error, .. } if error.contains("larger than 1 MB")),
        "{step:?}"
    );
}

#[sqlx::test(migrations = "./migrations")]
async fn bytes_that_are_not_a_photo_are_refused_whatever_the_declared_type(pool: PgPool) {
    let env = Env::new(pool.clone()).await;
    let cdn = FakeCdn::start().await;
    let url = cdn.add(
        "x.png",
        "image/png",
        b"<html><script>alert(1)</script></html>",
    );
    let record = create_with(&env, "problem_report", vec![photo(&url, "x.png", 40)]).await;
    let step = worker(&pool)
        .step(crate::support::time::real_now())
        .await
        .unwrap();
    assert!(
        matches!(&step, CopyStep::Failed { error, .. } if error.contains("not a photo or video")),
        "{step:?}"
    );
    let item = &media_of(&pool, record).await[0];
    let base = serve_pages(&pool).await;
    let response = reqwest::get(format!("{base}/media/{}", item.id))
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
}

#[sqlx::test(migrations = "./migrations")]
async fn a_failing_download_is_retried_with_backoff_then_given_up_with_its_reason(pool: PgPool) {
    let env = Env::new(pool.clone()).await;
    let cdn = FakeCdn::start().await;
    let url = cdn.add("coil.png", "image/png", PNG);
    let record = create_with(&env, "problem_report", vec![photo(&url, "coil.png", 70)]).await;
    cdn.set_mode(Mode::Failing);
    let worker = worker(&pool);
    let mut now = crate::support::time::real_now();
    let mut retries = Vec::new();
    loop {
        match worker.step(now).await.unwrap() {
            CopyStep::Retry { at, error, .. } => {
                assert!(at > now, "a retry waits");
                assert_eq!(
                    worker.step(now).await.unwrap(),
                    CopyStep::Idle,
                    "not due before its time"
                );
                assert!(error.contains("500"), "{error}");
                assert_eq!(
                    media_of(&pool, record).await[0].state.label(),
                    "photo pending"
                );
                retries.push(at - now);
                now = at;
            }
            CopyStep::Failed { error, .. } => {
                assert_eq!(error, "gave up after 3 attempts: Discord answered 500");
                break;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(retries.len(), 2);
    assert!(
        retries[1] > Duration::seconds(30),
        "the wait grows: {retries:?}"
    );
    assert_eq!(cdn.requests(), 3);
    assert_eq!(media_of(&pool, record).await[0].state, CopyState::Failed);
}

#[sqlx::test(migrations = "./migrations")]
async fn two_workers_never_copy_the_same_attachment_twice(pool: PgPool) {
    let env = Env::new(pool.clone()).await;
    let cdn = FakeCdn::start().await;
    let url = cdn.add("coil.png", "image/png", PNG);
    create_with(&env, "problem_report", vec![photo(&url, "coil.png", 70)]).await;
    let (a, b) = (worker(&pool), worker(&pool));
    let now = crate::support::time::real_now();
    let (first, second) = tokio::join!(a.step(now), b.step(now));
    let steps = [first.unwrap(), second.unwrap()];
    assert_eq!(
        steps
            .iter()
            .filter(|s| matches!(s, CopyStep::Stored { .. }))
            .count(),
        1,
        "{steps:?}"
    );
    assert_eq!(
        steps.iter().filter(|s| **s == CopyStep::Idle).count(),
        1,
        "{steps:?}"
    );
    assert_eq!(cdn.requests(), 1);
}

/// The image URLs of a delivered post's embeds.
fn images(body: &serde_json::Value) -> Vec<String> {
    body["embeds"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["image"]["url"].as_str().map(str::to_string))
        .collect()
}

#[sqlx::test(migrations = "./migrations")]
async fn the_notification_waits_for_the_copy_and_links_it(pool: PgPool) {
    let env = Env::new(pool.clone()).await;
    let cdn = FakeCdn::start().await;
    let url = cdn.add("coil.png", "image/png", PNG);
    let record = create_with(&env, "problem_report", vec![photo(&url, "coil.png", 70)]).await;
    let id = media_of(&pool, record).await[0].id;
    let mut dispatcher = env.dispatcher();
    let now = crate::support::time::real_now();
    assert!(matches!(
        dispatcher.step(now).await.unwrap(),
        Step::WaitingForPhotos { .. }
    ));
    assert!(env.fake.received().is_empty());
    worker(&pool).step(now).await.unwrap();
    cdn.set_mode(Mode::Expired);
    drain(&mut dispatcher, now + Duration::seconds(5)).await;
    let bodies = env.checked_bodies();
    assert_eq!(bodies.len(), 1);
    assert_eq!(
        images(&bodies[0]),
        vec![format!("https://flipfix.example/media/{id}")]
    );
    let attempts: i32 = sqlx::query_scalar("SELECT attempts FROM notification_outbox")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(attempts, 1, "waiting for the photo is no attempt");
}

#[sqlx::test(migrations = "./migrations")]
async fn a_notification_stops_waiting_for_a_copy_that_takes_too_long(pool: PgPool) {
    let env = Env::new(pool.clone()).await;
    let cdn = FakeCdn::start().await;
    let url = cdn.add("coil.png", "image/png", PNG);
    create_with(&env, "problem_report", vec![photo(&url, "coil.png", 70)]).await;
    let mut dispatcher = env.dispatcher();
    drain(
        &mut dispatcher,
        crate::support::time::real_now() + PHOTO_WAIT + Duration::seconds(1),
    )
    .await;
    let bodies = env.checked_bodies();
    assert_eq!(
        images(&bodies[0]),
        vec![url],
        "Discord's URL, still valid for a day"
    );
}

#[sqlx::test(migrations = "./migrations")]
async fn without_a_public_base_url_the_post_uploads_the_photo(pool: PgPool) {
    let env = Env::new(pool.clone()).await;
    let cdn = FakeCdn::start().await;
    let url = cdn.add("coil.png", "image/png", PNG);
    let record = create_with(&env, "problem_report", vec![photo(&url, "coil.png", 70)]).await;
    let id = media_of(&pool, record).await[0].id;
    worker(&pool)
        .step(crate::support::time::real_now())
        .await
        .unwrap();
    cdn.set_mode(Mode::Expired);
    let mut dispatcher = env.dispatcher_with(DispatcherConfig {
        public_base_url: None,
        ..config()
    });
    drain(&mut dispatcher, crate::support::time::real_now()).await;
    let received = env.fake.received();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].status, 200);
    let name = format!("{id}-coil.png");
    validate_request("POST", &received[0].path, &received[0].body)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        images(&received[0].body),
        vec![format!("attachment://{name}")]
    );
    assert_eq!(
        received[0].body["attachments"][0]["filename"],
        name.as_str()
    );
    assert_eq!(received[0].files.len(), 1);
    assert_eq!(received[0].files[0].field, "files[0]");
    assert_eq!(received[0].files[0].filename, name);
    assert_eq!(
        received[0].files[0].content_type.as_deref(),
        Some("image/png")
    );
    assert_eq!(received[0].files[0].bytes, PNG);
}

#[sqlx::test(migrations = "./migrations")]
async fn a_delayed_notification_still_shows_the_photo(pool: PgPool) {
    let env = Env::new(pool.clone()).await;
    let cdn = FakeCdn::start().await;
    let url = cdn.add("coil.png", "image/png", PNG);
    let record = create_with(&env, "problem_report", vec![photo(&url, "coil.png", 70)]).await;
    let id = media_of(&pool, record).await[0].id;
    worker(&pool)
        .step(crate::support::time::real_now())
        .await
        .unwrap();
    // The webhook was deleted: the queue parks until the URL changes, days later.
    env.fake.script([Reply::Status(404)]);
    let mut dispatcher = env.dispatcher();
    drain(&mut dispatcher, crate::support::time::real_now()).await;
    assert_eq!(
        dispatcher
            .step(crate::support::time::real_now())
            .await
            .unwrap(),
        Step::Parked
    );
    cdn.set_mode(Mode::Expired);
    env.set(SettingKey::DiscordWebhookUrl, &env.fake.url("new"))
        .await;
    drain(
        &mut dispatcher,
        crate::support::time::real_now() + Duration::days(3),
    )
    .await;
    let bodies = env.checked_bodies();
    assert_eq!(bodies.len(), 1);
    assert_eq!(
        images(&bodies[0]),
        vec![format!("https://flipfix.example/media/{id}")]
    );
}

#[sqlx::test(migrations = "./migrations")]
async fn a_failed_copy_logs_the_attachment_id_and_host_never_the_signed_url(pool: PgPool) {
    let logs = crate::support::logs::CapturedLogs::capture();
    let env = Env::new(pool.clone()).await;
    let url = FakeCdn::unreachable_url("coil.png");
    let record = create_with(&env, "problem_report", vec![photo(&url, "coil.png", 70)]).await;
    let worker = worker(&pool);
    let mut now = crate::support::time::real_now();
    let error = loop {
        match worker.step(now).await.unwrap() {
            CopyStep::Retry { at, error, .. } => {
                assert!(error.contains("error sending request"), "{error}");
                now = at;
            }
            CopyStep::Failed { error, .. } => break error,
            other => panic!("unexpected {other:?}"),
        }
    };
    assert!(
        error.starts_with("gave up after 3 attempts: download failed (error sending request"),
        "{error}"
    );
    assert!(!error.contains("hm="), "{error}");
    let stored: Vec<Option<String>> =
        sqlx::query_scalar("SELECT copy_error FROM record_media WHERE record_id = $1")
            .bind(record)
            .fetch_all(&pool)
            .await
            .unwrap();
    assert!(!format!("{stored:?}").contains("hm="), "{stored:?}");
    let text = logs.text();
    let failures: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("photo copy failed") || l.contains("photo not copied"))
        .collect();
    assert_eq!(failures.len(), 3, "{text}");
    for line in failures {
        assert!(
            line.contains("attachment=attachment 222 on 127.0.0.1"),
            "{line}"
        );
    }
    logs.assert_no_signed_urls();
}
