//! Issue #26's "thread-created trigger, end to end": the shipped forum
//! intake workflow (`workflows/forum_intake.yaml`) with its channel named,
//! through the fake Discord (gateway THREAD_CREATE, every REST request
//! checked against the OpenAPI spec), the fake model API and real Postgres.

use serde_json::{json, Value};
use sqlx::PgPool;

use super::add_to_flipfix::{bob, count};
use crate::support::anthropic::{FakeAnthropic, Reply};
use crate::support::bot::{test_secrets, TestBot};
use crate::support::fake_discord::{
    user_message, FakeDiscord, FakeUser, BOT_USER_ID, GUILD_ID, WAIT_LIMIT,
};
use crate::support::logs::CapturedLogs;
use crate::support::{add_machine, add_maintainer, copy_workflows};

/// The forum channel (type 15) the workflow is turned on for.
const FORUM_ID: u64 = 700_000_000_000_000_150;
/// A forum post: the thread, whose starter message has the same id.
const POST_ID: u64 = 750_000_000_000_000_100;

fn alice() -> FakeUser {
    FakeUser::member(1_002_000_000_000_000_002, "alice_m")
}

/// The shipped workflows with forum intake turned on for [`FORUM_ID`], as
/// the file's comment says to.
fn intake_on() -> tempfile::TempDir {
    let dir = copy_workflows();
    let path = dir.path().join("workflows/forum_intake.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains("channel: 0\n"), "shipped off");
    std::fs::write(
        &path,
        text.replace("channel: 0\n", &format!("channel: \"{FORUM_ID}\"\n")),
    )
    .unwrap();
    dir
}

async fn start(
    pool: &PgPool,
    fake: &FakeDiscord,
    anthropic: &FakeAnthropic,
    dir: &tempfile::TempDir,
) -> TestBot {
    let mut secrets = test_secrets(fake);
    secrets.anthropic_base_url = anthropic.base_url.clone();
    secrets.workflows_dir = dir.path().join("workflows");
    secrets.prompts_dir = dir.path().join("prompts");
    let bot = TestBot::start_with(pool.clone(), fake, 1, secrets).await;
    bot.app
        .settings
        .set(
            flipfix_bot::config::SettingKey::AnthropicApiKey,
            "sk-ant-test-key",
            "tests",
        )
        .await
        .unwrap();
    bot
}

/// A member's message in thread `thread`, served from its history.
fn post(fake: &FakeDiscord, id: u64, thread: u64, user: &FakeUser, content: &str) -> Value {
    let at = crate::support::time::real_now().to_rfc3339();
    let message = user_message(id, thread, user.user_json(), content, &at, None);
    fake.add_message(thread, message.clone());
    message
}

/// A forum post by `owner` (starter id == thread id) and a reply to it.
fn forum_post(fake: &FakeDiscord, thread: u64, owner: &FakeUser) {
    post(
        fake,
        thread,
        thread,
        owner,
        "Gorgar: left flipper is weak, it barely gets the ball up the ramp.",
    );
    post(
        fake,
        thread + 1,
        thread,
        &alice(),
        "Noticed it too, and it buzzes when you hold the button.",
    );
}

fn one_problem_report(thread: u64) -> Reply {
    Reply::tool_use(json!({"suggestions": [
        {"kind": "problem_report", "machine": "gorgar",
         "description": "Left flipper weak; barely makes the ramp and buzzes when held.",
         "fields": {"priority": "major"},
         "source_message_ids": [thread.to_string(), (thread + 1).to_string()],
         "author_id": bob().id.to_string()},
    ]}))
}

/// The review prompt the bot posted in `thread`, once it is there.
async fn the_prompt(fake: &FakeDiscord, thread: u64) -> Value {
    fake.wait_until("the review prompt in the thread", |requests| {
        requests.iter().any(|r| {
            r.method == "POST"
                && r.path.ends_with(&format!("/channels/{thread}/messages"))
                && r.body["content"]
                    .as_str()
                    .is_some_and(|c| c.starts_with("Suggestions for"))
        })
    })
    .await;
    let prompts: Vec<Value> = fake
        .bot_messages(thread)
        .into_iter()
        .filter(|m| m["components"].to_string().contains("review-prompt:"))
        .collect();
    assert_eq!(prompts.len(), 1, "one prompt: {prompts:?}");
    prompts[0].clone()
}

/// Waits until the captured logs say `what`.
async fn logged(logs: &CapturedLogs, what: &str) {
    let deadline = tokio::time::Instant::now() + WAIT_LIMIT;
    while !logs.text().contains(what) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "never logged {what:?}:\n{}",
            logs.text()
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

#[sqlx::test(migrations = "./migrations")]
async fn a_forum_post_gets_a_review_prompt_in_its_thread_for_its_owner(pool: PgPool) {
    let logs = CapturedLogs::capture();
    add_machine(&pool, "gorgar", "Gorgar").await;
    add_maintainer(&pool, "bob_the_fixer").await;
    let dir = intake_on();
    let fake = FakeDiscord::start().await;
    let anthropic = FakeAnthropic::start(vec![one_problem_report(POST_ID)]).await;
    let bot = start(&pool, &fake, &anthropic, &dir).await;
    fake.add_member(bob().id);
    forum_post(&fake, POST_ID, &bob());

    fake.create_thread(bob().id, POST_ID, FORUM_ID);
    let prompt = the_prompt(&fake, POST_ID).await;
    let bob_id = bob().id;
    assert_eq!(
        prompt["content"],
        json!(format!("Suggestions for <@{bob_id}> are ready."))
    );
    let posted = fake
        .channel_posts()
        .into_iter()
        .find(|(channel, body)| *channel == POST_ID && body["content"] == prompt["content"])
        .expect("posted in the thread")
        .1;
    assert_eq!(posted["allowed_mentions"]["parse"], json!([]), "{posted}");

    // One model call, with the workflow's own prompt and model, reading the
    // post and its reply; the newest message read is the target.
    let received = anthropic.received();
    assert_eq!(received.len(), 1);
    let body = &received[0].body;
    assert_eq!(body["model"], "claude-haiku-4-5");
    let system = body["system"].to_string();
    assert!(system.contains("opened a new post"), "{system}");
    // The user message: text, or text blocks when images are shown.
    let content = &body["messages"][0]["content"];
    let conversation = content
        .as_str()
        .or_else(|| content[0]["text"].as_str())
        .unwrap_or_else(|| panic!("no conversation text: {content}"))
        .to_string();
    assert!(
        conversation.contains(&format!("[{POST_ID}] ")),
        "{conversation}"
    );
    assert!(
        conversation.contains(&format!("[{}] TARGET", POST_ID + 1)),
        "{conversation}"
    );
    // The post's title (the thread's name) is read with its first message.
    assert!(
        conversation.contains("Title: Left flipper weak\nGorgar: left flipper"),
        "{conversation}"
    );

    // Another member's click: refused privately.
    let button = &prompt["components"][0]["components"][0];
    assert_eq!(button["label"], json!("Review"), "{prompt}");
    let custom_id = button["custom_id"].as_str().unwrap().to_string();
    let token = fake.click_on(&alice(), &custom_id, &prompt);
    assert_eq!(fake.callback(&token).await["data"]["flags"], json!(64));
    let refusal = fake.edit_of(&token).await;
    assert!(
        refusal["content"]
            .as_str()
            .unwrap_or_default()
            .starts_with("Only the person"),
        "{refusal}"
    );

    // The owner's click opens the review; accepting creates the record.
    let token = fake.click_on(&bob(), &custom_id, &prompt);
    let card = fake.edit_of(&token).await;
    assert_eq!(
        card["embeds"][0]["footer"]["text"],
        json!("Suggestion 1 of 1"),
        "{card}"
    );
    let session: i64 = sqlx::query_scalar("SELECT id FROM review_sessions")
        .fetch_one(&pool)
        .await
        .unwrap();
    let click = fake.click(&bob(), &format!("ff:{session}:0:c"));
    fake.edit_of(&click).await;
    let record: (i64, String) = sqlx::query_as("SELECT id, kind FROM records")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(record.1, "problem_report");
    let sources: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT channel_id, message_id FROM record_sources WHERE record_id = $1 ORDER BY message_id",
    )
    .bind(record.0)
    .fetch_all(&pool)
    .await
    .unwrap();
    let thread = POST_ID as i64;
    assert_eq!(sources, vec![(thread, thread), (thread, thread + 1)]);

    // The prompt says what was created, without its button.
    let prompt_id = prompt["id"].as_str().unwrap().to_string();
    fake.wait_until("the prompt's edit", |requests| {
        requests.iter().any(|r| {
            r.method == "PATCH"
                && r.path
                    .ends_with(&format!("/channels/{POST_ID}/messages/{prompt_id}"))
        })
    })
    .await;
    let edited = fake.channel_message(POST_ID, &json!(prompt_id)).unwrap();
    let text = edited["content"].as_str().unwrap();
    assert!(
        text.starts_with(&format!("Created #{}", record.0)),
        "{text}"
    );
    assert_eq!(edited["components"], json!([]), "{edited}");
    let run: (String, String, i64, String) =
        sqlx::query_as("SELECT workflow, trigger, channel_id, outcome FROM workflow_runs")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(
        run,
        (
            "forum_intake".into(),
            "thread_created".into(),
            thread,
            "created".into()
        )
    );

    // The same THREAD_CREATE again (a replay): nothing new.
    fake.create_thread(bob().id, POST_ID, FORUM_ID);
    logged(&logs, "its intake already ran").await;
    assert_eq!(anthropic.received().len(), 1, "no second model call");
    assert_eq!(count(&pool, "workflow_runs").await, 1);
    assert_eq!(fake.bot_messages(POST_ID).len(), 1, "no second prompt");
    fake.assert_spec_clean();
    bot.stop().await;
}

#[sqlx::test(migrations = "./migrations")]
async fn other_servers_other_channels_old_and_bot_threads_do_nothing(pool: PgPool) {
    add_machine(&pool, "gorgar", "Gorgar").await;
    let dir = intake_on();
    let fake = FakeDiscord::start().await;
    let last = POST_ID + 40;
    let anthropic = FakeAnthropic::start(vec![one_problem_report(last)]).await;
    let bot = start(&pool, &fake, &anthropic, &dir).await;
    fake.add_member(bob().id);
    for thread in [POST_ID, POST_ID + 10, POST_ID + 20, POST_ID + 30, last] {
        forum_post(&fake, thread, &bob());
    }

    fake.create_thread_in(bob().id, POST_ID, FORUM_ID, GUILD_ID + 1);
    fake.create_thread(bob().id, POST_ID + 10, FORUM_ID + 1);
    fake.add_bot_to_thread(bob().id, POST_ID + 20, FORUM_ID);
    fake.create_thread(BOT_USER_ID, POST_ID + 30, FORUM_ID);
    // Then one that counts, so the ones before have been handled.
    fake.create_thread(bob().id, last, FORUM_ID);
    the_prompt(&fake, last).await;
    assert_eq!(anthropic.received().len(), 1, "only the last thread's");
    let runs: Vec<i64> = sqlx::query_scalar("SELECT channel_id FROM workflow_runs")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert_eq!(runs, vec![last as i64]);
    for ignored in [POST_ID, POST_ID + 10, POST_ID + 20, POST_ID + 30] {
        assert!(fake.bot_messages(ignored).is_empty(), "thread {ignored}");
    }
    fake.assert_spec_clean();
    bot.stop().await;
}
