//! A review prompt nobody clicked: when its review expires, the expiry
//! sweep (a job on `jobs`) edits the prompt to say so and removes its
//! button, once. Times come from the review's own expiry, so one clock
//! rules each comparison. Fake Discord and Anthropic, real Postgres.

use chrono::{DateTime, Duration, Utc};
use flipfix_bot::discord::PromptExpiry;
use flipfix_bot::jobs::Next;
use serde_json::json;
use sqlx::PgPool;

use crate::add_to_flipfix::start;
use crate::support::add_machine;
use crate::support::anthropic::FakeAnthropic;
use crate::support::fake_discord::{FakeDiscord, RecordedRequest, CHANNEL_ID};
use crate::support::process::{bob, flipper_message, flipper_suggestion};

fn prompt_edits(requests: &[RecordedRequest], prompt_id: &str) -> usize {
    requests
        .iter()
        .filter(|r| {
            r.method == "PATCH"
                && r.path
                    .ends_with(&format!("/channels/{CHANNEL_ID}/messages/{prompt_id}"))
        })
        .count()
}

#[sqlx::test(migrations = "./migrations")]
async fn an_unclicked_prompt_is_edited_when_its_review_expires(pool: PgPool) {
    add_machine(&pool, "ballyhoo", "Ballyhoo").await;
    let fake = FakeDiscord::start().await;
    let anthropic = FakeAnthropic::start(vec![flipper_suggestion()]).await;
    let bot = start(&pool, &fake, &anthropic).await;
    let message = flipper_message(&fake, 1_100_000_000_000_000_001);
    fake.react(&bob(), &message, "🔧");
    fake.wait_until("the review prompt", |requests| {
        requests.iter().any(|r| {
            r.method == "POST"
                && r.body["content"]
                    .as_str()
                    .is_some_and(|c| c.starts_with("Suggestions for"))
        })
    })
    .await;
    // The prompt's row is written just after the post.
    let mut remembered = None;
    for _ in 0..100 {
        remembered = sqlx::query_as::<_, (i64, i64, DateTime<Utc>)>(
            "SELECT p.session_id, p.message_id, s.expires_at FROM review_prompts p
             JOIN review_sessions s ON s.id = p.session_id",
        )
        .fetch_optional(&pool)
        .await
        .unwrap();
        if remembered.is_some() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let (session, prompt_id, expires_at) = remembered.expect("the prompt is remembered");
    let prompt_id = prompt_id.to_string();
    let sweep = PromptExpiry::new(bot.app.clone());

    // Before the expiry: nothing to edit; the sweep wakes at the expiry.
    let next = sweep
        .sweep(expires_at - Duration::minutes(1))
        .await
        .unwrap();
    assert_eq!(next, Next::At(expires_at));
    assert_eq!(prompt_edits(&fake.requests(), &prompt_id), 0);

    // Past it: the prompt says the review expired, without its button.
    let next = sweep
        .sweep(expires_at + Duration::minutes(1))
        .await
        .unwrap();
    assert_eq!(next, Next::Idle, "no other prompt waits");
    assert_eq!(prompt_edits(&fake.requests(), &prompt_id), 1);
    let edited = fake.channel_message(CHANNEL_ID, &json!(prompt_id)).unwrap();
    assert_eq!(
        edited["content"],
        json!(format!(
            "The review for <@{}> expired; nothing was created.",
            bob().id
        )),
        "{edited}"
    );
    assert_eq!(edited["components"], json!([]), "{edited}");
    let (status, outcome, reason): (String, String, String) = sqlx::query_as(
        "SELECT s.status, r.outcome::text, r.reason FROM review_sessions s
         JOIN workflow_runs r ON r.review_session_id = s.id WHERE s.id = $1",
    )
    .bind(session)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(
        (status.as_str(), outcome.as_str(), reason.as_str()),
        ("expired", "skipped", "the review expired")
    );

    // Edited once: a later sweep (or another process's) leaves it alone.
    sweep.sweep(expires_at + Duration::hours(1)).await.unwrap();
    assert_eq!(prompt_edits(&fake.requests(), &prompt_id), 1);
    bot.stop().await;
    fake.assert_spec_clean();
}
