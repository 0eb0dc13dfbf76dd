//! `/flipfix import` and the size of what it reads: the declared size is
//! checked before anything is downloaded, and a declaration that lies is
//! caught by the CDN's length (or, without one, by the cut-off: size_caps.rs).

use serde_json::{json, Value};
use sqlx::PgPool;

use crate::support::bot::TestBot;
use crate::support::fake_discord::{FakeDiscord, FakeUser};

pub(crate) fn admin() -> FakeUser {
    FakeUser::admin(610_000_000_000_000_001, "museum_admin")
}

/// `/flipfix import machines` with an attachment declared `size` bytes.
pub(crate) fn import(fake: &FakeDiscord, url: &str, size: usize) -> String {
    let attachment_id = fake.next_id().to_string();
    fake.interaction(
        &admin(),
        2,
        json!({
        "id": fake.command_id("flipfix"), "name": "flipfix", "type": 1,
        "options": [{"type": 1, "name": "import", "options": [
            {"type": 4, "name": "kind", "value": 0},
            {"type": 11, "name": "file", "value": attachment_id}]}],
        "resolved": {"attachments": {attachment_id.clone(): {
            "id": attachment_id, "filename": "machines.json", "size": size,
            "url": url, "proxy_url": url, "content_type": "application/json"}}}}),
    )
}

pub(crate) fn content(reply: &Value) -> String {
    reply["content"].as_str().unwrap_or_default().to_string()
}

pub(crate) async fn machines(pool: &PgPool) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM machines")
        .fetch_one(pool)
        .await
        .unwrap()
}

#[sqlx::test(migrations = "./migrations")]
async fn an_oversized_import_is_refused_before_it_is_downloaded(pool: PgPool) {
    let fake = FakeDiscord::start().await;
    let bot = TestBot::start(pool.clone(), &fake, 1).await;
    let url = fake.add_attachment("machines.json", "[]");
    let token = import(&fake, &url, 3 * 1024 * 1024);
    assert_eq!(
        content(&fake.reply(&token).await),
        "❌ Could not read `machines.json`: the file is larger than 2 MB"
    );
    let path = url.trim_start_matches(&fake.base_url).to_string();
    assert!(
        !fake.requests().iter().any(|r| r.path == path),
        "the attachment was never fetched"
    );

    // A declaration that lies: the CDN's Content-Length refuses it before
    // reading (size_caps.rs covers a CDN answer without a length).
    let big = format!("[{}]", " ".repeat(3 * 1024 * 1024));
    let url = fake.add_attachment("machines.json", &big);
    let token = import(&fake, &url, 10);
    assert_eq!(
        content(&fake.reply(&token).await),
        "❌ Could not read `machines.json`: the file is larger than 2 MB"
    );
    assert_eq!(machines(&pool).await, 0, "nothing was imported");
    bot.stop().await;
    fake.assert_spec_clean();
}

#[sqlx::test(migrations = "./migrations")]
async fn an_import_that_cannot_be_downloaded_names_no_signed_url(pool: PgPool) {
    let logs = crate::support::logs::CapturedLogs::capture();
    let fake = FakeDiscord::start().await;
    let bot = TestBot::start(pool.clone(), &fake, 1).await;
    let url = crate::support::fake_cdn::FakeCdn::unreachable_url("machines.json");
    let token = import(&fake, &url, 10);
    let reply = content(&fake.reply(&token).await);
    assert!(
        reply.starts_with(
            "❌ Could not read `machines.json`: download failed (error sending request"
        ),
        "{reply}"
    );
    assert!(!reply.contains("hm="), "{reply}");
    assert_eq!(machines(&pool).await, 0);
    bot.stop().await;
    logs.assert_no_signed_urls();
    fake.assert_spec_clean();
}
