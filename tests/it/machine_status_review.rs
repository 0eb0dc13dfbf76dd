//! The review card and machine statuses (issue #23), through the fake
//! Discord and real Postgres: "Create and close" of the last unplayable
//! report of a broken machine asks "Set Gorgar back to Good?" with the
//! `/close` button (a second open one means no question), and the card
//! says when the suggestion's machine is not good.

use flipfix_bot::review::ReviewItem;
use serde_json::json;
use sqlx::PgPool;

use crate::machine_status::{good_machine, machine_status, status_entries, unplayable};
use crate::review_flow::{item, owner, session, OWNER};
use crate::support::bot::TestBot;
use crate::support::fake_discord::FakeDiscord;
use crate::support::{add_machine, shipped_workflows};

/// A one-item review: the fix of `report`, as the model marked it.
async fn fix_of(pool: &PgPool, report: i64) -> i64 {
    let fix = ReviewItem {
        parent_record_id: Some(report),
        resolves: true,
        ..item("log_entry", None, "fixed it")
    };
    session(pool, vec![(fix, None)], chrono::Duration::hours(24)).await
}

#[sqlx::test(migrations = "./migrations")]
async fn create_and_close_asks_only_when_the_last_unplayable_report_closes(pool: PgPool) {
    let kinds = &shipped_workflows().kinds;
    let gorgar = good_machine(&pool).await;
    let first = flipfix_bot::records::create_record(&pool, kinds, &unplayable(gorgar))
        .await
        .unwrap()
        .id;
    let second = flipfix_bot::records::create_record(&pool, kinds, &unplayable(gorgar))
        .await
        .unwrap()
        .id;
    assert_eq!(machine_status(&pool, gorgar).await, "broken");
    let fake = FakeDiscord::start().await;
    let bot = TestBot::start(pool.clone(), &fake, 1).await;

    // One of two: the second still keeps Gorgar broken, so no question.
    let review = fix_of(&pool, first).await;
    let click = fake.click(&owner(), &format!("ff:{review}:0:k"));
    fake.edit_of(&click).await;
    let told = fake.followup_of(&click).await;
    let entry: i64 = sqlx::query_scalar("SELECT id FROM records WHERE parent_id = $1")
        .bind(first)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(
        told["content"],
        json!(format!(
            "✅ Closed #{first} with #{entry}. Gorgar is still ❌ Broken."
        )),
        "{told}"
    );
    assert!(
        told["components"].as_array().is_none_or(Vec::is_empty),
        "no button: {told}"
    );

    // The last one: the same once-only button as `/close`.
    let review = fix_of(&pool, second).await;
    let click = fake.click(&owner(), &format!("ff:{review}:0:k"));
    fake.edit_of(&click).await;
    let asked = fake.followup_of(&click).await;
    let button = &asked["components"][0]["components"][0];
    assert_eq!(
        button["label"],
        json!("Set Gorgar back to Good?"),
        "{asked}"
    );
    assert_eq!(
        button["custom_id"],
        json!(format!("machine-status:{gorgar}:good"))
    );
    assert_eq!(
        machine_status(&pool, gorgar).await,
        "broken",
        "never automatic"
    );

    let answer = fake.click(&owner(), button["custom_id"].as_str().unwrap());
    fake.followup_of(&answer).await;
    assert_eq!(machine_status(&pool, gorgar).await, "good");
    // Who broke it, and who put it back: ids with unique usernames.
    let entries = status_entries(&pool, gorgar).await;
    let actor = format!("discord:{OWNER} (bob_the_fixer)");
    assert_eq!(
        entries.last().map(|e| (e.1.as_str(), e.2.as_deref())),
        Some(("Status changed: Broken → Good", Some(actor.as_str())))
    );
    // The review's decisions recorded the reviewer the same way.
    let closed_by: Vec<Option<String>> = sqlx::query_scalar(
        "SELECT changed_by FROM record_status_changes WHERE record_id = ANY($1) ORDER BY id",
    )
    .bind(vec![first, second])
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(closed_by, vec![Some(actor.clone()), Some(actor.clone())]);
    bot.stop().await;
    fake.assert_spec_clean();
}

#[sqlx::test(migrations = "./migrations")]
async fn the_review_card_says_when_the_machine_is_not_good(pool: PgPool) {
    let gorgar = good_machine(&pool).await;
    let medieval = add_machine(&pool, "medieval-madness", "Medieval Madness").await;
    sqlx::query("UPDATE machines SET status = 'fixing' WHERE id = $1")
        .bind(medieval)
        .execute(&pool)
        .await
        .unwrap();
    let fake = FakeDiscord::start().await;
    let bot = TestBot::start(pool.clone(), &fake, 1).await;
    let part = |machine| item("part_request", Some(machine), "Need fuses");
    let review = session(
        &pool,
        vec![
            (part(gorgar), None),
            (part(medieval), None),
            (part(gorgar), None),
        ],
        chrono::Duration::hours(24),
    )
    .await;
    let description = |card: &serde_json::Value| {
        card["embeds"][0]["description"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    };
    let click = fake.click(&owner(), &format!("ff:{review}:0:c"));
    let card = fake.edit_of(&click).await;
    assert!(
        description(&card).starts_with("🔧 Medieval Madness is Fixing.\n\n"),
        "{card}"
    );
    let click = fake.click(&owner(), &format!("ff:{review}:1:c"));
    let card = fake.edit_of(&click).await;
    assert!(
        description(&card).starts_with("Need fuses"),
        "a good machine is not mentioned: {card}"
    );
    bot.stop().await;
    fake.assert_spec_clean();
}
