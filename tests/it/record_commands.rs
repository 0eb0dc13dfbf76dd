//! Direct record commands (`/problem`, `/log`, `/part`, `/part-update`),
//! declared in the record kinds' YAML, through the fake Discord.

use flipfix_bot::records::records_for_messages;
use serde_json::json;
use sqlx::PgPool;

use crate::support::bot::TestBot;
use crate::support::fake_discord::{FakeDiscord, FakeUser, CHANNEL_ID, GUILD_ID};
use crate::support::{add_machine, add_maintainer};

const BOB: u64 = 610_000_000_000_000_001;

fn bob() -> FakeUser {
    FakeUser::member(BOB, "bob_the_fixer")
}

#[sqlx::test(migrations = "./migrations")]
async fn commands_are_derived_from_the_kinds(pool: PgPool) {
    let fake = FakeDiscord::start().await;
    let bot = TestBot::start(pool, &fake, 1).await;
    let commands = fake.registered_commands();
    let problem = commands
        .iter()
        .find(|c| c["name"] == "problem")
        .expect("/problem registered");
    let options: Vec<&str> = problem["options"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        &options[..2],
        &["description", "machine"],
        "required options first: {options:?}"
    );
    assert!(
        options.contains(&"priority") && options.contains(&"problem_type"),
        "{options:?}"
    );
    let priority = problem["options"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["name"] == "priority")
        .unwrap();
    let choices: Vec<&str> = priority["choices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        choices,
        vec!["untriaged", "unplayable", "major", "minor", "task"]
    );
    let update = commands
        .iter()
        .find(|c| c["name"] == "part-update")
        .expect("/part-update registered");
    let parent = update["options"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["name"] == "parent")
        .unwrap();
    assert_eq!(parent["required"], json!(true));
    bot.stop().await;
    fake.assert_spec_clean();
}

#[sqlx::test(migrations = "./migrations")]
async fn problem_command_creates_an_attributed_record_with_its_source(pool: PgPool) {
    let fake = FakeDiscord::start().await;
    let gorgar = add_machine(&pool, "gorgar", "Gorgar").await;
    let maintainer = add_maintainer(&pool, "bob_the_fixer").await;
    let bot = TestBot::start(pool.clone(), &fake, 1).await;
    // Notifications are queued only while the master switch is on.
    bot.app
        .settings
        .set(
            flipfix_bot::config::SettingKey::DiscordWebhooksEnabled,
            "true",
            "tests",
        )
        .await
        .unwrap();

    let token = fake.invoke_slash(
        &bob(),
        "problem",
        json!([
        {"type": 3, "name": "description", "value": "Left flipper is weak"},
        {"type": 3, "name": "machine", "value": "gorgar"},
        {"type": 4, "name": "priority", "value": 2}]),
    );
    let reply = fake.reply(&token).await;
    let title = reply["embeds"][0]["title"].as_str().unwrap_or_default();
    assert!(
        title.contains("Problem report #") && title.contains("Gorgar"),
        "{reply}"
    );
    assert_eq!(reply["allowed_mentions"]["parse"], json!([]));

    let (kind, machine, priority, author): (String, Option<i64>, String, Option<i64>) =
        sqlx::query_as(
            "SELECT kind, machine_id, fields->>'priority', author_maintainer_id FROM records",
        )
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(
        (kind.as_str(), machine, priority.as_str(), author),
        ("problem_report", Some(gorgar), "major", Some(maintainer))
    );

    // Exactly one notification is queued with the record.
    let queued: i64 = sqlx::query_scalar("SELECT count(*) FROM notification_outbox")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(queued, 1);

    // The public reply is the record's source message in the channel.
    let message_id = fake
        .original_message_id(&token)
        .expect("the bot asked for its reply");
    let saved = records_for_messages(&pool, &[message_id]).await.unwrap();
    assert_eq!(saved.len(), 1);
    let (guild, channel): (Option<i64>, i64) =
        sqlx::query_as("SELECT guild_id, channel_id FROM record_sources")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!((guild, channel), (Some(GUILD_ID as i64), CHANNEL_ID as i64));
    bot.stop().await;
    fake.assert_spec_clean();
}

#[sqlx::test(migrations = "./migrations")]
async fn a_refused_record_is_explained_privately_and_nothing_is_saved(pool: PgPool) {
    let fake = FakeDiscord::start().await;
    let bot = TestBot::start(pool.clone(), &fake, 1).await;

    // Unknown machine: the public placeholder is replaced by a private note.
    let token = fake.invoke_slash(
        &bob(),
        "problem",
        json!([
        {"type": 3, "name": "description", "value": "Stuck ball"},
        {"type": 3, "name": "machine", "value": "not a machine"}]),
    );
    let followup = fake
        .wait_for_request("the private refusal", |r| {
            r.method == "POST" && r.path.ends_with(&format!("/{token}"))
        })
        .await;
    assert_eq!(
        followup.body["content"],
        json!("❌ No machine matches `not a machine`. Pick one from the list.")
    );
    assert_eq!(followup.body["flags"], json!(64), "ephemeral");

    // A part-request update pointing at a record that does not exist.
    let token = fake.invoke_slash(
        &bob(),
        "part-update",
        json!([
        {"type": 3, "name": "description", "value": "Arrived"},
        {"type": 4, "name": "parent", "value": 4242}]),
    );
    let followup = fake
        .wait_for_request("the ephemeral explanation", |r| {
            r.method == "POST" && r.path.ends_with(&format!("/{token}"))
        })
        .await;
    let text = followup.body["content"].as_str().unwrap_or_default();
    assert_eq!(text, "❌ Not recorded: parent record #4242 does not exist.");
    assert_eq!(followup.body["flags"], json!(64));
    fake.wait_for_request("the placeholder removed", |r| {
        r.method == "DELETE" && r.path.contains(&token)
    })
    .await;

    // A channel outside the allow-list: the channel refusal, framed.
    bot.app
        .settings
        .set(
            flipfix_bot::config::SettingKey::DiscordAllowedChannels,
            "123456789012345678",
            "tests",
        )
        .await
        .unwrap();
    let token = fake.invoke_slash(
        &bob(),
        "problem",
        json!([{"type": 3, "name": "description", "value": "Stuck ball"}]),
    );
    let followup = fake
        .wait_for_request("the channel refusal", |r| {
            r.method == "POST" && r.path.ends_with(&format!("/{token}"))
        })
        .await;
    assert_eq!(
        followup.body["content"],
        json!("❌ /problem works only in <#123456789012345678>. Nothing was recorded.")
    );
    assert_eq!(followup.body["flags"], json!(64));

    let records: i64 = sqlx::query_scalar("SELECT count(*) FROM records")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(records, 0);
    bot.stop().await;
    fake.assert_spec_clean();
}

/// The machine values `/problem`'s autocomplete offers for `typed`.
async fn autocomplete(fake: &FakeDiscord, typed: &str) -> Vec<String> {
    let token = fake.interaction(
        &bob(),
        4,
        json!({
        "id": fake.command_id("problem"), "name": "problem", "type": 1,
        "options": [{"type": 3, "name": "machine", "value": typed, "focused": true}]}),
    );
    let answer = fake
        .wait_for_request("autocomplete", |r| {
            r.path.contains(&format!("/{token}/callback"))
        })
        .await;
    assert_eq!(answer.body["type"], json!(8), "{}", answer.body);
    answer.body["data"]["choices"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|c| c["value"].as_str().unwrap_or_default().to_string())
        .collect()
}

#[sqlx::test(migrations = "./migrations")]
async fn machine_autocomplete_matches_names_and_aliases(pool: PgPool) {
    let fake = FakeDiscord::start().await;
    let ebd = add_machine(
        &pool,
        "eight-ball-deluxe-limited-edition",
        "Eight Ball Deluxe (Limited Edition)",
    )
    .await;
    let gorgar = add_machine(&pool, "gorgar", "Gorgar").await;
    add_machine(&pool, "ballyhoo", "Ballyhoo").await;
    // A short name and an alias that share nothing with the names.
    sqlx::query("UPDATE machines SET short_name = 'EBD LE' WHERE id = $1")
        .bind(ebd)
        .execute(&pool)
        .await
        .unwrap();
    sqlx::query("UPDATE machines SET aliases = ARRAY['Speak to me'] WHERE id = $1")
        .bind(gorgar)
        .execute(&pool)
        .await
        .unwrap();
    let bot = TestBot::start(pool.clone(), &fake, 1).await;
    assert_eq!(
        autocomplete(&fake, "eight ball").await,
        vec!["eight-ball-deluxe-limited-edition"],
        "by name"
    );
    assert_eq!(
        autocomplete(&fake, "ebd").await,
        vec!["eight-ball-deluxe-limited-edition"],
        "by short name"
    );
    assert_eq!(
        autocomplete(&fake, "speak to").await,
        vec!["gorgar"],
        "by alias"
    );
    bot.stop().await;
    fake.assert_spec_clean();
}
