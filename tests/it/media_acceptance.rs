//! Issue #11's acceptance for durable media, through the fake Discord: a
//! record made with Add to Flipfix from a message with a photo (and a 30 MB
//! video) keeps its photo after Discord's CDN URL expires: `/media/<id>`
//! serves it, the notification links the stored copy, and without
//! `PUBLIC_BASE_URL` the webhook post carries the file.

use flipfix_bot::media::{store, CopyState, CopyStep};
use flipfix_bot::notify::{DispatcherConfig, Step};
use serde_json::json;
use sqlx::PgPool;

use super::add_to_flipfix::{bob, start, COMMAND};
use super::media::{serve_pages, worker};
use super::notify::{config, drain, Env};
use crate::support::add_maintainer;
use crate::support::anthropic::{FakeAnthropic, Reply};
use crate::support::fake_cdn::{FakeCdn, Mode, PNG};
use crate::support::fake_discord::{user_message, FakeDiscord, CHANNEL_ID};
use crate::support::openapi::validate_request;

const BOB_ID: &str = "1002000000000000001";

#[sqlx::test(migrations = "./migrations")]
async fn a_photo_added_to_flipfix_outlives_its_cdn_url(pool: PgPool) {
    // Webhooks on, pointing at a fake webhook; machine "eight-ball-deluxe".
    let env = Env::new(pool.clone()).await;
    add_maintainer(&pool, "bob_the_fixer").await;
    let fake = FakeDiscord::start().await;
    let cdn = FakeCdn::start().await;
    let photo_url = cdn.add("coil.png", "image/png", PNG);
    // 30 MB of video: the bot keeps attachment URLs only, so the cap
    // applies to what the CDN sends.
    let mut video = b"\0\0\0\x18ftypisom".to_vec();
    video.resize(30 * 1024 * 1024, 0);
    let video_url = cdn.add("buzz.mp4", "video/mp4", &video);
    let author = json!({"id": BOB_ID, "username": "bob_the_fixer", "global_name": "Bob Wilson",
                        "discriminator": "0", "avatar": null});
    let mut message = user_message(
        101,
        CHANNEL_ID,
        author,
        "left flipper coil on EBD is burnt, photo attached",
        "2025-03-01T10:00:00Z",
        None,
    );
    message["attachments"] = json!([
        {"id": "901", "filename": "coil.png", "size": PNG.len(), "url": photo_url,
         "proxy_url": photo_url, "content_type": "image/png"},
        {"id": "902", "filename": "buzz.mp4", "size": 30 * 1024 * 1024, "url": video_url,
         "proxy_url": video_url, "content_type": "video/mp4"},
    ]);
    fake.add_message(CHANNEL_ID, message.clone());
    let anthropic = FakeAnthropic::start(vec![Reply::tool_use(json!({"suggestions": [{
        "kind": "problem_report", "machine": "eight-ball-deluxe",
        "description": "Left flipper coil burnt.", "source_message_ids": ["101"],
        "author_id": BOB_ID}]}))])
    .await;
    let bot = start(&pool, &fake, &anthropic).await;

    let token = fake.invoke_message_command(&bob(), COMMAND, &message);
    fake.wait_until("the card", |requests| {
        requests.iter().any(|r| {
            r.method == "PATCH"
                && r.path.contains(&token)
                && r.body["embeds"].as_array().is_some_and(|e| !e.is_empty())
        })
    })
    .await;
    let session: i64 = sqlx::query_scalar("SELECT id FROM review_sessions")
        .fetch_one(&pool)
        .await
        .unwrap();
    let click = fake.click(&bob(), &format!("ff:{session}:0:c"));
    fake.edit_of(&click).await;
    let record: i64 = sqlx::query_scalar("SELECT id FROM records")
        .fetch_one(&pool)
        .await
        .unwrap();
    let media = store::for_record(&pool, record).await.unwrap();
    assert_eq!(media.len(), 2, "{media:?}");
    assert!(media.iter().all(|m| m.state == CopyState::Pending));
    let (photo, video) = (&media[0], &media[1]);
    assert_eq!(photo.filename, "coil.png");

    // The copy is made in the background; the 30 MB video is refused with
    // the cap named, and the record stays.
    let worker = worker(&pool);
    let mut steps = Vec::new();
    loop {
        match worker.step(crate::support::time::real_now()).await.unwrap() {
            CopyStep::Idle => break,
            step => steps.push(step),
        }
    }
    assert!(steps.contains(&CopyStep::Stored {
        id: photo.id,
        content_type: "image/png".into()
    }));
    assert!(steps.contains(&CopyStep::Failed {
        id: video.id,
        error: "the file is larger than 25 MB".into()
    }));
    assert_eq!(
        sqlx::query_scalar::<_, i64>("SELECT count(*) FROM records")
            .fetch_one(&pool)
            .await
            .unwrap(),
        1
    );

    // Discord's signed URL expires.
    cdn.set_mode(Mode::Expired);
    let pages = serve_pages(&pool).await;
    let served = reqwest::get(format!("{pages}/media/{}", photo.id))
        .await
        .unwrap();
    assert_eq!(served.status(), 200);
    assert_eq!(served.headers()["content-type"], "image/png");
    assert_eq!(served.bytes().await.unwrap().as_ref(), PNG);

    // The record page shows the stored copy, never the expired CDN URL,
    // and says the refused video is unavailable.
    let page = reqwest::get(format!("{pages}/problem-reports/{record}/"))
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(
        // minijinja's HTML escaping writes `/` as `&#x2f;`.
        html.contains(&format!("<img src=\"&#x2f;media&#x2f;{}\"", photo.id)),
        "{html}"
    );
    assert!(html.contains("photo unavailable"), "{html}");
    assert!(
        !html.contains(&format!("<img src=\"http://{}", cdn.addr)),
        "{html}"
    );

    // The notification links the stored copy.
    let mut dispatcher = env.dispatcher();
    let steps = drain(&mut dispatcher, crate::support::time::real_now()).await;
    assert!(matches!(steps[0], Step::Delivered { .. }), "{steps:?}");
    let received = env.fake.received();
    validate_request("POST", &received[0].path, &received[0].body)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        received[0].body["embeds"][0]["image"]["url"],
        format!("https://flipfix.example/media/{}", photo.id)
    );
    assert!(!received[0].body.to_string().contains(&cdn.addr.to_string()));

    // Without PUBLIC_BASE_URL the post carries the file (the same record
    // queued again, as an admin retry would).
    sqlx::query("INSERT INTO notification_outbox (record_id) VALUES ($1)")
        .bind(record)
        .execute(&pool)
        .await
        .unwrap();
    let mut dispatcher = env.dispatcher_with(DispatcherConfig {
        public_base_url: None,
        ..config()
    });
    drain(&mut dispatcher, crate::support::time::real_now()).await;
    let received = env.fake.received();
    assert_eq!(received.len(), 2);
    let upload = &received[1];
    assert_eq!(upload.status, 200);
    validate_request("POST", &upload.path, &upload.body).unwrap_or_else(|e| panic!("{e}"));
    let name = format!("{}-coil.png", photo.id);
    assert_eq!(
        upload.body["embeds"][0]["image"]["url"],
        format!("attachment://{name}")
    );
    assert_eq!(
        upload.files.len(),
        1,
        "the photo only, not the refused video"
    );
    assert_eq!(upload.files[0].filename, name);
    assert_eq!(upload.files[0].bytes, PNG);

    bot.stop().await;
    fake.assert_spec_clean();
}
