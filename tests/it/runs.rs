//! Every workflow run is recorded (`workflow_runs`), end to end: a run that
//! creates records, a refused run, a failed analysis, `/flipfix runs`, and
//! the members-only `/runs/` page. Fake Discord, fake Anthropic, real
//! Postgres. The core's side (leftovers, reviews, usage, metrics) is in
//! `runs_core`.

use flipfix_bot::config::SettingKey;
use flipfix_bot::runs::{self, NewRun, Outcome, Trigger};
use serde_json::json;
use sqlx::PgPool;

use crate::add_to_flipfix::{bob, final_text, load, reference_answer, start, COMMAND};
use crate::support::anthropic::{FakeAnthropic, Reply};
use crate::support::fake_discord::{FakeDiscord, FakeUser, CHANNEL_ID};
use crate::support::web::{Browser, Site};
use crate::support::{add_machine, add_maintainer};

const ADMIN: u64 = 600_000_000_000_000_001;
pub(crate) const RUTH: u64 = 600_000_000_000_000_003;

fn admin() -> FakeUser {
    FakeUser::admin(ADMIN, "museum_admin")
}

/// `/flipfix runs [workflow]` as its text (embed title and description).
async fn runs_command(fake: &FakeDiscord, user: &FakeUser, workflow: Option<&str>) -> String {
    let options = match workflow {
        Some(name) => json!([{"type": 1, "name": "runs", "options": [
            {"type": 3, "name": "workflow", "value": name}]}]),
        None => json!([{"type": 1, "name": "runs", "options": []}]),
    };
    let token = fake.invoke_slash(user, "flipfix", options);
    let reply = fake.reply(&token).await;
    let mut text = reply["content"].as_str().unwrap_or_default().to_string();
    for embed in reply["embeds"].as_array().into_iter().flatten() {
        text.push_str(embed["title"].as_str().unwrap_or_default());
        text.push('\n');
        text.push_str(embed["description"].as_str().unwrap_or_default());
    }
    text
}

pub(crate) fn run_of<'a>(workflow: &'a str, trigger: Trigger, instance: Option<i32>) -> NewRun<'a> {
    NewRun {
        workflow,
        version: "v1",
        trigger,
        user: Some((RUTH, "ruth")),
        guild_id: None,
        channel_id: Some(CHANNEL_ID),
        target_message_id: None,
        instance,
    }
}

#[sqlx::test(migrations = "./migrations")]
async fn a_run_that_creates_records_is_recorded_listed_and_shown_to_members(pool: PgPool) {
    add_machine(&pool, "ballyhoo", "Ballyhoo").await;
    add_maintainer(&pool, "bob_the_fixer").await;
    add_maintainer(&pool, "alice_m").await;
    let fake = FakeDiscord::start().await;
    let anthropic = FakeAnthropic::start(vec![Reply::body(reference_answer(
        "nested_part_request_with_updates",
    ))])
    .await;
    let (scenario, messages) = load(&fake, "nested_part_request_with_updates");
    let bot = start(&pool, &fake, &anthropic).await;
    let target = messages
        .iter()
        .find(|m| m["id"] == json!(scenario.file.target))
        .unwrap();
    let token = fake.invoke_message_command(&bob(), COMMAND, target);
    fake.wait_until("the first card", |requests| {
        requests.iter().any(|r| {
            r.method == "PATCH"
                && r.path.contains(&token)
                && r.body["embeds"].as_array().is_some_and(|e| !e.is_empty())
        })
    })
    .await;
    // Under review: the run is in progress, with what it gathered.
    let open = runs::latest(&pool, None, 10).await.unwrap();
    assert_eq!(open.len(), 1, "{open:?}");
    assert_eq!(open[0].outcome, Outcome::InProgress);
    assert_eq!(open[0].message_ids.len(), 3, "{open:?}");

    let session: i64 = sqlx::query_scalar("SELECT id FROM review_sessions")
        .fetch_one(&pool)
        .await
        .unwrap();
    for position in 0..3 {
        let click = fake.click(&bob(), &format!("ff:{session}:{position}:c"));
        fake.edit_of(&click).await;
    }
    let created: Vec<(i64, String)> = sqlx::query_as("SELECT id, kind FROM records ORDER BY id")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert_eq!(created.len(), 3);

    let listed = runs::latest(&pool, None, 10).await.unwrap();
    let run = &listed[0];
    assert_eq!(
        (run.workflow.as_str(), run.trigger, run.outcome),
        ("add_to_flipfix", Trigger::MessageCommand, Outcome::Created)
    );
    assert_eq!(run.reason.as_deref(), Some("3 record(s) created"));
    assert_eq!(run.username.as_deref(), Some("bob_the_fixer"));
    assert_eq!(run.user_id.map(|u| u.get()), Some(bob().id));
    assert_eq!(run.channel_id.map(|c| c.get()), Some(CHANNEL_ID));
    assert_eq!(
        run.workflow_version,
        bot.app.workflows().version,
        "the version it ran with"
    );
    assert!(run.finished_at.is_some_and(|end| end >= run.started_at));
    let ids: Vec<i64> = created.iter().map(|(id, _)| *id).collect();
    assert_eq!(run.record_ids, ids, "the records it created");
    // Tokens and cost are llm_usage's, linked by the run's id.
    let (calls, input, cost): (i64, i64, Option<i64>) = sqlx::query_as(
        "SELECT count(*), sum(input_tokens)::BIGINT, sum(cost_micro_usd)::BIGINT FROM llm_usage WHERE run_id = $1",
    )
    .bind(run.id)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(calls, 1, "the run's one model call");
    assert_eq!((run.input_tokens, run.cost_micro_usd), (input, cost));
    assert!(run.models.is_some());

    // `/flipfix runs`: managers only, the run with its records.
    let text = runs_command(&fake, &admin(), None).await;
    assert!(
        text.contains(&format!(
            "**#{}** add\\_to\\_flipfix · message_command · bob\\_the\\_fixer",
            run.id
        )),
        "{text}"
    );
    let records = ids
        .iter()
        .map(|id| format!("#{id}"))
        .collect::<Vec<_>>()
        .join(", ");
    assert!(text.contains(&format!("created {records}")), "{text}");
    let text = runs_command(&fake, &admin(), Some("visitor_feedback")).await;
    assert_eq!(text, "No runs of `visitor\\_feedback` are recorded.");
    let text = runs_command(&fake, &bob(), None).await;
    assert_eq!(
        text,
        "Only members with the **Manage Server** permission can use this command."
    );
    bot.stop().await;
    fake.assert_spec_clean();

    // The page: members see the run and links to its records.
    let site = Site::start(pool.clone(), |_| {}).await;
    let mut visitor = Browser::new();
    let page = visitor.get(&site.url("/runs/")).await;
    assert_eq!(page.status, 303, "a visitor is sent to sign in");
    assert_eq!(page.location(), "/login?next=%2Fruns%2F");
    assert!(!page.body.contains("add_to_flipfix"));
    let filtered = visitor
        .get(&site.url("/runs/?workflow=add_to_flipfix"))
        .await;
    assert_eq!(filtered.status, 303, "by any path");
    site.fake.add_member(RUTH);
    let mut member = Browser::new();
    let done = member
        .sign_in(&site, &FakeUser::member(RUTH, "ruth"), "/runs/")
        .await;
    assert_eq!(done.status, 303, "{}", done.body);
    let page = member.get(&site.url("/runs/")).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(
        page.body.contains(&format!("Run #{}", run.id)),
        "{}",
        page.body
    );
    assert!(page.body.contains("bob_the_fixer"));
    let kinds = &site.state.app.workflows().kinds;
    for (id, kind) in &created {
        let path = flipfix_bot::config::record_path(&kinds.get(kind).unwrap().link_path, id);
        // The pages escape every value, slashes included.
        let href = path.replace('/', "&#x2f;");
        assert!(
            page.body.contains(&format!("href=\"{href}\"")),
            "links {path}: {}",
            page.body
        );
    }
    let other = member
        .get(&site.url("/runs/?workflow=visitor_feedback"))
        .await;
    assert!(other
        .body
        .contains("No runs are recorded for this workflow."));
}

#[sqlx::test(migrations = "./migrations")]
async fn a_refused_run_and_a_failed_analysis_are_recorded_with_the_sentence_the_person_saw(
    pool: PgPool,
) {
    add_machine(&pool, "ballyhoo", "Ballyhoo").await;
    let fake = FakeDiscord::start().await;
    let anthropic =
        FakeAnthropic::start(vec![Reply::error(401, "authentication_error", None)]).await;
    let (scenario, messages) = load(&fake, "nested_part_request_with_updates");
    let bot = start(&pool, &fake, &anthropic).await;
    let target = messages
        .iter()
        .find(|m| m["id"] == json!(scenario.file.target))
        .unwrap()
        .clone();
    bot.app
        .settings
        .set(SettingKey::DiscordBotEnabled, "false", "tests")
        .await
        .unwrap();
    let refused = final_text(
        &fake,
        &fake.invoke_message_command(&bob(), COMMAND, &target),
    )
    .await;
    bot.app
        .settings
        .reset(SettingKey::DiscordBotEnabled, "tests")
        .await
        .unwrap();
    let failed = final_text(
        &fake,
        &fake.invoke_message_command(&bob(), COMMAND, &target),
    )
    .await;
    assert_eq!(
        failed,
        "The Anthropic API key was refused. An admin should check ANTHROPIC_API_KEY."
    );

    let listed = runs::latest(&pool, Some("add_to_flipfix"), 10)
        .await
        .unwrap();
    let seen: Vec<(Outcome, Option<&str>)> = listed
        .iter()
        .rev()
        .map(|r| (r.outcome, r.reason.as_deref()))
        .collect();
    assert_eq!(
        seen,
        vec![
            (Outcome::Refused, Some(refused.as_str())),
            (Outcome::Failed, Some(failed.as_str())),
        ]
    );
    // The refusal came before any work; the failure had gathered and called.
    assert!(listed[1].message_ids.is_empty());
    assert_eq!(listed[0].message_ids.len(), 3);
    let linked: i64 = sqlx::query_scalar("SELECT count(*) FROM llm_usage WHERE run_id = $1")
        .bind(listed[0].id)
        .fetch_one(&pool)
        .await
        .unwrap();
    assert!(linked >= 1, "the refused key's attempt is the run's");
    assert!(listed.iter().all(|r| r.finished_at.is_some()));
    bot.stop().await;
    fake.assert_spec_clean();
}
