//! Size caps that must hold whatever the sender says: the stream cut-off in
//! `media::cdn` (reached only when the CDN sends no length, so the fake CDN
//! sends chunked answers here), a length that lies, the webhook's 10 MB
//! upload budget and vision's 5 MB base64 limit.

use chrono::Duration;
use flipfix_bot::config::SettingKey;
use flipfix_bot::media::CopyStep;
use flipfix_bot::notify::DispatcherConfig;
use sqlx::PgPool;

use super::admin_import::{content, import, machines};
use super::analysis_vision::{
    image_captions, png_photo, run, scenario, user_content, workflows_with, Photo,
};
use super::media::{create_with, media_of, photo, worker};
use super::notify::{config, drain, Env};
use crate::support::bot::TestBot;
use crate::support::fake_cdn::{Delivery, FakeCdn, Mode, PNG};
use crate::support::fake_discord::FakeDiscord;
use crate::support::time::real_now;

const MB: usize = 1024 * 1024;

/// A PNG header padded with zeros to `len` bytes (sniffs as a PNG).
fn png_of(len: usize) -> Vec<u8> {
    let mut bytes = PNG.to_vec();
    bytes.resize(len, 0);
    bytes
}

#[sqlx::test(migrations = "./migrations")]
async fn the_media_worker_stops_a_chunked_download_at_the_cap(pool: PgPool) {
    let env = Env::new(pool.clone()).await;
    env.set(SettingKey::MediaMaxMb, "1").await;
    let cdn = FakeCdn::start().await;
    let url = cdn.add_with("big.png", "image/png", &png_of(2 * MB), Delivery::Chunked);
    // Declared small, sent without a length: only counting the bytes as
    // they arrive can stop it.
    let record = create_with(&env, "problem_report", vec![photo(&url, "big.png", 1000)]).await;
    let step = worker(&pool).step(real_now()).await.unwrap();
    assert!(
        matches!(&step, CopyStep::Failed { error, .. } if error == "the file is larger than 1 MB"),
        "{step:?}"
    );
    assert_eq!(cdn.requests(), 1, "it was downloaded (and cut off)");
    let item = &media_of(&pool, record).await[0];
    assert_eq!(item.stored_bytes, None, "nothing stored");

    // The same file under the cap is stored whole: the cut-off counts bytes,
    // it does not refuse every chunked answer.
    env.set(SettingKey::MediaMaxMb, "3").await;
    let fits = cdn.add_with("fits.png", "image/png", &png_of(2 * MB), Delivery::Chunked);
    let record = create_with(&env, "problem_report", vec![photo(&fits, "fits.png", 1000)]).await;
    let step = worker(&pool).step(real_now()).await.unwrap();
    assert!(matches!(step, CopyStep::Stored { .. }), "{step:?}");
    let item = &media_of(&pool, record).await[0];
    assert_eq!(item.stored_bytes, Some(2 * MB as i64));
}

#[sqlx::test(migrations = "./migrations")]
async fn a_length_that_lies_is_never_stored_as_a_whole_photo(pool: PgPool) {
    let env = Env::new(pool.clone()).await;
    let cdn = FakeCdn::start().await;
    let url = cdn.add_with(
        "short.png",
        "image/png",
        &png_of(100_000),
        Delivery::LengthLies,
    );
    let record = create_with(
        &env,
        "problem_report",
        vec![photo(&url, "short.png", 100_000)],
    )
    .await;
    let step = worker(&pool).step(real_now()).await.unwrap();
    assert!(
        matches!(&step, CopyStep::Retry { error, .. } if error.starts_with("download failed")),
        "a truncated body is a failed download, retried: {step:?}"
    );
    let item = &media_of(&pool, record).await[0];
    assert_eq!(item.stored_bytes, None, "no truncated copy stored");
}

#[sqlx::test(migrations = "./migrations")]
async fn vision_cuts_off_a_chunked_image_over_its_cap(pool: PgPool) {
    let cdn = FakeCdn::start().await;
    let big = cdn.add_with(
        "big.png",
        "image/png",
        &png_of(1_500_000),
        Delivery::Chunked,
    );
    let small = cdn.add("small.png", "image/png", PNG);
    let dir = tempfile::tempdir().unwrap();
    let scenario = scenario(
        dir.path(),
        &[
            ("small", vec![png_photo(&small)]),
            (
                "claims small, sent without a length",
                vec![Photo {
                    url: &big,
                    content_type: "image/png",
                    size: 1000,
                }],
            ),
        ],
    );
    let (_workflows_dir, workflows) =
        workflows_with("  vision:\n    max_images: 2\n    max_image_mb: 1\n");
    let (fake, _) = run(&pool, &workflows, &scenario).await;
    assert_eq!(
        image_captions(&user_content(&fake)),
        vec!["Image from message [11]:"],
        "the chunked one was downloaded and cut off"
    );
    assert_eq!(cdn.requests(), 2);
}

#[sqlx::test(migrations = "./migrations")]
async fn vision_leaves_out_an_image_over_5_mb_once_base64_encoded(pool: PgPool) {
    let cdn = FakeCdn::start().await;
    // Both under the 5 MB download cap; 4 MB is 5.3 MB as base64 (over),
    // 3.5 MB is 4.7 MB (under).
    let over = png_of(4 * MB);
    let under = png_of(3 * MB + MB / 2);
    let over_url = cdn.add("over.png", "image/png", &over);
    let under_url = cdn.add("under.png", "image/png", &under);
    let dir = tempfile::tempdir().unwrap();
    let scenario = scenario(
        dir.path(),
        &[
            (
                "under",
                vec![Photo {
                    url: &under_url,
                    content_type: "image/png",
                    size: under.len(),
                }],
            ),
            (
                "over",
                vec![Photo {
                    url: &over_url,
                    content_type: "image/png",
                    size: over.len(),
                }],
            ),
        ],
    );
    // The shipped vision section: max_image_mb 5.
    let (_workflows_dir, workflows) =
        workflows_with("  vision:\n    enabled: true\n    max_images: 4\n    max_image_mb: 5\n");
    let (fake, _) = run(&pool, &workflows, &scenario).await;
    assert_eq!(
        image_captions(&user_content(&fake)),
        vec!["Image from message [11]:"],
        "only the one under 5 MB as base64 is sent"
    );
    assert_eq!(cdn.requests(), 2, "both were downloaded");
}

#[sqlx::test(migrations = "./migrations")]
async fn the_import_cuts_off_a_chunked_file_at_2_mb(pool: PgPool) {
    let fake = FakeDiscord::start().await;
    let bot = TestBot::start(pool.clone(), &fake, 1).await;
    let cdn = FakeCdn::start().await;
    let big = format!("[{}]", " ".repeat(3 * MB));
    let url = cdn.add_with(
        "machines.json",
        "application/json",
        big.as_bytes(),
        Delivery::Chunked,
    );
    let token = import(&fake, &url, 10);
    assert_eq!(
        content(&fake.reply(&token).await),
        "❌ Could not read `machines.json`: the file is larger than 2 MB"
    );
    assert_eq!(cdn.requests(), 1, "read, and stopped");
    assert_eq!(machines(&pool).await, 0, "nothing was imported");
    bot.stop().await;
    fake.assert_spec_clean();
}

#[sqlx::test(migrations = "./migrations")]
async fn an_upload_stays_within_the_webhooks_10_mb(pool: PgPool) {
    let env = Env::new(pool.clone()).await;
    env.set(SettingKey::MediaMaxMb, "5").await;
    let cdn = FakeCdn::start().await;
    // Three 4 MB photos: the first two fit in 10 MB, the third would not.
    let media = (1..=3)
        .map(|n| {
            let name = format!("p{n}.png");
            let url = cdn.add(&name, "image/png", &png_of(4 * MB));
            photo(&url, &name, (4 * MB) as i64)
        })
        .collect();
    create_with(&env, "problem_report", media).await;
    for _ in 0..3 {
        let step = worker(&pool).step(real_now()).await.unwrap();
        assert!(matches!(step, CopyStep::Stored { .. }), "{step:?}");
    }
    cdn.set_mode(Mode::Expired);
    let mut dispatcher = env.dispatcher_with(DispatcherConfig {
        public_base_url: None,
        ..config()
    });
    drain(&mut dispatcher, real_now() + Duration::seconds(1)).await;
    let received = env.fake.received();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].status, 200);
    let uploaded: Vec<(&str, usize)> = received[0]
        .files
        .iter()
        .map(|f| (f.filename.as_str(), f.bytes.len()))
        .collect();
    assert_eq!(uploaded.len(), 2, "{uploaded:?}");
    assert!(
        uploaded.iter().map(|(_, len)| len).sum::<usize>() <= 10 * MB,
        "{uploaded:?}"
    );
}
