//! "Add to Flipfix" end to end: fake Discord (every request checked against
//! Discord's OpenAPI spec), fake Anthropic, real Postgres, a real scenario.

use flipfix_bot::analysis::scenario::Scenario;
use flipfix_bot::config::SettingKey;
use serde_json::{json, Value};
use sqlx::PgPool;

use crate::support::anthropic::{FakeAnthropic, Reply};
use crate::support::bot::{test_secrets, TestBot};
use crate::support::fake_discord::{user_message, FakeDiscord, FakeUser, CHANNEL_ID};
use crate::support::{add_machine, add_maintainer, repo_root, shared_dir};

pub(crate) const COMMAND: &str = "Add to Flipfix";

/// The scenario's messages, as Discord would serve them in CHANNEL_ID (and,
/// for thread scenarios, in a thread under it opened from the last message
/// before the thread).
pub(crate) fn load(fake: &FakeDiscord, name: &str) -> (Scenario, Vec<Value>) {
    load_path(
        fake,
        &shared_dir().join(format!("scenarios/flipfix-eval/{name}.yaml")),
    )
}

/// [`load`] for a scenario file anywhere.
pub(crate) fn load_path(fake: &FakeDiscord, path: &std::path::Path) -> (Scenario, Vec<Value>) {
    let scenario = Scenario::load(path).unwrap();
    let file = &scenario.file;
    let thread_id: Option<u64> = file
        .messages
        .iter()
        .take_while(|m| !m.in_thread)
        .last()
        .filter(|_| file.messages.iter().any(|m| m.in_thread))
        .map(|starter| starter.id.parse().unwrap());
    if let Some(thread) = thread_id {
        fake.add_thread(thread, CHANNEL_ID);
    }
    let messages: Vec<Value> = file
        .messages
        .iter()
        .map(|m| {
            let channel = if m.in_thread { thread_id.unwrap() } else { CHANNEL_ID };
            let user = file.users.iter().find(|u| Some(&u.id) == m.author.as_ref()).expect("author");
            let author = json!({"id": user.id, "username": user.username, "global_name": user.display_name,
                                "discriminator": "0", "avatar": null});
            user_message(
                m.id.parse().unwrap(),
                channel,
                author,
                &m.content,
                &m.timestamp.to_rfc3339(),
                m.reply_to.as_ref().map(|r| r.parse().unwrap()),
            )
        })
        .collect();
    for message in &messages {
        let channel: u64 = message["channel_id"].as_str().unwrap().parse().unwrap();
        fake.add_message(channel, message.clone());
    }
    (scenario, messages)
}

pub(crate) fn reference_answer(name: &str) -> Value {
    let path = repo_root().join(format!("tests/fixtures/reference_answers/{name}.json"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

pub(crate) async fn start(pool: &PgPool, fake: &FakeDiscord, anthropic: &FakeAnthropic) -> TestBot {
    let mut secrets = test_secrets(fake);
    secrets.anthropic_base_url = anthropic.base_url.clone();
    let bot = TestBot::start_with(pool.clone(), fake, 1, secrets).await;
    bot.app
        .settings
        .set(SettingKey::AnthropicApiKey, "sk-ant-test-key", "tests")
        .await
        .unwrap();
    bot
}

pub(crate) fn bob() -> FakeUser {
    FakeUser::member(1_002_000_000_000_000_001, "bob_the_fixer")
}

/// The bot's final answer (not the progress note) to a command.
pub(crate) async fn final_text(fake: &FakeDiscord, token: &str) -> String {
    fake.wait_until("the final answer", |requests| {
        requests.iter().any(|r| {
            r.method == "PATCH"
                && r.path.contains(token)
                && !r.body["content"]
                    .as_str()
                    .unwrap_or_default()
                    .starts_with('🔎')
        })
    })
    .await;
    let last = fake
        .requests()
        .into_iter()
        .rev()
        .find(|r| r.method == "PATCH" && r.path.contains(token))
        .unwrap();
    last.body["content"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

pub(crate) async fn count(pool: &PgPool, table: &str) -> i64 {
    sqlx::query_scalar(&format!("SELECT count(*) FROM {table}"))
        .fetch_one(pool)
        .await
        .unwrap()
}

#[sqlx::test(migrations = "./migrations")]
async fn full_flow_on_a_scenario(pool: PgPool) {
    let ballyhoo = add_machine(&pool, "ballyhoo", "Ballyhoo").await;
    let bob_id = add_maintainer(&pool, "bob_the_fixer").await;
    let alice_id = add_maintainer(&pool, "alice_m").await;
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
    // Deferred, ephemeral, and before anything else was asked of Discord.
    let requests_before_callback = fake.requests().len();
    let callback = fake.callback(&token).await;
    assert_eq!(callback["type"], json!(5), "{callback}");
    assert_eq!(callback["data"]["flags"], json!(64), "ephemeral");
    let callback_index = fake
        .requests()
        .iter()
        .position(|r| r.path.contains("/callback"))
        .unwrap();
    assert!(
        callback_index <= requests_before_callback,
        "the deferral is the first reaction"
    );

    // History fetched with before= and limit=.
    let history = fake
        .wait_for_request("history", |r| {
            r.method == "GET"
                && r.path
                    .ends_with(&format!("/channels/{CHANNEL_ID}/messages"))
        })
        .await;
    assert!(
        history
            .query
            .contains(&format!("before={}", scenario.file.target))
            && history.query.contains("limit="),
        "{}",
        history.query
    );

    // The first card arrives after a progress message.
    fake.wait_until("the first card", |requests| {
        requests.iter().any(|r| {
            r.method == "PATCH"
                && r.path.contains(&token)
                && r.body["embeds"].as_array().is_some_and(|e| !e.is_empty())
        })
    })
    .await;
    let edits: Vec<Value> = fake
        .requests()
        .into_iter()
        .filter(|r| r.method == "PATCH" && r.path.contains(&token))
        .map(|r| r.body)
        .collect();
    let texts: Vec<&str> = edits
        .iter()
        .map(|e| e["content"].as_str().unwrap_or_default())
        .collect();
    assert!(texts[0].contains("Reading the conversation"), "{texts:?}");
    assert!(
        texts[1].contains("Read 3 message(s); asking Claude"),
        "{texts:?}"
    );
    let card = edits.last().unwrap();
    let footer = card["embeds"][0]["footer"]["text"]
        .as_str()
        .unwrap_or_default();
    assert_eq!(footer, "Suggestion 1 of 3", "{card}");
    assert!(
        card["embeds"][0]["title"]
            .as_str()
            .unwrap_or_default()
            .contains("Ballyhoo"),
        "{card}"
    );

    // The request to Claude carried the conversation and the cache marker.
    let sent = &anthropic.received()[0].body;
    assert!(sent.to_string().contains("rollover switch"));
    assert_eq!(
        sent["system"][0]["cache_control"]["type"],
        json!("ephemeral")
    );

    // Create all three: the part request, then its two updates.
    let session: i64 = sqlx::query_scalar("SELECT id FROM review_sessions")
        .fetch_one(&pool)
        .await
        .unwrap();
    for position in 0..3 {
        let click = fake.click(&bob(), &format!("ff:{session}:{position}:c"));
        fake.edit_of(&click).await;
    }
    type Row = (i64, String, Option<i64>, Option<i64>, Option<i64>);
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT id, kind, parent_id, machine_id, author_maintainer_id FROM records ORDER BY id",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(rows.len(), 3, "{rows:?}");
    let part = &rows[0];
    assert_eq!((part.1.as_str(), part.3), ("part_request", Some(ballyhoo)));
    for update in &rows[1..] {
        assert_eq!(
            (update.1.as_str(), update.2),
            ("part_request_update", Some(part.0)),
            "{rows:?}"
        );
    }
    // Bob asked for the part; Alice ordered it and saw it arrive.
    let authors: Vec<Option<i64>> = rows.iter().map(|r| r.4).collect();
    assert_eq!(
        authors,
        vec![Some(bob_id), Some(alice_id), Some(alice_id)],
        "each record attributed to the maintainer who said it: {rows:?}"
    );
    // Every record remembers the target among its sources.
    let with_target: i64 = sqlx::query_scalar(
        "SELECT count(DISTINCT record_id) FROM record_sources WHERE message_id = $1",
    )
    .bind(scenario.file.target.parse::<i64>().unwrap())
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(with_target, 3);

    // Asking again on the same message: already saved.
    let again = fake.invoke_message_command(&bob(), COMMAND, target);
    let text = final_text(&fake, &again).await;
    assert!(text.contains("already saved as"), "{text}");
    assert_eq!(anthropic.received().len(), 1, "no second analysis");
    bot.stop().await;
    fake.assert_spec_clean();
}

#[sqlx::test(migrations = "./migrations")]
async fn refusals_change_nothing(pool: PgPool) {
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
    let answer = |token: String| {
        let fake = &fake;
        async move { final_text(fake, &token).await }
    };

    // Missing permissions (the bot may view but not read history).
    let view_only = (1u64 << 10).to_string();
    let text = answer(fake.invoke_message_command_with(&bob(), COMMAND, &target, &view_only)).await;
    assert_eq!(
        text,
        "I need the Read Message History permission in this channel. Ask an admin to grant it."
    );

    // A channel outside the allow-list.
    bot.app
        .settings
        .set(
            SettingKey::DiscordAllowedChannels,
            "123456789012345678",
            "tests",
        )
        .await
        .unwrap();
    let text = answer(fake.invoke_message_command(&bob(), COMMAND, &target)).await;
    assert_eq!(text, "Add to Flipfix works only in <#123456789012345678>.");
    bot.app
        .settings
        .reset(SettingKey::DiscordAllowedChannels, "tests")
        .await
        .unwrap();

    // Turned off.
    bot.app
        .settings
        .set(SettingKey::DiscordBotEnabled, "false", "tests")
        .await
        .unwrap();
    let text = answer(fake.invoke_message_command(&bob(), COMMAND, &target)).await;
    assert_eq!(
        text,
        "Add to Flipfix is turned off. An admin can turn it on with `/flipfix config set DISCORD_BOT_ENABLED true`."
    );
    bot.app
        .settings
        .reset(SettingKey::DiscordBotEnabled, "tests")
        .await
        .unwrap();

    // Budget spent.
    sqlx::query("INSERT INTO llm_usage (purpose, requested_by, model, input_tokens, output_tokens, cost_micro_usd) VALUES ('analysis', 'x', 'm', 1, 1, 5000000)")
        .execute(&pool)
        .await
        .unwrap();
    bot.app
        .settings
        .set(SettingKey::LlmDailyBudgetUsd, "5", "tests")
        .await
        .unwrap();
    let text = answer(fake.invoke_message_command(&bob(), COMMAND, &target)).await;
    let (start, end) = text.split_once(" (in ").unwrap_or_else(|| panic!("{text}"));
    assert_eq!(
        start,
        "Today's analysis budget is spent ($5.00 of $5.00). It resets at 00:00 UTC"
    );
    assert!(
        end.ends_with("); an admin can raise LLM_DAILY_BUDGET_USD."),
        "{text}"
    );
    bot.app
        .settings
        .reset(SettingKey::LlmDailyBudgetUsd, "tests")
        .await
        .unwrap();
    assert!(anthropic.received().is_empty(), "no call was made");

    // The API refuses the key: a short message, the session is freed.
    let text = answer(fake.invoke_message_command(&bob(), COMMAND, &target)).await;
    assert_eq!(
        text,
        "The Anthropic API key was refused. An admin should check ANTHROPIC_API_KEY."
    );
    assert_eq!(count(&pool, "records").await, 0);
    let active: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM review_sessions WHERE status IN ('analysing', 'reviewing')",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(active, 0, "a failed analysis does not block the message");
    bot.stop().await;
    fake.assert_spec_clean();
}

#[sqlx::test(migrations = "./migrations")]
async fn someone_else_is_already_reviewing(pool: PgPool) {
    add_machine(&pool, "ballyhoo", "Ballyhoo").await;
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
        .unwrap()
        .clone();

    let first = fake.invoke_message_command(&bob(), COMMAND, &target);
    fake.wait_until("the first card", |requests| {
        requests.iter().any(|r| {
            r.method == "PATCH"
                && r.path.contains(&first)
                && r.body["embeds"].as_array().is_some_and(|e| !e.is_empty())
        })
    })
    .await;
    let alice = FakeUser::member(1_002_000_000_000_000_002, "alice_m");
    let second = fake.invoke_message_command(&alice, COMMAND, &target);
    let text = final_text(&fake, &second).await;
    assert_eq!(text, "bob_the_fixer is already reviewing this message.");
    assert_eq!(anthropic.received().len(), 1);
    bot.stop().await;
    fake.assert_spec_clean();
}

/// Threads and reply chains, read through the Discord REST API: every
/// message of the scenario reaches the model.
#[sqlx::test(migrations = "./migrations")]
async fn thread_and_reply_chain_scenarios_gather_the_right_messages(pool: PgPool) {
    for name in ["thread_with_preroll", "reply_chain_fix"] {
        sqlx::query("DELETE FROM review_sessions")
            .execute(&pool)
            .await
            .unwrap();
        let fake = FakeDiscord::start().await;
        let anthropic =
            FakeAnthropic::start(vec![Reply::tool_use(json!({"suggestions": []}))]).await;
        let (scenario, messages) = load(&fake, name);
        let bot = start(&pool, &fake, &anthropic).await;
        let target = messages
            .iter()
            .find(|m| m["id"] == json!(scenario.file.target))
            .unwrap();
        let token = fake.invoke_message_command(&bob(), COMMAND, target);
        let text = final_text(&fake, &token).await;
        assert!(text.contains("No records found"), "{name}: {text}");
        let prompt = anthropic.received()[0].body["messages"][0]["content"].to_string();
        for message in &scenario.file.messages {
            let content = serde_json::to_string(&message.content).unwrap();
            let content = content.trim_matches('"');
            assert!(
                prompt.contains(content),
                "{name}: message {} missing from the prompt",
                message.id
            );
        }
        if name == "thread_with_preroll" {
            let paths: Vec<String> = fake
                .requests()
                .iter()
                .map(|r| format!("{} {}", r.method, r.path))
                .collect();
            assert!(
                paths.iter().any(|p| p.ends_with("/channels/64")),
                "thread info asked: {paths:?}"
            );
        }
        bot.stop().await;
        fake.assert_spec_clean();
    }
}

#[sqlx::test(migrations = "./migrations")]
async fn a_stray_machine_on_a_child_is_repaired_once_and_the_records_are_created(pool: PgPool) {
    let logs = crate::support::logs::CapturedLogs::capture();
    let ballyhoo = add_machine(&pool, "ballyhoo", "Ballyhoo").await;
    add_maintainer(&pool, "bob_the_fixer").await;
    add_maintainer(&pool, "alice_m").await;
    let fake = FakeDiscord::start().await;
    // A real model now and then repeats the parent's machine on a child.
    let mut answer = reference_answer("nested_part_request_with_updates");
    answer["content"][0]["input"]["suggestions"][0]["children"][0]["machine"] = json!("ballyhoo");
    let anthropic = FakeAnthropic::start(vec![Reply::body(answer)]).await;
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
    let session: i64 = sqlx::query_scalar("SELECT id FROM review_sessions")
        .fetch_one(&pool)
        .await
        .unwrap();
    for position in 0..2 {
        let click = fake.click(&bob(), &format!("ff:{session}:{position}:c"));
        fake.edit_of(&click).await;
    }
    let rows: Vec<(String, Option<i64>)> =
        sqlx::query_as("SELECT kind, machine_id FROM records ORDER BY id")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(
        rows,
        vec![
            ("part_request".to_string(), Some(ballyhoo)),
            ("part_request_update".to_string(), Some(ballyhoo)),
        ]
    );
    let text = logs.text();
    let repairs: Vec<&str> = text
        .lines()
        .filter(|line| line.contains("model answer repaired"))
        .collect();
    assert_eq!(repairs.len(), 1, "{repairs:#?}");
    assert!(
        repairs[0].contains("model suggestion 1.1: repaired: `machine` is not part of a part_request_update child item"),
        "{}",
        repairs[0]
    );
    bot.stop().await;
    fake.assert_spec_clean();
}

#[sqlx::test(migrations = "./migrations")]
async fn with_a_maintainer_role_only_the_invoker_holding_it_is_linked_by_username(pool: PgPool) {
    const ROLE: u64 = 720_000_000_000_000_009;
    add_machine(&pool, "ballyhoo", "Ballyhoo").await;
    let bob_id = add_maintainer(&pool, "bob_the_fixer").await;
    add_maintainer(&pool, "alice_m").await;
    let fake = FakeDiscord::start().await;
    let anthropic = FakeAnthropic::start(vec![Reply::body(reference_answer(
        "nested_part_request_with_updates",
    ))])
    .await;
    let (scenario, messages) = load(&fake, "nested_part_request_with_updates");
    let bot = start(&pool, &fake, &anthropic).await;
    bot.app
        .settings
        .set(
            SettingKey::DiscordMaintainerRole,
            &ROLE.to_string(),
            "tests",
        )
        .await
        .unwrap();
    let target = messages
        .iter()
        .find(|m| m["id"] == json!(scenario.file.target))
        .unwrap();

    // Bob holds the role (his interaction's member object says so); Alice's
    // roles are not known from Bob's interaction.
    let token = fake.invoke_message_command(&bob().with_role(ROLE), COMMAND, target);
    fake.wait_until("the first card", |requests| {
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
    for position in 0..3 {
        let click = fake.click(&bob(), &format!("ff:{session}:{position}:c"));
        fake.edit_of(&click).await;
    }
    let authors: Vec<(Option<i64>, Option<String>)> =
        sqlx::query_as("SELECT author_maintainer_id, author_name FROM records ORDER BY id")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(
        authors,
        vec![
            (Some(bob_id), None),
            (None, Some("@alice_m".to_string())),
            (None, Some("@alice_m".to_string())),
        ]
    );
    let linked: Vec<i64> = sqlx::query_scalar("SELECT discord_user_id FROM discord_user_links")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert_eq!(linked, vec![1_002_000_000_000_000_001], "only Bob");
    bot.stop().await;
    fake.assert_spec_clean();
}
