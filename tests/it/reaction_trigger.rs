//! The `reaction: 🔧` trigger end to end: fake Discord (gateway
//! MESSAGE_REACTION_ADD, every REST request checked against the OpenAPI
//! spec), fake Anthropic, real Postgres.

use serde_json::{json, Value};
use sqlx::PgPool;

use crate::add_to_flipfix::{bob, count, load, reference_answer, start};
use crate::support::anthropic::{FakeAnthropic, Reply};
use crate::support::fake_discord::{FakeDiscord, FakeUser, CHANNEL_ID, GUILD_ID};
use crate::support::{add_machine, add_maintainer};

const SCENARIO: &str = "nested_part_request_with_updates";

fn alice() -> FakeUser {
    FakeUser::member(1_002_000_000_000_000_002, "alice_m")
}

/// The review prompts the bot posted in the channel (as stored, with edits).
fn prompts(fake: &FakeDiscord) -> Vec<Value> {
    fake.bot_messages(CHANNEL_ID)
        .into_iter()
        .filter(|m| {
            m["components"].to_string().contains("review-prompt:")
                || m["edited_timestamp"] != Value::Null
        })
        .collect()
}

async fn the_prompt(fake: &FakeDiscord) -> Value {
    fake.wait_until("the review prompt", |requests| {
        requests.iter().any(|r| {
            r.method == "POST"
                && r.path
                    .ends_with(&format!("/channels/{CHANNEL_ID}/messages"))
                && r.body["content"]
                    .as_str()
                    .is_some_and(|c| c.starts_with("Suggestions for"))
        })
    })
    .await;
    let found = prompts(fake);
    assert_eq!(found.len(), 1, "one prompt: {found:?}");
    found[0].clone()
}

fn target(messages: &[Value], id: &str) -> Value {
    messages
        .iter()
        .find(|m| m["id"] == json!(id))
        .unwrap()
        .clone()
}

#[sqlx::test(migrations = "./migrations")]
async fn a_reaction_opens_a_review_from_a_prompt_only_the_reactor_may_use(pool: PgPool) {
    add_machine(&pool, "ballyhoo", "Ballyhoo").await;
    add_maintainer(&pool, "bob_the_fixer").await;
    add_maintainer(&pool, "alice_m").await;
    let fake = FakeDiscord::start().await;
    let anthropic = FakeAnthropic::start(vec![Reply::body(reference_answer(SCENARIO))]).await;
    let (scenario, messages) = load(&fake, SCENARIO);
    let bot = start(&pool, &fake, &anthropic).await;
    let target = target(&messages, &scenario.file.target);

    fake.react(&bob(), &target, "🔧");
    let prompt = the_prompt(&fake).await;
    let bob_id = bob().id;
    assert_eq!(
        prompt["content"],
        json!(format!("Suggestions for <@{bob_id}> are ready."))
    );
    let post = fake
        .channel_posts()
        .into_iter()
        .find(|(_, body)| body["content"] == prompt["content"])
        .unwrap()
        .1;
    assert_eq!(post["allowed_mentions"]["parse"], json!([]), "{post}");
    let button = &prompt["components"][0]["components"][0];
    assert_eq!(button["label"], json!("Review"), "{prompt}");
    let custom_id = button["custom_id"].as_str().unwrap().to_string();
    assert_eq!(anthropic.received().len(), 1);

    // Another member's click: refused privately, nothing opened.
    let token = fake.click_on(&alice(), &custom_id, &prompt);
    let callback = fake.callback(&token).await;
    assert_eq!(callback["type"], json!(5), "deferred first: {callback}");
    assert_eq!(callback["data"]["flags"], json!(64), "private");
    let refusal = fake.edit_of(&token).await;
    assert!(
        refusal["content"]
            .as_str()
            .unwrap_or_default()
            .starts_with("Only the person"),
        "{refusal}"
    );
    assert!(refusal["embeds"].as_array().is_none_or(Vec::is_empty));

    // The reactor's click opens the same private review card.
    let token = fake.click_on(&bob(), &custom_id, &prompt);
    let card = fake.edit_of(&token).await;
    assert_eq!(
        card["embeds"][0]["footer"]["text"],
        json!("Suggestion 1 of 3"),
        "{card}"
    );
    let session: i64 = sqlx::query_scalar("SELECT id FROM review_sessions")
        .fetch_one(&pool)
        .await
        .unwrap();
    for position in 0..3 {
        let click = fake.click(&bob(), &format!("ff:{session}:{position}:c"));
        fake.edit_of(&click).await;
    }
    assert_eq!(count(&pool, "records").await, 3);
    let ids: Vec<i64> = sqlx::query_scalar("SELECT id FROM records ORDER BY id")
        .fetch_all(&pool)
        .await
        .unwrap();

    // The prompt says what was created, and its button is gone.
    let prompt_id = prompt["id"].as_str().unwrap().to_string();
    fake.wait_until("the prompt's edit", |requests| {
        requests.iter().any(|r| {
            r.method == "PATCH"
                && r.path
                    .ends_with(&format!("/channels/{CHANNEL_ID}/messages/{prompt_id}"))
        })
    })
    .await;
    let edited = fake.channel_message(CHANNEL_ID, &json!(prompt_id)).unwrap();
    let text = edited["content"].as_str().unwrap();
    for id in &ids {
        assert!(text.contains(&format!("#{id}")), "{text}");
    }
    assert!(text.starts_with("Created "), "{text}");
    assert_eq!(edited["components"], json!([]), "{edited}");
    let trigger: String = sqlx::query_scalar("SELECT trigger::text FROM workflow_runs")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(trigger, "reaction");

    // A second reaction on the saved message: a note, and no model call.
    fake.react(&alice(), &target, "🔧");
    fake.wait_until("the already-saved note", |requests| {
        requests.iter().any(|r| {
            r.method == "POST"
                && r.body["content"]
                    .as_str()
                    .is_some_and(|c| c.starts_with("This message is already saved"))
        })
    })
    .await;
    assert_eq!(
        anthropic.received().len(),
        1,
        "the model was not asked again"
    );
    fake.assert_spec_clean();
    bot.stop().await;
}

#[sqlx::test(migrations = "./migrations")]
async fn bot_reactions_other_servers_and_unclaimed_emojis_do_nothing(pool: PgPool) {
    add_machine(&pool, "ballyhoo", "Ballyhoo").await;
    let fake = FakeDiscord::start().await;
    let anthropic = FakeAnthropic::start(vec![Reply::body(reference_answer(SCENARIO))]).await;
    let (scenario, messages) = load(&fake, SCENARIO);
    let bot = start(&pool, &fake, &anthropic).await;
    let target = target(&messages, &scenario.file.target);

    fake.react_as_bot(900_000_000_000_000_001, &target, "🔧");
    fake.react_in(&bob(), &target, "🔧", GUILD_ID + 1);
    fake.react(&bob(), &target, "👍");
    // Then one that counts, so the ones before have been handled.
    fake.react(&alice(), &target, "🔧");
    let prompt = the_prompt(&fake).await;
    assert_eq!(
        prompt["content"],
        json!(format!("Suggestions for <@{}> are ready.", alice().id))
    );
    assert_eq!(anthropic.received().len(), 1);
    assert_eq!(count(&pool, "workflow_runs").await, 1);
    assert_eq!(count(&pool, "review_sessions").await, 1);
    fake.assert_spec_clean();
    bot.stop().await;
}
