//! Acknowledging at the source (`context_menu.on_created`): the reaction on
//! each source message after Create, the one public reply when a review is
//! over, missing permissions, and the reply never read back as a source.
//! Fake Discord (spec-checked), fake Anthropic, real Postgres.

use std::collections::BTreeMap;
use std::time::Duration;

use flipfix_bot::records::{Author, SourceMessage};
use flipfix_bot::review::{NewSession, ReviewItem, ReviewStore, StartOutcome};
use serde_json::{json, Value};
use sqlx::PgPool;

use crate::add_to_flipfix::{bob, count, final_text, COMMAND};
use crate::support::anthropic::{FakeAnthropic, Reply};
use crate::support::bot::{test_secrets, TestBot};
use crate::support::fake_discord::{user_message, FakeDiscord, FakeUser, CHANNEL_ID, GUILD_ID};
use crate::support::logs::{CapturedLogs, LogCapture};
use crate::support::{add_machine, copy_workflows};

/// ✅ as it appears in the reaction route.
const CHECK_MARK: &str = "%E2%9C%85";
/// View Channel, Send Messages, Embed Links, Read Message History: no Add Reactions.
const NO_ADD_REACTIONS: u64 = (1 << 10) | (1 << 11) | (1 << 14) | (1 << 16);

fn owner() -> FakeUser {
    bob()
}

fn item(kind: &str, machine_id: i64, channel_id: u64, messages: &[u64]) -> ReviewItem {
    ReviewItem {
        kind: kind.into(),
        machine_id: Some(machine_id),
        machine_hint: None,
        description: format!("{kind} from {messages:?}"),
        fields: BTreeMap::new(),
        parent_record_id: None,
        sources: messages
            .iter()
            .map(|id| SourceMessage {
                guild_id: Some(GUILD_ID),
                channel_id,
                message_id: *id,
            })
            .collect(),
        author: Author::Name("Bob Wilson".into()),
        author_hint: None,
        occurred_at: crate::support::time::real_now(),
        media: Vec::new(),
        resolves: false,
    }
}

/// A review of two suggestions in `channel_id` (on Gorgar), as the command
/// leaves it.
async fn review(pool: &PgPool, channel_id: u64) -> i64 {
    let gorgar = match sqlx::query_scalar("SELECT id FROM machines WHERE slug = 'gorgar'")
        .fetch_optional(pool)
        .await
        .unwrap()
    {
        Some(id) => id,
        None => add_machine(pool, "gorgar", "Gorgar").await,
    };
    let store = ReviewStore::new(pool.clone());
    let new = NewSession {
        guild_id: Some(GUILD_ID),
        channel_id,
        target_message_id: channel_id + 13,
        owner_user_id: owner().id,
        owner_name: "Bob Wilson".into(),
        expires_at: crate::support::time::real_now() + chrono::Duration::hours(1),
    };
    let StartOutcome::Started(id) = store
        .start(&new, crate::support::time::real_now())
        .await
        .unwrap()
    else {
        panic!("not started")
    };
    let items = vec![
        (item("problem_report", gorgar, channel_id, &[11, 12]), None),
        (
            item("log_entry", gorgar, channel_id, &[12, channel_id + 13]),
            None,
        ),
    ];
    store.set_items(id, &items).await.unwrap();
    id
}

/// Waits until the bot has finished acknowledging `count` decisions.
async fn acknowledged(logs: &CapturedLogs, count: usize) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while logs.text().matches("acknowledgement done").count() < count {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the bot did not finish acknowledging: {}",
            logs.text()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn permission_warnings(logs: &CapturedLogs, channel_id: u64, permission: &str) -> usize {
    logs.text()
        .lines()
        .filter(|line| {
            line.contains("lacks a permission")
                && line.contains(&channel_id.to_string())
                && line.contains(permission)
        })
        .count()
}

#[sqlx::test(migrations = "./migrations")]
async fn create_reacts_on_each_source_message_after_answering(pool: PgPool) {
    let logs: LogCapture = CapturedLogs::capture();
    let channel = 710_000_000_000_000_001;
    let id = review(&pool, channel).await;
    let fake = FakeDiscord::start().await;
    let bot = TestBot::start(pool.clone(), &fake, 1).await;

    fake.next_interaction_in(channel);
    let first = fake.click(&owner(), &format!("ff:{id}:0:c"));
    fake.edit_of(&first).await;
    acknowledged(&logs, 1).await;
    let channel_text = channel.to_string();
    let marked = |ids: &[&str]| -> Vec<(String, String, String)> {
        ids.iter()
            .map(|m| (channel_text.clone(), m.to_string(), CHECK_MARK.to_string()))
            .collect()
    };
    assert_eq!(fake.reactions(), marked(&["11", "12"]));
    // The card was answered before any reaction was sent.
    let requests = fake.requests();
    let edit = requests
        .iter()
        .position(|r| r.method == "PATCH" && r.path.contains(&first))
        .unwrap();
    let reaction = requests
        .iter()
        .position(|r| r.method == "PUT" && r.path.contains("/reactions/"))
        .unwrap();
    assert!(edit < reaction, "the reply is never delayed by a reaction");

    // The second record shares message 12: only 13 is new.
    fake.next_interaction_in(channel);
    let second = fake.click(&owner(), &format!("ff:{id}:1:c"));
    fake.edit_of(&second).await;
    acknowledged(&logs, 2).await;
    let target = (channel + 13).to_string();
    assert_eq!(fake.reactions(), marked(&["11", "12", &target]));
    assert_eq!(count(&pool, "records").await, 2);
    assert!(
        fake.channel_posts().is_empty(),
        "no reply unless the workflow asks"
    );
    bot.stop().await;
    fake.assert_spec_clean();
}

#[sqlx::test(migrations = "./migrations")]
async fn without_add_reactions_nothing_is_sent_and_one_warning_is_logged(pool: PgPool) {
    let logs = CapturedLogs::capture();
    let channel = 710_000_000_000_000_002;
    let id = review(&pool, channel).await;
    let fake = FakeDiscord::start().await;
    let bot = TestBot::start(pool.clone(), &fake, 1).await;

    for position in 0..2 {
        fake.next_interaction_in(channel);
        let click = fake.click_with(
            &owner(),
            &format!("ff:{id}:{position}:c"),
            &NO_ADD_REACTIONS.to_string(),
        );
        fake.edit_of(&click).await;
        acknowledged(&logs, position + 1).await;
    }
    assert!(fake.reactions().is_empty(), "{:?}", fake.reactions());
    assert_eq!(count(&pool, "records").await, 2, "the records stand");
    assert_eq!(permission_warnings(&logs, channel, "Add Reactions"), 1);
    bot.stop().await;
    fake.assert_spec_clean();
}

#[sqlx::test(migrations = "./migrations")]
async fn a_403_on_the_reaction_leaves_the_record_and_warns_once(pool: PgPool) {
    let logs = CapturedLogs::capture();
    let channel = 710_000_000_000_000_003;
    let id = review(&pool, channel).await;
    let fake = FakeDiscord::start().await;
    fake.fail_requests("PUT", "/reactions/", 403, u64::MAX);
    let bot = TestBot::start(pool.clone(), &fake, 1).await;

    for position in 0..2 {
        fake.next_interaction_in(channel);
        let click = fake.click(&owner(), &format!("ff:{id}:{position}:c"));
        fake.edit_of(&click).await;
        acknowledged(&logs, position + 1).await;
    }
    assert_eq!(fake.reactions().len(), 3, "each source was tried once");
    assert_eq!(count(&pool, "records").await, 2, "the records stand");
    assert_eq!(permission_warnings(&logs, channel, "Add Reactions"), 1);
    let summary = fake
        .requests()
        .into_iter()
        .rev()
        .find(|r| r.method == "PATCH")
        .unwrap();
    assert!(
        summary.body["embeds"][0]["title"]
            .as_str()
            .unwrap_or_default()
            .contains("2 record(s) created"),
        "{}",
        summary.body
    );
    bot.stop().await;
    fake.assert_spec_clean();
}

/// The shipped workflows with `on_created.reply` switched on.
fn workflows_with_reply() -> tempfile::TempDir {
    let dir = copy_workflows();
    let path = dir.path().join("workflows/add_to_flipfix.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains("    reply: null\n"), "the shipped default");
    std::fs::write(
        &path,
        text.replace("    reply: null\n", "    reply: replies/created.md.j2\n"),
    )
    .unwrap();
    dir
}

fn message_from(fake: &FakeDiscord, id: u64, user: &FakeUser, content: &str) -> Value {
    let author = json!({"id": user.id.to_string(), "username": user.username,
                        "global_name": null, "discriminator": "0", "avatar": null});
    let message = user_message(
        id,
        CHANNEL_ID,
        author,
        content,
        &crate::support::time::real_now().to_rfc3339(),
        None,
    );
    fake.add_message(CHANNEL_ID, message.clone());
    message
}

#[sqlx::test(migrations = "./migrations")]
async fn one_reply_lists_the_records_and_is_never_read_as_a_source(pool: PgPool) {
    let logs = CapturedLogs::capture();
    let gorgar = add_machine(&pool, "gorgar", "Gorgar").await;
    let fake = FakeDiscord::start().await;
    let first = fake.next_id();
    let target = message_from(
        &fake,
        first,
        &bob(),
        "Gorgar's left flipper is weak <@&1> @everyone",
    );
    let anthropic = FakeAnthropic::start(vec![
        Reply::tool_use(json!({"suggestions": [{
            "kind": "problem_report", "machine": "gorgar",
            "description": "Left flipper is weak @everyone", "fields": {"priority": "major"},
            "source_message_ids": [first.to_string()], "author_id": bob().id.to_string(),
        }]})),
        Reply::tool_use(json!({"suggestions": []})),
    ])
    .await;
    let dir = workflows_with_reply();
    let mut secrets = test_secrets(&fake);
    secrets.anthropic_base_url = anthropic.base_url.clone();
    secrets.workflows_dir = dir.path().join("workflows");
    secrets.prompts_dir = dir.path().join("prompts");
    secrets.public_base_url = Some(crate::support::public_url("https://flipfix.example.org"));
    let bot = TestBot::start_with(pool.clone(), &fake, 1, secrets).await;
    bot.app
        .settings
        .set(
            flipfix_bot::config::SettingKey::AnthropicApiKey,
            "sk-ant-test-key",
            "tests",
        )
        .await
        .unwrap();

    let token = fake.invoke_message_command(&bob(), COMMAND, &target);
    fake.wait_until("the card", |requests| {
        requests.iter().any(|r| {
            r.method == "PATCH"
                && r.path.contains(&token)
                && r.body["embeds"].as_array().is_some_and(|e| !e.is_empty())
        })
    })
    .await;
    let session: i64 = sqlx::query_scalar("SELECT id FROM review_sessions")
        .fetch_one(&pool)
        .await
        .unwrap();
    // Two clicks on Create at once: one record, one reply.
    let create = format!("ff:{session}:0:c");
    let clicks = [fake.click(&bob(), &create), fake.click(&bob(), &create)];
    for click in &clicks {
        fake.edit_of(click).await;
    }
    acknowledged(&logs, 2).await;
    let record: i64 = sqlx::query_scalar("SELECT id FROM records")
        .fetch_one(&pool)
        .await
        .unwrap();
    let machine: Option<i64> = sqlx::query_scalar("SELECT machine_id FROM records")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(machine, Some(gorgar));

    let posts = fake.channel_posts();
    assert_eq!(posts.len(), 1, "exactly one reply: {posts:?}");
    let (channel, body) = &posts[0];
    assert_eq!(*channel, CHANNEL_ID);
    let content = body["content"].as_str().unwrap_or_default();
    assert!(
        content.contains(&format!(
            "Problem report #{record} — <https://flipfix.example.org/problem-reports/{record}/>"
        )),
        "{content}"
    );
    assert_eq!(
        body["message_reference"]["message_id"],
        json!(first.to_string()),
        "{body}"
    );
    assert_eq!(
        body["message_reference"]["fail_if_not_exists"],
        json!(false)
    );
    for list in ["parse", "roles", "users"] {
        assert_eq!(
            body["allowed_mentions"][list]
                .as_array()
                .map(Vec::len)
                .unwrap_or(0),
            0,
            "no mentions: {body}"
        );
    }
    assert!(body["allowed_mentions"]["parse"].is_array(), "{body}");
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM bot_posts")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(stored, 1, "the reply's id is remembered");
    assert_eq!(fake.reactions().len(), 1, "and the source carries ✅");

    // Later in the channel: a follow-up, analysed with the reply above it.
    let later = fake.next_id();
    let follow_up = message_from(&fake, later, &bob(), "Right flipper is weak too");
    let again = fake.invoke_message_command(&bob(), COMMAND, &follow_up);
    let text = final_text(&fake, &again).await;
    assert!(text.contains("No records found"), "{text}");
    let prompt = anthropic.received()[1].body["messages"].to_string();
    assert!(prompt.contains("Right flipper is weak too"), "{prompt}");
    assert!(
        !prompt.contains("Saved to Flipfix")
            && !prompt.contains("flipfix.example.org/problem-reports"),
        "the bot's reply is not a source: {prompt}"
    );
    bot.stop().await;
    fake.assert_spec_clean();
}

#[test]
fn the_shipped_reply_template_lists_one_record_a_line() {
    let dir = workflows_with_reply();
    let workflows = flipfix_bot::template_check::load_workflows(
        &dir.path().join("workflows"),
        &dir.path().join("prompts"),
    )
    .unwrap_or_else(|problems| panic!("{problems}"));
    let menu = flipfix_bot::analysis::menu(&workflows).unwrap();
    assert_eq!(menu.on_created.react.as_deref(), Some("✅"));
    let template = menu.on_created.reply_template.as_deref().unwrap();
    let sample = flipfix_bot::review::acknowledge::ReplyContext::sample(&workflows.kinds);
    let text = workflows.templates.render(template, &sample).unwrap();
    let lines: Vec<&str> = text.trim().lines().collect();
    assert_eq!(lines.len(), 1 + sample.count, "{text}");
    assert_eq!(lines[0], "Saved to Flipfix:");
    assert_eq!(
        lines[1],
        "⚠️ Problem report #1 — <https://flipfix.example/problem-reports/1/>"
    );
    assert!(
        lines[2].ends_with("#2"),
        "no link without a base URL: {text}"
    );
}

#[sqlx::test(migrations = "./migrations")]
async fn a_cancelled_review_replies_and_a_missing_send_permission_skips(pool: PgPool) {
    let logs = CapturedLogs::capture();
    let fake = FakeDiscord::start().await;
    let dir = workflows_with_reply();
    let bot = TestBot::start_with_dirs(pool.clone(), &fake, dir.path()).await;

    // One record created, then Cancel: the review is over, one reply.
    let here = 710_000_000_000_000_004;
    let cancelled = review(&pool, here).await;
    fake.next_interaction_in(here);
    let create = fake.click(&owner(), &format!("ff:{cancelled}:0:c"));
    fake.edit_of(&create).await;
    acknowledged(&logs, 1).await;
    assert!(
        fake.channel_posts().is_empty(),
        "the review is not over yet"
    );
    fake.next_interaction_in(here);
    let cancel = fake.click(&owner(), &format!("ff:{cancelled}:0:x"));
    fake.edit_of(&cancel).await;
    acknowledged(&logs, 2).await;
    let posts = fake.channel_posts();
    assert_eq!(posts.len(), 1, "{posts:?}");
    assert_eq!(posts[0].0, here);
    assert_eq!(
        posts[0].1["message_reference"]["message_id"],
        json!((here + 13).to_string())
    );
    let content = posts[0].1["content"].as_str().unwrap_or_default();
    assert_eq!(content.lines().count(), 2, "one record listed: {content}");

    // Without Send Messages: nothing posted, one warning, the records stand.
    let muted = 710_000_000_000_000_005;
    let finished = review(&pool, muted).await;
    for position in 0..2 {
        fake.next_interaction_in(muted);
        let click = fake.click_with(
            &owner(),
            &format!("ff:{finished}:{position}:c"),
            &((1u64 << 10) | (1 << 6) | (1 << 16)).to_string(),
        );
        fake.edit_of(&click).await;
        acknowledged(&logs, 3 + position).await;
    }
    assert_eq!(fake.channel_posts().len(), 1, "no second post");
    assert_eq!(permission_warnings(&logs, muted, "Send Messages"), 1);
    let outcome: String =
        sqlx::query_scalar("SELECT outcome FROM review_replies WHERE session_id = $1")
            .bind(finished)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(outcome, "skipped");
    assert_eq!(count(&pool, "records").await, 3);
    bot.stop().await;
    fake.assert_spec_clean();
}

#[test]
fn on_created_and_card_select_problems_name_file_line_and_column() {
    let dir = copy_workflows();
    let flow = dir.path().join("workflows/add_to_flipfix.yaml");
    let text = std::fs::read_to_string(&flow).unwrap();
    std::fs::write(
        &flow,
        text.replace("    react: \"✅\"\n", "    react: \"yes\"\n")
            .replace("    reply: null\n", "    reply: replies/missing.md.j2\n"),
    )
    .unwrap();
    let kinds = dir.path().join("workflows/record_kinds.yaml");
    let text = std::fs::read_to_string(&kinds).unwrap();
    std::fs::write(
        &kinds,
        text.replace("card_select: priority", "card_select: description"),
    )
    .unwrap();
    let problems = flipfix_bot::template_check::load_workflows(
        &dir.path().join("workflows"),
        &dir.path().join("prompts"),
    )
    .expect_err("problems")
    .to_string();
    let line_of = |file: &std::path::Path, needle: &str| {
        std::fs::read_to_string(file)
            .unwrap()
            .lines()
            .position(|l| l.contains(needle))
            .unwrap()
            + 1
    };
    for (file, needle, message) in [
        (&flow, "react: \"yes\"", "react `yes` is not an emoji"),
        (
            &flow,
            "reply: replies/missing",
            "reply template `replies/missing.md.j2` not found",
        ),
        (
            &kinds,
            "card_select: description",
            "card_select `description` is not a field",
        ),
    ] {
        let at = format!("{}:{}:", file.display(), line_of(file, needle));
        assert!(
            problems
                .lines()
                .any(|l| l.starts_with(&at) && l.contains(message)),
            "{message} at {at}: {problems}"
        );
    }
}
