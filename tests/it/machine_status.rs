//! Machines carry an operational status (issue #23): the declared rule (an
//! open unplayable report breaks its machine), the status log entry and its
//! notification, the history, the question when the last such report closes
//! (never automatic), `/machine status`, and `check` on bad rules. Real
//! Postgres; the Discord parts through the fake Discord.

use flipfix_bot::records::machine_status::{history, restore_question};
use flipfix_bot::records::status::create_resolving_in;
use flipfix_bot::records::NewRecord;
use serde_json::json;
use sqlx::PgPool;

use crate::check_command::{check, edit, line_of};
use crate::record_lifecycle::BOB;
use crate::support::bot::TestBot;
use crate::support::fake_discord::FakeUser;
use crate::support::{add_machine, copy_workflows, new_record, shipped_workflows};

pub(crate) async fn machine_status(pool: &PgPool, id: i64) -> String {
    sqlx::query_scalar("SELECT status FROM machines WHERE id = $1")
        .bind(id)
        .fetch_one(pool)
        .await
        .unwrap()
}

pub(crate) async fn good_machine(pool: &PgPool) -> i64 {
    let id = add_machine(pool, "gorgar", "Gorgar").await;
    sqlx::query("UPDATE machines SET status = 'good' WHERE id = $1")
        .bind(id)
        .execute(pool)
        .await
        .unwrap();
    id
}

pub(crate) fn unplayable(machine: i64) -> NewRecord {
    let mut new = NewRecord {
        machine_id: Some(machine),
        description: "Game resets when the ball drains".into(),
        created_by: Some(format!("discord:{BOB} (bob_the_fixer)")),
        ..new_record("problem_report")
    };
    new.fields.insert("priority".into(), "unplayable".into());
    new
}

async fn close(pool: &PgPool, report: i64) {
    let mut tx = pool.begin().await.unwrap();
    let fix = NewRecord {
        parent_id: Some(report),
        description: "fixed it".into(),
        ..new_record("log_entry")
    };
    create_resolving_in(&mut tx, &shipped_workflows().kinds, &fix, true)
        .await
        .unwrap();
    tx.commit().await.unwrap();
}

pub(crate) async fn status_entries(
    pool: &PgPool,
    machine: i64,
) -> Vec<(i64, String, Option<String>)> {
    sqlx::query_as(
        "SELECT id, description, created_by FROM records
         WHERE machine_id = $1 AND description LIKE 'Status changed:%' ORDER BY id",
    )
    .bind(machine)
    .fetch_all(pool)
    .await
    .unwrap()
}

#[sqlx::test(migrations = "./migrations")]
async fn an_unplayable_report_breaks_its_machine_and_closing_the_last_asks(pool: PgPool) {
    let kinds = &shipped_workflows().kinds;
    let gorgar = good_machine(&pool).await;
    flipfix_bot::config::Settings::new(pool.clone(), true)
        .set(
            flipfix_bot::config::SettingKey::DiscordWebhooksEnabled,
            "true",
            "test",
        )
        .await
        .unwrap();
    let first = flipfix_bot::records::create_record(&pool, kinds, &unplayable(gorgar))
        .await
        .unwrap();
    assert_eq!(machine_status(&pool, gorgar).await, "broken");
    let entries = status_entries(&pool, gorgar).await;
    assert_eq!(entries.len(), 1, "{entries:?}");
    assert_eq!(entries[0].1, "Status changed: Good → Broken");
    assert_eq!(
        entries[0].2.as_deref(),
        Some(format!("discord:{BOB} (bob_the_fixer)").as_str()),
        "attributed to who caused it"
    );
    let queued: i64 =
        sqlx::query_scalar("SELECT count(*) FROM notification_outbox WHERE record_id = $1")
            .bind(entries[0].0)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(queued, 1, "the status entry is notified like any record");
    let changes = history(&pool, gorgar).await.unwrap();
    assert_eq!(changes.len(), 1);
    assert_eq!(
        (
            changes[0].from_status.as_str(),
            changes[0].to_status.as_str()
        ),
        ("good", "broken")
    );
    assert_eq!(changes[0].via_record_id, Some(first.id));
    assert_eq!(changes[0].entry_record_id, Some(entries[0].0));

    // A second unplayable report: already broken, nothing more is written.
    let second = flipfix_bot::records::create_record(&pool, kinds, &unplayable(gorgar))
        .await
        .unwrap();
    assert_eq!(history(&pool, gorgar).await.unwrap().len(), 1);
    // A minor report never changes the status.
    let mut minor = unplayable(gorgar);
    minor.fields.insert("priority".into(), "minor".into());
    flipfix_bot::records::create_record(&pool, kinds, &minor)
        .await
        .unwrap();
    assert_eq!(history(&pool, gorgar).await.unwrap().len(), 1);

    // Closing one of two: no question.
    close(&pool, first.id).await;
    assert_eq!(restore_question(&pool, kinds, gorgar).await.unwrap(), None);
    // Closing the last: the question, and the machine stays broken.
    close(&pool, second.id).await;
    let question = restore_question(&pool, kinds, gorgar)
        .await
        .unwrap()
        .expect("asked");
    assert_eq!(question.text(), "Set Gorgar back to Good?");
    assert_eq!(question.to_status, "good");
    assert_eq!(
        machine_status(&pool, gorgar).await,
        "broken",
        "never automatic"
    );
}

#[sqlx::test(migrations = "./migrations")]
async fn close_asks_and_the_button_and_machine_status_change_it_once(pool: PgPool) {
    let fake = crate::support::fake_discord::FakeDiscord::start().await;
    let gorgar = good_machine(&pool).await;
    let bot = TestBot::start(pool.clone(), &fake, 1).await;
    let kinds = &shipped_workflows().kinds;
    let report = flipfix_bot::records::create_record(&pool, kinds, &unplayable(gorgar))
        .await
        .unwrap()
        .id;
    let bob = FakeUser::member(BOB, "bob_the_fixer");

    let token = fake.invoke_slash(
        &bob,
        "close",
        json!([{"type": 4, "name": "id", "value": report}]),
    );
    let reply = fake.reply(&token).await;
    let button = &reply["components"][0]["components"][0];
    assert_eq!(
        button["label"],
        json!("Set Gorgar back to Good?"),
        "{reply}"
    );
    let custom_id = button["custom_id"].as_str().unwrap().to_string();
    assert_eq!(machine_status(&pool, gorgar).await, "broken");

    let click = fake.click(&bob, &custom_id);
    fake.wait_for_request("the click's follow-up", |r| {
        r.method == "POST" && r.path.ends_with(&format!("/{click}"))
    })
    .await;
    assert_eq!(machine_status(&pool, gorgar).await, "good");
    // The same click delivered again changes nothing more.
    let payload = fake.interaction_payload(&click).expect("payload");
    fake.redispatch_interaction(payload);
    fake.wait_until("the second delivery's answer", |requests| {
        requests
            .iter()
            .filter(|r| r.method == "POST" && r.path.ends_with(&format!("/{click}")))
            .count()
            >= 2
    })
    .await;
    let descriptions: Vec<String> = status_entries(&pool, gorgar)
        .await
        .into_iter()
        .map(|e| e.1)
        .collect();
    assert_eq!(
        descriptions,
        vec![
            "Status changed: Good → Broken".to_string(),
            "Status changed: Broken → Good".to_string()
        ]
    );

    // `/machine status` by hand, with a note; an undeclared status is refused.
    let token = fake.invoke_slash(
        &bob,
        "machine",
        json!([{"type": 1, "name": "status", "options": [
            {"type": 3, "name": "machine", "value": "gorgar"},
            {"type": 3, "name": "status", "value": "fixing"},
            {"type": 3, "name": "note", "value": "waiting for a coil"}]}]),
    );
    let reply = fake.reply(&token).await;
    let content = reply["content"].as_str().unwrap_or_default();
    assert!(
        content.contains("Status changed: Good → Fixing (waiting for a coil)"),
        "{reply}"
    );
    assert_eq!(machine_status(&pool, gorgar).await, "fixing");
    let token = fake.invoke_slash(
        &bob,
        "machine",
        json!([{"type": 1, "name": "status", "options": [
            {"type": 3, "name": "machine", "value": "gorgar"},
            {"type": 3, "name": "status", "value": "melted"}]}]),
    );
    let followup = fake
        .wait_for_request("the refusal", |r| {
            r.method == "POST" && r.path.ends_with(&format!("/{token}"))
        })
        .await;
    assert_eq!(
        followup.body["content"],
        json!("❌ Nothing was changed: `melted` is not a machine status (declared: good, fixing, broken).")
    );
    assert_eq!(machine_status(&pool, gorgar).await, "fixing");
    assert_eq!(history(&pool, gorgar).await.unwrap().len(), 3);
    drop(bot);
}

#[test]
fn check_refuses_a_rule_with_an_unknown_status_at_its_line() {
    let dir = copy_workflows();
    edit(
        dir.path(),
        "workflows/machines.yaml",
        "    sets: broken",
        "    sets: kaput",
    );
    let line = line_of(dir.path(), "workflows/machines.yaml", "sets: kaput");
    let run = check(dir.path());
    assert_ne!(run.code, 0);
    assert!(
        run.stdout.contains(&format!("machines.yaml:{line}:")),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains(
            "status rule: unknown machine status `kaput` (declared: good, fixing, broken)"
        ),
        "{}",
        run.stdout
    );
}

#[test]
fn check_refuses_a_rule_on_an_unknown_field() {
    let dir = copy_workflows();
    edit(
        dir.path(),
        "workflows/machines.yaml",
        "    field: priority",
        "    field: severity",
    );
    let line = line_of(dir.path(), "workflows/machines.yaml", "field: severity");
    let run = check(dir.path());
    assert_ne!(run.code, 0);
    assert!(
        run.stdout.contains(&format!("machines.yaml:{line}:"))
            && run
                .stdout
                .contains("record kind `problem_report` has no field `severity`"),
        "{}",
        run.stdout
    );
}

#[sqlx::test(migrations = "./migrations")]
async fn the_status_shows_on_the_machine_page_and_the_index(pool: PgPool) {
    let kinds = &shipped_workflows().kinds;
    let gorgar = good_machine(&pool).await;
    let site = crate::web_pages::Site::start(&pool).await;
    let (_, body, _) = site.get("/").await;
    assert!(!body.contains("out of service"), "{body}");
    flipfix_bot::records::create_record(&pool, kinds, &unplayable(gorgar))
        .await
        .unwrap();
    let (status, body, _) = site.get("/machines/gorgar/").await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("❌ Broken"), "{body}");
    assert!(body.contains("Status changed: Good → Broken"), "{body}");
    let (_, body, _) = site.get("/").await;
    assert!(body.contains("1 machine out of service"), "{body}");
}
