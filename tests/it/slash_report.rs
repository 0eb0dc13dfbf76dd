//! Issue #26's "slash free-text trigger, end to end": `/report` (the shipped
//! `workflows/report.yaml`) with a typed note, a machine and a photo, through
//! the fake Discord, the fake model API and real Postgres: deferred
//! privately, the workflow's own prompt and model, the note and the photo
//! sent to the model, a private review, two records whose media is the
//! photo; refusals answered privately; other servers refused.

use flipfix_bot::config::SettingKey;
use flipfix_bot::media::store;
use serde_json::{json, Value};
use sqlx::PgPool;

use super::add_to_flipfix::{bob, count, final_text, start};
use crate::support::anthropic::{FakeAnthropic, Reply};
use crate::support::bot::TestBot;
use crate::support::fake_cdn::{FakeCdn, PNG};
use crate::support::fake_discord::{FakeDiscord, CHANNEL_ID};
use crate::support::{add_machine, add_maintainer, copy_workflows};

const NOTE: &str =
    "Replaced the left flipper coil sleeve, strong again. The 100s reel on Cyclone still sticks.";

/// `/report` as Discord sends it: the note, a machine picked from the
/// autocomplete (its slug) and an attachment, resolved.
fn report(fake: &FakeDiscord, photo: Option<&str>) -> Value {
    let mut options = vec![
        json!({"type": 3, "name": "note", "value": NOTE}),
        json!({"type": 3, "name": "machine", "value": "twilight-zone"}),
    ];
    let mut data = json!({"id": fake.command_id("report"), "name": "report", "type": 1});
    if let Some(url) = photo {
        options.push(json!({"type": 11, "name": "attachment", "value": "4242"}));
        data["resolved"] = json!({"attachments": {"4242": {
            "id": "4242", "filename": "coil.png", "size": PNG.len(), "url": url,
            "proxy_url": url, "content_type": "image/png"}}});
    }
    data["options"] = json!(options);
    data
}

fn two_records(note_id: u64) -> Reply {
    Reply::tool_use(json!({"suggestions": [
        {"kind": "log_entry", "machine": "twilight-zone",
         "description": "Replaced the left flipper coil sleeve; strong again.",
         "source_message_ids": [note_id.to_string()], "author_id": bob().id.to_string()},
        {"kind": "problem_report", "machine": "cyclone",
         "description": "The 100s score reel still sticks.", "fields": {"priority": "minor"},
         "source_message_ids": [note_id.to_string()], "author_id": bob().id.to_string()},
    ]}))
}

#[sqlx::test(migrations = "./migrations")]
async fn a_typed_note_with_a_machine_and_a_photo_becomes_two_reviewed_records(pool: PgPool) {
    let twilight = add_machine(&pool, "twilight-zone", "Twilight Zone").await;
    let cyclone = add_machine(&pool, "cyclone", "Cyclone").await;
    let bob_id = add_maintainer(&pool, "bob_the_fixer").await;
    let fake = FakeDiscord::start().await;
    let cdn = FakeCdn::start().await;
    let photo = cdn.add("coil.png", "image/png", PNG);
    let anthropic = FakeAnthropic::start(Vec::new()).await;
    let bot = start(&pool, &fake, &anthropic).await;
    // The command is registered from the workflow file, with its options.
    let registered = fake
        .registered_commands()
        .into_iter()
        .find(|c| c["name"] == "report")
        .expect("/report registered");
    let options: Vec<&str> = registered["options"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["name"].as_str().unwrap())
        .collect();
    assert_eq!(options, vec!["note", "machine", "attachment"]);

    // The interaction's id is the note's id (fake ids are sequential).
    let note_id = fake.next_id() + 1;
    anthropic.set_replies(vec![two_records(note_id)]);
    let token = fake.interaction(&bob(), 2, report(&fake, Some(&photo)));
    let callback = fake.callback(&token).await;
    assert_eq!(callback["type"], json!(5), "deferred first: {callback}");
    assert_eq!(callback["data"]["flags"], json!(64), "privately");
    fake.wait_until("the review card", |requests| {
        requests.iter().any(|r| {
            r.method == "PATCH"
                && r.path.contains(&token)
                && r.body["embeds"].as_array().is_some_and(|e| !e.is_empty())
        })
    })
    .await;

    // The model got the workflow's own prompt and model, the typed note by
    // its author with the machine as a hint, and the photo.
    let received = anthropic.received();
    assert_eq!(received.len(), 1);
    let body = &received[0].body;
    assert_eq!(body["model"], "claude-sonnet-4-5");
    let system = body["system"].to_string();
    assert!(system.contains("used the `/report` command"), "{system}");
    let blocks = body["messages"][0]["content"].as_array().unwrap();
    let conversation = blocks[0]["text"].as_str().unwrap();
    assert!(conversation.contains(NOTE), "{conversation}");
    assert!(
        conversation.contains(&format!("[{note_id}] TARGET")),
        "{conversation}"
    );
    assert!(
        conversation.contains(&format!("author_id {}", bob().id)),
        "{conversation}"
    );
    assert!(
        conversation.contains("(Machine picked with /report: Twilight Zone)"),
        "{conversation}"
    );
    assert!(
        blocks
            .iter()
            .any(|b| b["type"] == "image" && b["source"]["media_type"] == "image/png"),
        "the photo is shown: {blocks:?}"
    );

    // The private review creates both records.
    let session: i64 = sqlx::query_scalar("SELECT id FROM review_sessions")
        .fetch_one(&pool)
        .await
        .unwrap();
    for position in 0..2 {
        let click = fake.click(&bob(), &format!("ff:{session}:{position}:c"));
        fake.edit_of(&click).await;
    }
    let records: Vec<(i64, String, Option<i64>, Option<i64>)> = sqlx::query_as(
        "SELECT id, kind, machine_id, author_maintainer_id FROM records ORDER BY id",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(records.len(), 2, "{records:?}");
    assert_eq!(
        records
            .iter()
            .map(|r| (r.1.as_str(), r.2, r.3))
            .collect::<Vec<_>>(),
        vec![
            ("log_entry", Some(twilight), Some(bob_id)),
            ("problem_report", Some(cyclone), Some(bob_id)),
        ]
    );
    // The note is each record's source, by the interaction's id.
    let sources: Vec<(i64, i64)> =
        sqlx::query_as("SELECT channel_id, message_id FROM record_sources ORDER BY record_id")
            .fetch_all(&pool)
            .await
            .unwrap();
    let expected = (CHANNEL_ID as i64, note_id as i64);
    assert_eq!(sources, vec![expected, expected]);
    // The attachment is each record's media, through the media store.
    for (record, ..) in &records {
        let media = store::for_record(&pool, *record).await.unwrap();
        assert_eq!(media.len(), 1, "{media:?}");
        assert_eq!(media[0].filename, "coil.png");
    }
    let run: (String, String) = sqlx::query_as("SELECT workflow, trigger FROM workflow_runs")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(run.0, "report");
    assert_eq!(run.1, "slash_command");
    bot.stop().await;
}

#[sqlx::test(migrations = "./migrations")]
async fn refusals_are_private_and_call_no_model(pool: PgPool) {
    add_machine(&pool, "twilight-zone", "Twilight Zone").await;
    // The workflow runs in one channel only.
    let dir = copy_workflows();
    let path = dir.path().join("workflows/report.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(
        &path,
        text.replace(
            "  - name: report\n",
            "  - name: report\n    channels: [\"777000000000000001\"]\n",
        ),
    )
    .unwrap();
    let fake = FakeDiscord::start().await;
    let anthropic = FakeAnthropic::start(vec![two_records(1)]).await;
    let mut secrets = crate::support::bot::test_secrets(&fake);
    secrets.anthropic_base_url = anthropic.base_url.clone();
    secrets.workflows_dir = dir.path().join("workflows");
    secrets.prompts_dir = dir.path().join("prompts");
    let bot = TestBot::start_with(pool.clone(), &fake, 1, secrets).await;
    bot.app
        .settings
        .set(SettingKey::AnthropicApiKey, "sk-ant-test-key", "tests")
        .await
        .unwrap();

    let token = fake.interaction(&bob(), 2, report(&fake, None));
    assert_eq!(fake.callback(&token).await["data"]["flags"], json!(64));
    assert_eq!(
        final_text(&fake, &token).await,
        "/report works only in <#777000000000000001>."
    );

    // An unknown machine is refused with the closest names.
    fake.next_interaction_in(777_000_000_000_000_001);
    let mut data = report(&fake, None);
    data["options"][1]["value"] = json!("Twilite Zon");
    let token = fake.interaction(&bob(), 2, data);
    let typo = final_text(&fake, &token).await;
    assert!(typo.starts_with("No machine matches"), "{typo}");

    // Another server: refused by the home-server gate.
    fake.next_interaction_from(Some(9_999));
    let token = fake.interaction(&bob(), 2, report(&fake, None));
    let callback = fake.callback(&token).await;
    assert_eq!(
        callback["data"]["content"],
        json!(flipfix_bot::discord::home::REFUSAL)
    );
    assert_eq!(callback["data"]["flags"], json!(64));

    assert!(anthropic.received().is_empty(), "no model call");
    assert_eq!(count(&pool, "records").await, 0);
    let refused: i64 =
        sqlx::query_scalar("SELECT count(*) FROM workflow_runs WHERE outcome = 'refused'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(refused, 2);
    bot.stop().await;
}
