//! Application commands synced by difference, through the fake Discord
//! (which keeps the home server's commands with Discord's state rules):
//! a first start creates each command once, a restart writes nothing, a
//! stale set is repaired with one request per difference, and a reload whose
//! sync fails keeps the new workflows and retries on the next reload.

use serde_json::{json, Value};
use sqlx::PgPool;

use crate::support::bot::{test_secrets, TestBot};
use crate::support::copy_workflows;
use crate::support::fake_discord::{FakeDiscord, FakeUser};

fn admin() -> FakeUser {
    FakeUser::admin(600_000_000_000_000_001, "museum_admin")
}

fn names(commands: &[Value]) -> Vec<String> {
    let mut names: Vec<String> = commands
        .iter()
        .map(|c| c["name"].as_str().unwrap_or_default().to_string())
        .collect();
    names.sort();
    names
}

pub(crate) async fn reload(fake: &FakeDiscord) -> String {
    let token = fake.invoke_slash(
        &admin(),
        "flipfix",
        json!([{"type": 2, "name": "workflows", "options": [{"type": 1, "name": "reload", "options": []}]}]),
    );
    let reply = fake.reply(&token).await;
    reply["content"].as_str().unwrap_or_default().to_string()
}

#[sqlx::test(migrations = "./migrations")]
async fn a_first_start_creates_each_command_once_and_a_restart_writes_nothing(pool: PgPool) {
    let fake = FakeDiscord::start().await;
    let bot = TestBot::start(pool.clone(), &fake, 1).await;
    let changes = fake.command_changes();
    let registered = fake.registered_commands();
    assert!(
        changes.iter().all(|(method, _)| method == "POST"),
        "{changes:?}"
    );
    assert_eq!(changes.len(), registered.len(), "one create per command");
    let mut created: Vec<String> = changes.into_iter().map(|(_, name)| name).collect();
    created.sort();
    assert_eq!(created, names(&registered));
    for expected in [
        "flipfix",
        "find",
        "history",
        "Add to Flipfix",
        "problem",
        "log",
    ] {
        assert!(
            created.iter().any(|n| n == expected),
            "{expected}: {created:?}"
        );
    }
    let ids: Vec<Value> = registered.iter().map(|c| c["id"].clone()).collect();
    bot.stop().await;

    let writes_before = fake.command_changes().len();
    let syncs_before = fake.registrations();
    let bot = TestBot::start_with(pool, &fake, 2, test_secrets(&fake)).await;
    assert_eq!(
        fake.registrations(),
        syncs_before + 1,
        "the restart listed the commands"
    );
    assert_eq!(
        fake.command_changes().len(),
        writes_before,
        "nothing re-created, edited or deleted: {:?}",
        &fake.command_changes()[writes_before..]
    );
    let after: Vec<Value> = fake
        .registered_commands()
        .iter()
        .map(|c| c["id"].clone())
        .collect();
    assert_eq!(after, ids, "the same commands, same ids");
    bot.stop().await;
    fake.assert_spec_clean();
}

#[sqlx::test(migrations = "./migrations")]
async fn a_stale_set_is_repaired_with_one_request_per_difference(pool: PgPool) {
    let logs = crate::support::logs::CapturedLogs::capture();
    let fake = FakeDiscord::start().await;
    // What an earlier version left: `/find` with another description, a
    // command nothing declares any more. Everything else is missing.
    fake.set_guild_commands(&["find", "retired"]);
    let find_id = fake.command_id("find");
    let retired_id = fake.command_id("retired");
    let bot = TestBot::start(pool, &fake, 1).await;
    let changes = fake.command_changes();
    assert_eq!(
        changes[0],
        ("DELETE".to_string(), retired_id),
        "{changes:?}"
    );
    assert_eq!(
        changes[1],
        ("PATCH".to_string(), "find".to_string()),
        "{changes:?}"
    );
    assert!(
        changes[2..].iter().all(|(m, n)| m == "POST" && n != "find"),
        "{changes:?}"
    );
    assert_eq!(fake.command_id("find"), find_id, "edited in place, same id");
    let registered = fake.registered_commands();
    assert!(!names(&registered).contains(&"retired".to_string()));
    assert_eq!(
        changes.len() - 1,
        registered.len(),
        "every other command created once"
    );
    // One line per action, and the summary.
    let text = logs.text();
    assert!(text.contains("command deleted"), "{text}");
    assert!(
        text.contains("command edited") && text.contains("/find"),
        "{text}"
    );
    assert_eq!(
        text.matches("command created").count(),
        changes.len() - 2,
        "{text}"
    );
    let summary = format!(
        "commands: {} created, 1 edited, 1 deleted, 0 unchanged",
        changes.len() - 2
    );
    assert!(text.contains(&summary), "{summary}: {text}");
    bot.stop().await;
    fake.assert_spec_clean();
}

#[sqlx::test(migrations = "./migrations")]
async fn a_reload_whose_sync_fails_keeps_the_new_workflows_and_the_next_reload_retries(
    pool: PgPool,
) {
    let fake = FakeDiscord::start().await;
    let dir = copy_workflows();
    let bot = TestBot::start_with_dirs(pool, &fake, dir.path()).await;
    let before = bot.app.workflows().version.clone();
    let menu = dir.path().join("workflows/add_to_flipfix.yaml");
    let text = std::fs::read_to_string(&menu).unwrap();
    std::fs::write(
        &menu,
        text.replace(
            "message_command: Add to Flipfix",
            "message_command: Save to Flipfix",
        ),
    )
    .unwrap();
    let writes_before = fake.command_changes().len();
    fake.fail_requests(
        "POST",
        &crate::support::fake_discord::home_commands_path(),
        502,
        1,
    );

    let reply = reload(&fake).await;
    assert!(reply.contains("✅ Workflows reloaded"), "{reply}");
    assert!(
        reply.contains(
            "The new workflows are in force, but Discord did not take the command changes"
        ),
        "{reply}"
    );
    assert_ne!(
        bot.app.workflows().version,
        before,
        "the new version serves"
    );

    // Discord is back: the next reload creates what is missing, once.
    let reply = reload(&fake).await;
    assert!(reply.contains("1 command created"), "{reply}");
    let changes = &fake.command_changes()[writes_before..];
    let posts: Vec<&String> = changes
        .iter()
        .filter(|(m, _)| m == "POST")
        .map(|(_, n)| n)
        .collect();
    assert_eq!(
        posts,
        vec!["Save to Flipfix", "Save to Flipfix"],
        "the failed one, then the retry: {changes:?}"
    );
    assert!(names(&fake.registered_commands()).contains(&"Save to Flipfix".to_string()));
    assert!(!names(&fake.registered_commands()).contains(&"Add to Flipfix".to_string()));
    bot.stop().await;
    fake.assert_spec_clean();
}

/// A kind whose command takes the name of a built-in one.
const CLASHING_KIND: &str = r##"record_kinds:
  - name: lost_and_found
    label: Lost and found
    emoji: "🧦"
    link_path: lost
    web: members
    machine: optional
    description:
      label: What was found
      max_length: 1000
    color: "#95a5a6"
    templates:
      card: cards/record.md.j2
      notification: notifications/record.md.j2
    command:
      name: find
      description: Note something found in the arcade
"##;

#[sqlx::test(migrations = "./migrations")]
async fn a_command_named_like_a_built_in_one_is_refused_by_reload_and_find_stays_the_search(
    pool: PgPool,
) {
    let fake = FakeDiscord::start().await;
    let dir = copy_workflows();
    let bot = TestBot::start_with_dirs(pool.clone(), &fake, dir.path()).await;
    std::fs::write(dir.path().join("workflows/lost.yaml"), CLASHING_KIND).unwrap();
    let reply = reload(&fake).await;
    assert!(reply.starts_with("❌ Not reloaded"), "{reply}");
    assert!(
        reply.contains("lost.yaml:")
            && reply.contains(
                "command name `find` is the bot's built-in /find command; choose another name"
            ),
        "{reply}"
    );
    let finds: Vec<Value> = fake
        .registered_commands()
        .into_iter()
        .filter(|c| c["name"] == "find")
        .collect();
    assert_eq!(finds.len(), 1);
    assert_eq!(
        finds[0]["description"],
        json!("Find records by text, optionally on one machine or of one kind.")
    );
    // `/find` is still the search.
    let token = fake.invoke_slash(
        &FakeUser::member(600_000_000_000_000_002, "bob"),
        "find",
        json!([{"type": 3, "name": "text", "value": "flipper"}]),
    );
    let reply = fake.reply(&token).await;
    let records: i64 = sqlx::query_scalar("SELECT count(*) FROM records")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(records, 0, "nothing recorded: {reply}");
    assert_eq!(
        reply["flags"],
        json!(64),
        "the search answers privately: {reply}"
    );
    bot.stop().await;
    fake.assert_spec_clean();
}
