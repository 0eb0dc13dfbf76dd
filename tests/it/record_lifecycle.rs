//! Records have a lifecycle (issue #23): a fix closes its report, every
//! status change is kept, `/close` and `/reopen` work from Discord once per
//! interaction, and closed records leave the open lists. Real Postgres, the
//! real dispatcher with the fake webhook, the fake Discord.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use flipfix_bot::records::open::{likely_duplicate, open_on_machines};
use flipfix_bot::records::status::{create_resolving_in, history};
use flipfix_bot::records::{NewRecord, Record};
use serde_json::json;
use sqlx::PgPool;

use crate::check_command::{check, edit, line_of};
use crate::notify::{description, drain, Env};
use crate::support::bot::TestBot;
use crate::support::fake_discord::{FakeDiscord, FakeUser};
use crate::support::{add_machine, copy_workflows, new_record, shipped_workflows};

const BOB: u64 = 610_000_000_000_000_001;
const REPORT_TEXT: &str = "Left flipper is weak and sticks after a long game";

async fn status_of(pool: &PgPool, id: i64) -> (Option<String>, Option<String>) {
    sqlx::query_as("SELECT status, fields->>'status' FROM records WHERE id = $1")
        .bind(id)
        .fetch_one(pool)
        .await
        .unwrap()
}

fn fix_under(report: i64) -> NewRecord {
    NewRecord {
        parent_id: Some(report),
        description: "fixed it: new EOS switch".into(),
        created_by: Some(format!("discord:{BOB} (bob_the_fixer)")),
        ..new_record("log_entry")
    }
}

async fn create_fix(pool: &PgPool, new: &NewRecord, resolves: bool) -> Record {
    let mut tx = pool.begin().await.unwrap();
    let (record, _) = create_resolving_in(&mut tx, &shipped_workflows().kinds, new, resolves)
        .await
        .unwrap();
    tx.commit().await.unwrap();
    record
}

#[sqlx::test(migrations = "./migrations")]
async fn a_fix_closes_its_report_and_keep_open_leaves_it_open(pool: PgPool) {
    let env = Env::new(pool.clone()).await;
    let kinds = &shipped_workflows().kinds;
    let problem_kind = kinds.get("problem_report").unwrap();
    let report = env
        .create(NewRecord {
            description: REPORT_TEXT.into(),
            ..new_record("problem_report")
        })
        .await;
    let kept = env
        .create(NewRecord {
            description: "Ball trough switch 3 is flaky".into(),
            ..new_record("problem_report")
        })
        .await;
    let occurred = new_record("problem_report").occurred_at;
    let duplicate = || likely_duplicate(&pool, problem_kind, env.machine, REPORT_TEXT, occurred);
    assert_eq!(
        duplicate().await.unwrap().map(|d| d.record_id),
        Some(report),
        "open, it is offered as a duplicate"
    );

    let fix = create_fix(&pool, &fix_under(report), true).await;
    let keep = create_fix(&pool, &fix_under(kept), false).await;

    assert_eq!(
        status_of(&pool, report).await,
        (Some("closed".into()), Some("closed".into()))
    );
    assert_eq!(
        status_of(&pool, kept).await,
        (Some("open".into()), Some("open".into()))
    );
    let entries: Vec<(i64, i64)> =
        sqlx::query_as("SELECT id, parent_id FROM records WHERE kind = 'log_entry' ORDER BY id")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(entries, vec![(fix.id, report), (keep.id, kept)]);

    let changes = history(&pool, report).await.unwrap();
    assert_eq!(changes.len(), 1, "{changes:?}");
    let change = &changes[0];
    assert_eq!(
        (change.from_status.as_deref(), change.to_status.as_str()),
        (Some("open"), "closed")
    );
    assert_eq!(change.changed_by_discord_id, Some(BOB));
    assert_eq!(change.who().as_deref(), Some("bob_the_fixer"));
    assert_eq!(change.via_record_id, Some(fix.id));
    // When, by the app's clock: the fix's own `created_at`.
    let fixed_at: DateTime<Utc> =
        sqlx::query_scalar("SELECT created_at FROM records WHERE id = $1")
            .bind(fix.id)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(change.changed_at, fixed_at);
    assert!(history(&pool, kept).await.unwrap().is_empty());

    // Closed, it leaves the duplicate check and the prompt's open records.
    assert_eq!(duplicate().await.unwrap(), None);
    let open: Vec<i64> = open_on_machines(&pool, kinds, &[env.machine], 15)
        .await
        .unwrap()
        .iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(open, vec![kept]);

    // The fix's notification says it closed the report; the other does not.
    let mut dispatcher = env.dispatcher();
    drain(&mut dispatcher, crate::support::time::real_now()).await;
    let bodies = env.checked_bodies();
    assert_eq!(bodies.len(), 4);
    assert!(
        description(&bodies[2]).contains(&format!("↳ ✅ closed #{report} (Problem report)")),
        "{}",
        description(&bodies[2])
    );
    assert!(
        description(&bodies[3]).contains(&format!("↳ Problem report #{kept}")),
        "{}",
        description(&bodies[3])
    );
    assert!(!description(&bodies[3]).contains("closed"));
}

#[sqlx::test(migrations = "./migrations")]
async fn a_part_update_that_changes_the_status_is_kept_in_the_history(pool: PgPool) {
    let env = Env::new(pool.clone()).await;
    let part = env.create(new_record("part_request")).await;
    let mut fields = BTreeMap::new();
    fields.insert("new_status".to_string(), "received".to_string());
    let update = env
        .create(NewRecord {
            parent_id: Some(part),
            fields,
            created_by: Some("discord:42 (ruth)".into()),
            ..new_record("part_request_update")
        })
        .await;
    let changes = history(&pool, part).await.unwrap();
    assert_eq!(changes.len(), 1, "{changes:?}");
    assert_eq!(
        (
            changes[0].from_status.as_deref(),
            changes[0].to_status.as_str(),
            changes[0].via_record_id,
            changes[0].changed_by_discord_id,
        ),
        (Some("requested"), "received", Some(update), Some(42))
    );
    // An update without a new status changes nothing and keeps nothing.
    env.create(NewRecord {
        parent_id: Some(part),
        ..new_record("part_request_update")
    })
    .await;
    assert_eq!(history(&pool, part).await.unwrap().len(), 1);
}

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

#[sqlx::test(migrations = "./migrations")]
async fn the_record_page_shows_the_status_history(pool: PgPool) {
    let seed = crate::web_pages::seed(&pool).await;
    let fix = create_fix(&pool, &fix_under(seed.problem), true).await;
    let site = crate::web_pages::Site::start(&pool).await;
    let (status, body, _) = site
        .get(&format!("/problem-reports/{}/", seed.problem))
        .await;
    assert_eq!(status, 200, "{body}");
    for expected in [
        "Status history",
        "open → <strong>closed</strong> by bob_the_fixer",
        &format!("<a href=\"/logs/{}/\">#{}</a>", fix.id, fix.id),
    ] {
        assert!(body.contains(expected), "missing {expected:?} in {body}");
    }
    let (_, body, _) = site.get(&format!("/logs/{}/", fix.id)).await;
    assert!(!body.contains("Status history"), "a log entry has none");
}

#[test]
fn check_refuses_a_resolves_parent_status_the_parent_does_not_close_with() {
    let dir = copy_workflows();
    edit(
        dir.path(),
        "workflows/record_kinds.yaml",
        "      status: closed",
        "      status: fixed",
    );
    let line = line_of(dir.path(), "workflows/record_kinds.yaml", "status: fixed");
    let run = check(dir.path());
    assert_ne!(run.code, 0);
    assert!(
        run.stdout.contains(&format!("record_kinds.yaml:{line}:")),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains(
            "resolves_parent.status `fixed` is not one of parent kind `problem_report`'s closed_statuses (closed)"
        ),
        "{}",
        run.stdout
    );
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

#[sqlx::test(migrations = "./migrations")]
async fn attach_and_close_attaches_to_the_duplicate_and_closes_it(pool: PgPool) {
    use flipfix_bot::review::duplicates::find_and_store;
    use flipfix_bot::review::{Decision, DecisionOutcome, ReviewItem, ReviewStore};
    let gorgar = add_machine(&pool, "gorgar", "Gorgar").await;
    let kinds = &shipped_workflows().kinds;
    let earlier = new_record("problem_report");
    let report = flipfix_bot::records::create_record(
        &pool,
        kinds,
        &NewRecord {
            machine_id: Some(gorgar),
            description: REPORT_TEXT.into(),
            ..earlier.clone()
        },
    )
    .await
    .unwrap()
    .id;
    let again = ReviewItem {
        occurred_at: earlier.occurred_at + chrono::Duration::days(1),
        ..crate::review_flow::item("problem_report", Some(gorgar), REPORT_TEXT)
    };
    let session =
        crate::review_flow::session(&pool, vec![(again, None)], chrono::Duration::hours(1)).await;
    assert_eq!(find_and_store(&pool, kinds, session).await.unwrap(), 1);
    let (outcome, _) = ReviewStore::new(pool.clone())
        .decide(
            kinds,
            session,
            0,
            Decision::AttachAndClose,
            crate::review_flow::OWNER,
            crate::support::time::real_now(),
        )
        .await
        .unwrap();
    let DecisionOutcome::Created { record_id: entry } = outcome else {
        panic!("{outcome:?}");
    };
    let (kind, parent): (String, Option<i64>) =
        sqlx::query_as("SELECT kind, parent_id FROM records WHERE id = $1")
            .bind(entry)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!((kind.as_str(), parent), ("log_entry", Some(report)));
    assert_eq!(status_of(&pool, report).await.0.as_deref(), Some("closed"));
    let changes = history(&pool, report).await.unwrap();
    assert_eq!(changes.len(), 1);
    assert_eq!(changes[0].via_record_id, Some(entry));
    assert_eq!(
        changes[0].changed_by_discord_id,
        Some(crate::review_flow::OWNER)
    );
}
