//! Closing from Discord (issue #23): `/close` and `/reopen` once per
//! interaction, the review card's "Create and close #N" / "Create, keep #N
//! open", and `/log`'s `closes`. Real Postgres, the fake Discord.

use flipfix_bot::records::status::history;
use flipfix_bot::records::NewRecord;
use serde_json::json;
use sqlx::PgPool;

use crate::record_lifecycle::{status_of, BOB};
use crate::support::bot::TestBot;
use crate::support::fake_discord::{FakeDiscord, FakeUser};
use crate::support::{add_machine, new_record, shipped_workflows};

fn bob() -> FakeUser {
    FakeUser::member(BOB, "bob_the_fixer")
}

async fn refusal(fake: &FakeDiscord, token: &str) -> String {
    let followup = fake
        .wait_for_request("the private refusal", |r| {
            r.method == "POST" && r.path.ends_with(&format!("/{token}"))
        })
        .await;
    assert_eq!(followup.body["flags"], json!(64), "ephemeral");
    followup.body["content"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

async fn count(pool: &PgPool, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(pool).await.unwrap()
}

#[sqlx::test(migrations = "./migrations")]
async fn close_and_reopen_from_discord_once_per_interaction(pool: PgPool) {
    let fake = FakeDiscord::start().await;
    let gorgar = add_machine(&pool, "gorgar", "Gorgar").await;
    let bot = TestBot::start(pool.clone(), &fake, 1).await;
    let kinds = &shipped_workflows().kinds;
    let report = flipfix_bot::records::create_record(
        &pool,
        kinds,
        &NewRecord {
            machine_id: Some(gorgar),
            ..new_record("problem_report")
        },
    )
    .await
    .unwrap()
    .id;

    let token = fake.invoke_slash(
        &bob(),
        "close",
        json!([{"type": 4, "name": "id", "value": report},
               {"type": 3, "name": "note", "value": "replaced the EOS switch"}]),
    );
    let reply = fake.reply(&token).await;
    let title = reply["embeds"][0]["title"].as_str().unwrap_or_default();
    assert_eq!(title, format!("Closed #{report}: open → closed"), "{reply}");
    assert_eq!(reply["allowed_mentions"]["parse"], json!([]));
    let (entry, entry_text, machine): (i64, String, Option<i64>) = sqlx::query_as(
        "SELECT id, description, machine_id FROM records WHERE kind = 'log_entry' AND parent_id = $1",
    )
    .bind(report)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(entry_text, "Closed: replaced the EOS switch");
    assert_eq!(
        machine,
        Some(gorgar),
        "the entry takes the report's machine"
    );
    assert_eq!(status_of(&pool, report).await.0.as_deref(), Some("closed"));
    let changes = history(&pool, report).await.unwrap();
    assert_eq!(changes.len(), 1);
    assert_eq!(changes[0].changed_by_discord_id, Some(BOB));
    assert_eq!(changes[0].who().as_deref(), Some("bob_the_fixer"));
    assert_eq!(changes[0].via_record_id, Some(entry));

    // The same interaction delivered again changes nothing more.
    let payload = fake.interaction_payload(&token).expect("payload");
    fake.redispatch_interaction(payload);
    fake.wait_for_request("the second delivery's follow-up", |r| {
        r.method == "POST" && r.path.ends_with(&format!("/{token}"))
    })
    .await;
    assert_eq!(
        count(
            &pool,
            "SELECT count(*) FROM records WHERE kind = 'log_entry'"
        )
        .await,
        1
    );
    assert_eq!(
        count(&pool, "SELECT count(*) FROM record_status_changes").await,
        1
    );

    // Refusals, each one sentence, nothing changed.
    let close = |id: i64| {
        fake.invoke_slash(
            &bob(),
            "close",
            json!([{"type": 4, "name": "id", "value": id}]),
        )
    };
    let token = close(report);
    assert_eq!(
        refusal(&fake, &token).await,
        format!("❌ Nothing was changed: #{report} is already closed.")
    );
    let token = close(424_242);
    assert_eq!(
        refusal(&fake, &token).await,
        "❌ Nothing was changed: there is no record #424242."
    );
    let token = close(entry);
    assert_eq!(
        refusal(&fake, &token).await,
        format!("❌ Nothing was changed: #{entry} is a log entry, which has no status to open or close.")
    );
    assert_eq!(
        count(
            &pool,
            "SELECT count(*) FROM records WHERE kind = 'log_entry'"
        )
        .await,
        1
    );

    // Reopened, it is open again, with a second history row.
    let token = fake.invoke_slash(
        &bob(),
        "reopen",
        json!([{"type": 4, "name": "id", "value": report}]),
    );
    let reply = fake.reply(&token).await;
    let title = reply["embeds"][0]["title"].as_str().unwrap_or_default();
    assert_eq!(
        title,
        format!("Reopened #{report}: closed → open"),
        "{reply}"
    );
    assert_eq!(status_of(&pool, report).await.0.as_deref(), Some("open"));
    let changes = history(&pool, report).await.unwrap();
    assert_eq!(changes.len(), 2);
    assert_eq!(
        (
            changes[1].from_status.as_deref(),
            changes[1].to_status.as_str()
        ),
        (Some("closed"), "open")
    );
    let token = fake.invoke_slash(
        &bob(),
        "reopen",
        json!([{"type": 4, "name": "id", "value": report}]),
    );
    assert_eq!(
        refusal(&fake, &token).await,
        format!("❌ Nothing was changed: #{report} is not closed (it is open).")
    );
    bot.stop().await;
    fake.assert_spec_clean();
}

/// The buttons of a card: (custom id, label, style).
fn buttons(card: &serde_json::Value) -> Vec<(String, String, i64)> {
    card["components"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|row| row["components"].as_array().cloned().unwrap_or_default())
        .filter(|c| c["type"] == 2)
        .map(|b| {
            (
                b["custom_id"].as_str().unwrap_or_default().to_string(),
                b["label"].as_str().unwrap_or_default().to_string(),
                b["style"].as_i64().unwrap_or_default(),
            )
        })
        .collect()
}

#[sqlx::test(migrations = "./migrations")]
async fn the_review_card_offers_create_and_close_and_keep_open(pool: PgPool) {
    use crate::review_flow::{item, owner, session};
    let gorgar = add_machine(&pool, "gorgar", "Gorgar").await;
    let kinds = &shipped_workflows().kinds;
    let report = |text: &str| NewRecord {
        machine_id: Some(gorgar),
        description: text.into(),
        ..new_record("problem_report")
    };
    let closed = flipfix_bot::records::create_record(&pool, kinds, &report("Resets on sling"))
        .await
        .unwrap()
        .id;
    let kept = flipfix_bot::records::create_record(&pool, kinds, &report("Drop target slow"))
        .await
        .unwrap()
        .id;
    let fake = FakeDiscord::start().await;
    let bot = TestBot::start(pool.clone(), &fake, 1).await;

    for (report, resolves, click) in [(closed, true, "k"), (kept, false, "c")] {
        let fix = flipfix_bot::review::ReviewItem {
            parent_record_id: Some(report),
            resolves,
            ..item("log_entry", None, "fixed it")
        };
        let id = session(
            &pool,
            vec![
                (item("part_request", None, "Need fuses"), None),
                (fix, None),
            ],
            chrono::Duration::hours(24),
        )
        .await;
        let token = fake.click(&owner(), &format!("ff:{id}:0:c"));
        let card = fake.edit_of(&token).await;
        let shown = buttons(&card);
        let (success, secondary) = (3, 2);
        let expected_styles = if resolves {
            (success, secondary)
        } else {
            (secondary, success)
        };
        assert_eq!(
            shown[..2],
            [
                (
                    format!("ff:{id}:1:k"),
                    format!("Create and close #{report}"),
                    expected_styles.0
                ),
                (
                    format!("ff:{id}:1:c"),
                    format!("Create, keep #{report} open"),
                    expected_styles.1
                ),
            ],
            "the model's answer is the green one: {card}"
        );
        let token = fake.click(&owner(), &format!("ff:{id}:1:{click}"));
        fake.edit_of(&token).await;
    }
    assert_eq!(status_of(&pool, closed).await.0.as_deref(), Some("closed"));
    assert_eq!(status_of(&pool, kept).await.0.as_deref(), Some("open"));
    let entries: Vec<Option<i64>> =
        sqlx::query_scalar("SELECT parent_id FROM records WHERE kind = 'log_entry' ORDER BY id")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(entries, vec![Some(closed), Some(kept)]);
    let changes = history(&pool, closed).await.unwrap();
    assert_eq!(changes.len(), 1);
    assert_eq!(
        changes[0].changed_by_discord_id,
        Some(crate::review_flow::OWNER)
    );
    assert!(history(&pool, kept).await.unwrap().is_empty());
    bot.stop().await;
    fake.assert_spec_clean();
}

#[sqlx::test(migrations = "./migrations")]
async fn log_closes_its_parent_when_asked(pool: PgPool) {
    let fake = FakeDiscord::start().await;
    let gorgar = add_machine(&pool, "gorgar", "Gorgar").await;
    let bot = TestBot::start(pool.clone(), &fake, 1).await;
    let kinds = &shipped_workflows().kinds;
    let report = flipfix_bot::records::create_record(
        &pool,
        kinds,
        &NewRecord {
            machine_id: Some(gorgar),
            ..new_record("problem_report")
        },
    )
    .await
    .unwrap()
    .id;
    let log = fake
        .registered_commands()
        .into_iter()
        .find(|c| c["name"] == "log")
        .expect("/log registered");
    assert!(
        log["options"]
            .as_array()
            .unwrap()
            .iter()
            .any(|o| o["name"] == "closes" && o["type"] == 5),
        "{log}"
    );
    let token = fake.invoke_slash(
        &bob(),
        "log",
        json!([{"type": 3, "name": "description", "value": "Replaced the sling switch"},
               {"type": 4, "name": "parent", "value": report},
               {"type": 5, "name": "closes", "value": true}]),
    );
    fake.reply(&token).await;
    assert_eq!(status_of(&pool, report).await.0.as_deref(), Some("closed"));
    assert_eq!(history(&pool, report).await.unwrap().len(), 1);

    // `closes` without a parent is refused; nothing is recorded.
    let token = fake.invoke_slash(
        &bob(),
        "log",
        json!([{"type": 3, "name": "description", "value": "Cleaned the glass"},
               {"type": 3, "name": "machine", "value": "gorgar"},
               {"type": 5, "name": "closes", "value": true}]),
    );
    assert_eq!(
        refusal(&fake, &token).await,
        "❌ Not recorded: `closes` needs the id of the record to close in `parent`."
    );
    assert_eq!(
        count(
            &pool,
            "SELECT count(*) FROM records WHERE kind = 'log_entry'"
        )
        .await,
        1
    );
    bot.stop().await;
    fake.assert_spec_clean();
}
