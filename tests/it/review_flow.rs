//! The review wizard through the fake Discord: buttons, the edit modal,
//! restarts, double clicks, owners and expiry. Sessions are created through
//! the review store, as the context-menu command does after its analysis.

use std::collections::BTreeMap;

use chrono::Duration;
use flipfix_bot::records::{Author, Media, SourceMessage};
use flipfix_bot::review::{NewSession, ReviewItem, ReviewStore, StartOutcome};
use serde_json::{json, Value};
use sqlx::PgPool;

use crate::support::bot::TestBot;
use crate::support::fake_discord::{FakeDiscord, FakeUser};
use crate::support::{add_machine, add_maintainer};

pub(crate) const OWNER: u64 = 630_000_000_000_000_001;
const STRANGER: u64 = 630_000_000_000_000_002;

pub(crate) fn owner() -> FakeUser {
    FakeUser::member(OWNER, "bob_the_fixer")
}

pub(crate) fn item(kind: &str, machine_id: Option<i64>, description: &str) -> ReviewItem {
    ReviewItem {
        kind: kind.into(),
        machine_id,
        machine_hint: None,
        description: description.into(),
        fields: BTreeMap::new(),
        parent_record_id: None,
        sources: vec![SourceMessage {
            guild_id: Some(1),
            channel_id: 2,
            message_id: 3,
        }],
        author: Author::Name("Bob Wilson".into()),
        author_hint: None,
        occurred_at: crate::support::time::real_now(),
        media: vec![Media {
            url: "https://cdn.discordapp.com/attachments/1/2/flipper.jpg".into(),
            filename: "flipper.jpg".into(),
            content_type: Some("image/jpeg".into()),
            size_bytes: Some(1000),
        }],
        resolves: false,
    }
}

pub(crate) async fn session(
    pool: &PgPool,
    items: Vec<(ReviewItem, Option<usize>)>,
    expires_in: Duration,
) -> i64 {
    let store = ReviewStore::new(pool.clone());
    let new = NewSession {
        guild_id: Some(1),
        channel_id: 2,
        target_message_id: 3,
        owner_user_id: OWNER,
        owner_name: "Bob Wilson".into(),
        expires_at: crate::support::time::real_now() + expires_in,
    };
    let StartOutcome::Started(id) = store
        .start(&new, crate::support::time::real_now())
        .await
        .unwrap()
    else {
        panic!("not started")
    };
    store.set_items(id, &items).await.unwrap();
    id
}

fn button_ids(message: &Value) -> Vec<String> {
    message["components"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|row| row["components"].as_array().cloned().unwrap_or_default())
        .filter_map(|b| b["custom_id"].as_str().map(str::to_string))
        .collect()
}

async fn records(pool: &PgPool) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM records")
        .fetch_one(pool)
        .await
        .unwrap()
}

#[sqlx::test(migrations = "./migrations")]
async fn create_survives_double_clicks_and_restarts(pool: PgPool) {
    let gorgar = add_machine(&pool, "gorgar", "Gorgar").await;
    add_maintainer(&pool, "bob_the_fixer").await;
    let id = session(
        &pool,
        vec![
            (
                item("problem_report", Some(gorgar), "Left flipper weak"),
                None,
            ),
            (item("part_request", None, "Need flipper rebuild kit"), None),
        ],
        Duration::hours(24),
    )
    .await;
    let fake = FakeDiscord::start().await;
    let bot = TestBot::start(pool.clone(), &fake, 1).await;

    // Two clicks on Create at once.
    let create = format!("ff:{id}:0:c");
    let first = fake.click(&owner(), &create);
    let second = fake.click(&owner(), &create);
    assert_eq!(
        fake.callback(&first).await["type"],
        json!(6),
        "acknowledged as a deferred update"
    );
    assert_eq!(fake.callback(&second).await["type"], json!(6));
    let card = fake.edit_of(&first).await;
    fake.edit_of(&second).await;
    assert_eq!(
        records(&pool).await,
        1,
        "one record however often Create is clicked"
    );
    let footer = card["embeds"][0]["footer"]["text"]
        .as_str()
        .unwrap_or_default();
    assert_eq!(footer, "Suggestion 2 of 2", "{card}");
    assert!(
        card["embeds"][0]["title"]
            .as_str()
            .unwrap_or_default()
            .contains("Part request"),
        "{card}"
    );
    assert_eq!(
        card["embeds"][0]["thumbnail"]["url"],
        json!("https://cdn.discordapp.com/attachments/1/2/flipper.jpg")
    );
    assert_eq!(
        button_ids(&card),
        vec![
            format!("ff:{id}:1:c"),
            format!("ff:{id}:1:e"),
            format!("ff:{id}:1:s"),
            format!("ff:{id}:1:x")
        ]
    );

    // The bot restarts; the next click continues the review.
    bot.stop().await;
    let bot = TestBot::start(pool.clone(), &fake, 2).await;
    let skip = fake.click(&owner(), &format!("ff:{id}:1:s"));
    let summary = fake.edit_of(&skip).await;
    let title = summary["embeds"][0]["title"].as_str().unwrap_or_default();
    assert!(
        title.contains("Review finished. 1 record(s) created."),
        "{summary}"
    );
    let text = summary["embeds"][0]["description"]
        .as_str()
        .unwrap_or_default();
    assert!(
        text.contains("✅ ⚠️ Problem report #") && text.contains("⏭️ Skipped"),
        "{text}"
    );
    assert_eq!(summary["components"], json!([]), "the buttons disappear");
    assert_eq!(records(&pool).await, 1);

    // A late click on the finished review changes nothing and says so: the
    // message shows the finished summary again, without buttons.
    let late = fake.click(&owner(), &format!("ff:{id}:1:c"));
    fake.callback(&late).await;
    let answer = fake.edit_of(&late).await;
    assert_eq!(
        answer["embeds"][0]["title"],
        json!("Review finished. 1 record(s) created."),
        "{answer}"
    );
    assert_eq!(
        answer["embeds"][0]["description"],
        summary["embeds"][0]["description"]
    );
    assert_eq!(answer["components"], json!([]), "{answer}");
    assert_eq!(records(&pool).await, 1);
    bot.stop().await;
    fake.assert_spec_clean();
}

#[sqlx::test(migrations = "./migrations")]
async fn only_the_owner_acts_and_expired_reviews_say_so(pool: PgPool) {
    let fresh = session(
        &pool,
        vec![(item("part_request", None, "Need rubbers"), None)],
        Duration::hours(24),
    )
    .await;
    let fake = FakeDiscord::start().await;
    let bot = TestBot::start(pool.clone(), &fake, 1).await;

    let stranger = FakeUser::member(STRANGER, "sarahc_plays");
    let token = fake.click(&stranger, &format!("ff:{fresh}:0:c"));
    let refusal = fake.followup_of(&token).await;
    let text = refusal["content"].as_str().unwrap_or_default();
    assert_eq!(
        text,
        "❌ this review belongs to Bob Wilson; only they can act on it."
    );
    assert_eq!(refusal["flags"], json!(64));
    assert_eq!(records(&pool).await, 0);

    // Expire it and click again.
    sqlx::query("UPDATE review_sessions SET expires_at = now() - interval '1 minute'")
        .execute(&pool)
        .await
        .unwrap();
    let token = fake.click(&owner(), &format!("ff:{fresh}:0:c"));
    let refusal = fake.followup_of(&token).await;
    assert!(
        refusal["content"]
            .as_str()
            .unwrap_or_default()
            .contains("expired"),
        "{refusal}"
    );
    assert_eq!(records(&pool).await, 0);
    bot.stop().await;
    fake.assert_spec_clean();
}

#[sqlx::test(migrations = "./migrations")]
async fn edit_fixes_an_unknown_machine_before_create(pool: PgPool) {
    let gorgar = add_machine(&pool, "gorgar", "Gorgar").await;
    let mut unknown = item("problem_report", None, "Gorgr drains left");
    unknown.machine_hint = Some("Gorgr Pro".into());
    let known = item("part_request", None, "Need rubbers");
    let id = session(
        &pool,
        vec![(known, None), (unknown, None)],
        Duration::hours(24),
    )
    .await;
    let fake = FakeDiscord::start().await;
    let bot = TestBot::start(pool.clone(), &fake, 1).await;

    // Skipping the first suggestion shows the second card: Create is
    // disabled until a machine is chosen, and the card says why.
    let skip = fake.click(&owner(), &format!("ff:{id}:0:s"));
    let card = fake.edit_of(&skip).await;
    assert_eq!(
        card["content"],
        json!("⚠️ The machine `Gorgr Pro` is not in the catalog. Choose one below (or with **Edit**) before creating."),
        "{card}"
    );
    let create_button = &card["components"][0]["components"][0];
    assert_eq!(create_button["custom_id"], json!(format!("ff:{id}:1:c")));
    assert_eq!(create_button["label"], json!("Create"));
    assert_eq!(create_button["disabled"], json!(true), "{card}");
    let edit_button = &card["components"][0]["components"][1];
    assert_ne!(edit_button["disabled"], json!(true), "Edit stays usable");

    let edit = fake.click(&owner(), &format!("ff:{id}:1:e"));
    let modal = fake.callback(&edit).await;
    assert_eq!(modal["type"], json!(9), "the edit opens a modal: {modal}");
    assert_eq!(modal["data"]["custom_id"], json!(format!("ff:{id}:1:m")));
    let inputs: Vec<&str> = modal["data"]["components"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| row["components"][0]["custom_id"].as_str().unwrap())
        .collect();
    assert_eq!(
        inputs,
        vec!["machine", "description", "priority", "problem_type"]
    );

    // An unknown machine is refused with the closest names.
    let submit = fake.submit_modal(
        &owner(),
        &format!("ff:{id}:1:m"),
        &[("machine", "Medieval Madness"), ("description", "x")],
    );
    let refusal = fake.callback(&submit).await;
    let text = refusal["data"]["content"].as_str().unwrap_or_default();
    assert!(
        text.contains("No machine matches `Medieval Madness`") && text.contains("Gorgar"),
        "{text}"
    );
    assert!(
        text.starts_with("❌ No machine matches `Medieval Madness`.")
            && text.ends_with(" Nothing was changed; press Edit to try again."),
        "the refusal's sentence, framed: {text}"
    );

    // A bad choice is refused too.
    let submit = fake.submit_modal(
        &owner(),
        &format!("ff:{id}:1:m"),
        &[("machine", "gorgar"), ("priority", "urgent")],
    );
    let refusal = fake.callback(&submit).await;
    assert!(
        refusal["data"]["content"]
            .as_str()
            .unwrap_or_default()
            .contains("unplayable"),
        "{refusal}"
    );

    // A typo is matched; the card comes back with the edits for confirmation.
    let submit = fake.submit_modal(
        &owner(),
        &format!("ff:{id}:1:m"),
        &[
            ("machine", "Gorgr"),
            ("description", "Left flipper weak"),
            ("priority", "MAJOR"),
        ],
    );
    let updated = fake.callback(&submit).await;
    assert_eq!(updated["type"], json!(7), "{updated}");
    let create_button = &updated["data"]["components"][0]["components"][0];
    assert_eq!(create_button["custom_id"], json!(format!("ff:{id}:1:c")));
    assert_ne!(
        create_button["disabled"],
        json!(true),
        "a chosen machine enables Create: {updated}"
    );
    let embed = &updated["data"]["embeds"][0];
    assert!(
        embed["title"]
            .as_str()
            .unwrap_or_default()
            .contains("Gorgar"),
        "{updated}"
    );
    assert!(
        embed["description"]
            .as_str()
            .unwrap_or_default()
            .contains("**Priority:** major"),
        "{updated}"
    );
    assert_eq!(records(&pool).await, 0, "edits create nothing");

    let create = fake.click(&owner(), &format!("ff:{id}:1:c"));
    fake.edit_of(&create).await;
    let (machine, priority, description): (Option<i64>, String, String) =
        sqlx::query_as("SELECT machine_id, fields->>'priority', description FROM records")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(
        (machine, priority.as_str(), description.as_str()),
        (Some(gorgar), "major", "Left flipper weak")
    );
    let media: i64 = sqlx::query_scalar("SELECT count(*) FROM record_media")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(media, 1, "the photo is kept with the record");
    bot.stop().await;
    fake.assert_spec_clean();
}
