//! `/find` and `/history` through the fake Discord: the right records, with
//! page buttons that do not collide with the review's, and payloads Discord
//! accepts.

use serde_json::{json, Value};
use sqlx::PgPool;

use crate::support::add_machine;
use crate::support::bot::TestBot;
use crate::support::fake_discord::{FakeDiscord, FakeUser};

fn ruth() -> FakeUser {
    FakeUser::member(610_000_000_000_000_077, "ruth")
}

async fn insert(pool: &PgPool, kind: &str, machine: i64, description: &str, day: i32) -> i64 {
    sqlx::query_scalar(
        "INSERT INTO records (kind, machine_id, description, author_name, occurred_at, created_via) \
         VALUES ($1, $2, $3, 'Ruth', make_timestamptz(2025, 1, $4, 12, 0, 0, 'UTC'), 'cli') RETURNING id",
    )
    .bind(kind)
    .bind(machine)
    .bind(description)
    .bind(day)
    .fetch_one(pool)
    .await
    .expect("insert record")
}

fn text_of(reply: &Value) -> String {
    format!(
        "{} {} {}",
        reply["content"].as_str().unwrap_or_default(),
        reply["embeds"][0]["title"].as_str().unwrap_or_default(),
        reply["embeds"][0]["description"]
            .as_str()
            .unwrap_or_default()
    )
}

#[sqlx::test(migrations = "./migrations")]
async fn find_lists_matching_records_on_the_machine_and_kind_asked(pool: PgPool) {
    let fake = FakeDiscord::start().await;
    let ebd = add_machine(&pool, "eight-ball-deluxe", "Eight Ball Deluxe").await;
    let gorgar = add_machine(&pool, "gorgar", "Gorgar").await;
    let flipper = insert(&pool, "problem_report", ebd, "Left flipper weak", 3).await;
    let rebuilt = insert(&pool, "log_entry", ebd, "Rebuilt the flipper", 4).await;
    let elsewhere = insert(&pool, "problem_report", gorgar, "Flipper sticks", 5).await;
    let part = insert(&pool, "part_request", ebd, "Flipper coil for the left", 6).await;
    let unrelated = insert(&pool, "problem_report", ebd, "Speech is silent", 7).await;
    let bot = TestBot::start(pool.clone(), &fake, 1).await;

    let token = fake.invoke_slash(
        &ruth(),
        "find",
        json!([{"type": 3, "name": "text", "value": "flippers"}]),
    );
    let all = text_of(&fake.reply(&token).await);
    for id in [flipper, rebuilt, elsewhere, part] {
        assert!(all.contains(&format!("#{id}")), "#{id} in {all}");
    }
    // In Discord everyone past the home-server gate is a member: parts show.
    assert!(all.contains("Part request"), "{all}");
    assert!(!all.contains(&format!("#{unrelated}")), "{all}");

    let token = fake.invoke_slash(
        &ruth(),
        "find",
        json!([
            {"type": 3, "name": "text", "value": "flipper"},
            {"type": 3, "name": "machine", "value": "eight-ball-deluxe"},
            {"type": 3, "name": "kind", "value": "problem_report"}
        ]),
    );
    let narrowed = text_of(&fake.reply(&token).await);
    assert!(narrowed.contains(&format!("#{flipper}")), "{narrowed}");
    for id in [rebuilt, elsewhere, part] {
        assert!(!narrowed.contains(&format!("#{id}")), "#{id} in {narrowed}");
    }

    let token = fake.invoke_slash(
        &ruth(),
        "find",
        json!([{"type": 3, "name": "text", "value": "zanzibar"}]),
    );
    assert!(text_of(&fake.reply(&token).await).contains("Nothing matches"));
    bot.stop().await;
    fake.assert_spec_clean();
}

#[sqlx::test(migrations = "./migrations")]
async fn history_shows_the_last_ten_and_pages_with_its_own_buttons(pool: PgPool) {
    let fake = FakeDiscord::start().await;
    let ebd = add_machine(&pool, "eight-ball-deluxe", "Eight Ball Deluxe").await;
    let mut ids = Vec::new();
    for day in 1..=12 {
        ids.push(insert(&pool, "log_entry", ebd, &format!("Work on day {day}"), day).await);
    }
    let bot = TestBot::start(pool.clone(), &fake, 1).await;
    let token = fake.invoke_slash(
        &ruth(),
        "history",
        json!([{"type": 3, "name": "machine", "value": "eight-ball-deluxe"}]),
    );
    let first = fake.reply(&token).await;
    let text = text_of(&first);
    // Newest first: days 12..3 on page one.
    for id in &ids[2..] {
        assert!(text.contains(&format!("#{id}**")), "#{id} in {text}");
    }
    assert!(!text.contains(&format!("#{}**", ids[1])), "{text}");
    let buttons = first["components"][0]["components"]
        .as_array()
        .expect("buttons")
        .clone();
    assert_eq!(buttons.len(), 1, "only Older on page one: {first}");
    let older = buttons[0]["custom_id"].as_str().expect("custom id");
    assert!(
        older.starts_with("fxh:") && !older.starts_with("ff:"),
        "{older}"
    );

    let click = fake.click(&ruth(), older);
    let page = fake.callback(&click).await;
    assert_eq!(
        page["type"],
        json!(7),
        "updates the message in place: {page}"
    );
    let text = text_of(&page["data"]);
    assert!(
        text.contains(&format!("#{}**", ids[0])) && text.contains(&format!("#{}**", ids[1])),
        "{text}"
    );
    assert!(!text.contains(&format!("#{}**", ids[2])), "{text}");
    let labels: Vec<&str> = page["data"]["components"][0]["components"]
        .as_array()
        .expect("buttons")
        .iter()
        .filter_map(|b| b["label"].as_str())
        .collect();
    assert_eq!(labels, vec!["Newer"], "{page}");
    bot.stop().await;
    fake.assert_spec_clean();
}

/// Whether a `/find` answer lists record `id` (its `**Kind #id**` line).
fn shows(text: &str, id: i64) -> bool {
    text.contains(&format!("#{id}**"))
}

/// docs/commands.md: `/find` shows the 10 newest matches, newest first, and reads
/// `"a phrase"`, `-without` and `or`.
#[sqlx::test(migrations = "./migrations")]
async fn find_shows_the_10_newest_and_reads_phrases_exclusions_and_or(pool: PgPool) {
    let fake = FakeDiscord::start().await;
    let gorgar = add_machine(&pool, "gorgar", "Gorgar").await;
    // Twelve matches, one a day (the 1st is the oldest).
    let mut matches = Vec::new();
    for day in 1..=12 {
        matches.push(
            insert(
                &pool,
                "log_entry",
                gorgar,
                &format!("Cleaned the playfield, pass {day}"),
                day,
            )
            .await,
        );
    }
    let phrase = insert(&pool, "problem_report", gorgar, "Left flipper weak", 20).await;
    let reversed = insert(
        &pool,
        "problem_report",
        gorgar,
        "Flipper on the left sticks",
        21,
    )
    .await;
    let coil = insert(&pool, "part_request", gorgar, "Flipper coil needed", 22).await;
    let speech = insert(&pool, "problem_report", gorgar, "Speech board silent", 23).await;
    let bot = TestBot::start(pool.clone(), &fake, 1).await;
    let find = |text: &str| {
        fake.invoke_slash(
            &ruth(),
            "find",
            json!([{"type": 3, "name": "text", "value": text}]),
        )
    };

    let newest = text_of(&fake.reply(&find("playfield")).await);
    let positions: Vec<usize> = matches[2..]
        .iter()
        .rev()
        .map(|id| {
            newest
                .find(&format!("#{id}**"))
                .unwrap_or_else(|| panic!("#{id} (one of the 10 newest) in {newest}"))
        })
        .collect();
    assert!(
        positions.windows(2).all(|w| w[0] < w[1]),
        "newest first: {newest}"
    );
    for id in &matches[..2] {
        assert!(!shows(&newest, *id), "#{id} is 11th or older: {newest}");
    }

    let quoted = text_of(&fake.reply(&find("\"left flipper\"")).await);
    assert!(shows(&quoted, phrase), "{quoted}");
    assert!(
        !shows(&quoted, reversed),
        "a phrase, not the words anywhere: {quoted}"
    );

    let without = text_of(&fake.reply(&find("flipper -coil")).await);
    assert!(
        shows(&without, phrase) && shows(&without, reversed),
        "{without}"
    );
    assert!(!shows(&without, coil), "{without}");

    let either = text_of(&fake.reply(&find("coil or speech")).await);
    assert!(shows(&either, coil) && shows(&either, speech), "{either}");
    assert!(!shows(&either, phrase), "{either}");
    bot.stop().await;
    fake.assert_spec_clean();
}
