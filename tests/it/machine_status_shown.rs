//! A machine's status shows where people look (issue #23): the daily
//! summary lists machines that are not good, the review card says when the
//! suggestion's machine is not good, and the analysis prompt names the
//! machines' statuses and their open reports' priorities, so "it's back up"
//! is understood. Each from the shipped templates; one end to end through
//! the fake model, the fake Discord and real Postgres, which also closes
//! the report with "Attach and close" and is asked about the machine.

use chrono::Duration;
use flipfix_bot::records::view::RecordView;
use flipfix_bot::summary::content::{self, Window};
use serde_json::json;
use sqlx::PgPool;

use crate::add_to_flipfix::{bob, load_path};
use crate::follow_ups::{first_card, fixture, reference_answer, seed, session_id, start};
use crate::machine_status::machine_status;
use crate::support::anthropic::{FakeAnthropic, Reply};
use crate::support::fake_discord::FakeDiscord;
use crate::support::{add_machine, new_record, shipped_workflows};

async fn set_status(pool: &PgPool, machine: i64, status: &str) {
    sqlx::query("UPDATE machines SET status = $2 WHERE id = $1")
        .bind(machine)
        .bind(status)
        .execute(pool)
        .await
        .unwrap();
}

#[sqlx::test(migrations = "./migrations")]
async fn the_daily_summary_lists_machines_not_good_out_of_service_first(pool: PgPool) {
    let workflows = crate::summary::workflows_with_summary();
    let kinds = &workflows.kinds;
    let medieval = add_machine(&pool, "medieval-madness", "Medieval Madness").await;
    let gorgar = add_machine(&pool, "gorgar", "Gorgar").await;
    let tz = add_machine(&pool, "twilight-zone", "Twilight *Zone*").await;
    // Left at the column's default, `unknown`: never shown as a problem.
    add_machine(&pool, "addams", "Addams Family").await;
    set_status(&pool, medieval, "fixing").await;
    set_status(&pool, gorgar, "good").await;
    set_status(&pool, tz, "broken").await;
    let created = crate::support::time::real_now();
    flipfix_bot::records::create_record(
        &pool,
        kinds,
        &flipfix_bot::records::NewRecord {
            machine_id: Some(gorgar),
            created_at: created,
            ..new_record("log_entry")
        },
    )
    .await
    .unwrap();
    let window = Window {
        date: created.date_naive(),
        start: created - Duration::hours(1),
        end: created + Duration::hours(1),
    };
    let mut tx = pool.begin().await.unwrap();
    let view = content::load(&mut tx, &workflows.summaries[0], kinds, window, None)
        .await
        .unwrap();
    tx.rollback().await.unwrap();
    let message = flipfix_bot::summary::post::render_fitted(
        &workflows.templates,
        &workflows.summaries[0].template,
        &view,
    )
    .unwrap();
    assert!(
        message.body.starts_with(
            "**Machines not good:** ❌ Twilight \\*Zone\\* (Broken), 🔧 Medieval Madness (Fixing)\n\n**Gorgar**\n"
        ),
        "broken first, escaped; good and never-imported (`unknown`) machines left out: {:?}",
        message.body
    );
    assert!(!message.body.contains("Addams"), "{}", message.body);

    // Capped like every list when the message must shrink.
    let capped = view.capped(1);
    assert_eq!(capped.machine_statuses.len(), 1);
    assert_eq!(capped.machine_statuses_more, 1);
    let body = workflows
        .templates
        .render_message(&workflows.summaries[0].template, &capped)
        .unwrap()
        .body;
    assert!(
        body.starts_with("**Machines not good:** ❌ Twilight \\*Zone\\* (Broken), …and 1 more\n\n"),
        "{body:?}"
    );
}

#[test]
fn the_card_template_says_when_the_machine_is_not_good() {
    let workflows = shipped_workflows();
    let kind = workflows.kinds.get("problem_report").unwrap();
    let statuses = workflows.kinds.machine_statuses();
    let render = |status: Option<&str>| {
        let mut view = RecordView::sample(kind, true);
        let machine = view.machine.take().unwrap();
        view.machine = Some(match status {
            Some(status) => machine.with_status(statuses, status),
            None => flipfix_bot::records::view::MachineView {
                status: None,
                ..machine
            },
        });
        workflows
            .templates
            .render_message(&kind.card_template, &view)
            .unwrap()
            .body
    };
    assert!(
        render(Some("broken")).starts_with("❌ EBD LE is Broken (out of service).\n\n"),
        "{}",
        render(Some("broken"))
    );
    assert!(
        render(Some("fixing")).starts_with("🔧 EBD LE is Fixing.\n\n"),
        "{}",
        render(Some("fixing"))
    );
    for quiet in [Some("good"), Some("unknown"), None] {
        let body = render(quiet);
        assert!(
            body.starts_with("The left flipper is weak"),
            "{quiet:?}: {body}"
        );
        assert_eq!(body, render(None), "{quiet:?}");
    }
}

#[test]
fn the_conversation_template_names_machine_statuses_and_priorities() {
    let workflows = shipped_workflows();
    let menu = flipfix_bot::analysis::for_workflow(&workflows, None).unwrap();
    let (_, conversation) = flipfix_bot::analysis::prompt::sample_contexts(menu, &workflows.kinds);
    let text = workflows
        .templates
        .render(&menu.conversation_template, &conversation)
        .unwrap();
    assert!(
        text.contains(
            "Machines mentioned that are not in normal service:\n- eight-ball-deluxe-limited-edition: Broken (out of service)\n"
        ),
        "{text}"
    );
    assert!(
        text.contains(
            "- problem_report #12, eight-ball-deluxe-limited-edition, open, priority unplayable, 2 days:"
        ),
        "{text}"
    );
}

/// The duplicate scenario on a broken Twilight Zone whose open report #12 is
/// unplayable: the model is told the status and the priority, the card says
/// Twilight Zone is broken, and "Attach and close #12" asks "Set Twilight Zone back to
/// Good?" (never automatic); the entry and the close carry the reviewer's
/// id and unique username.
#[sqlx::test(migrations = "./migrations")]
async fn a_broken_machine_is_in_the_prompt_on_the_card_and_asked_about_after_the_fix(pool: PgPool) {
    let name = "duplicate_report_two_days_later";
    let fake = FakeDiscord::start().await;
    let anthropic = FakeAnthropic::start(vec![Reply::body(reference_answer(name))]).await;
    let (scenario, messages) = load_path(&fake, &fixture("scenarios", name, "yaml"));
    let machines = seed(&pool, &scenario).await;
    let tz = machines["twilight-zone"];
    set_status(&pool, tz, "broken").await;
    sqlx::query(
        "UPDATE records SET fields = fields || '{\"priority\": \"unplayable\"}' WHERE id = 12",
    )
    .execute(&pool)
    .await
    .unwrap();
    let bot = start(&pool, &fake, &anthropic).await;

    let card = first_card(&fake, &scenario, &messages).await;
    let request = &anthropic.received()[0].body;
    let conversation = request["messages"][0]["content"].to_string();
    assert!(
        conversation.contains("- twilight-zone: Broken (out of service)"),
        "{conversation}"
    );
    assert!(
        conversation
            .contains("- problem_report #12, twilight-zone, open, priority unplayable, 1 day:"),
        "{conversation}"
    );
    let system = request["system"].to_string();
    assert!(
        system.contains("\\\"it's back up\\\" about a machine listed as out of service"),
        "the rule that reads it: {system}"
    );
    let description = card["embeds"][0]["description"]
        .as_str()
        .unwrap_or_default();
    assert!(
        description.starts_with("❌ Twilight Zone is Broken (out of service).\n\n"),
        "{card}"
    );

    let session = session_id(&pool).await;
    let click = fake.click(&bob(), &format!("ff:{session}:0:l"));
    fake.edit_of(&click).await;
    let asked = fake.followup_of(&click).await;
    assert_eq!(
        asked["flags"],
        json!(64),
        "private to the reviewer: {asked}"
    );
    assert_eq!(
        asked["content"],
        json!("✅ Closed #12 with #13."),
        "{asked}"
    );
    let button = &asked["components"][0]["components"][0];
    assert_eq!(button["label"], json!("Set Twilight Zone back to Good?"));
    assert_eq!(machine_status(&pool, tz).await, "broken", "never automatic");

    let actor = format!("discord:{} (bob_the_fixer)", bob().id);
    let created_by: Option<String> =
        sqlx::query_scalar("SELECT created_by FROM records WHERE id = 13")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(created_by.as_deref(), Some(actor.as_str()));
    let closes = flipfix_bot::records::status::history(&pool, 12)
        .await
        .unwrap();
    assert_eq!(closes.len(), 1);
    assert_eq!(closes[0].changed_by.as_deref(), Some(actor.as_str()));
    assert_eq!(closes[0].who().as_deref(), Some("bob_the_fixer"));

    let custom_id = button["custom_id"].as_str().unwrap().to_string();
    let answer = fake.click(&bob(), &custom_id);
    fake.followup_of(&answer).await;
    assert_eq!(machine_status(&pool, tz).await, "good");
    bot.stop().await;
    fake.assert_spec_clean();
}
