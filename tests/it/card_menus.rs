//! Machines in one click: a card whose machine is unknown carries a ranked
//! machine menu and a menu for the kind's `card_select` field; choosing
//! stores the choice on the review item and updates the card. Fake Discord
//! (spec-checked), fake Anthropic, real Postgres.

use flipfix_bot::discord::home::REFUSAL;
use serde_json::{json, Value};
use sqlx::PgPool;

use crate::add_to_flipfix::{bob, start, COMMAND};
use crate::support::add_machine;
use crate::support::anthropic::{FakeAnthropic, Reply};
use crate::support::fake_discord::{user_message, FakeDiscord, FakeUser, CHANNEL_ID};

const OTHER_GUILD: u64 = 900_000_000_000_000_001;

struct Card {
    session: i64,
    ebd: i64,
    gorgar: i64,
    card: Value,
}

/// The flow up to the first card: the model names "8 ball deluxe", which
/// the catalog does not know; the conversation mentions Gorgar.
async fn unknown_machine_card(pool: &PgPool, fake: &FakeDiscord) -> Card {
    add_machine(pool, "baseball", "Baseball").await;
    let ebd = add_machine(
        pool,
        "eight-ball-deluxe-limited-edition",
        "Eight Ball Deluxe Limited Edition",
    )
    .await;
    let gorgar = add_machine(pool, "gorgar", "Gorgar").await;
    add_machine(pool, "star-trek", "Star Trek").await;
    let author = json!({"id": bob().id.to_string(), "username": bob().username,
                        "global_name": null, "discriminator": "0", "avatar": null});
    let id = fake.next_id();
    let message = user_message(
        id,
        CHANNEL_ID,
        author,
        "Gorgar is fine now, but the 8 ball deluxe left flipper is dead",
        &crate::support::time::real_now().to_rfc3339(),
        None,
    );
    fake.add_message(CHANNEL_ID, message.clone());
    let token = fake.invoke_message_command(&bob(), COMMAND, &message);
    fake.wait_until("the card", |requests| {
        requests.iter().any(|r| {
            r.method == "PATCH"
                && r.path.contains(&token)
                && r.body["embeds"].as_array().is_some_and(|e| !e.is_empty())
        })
    })
    .await;
    let card = fake.edit_of(&token).await;
    let session: i64 = sqlx::query_scalar("SELECT id FROM review_sessions")
        .fetch_one(pool)
        .await
        .unwrap();
    Card {
        session,
        ebd,
        gorgar,
        card,
    }
}

fn suggestion() -> Reply {
    Reply::tool_use(json!({"suggestions": [{
        "kind": "problem_report", "machine": "8 ball deluxe",
        "description": "Left flipper is dead.", "fields": {"priority": "major"},
        "source_message_ids": [], "author_id": bob().id.to_string(),
    }]}))
}

fn rows(message: &Value) -> Vec<Value> {
    message["components"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn menu<'a>(message: &'a Value, custom_id: &str) -> Option<&'a Value> {
    message["components"]
        .as_array()?
        .iter()
        .map(|row| &row["components"][0])
        .find(|c| c["type"] == json!(3) && c["custom_id"] == json!(custom_id))
}

fn selected(menu: &Value) -> Vec<String> {
    menu["options"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|o| o["default"] == json!(true))
        .map(|o| o["value"].as_str().unwrap().to_string())
        .collect()
}

#[sqlx::test(migrations = "./migrations")]
async fn an_unknown_machine_is_chosen_in_one_click(pool: PgPool) {
    let fake = FakeDiscord::start().await;
    let anthropic = FakeAnthropic::start(vec![suggestion()]).await;
    let bot = start(&pool, &fake, &anthropic).await;
    let Card {
        session,
        ebd,
        gorgar,
        card,
    } = unknown_machine_card(&pool, &fake).await;

    // Buttons first, Create disabled; then the two menus.
    let rows = rows(&card);
    assert_eq!(rows.len(), 3, "{card}");
    assert_eq!(rows[0]["components"][0]["label"], json!("Create"));
    assert_eq!(rows[0]["components"][0]["disabled"], json!(true));
    let machines = menu(&card, &format!("ff:{session}:0:p")).expect("a machine menu");
    let options = machines["options"].as_array().unwrap();
    let labels: Vec<&str> = options
        .iter()
        .map(|o| o["label"].as_str().unwrap())
        .collect();
    assert_eq!(
        labels[..2],
        ["Eight Ball Deluxe Limited Edition", "Gorgar"],
        "closest first, then the machine the conversation mentions: {labels:?}"
    );
    assert_eq!(options[0]["value"], json!(ebd.to_string()));
    assert_eq!(options[1]["value"], json!(gorgar.to_string()));
    assert_eq!(labels.len(), 5, "every machine fits, then Other…");
    assert_eq!(labels.last(), Some(&"Other…"));
    assert_eq!(options.last().unwrap()["value"], json!("other"));
    let priority = menu(&card, &format!("ff:{session}:0:f")).expect("a priority menu");
    assert_eq!(
        selected(priority),
        ["major"],
        "pre-set to the model's value"
    );
    assert_eq!(priority["options"].as_array().unwrap().len(), 5);

    // "Other…" opens the edit modal.
    let other = fake.select(&bob(), &format!("ff:{session}:0:p"), &["other"]);
    let modal = fake.callback(&other).await;
    assert_eq!(modal["type"], json!(9), "{modal}");
    assert_eq!(
        modal["data"]["custom_id"],
        json!(format!("ff:{session}:0:m"))
    );

    // Someone else's choice is refused, privately, and changes nothing.
    let stranger = FakeUser::member(630_000_000_000_000_002, "sarahc_plays");
    let refused = fake.select(&stranger, &format!("ff:{session}:0:p"), &[&ebd.to_string()]);
    let ack = fake.callback(&refused).await;
    assert_eq!(ack["type"], json!(6), "acknowledged first: {ack}");
    let refusal = fake.followup_of(&refused).await;
    assert_eq!(refusal["flags"], json!(64), "{refusal}");
    assert!(
        refusal["content"]
            .as_str()
            .unwrap_or_default()
            .contains("belongs to"),
        "{refusal}"
    );

    // Choosing the machine updates the card: Create is enabled.
    let chosen = fake.select(&bob(), &format!("ff:{session}:0:p"), &[&ebd.to_string()]);
    let ack = fake.callback(&chosen).await;
    assert_eq!(ack["type"], json!(6), "acknowledged first: {ack}");
    let card = &fake.edit_of(&chosen).await;
    assert_ne!(
        card["components"][0]["components"][0]["disabled"],
        json!(true),
        "{card}"
    );
    assert!(
        card["embeds"][0]["title"]
            .as_str()
            .unwrap_or_default()
            .contains("Eight Ball Deluxe"),
        "{card}"
    );
    assert!(
        menu(card, &format!("ff:{session}:0:p")).is_none(),
        "the machine is known now"
    );

    // The priority menu changes the priority.
    let picked = fake.select(&bob(), &format!("ff:{session}:0:f"), &["unplayable"]);
    let update = fake.edit_of(&picked).await;
    let priority = menu(&update, &format!("ff:{session}:0:f")).unwrap();
    assert_eq!(selected(priority), ["unplayable"]);

    let create = fake.click(&bob(), &format!("ff:{session}:0:c"));
    fake.edit_of(&create).await;
    let (machine, priority): (Option<i64>, String) =
        sqlx::query_as("SELECT machine_id, fields->>'priority' FROM records")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!((machine, priority.as_str()), (Some(ebd), "unplayable"));

    // A late choice on the created item is refused.
    let late = fake.select(&bob(), &format!("ff:{session}:0:f"), &["minor"]);
    let refusal = fake.followup_of(&late).await;
    assert_eq!(refusal["flags"], json!(64), "{refusal}");
    assert!(
        refusal["content"]
            .as_str()
            .unwrap_or_default()
            .contains("already over"),
        "{refusal}"
    );
    let priority: String = sqlx::query_scalar("SELECT fields->>'priority' FROM records")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(priority, "unplayable");
    bot.stop().await;
    fake.assert_spec_clean();
}

#[sqlx::test(migrations = "./migrations")]
async fn menus_refuse_other_servers_and_expired_reviews(pool: PgPool) {
    let fake = FakeDiscord::start().await;
    let anthropic = FakeAnthropic::start(vec![suggestion()]).await;
    let bot = start(&pool, &fake, &anthropic).await;
    let Card { session, ebd, .. } = unknown_machine_card(&pool, &fake).await;
    let machine = || async {
        sqlx::query_scalar::<_, Option<i64>>(
            "SELECT (item->>'machine_id')::bigint FROM review_items",
        )
        .fetch_one(&pool)
        .await
        .unwrap()
    };

    fake.next_interaction_from(Some(OTHER_GUILD));
    let foreign = fake.select(&bob(), &format!("ff:{session}:0:p"), &[&ebd.to_string()]);
    let refusal = fake.callback(&foreign).await;
    assert_eq!(refusal["data"]["content"], json!(REFUSAL), "{refusal}");
    assert_eq!(machine().await, None, "nothing changed");

    sqlx::query("UPDATE review_sessions SET expires_at = now() - interval '1 minute'")
        .execute(&pool)
        .await
        .unwrap();
    let expired = fake.select(&bob(), &format!("ff:{session}:0:p"), &[&ebd.to_string()]);
    let refusal = fake.followup_of(&expired).await;
    assert_eq!(refusal["flags"], json!(64), "{refusal}");
    assert!(
        refusal["content"]
            .as_str()
            .unwrap_or_default()
            .contains("expired"),
        "{refusal}"
    );
    assert_eq!(machine().await, None, "nothing changed");
    bot.stop().await;
    fake.assert_spec_clean();
}

/// On the real sample catalog (39 machines): the acceptance ranking, and a
/// menu that fits Discord's 25 options.
#[sqlx::test(migrations = "./migrations")]
async fn the_sample_catalog_ranks_eight_ball_deluxe_first(pool: PgPool) {
    let json = std::fs::read_to_string(
        crate::support::shared_dir().join("fixtures/flipfix-sample/machines.json"),
    )
    .unwrap();
    let statuses = crate::support::shipped_workflows()
        .kinds
        .machine_statuses()
        .clone();
    flipfix_bot::catalog::import_machines(&pool, &statuses, "machines.json", &json)
        .await
        .unwrap();
    let all = flipfix_bot::catalog::machines::list(&pool).await.unwrap();
    assert!(all.len() > 25, "the menu must choose: {}", all.len());
    let ranking = flipfix_bot::catalog::ranking::rank_for_menu;
    let menu = ranking(&all, Some("8 ball deluxe"), &[], 24);
    assert_eq!(menu[0].name, "Eight Ball Deluxe Limited Edition");
    assert_eq!(menu.len(), 24);
    let menu = ranking(&all, Some("addams family"), &[], 24);
    assert!(
        menu[0].name.starts_with("The Addams Family"),
        "{:?}",
        menu[0]
    );
    let menu = ranking(&all, Some("Godzila"), &[], 24);
    assert_eq!(menu[0].name, "Godzilla (Premium)");
}

#[sqlx::test(migrations = "./migrations")]
async fn a_machine_chosen_from_the_menu_is_checked_for_duplicates(pool: PgPool) {
    let fake = FakeDiscord::start().await;
    let anthropic = FakeAnthropic::start(vec![suggestion()]).await;
    let bot = start(&pool, &fake, &anthropic).await;
    let Card {
        session, ebd, card, ..
    } = unknown_machine_card(&pool, &fake).await;
    assert!(
        !card["content"]
            .as_str()
            .unwrap_or_default()
            .contains("Looks like"),
        "no machine, no duplicate check: {card}"
    );
    // An open report of the same problem on the machine about to be chosen.
    let yesterday = crate::support::time::real_now() - chrono::Duration::days(1);
    let open: i64 = sqlx::query_scalar(
        "INSERT INTO records (kind, machine_id, status, description, fields, author_name, occurred_at, created_via)
         VALUES ('problem_report', $1, 'open', 'Left flipper is dead', '{\"status\": \"open\"}', 'Earlier Person', $2, 'discord_message')
         RETURNING id",
    )
    .bind(ebd)
    .bind(yesterday)
    .fetch_one(&pool)
    .await
    .unwrap();

    let chosen = fake.select(&bob(), &format!("ff:{session}:0:p"), &[&ebd.to_string()]);
    let card = &fake.edit_of(&chosen).await;
    assert!(
        card["content"]
            .as_str()
            .unwrap_or_default()
            .contains(&format!("Looks like #{open}")),
        "{card}"
    );
    let attach = format!("ff:{session}:0:a");
    assert!(
        rows(card)
            .iter()
            .any(|row| row["components"][0]["custom_id"] == json!(attach)),
        "the Attach action is offered: {card}"
    );
    bot.stop().await;
    fake.assert_spec_clean();
}

/// A menu value that is no longer usable is refused with its one sentence,
/// privately, and the card stays as it was.
#[sqlx::test(migrations = "./migrations")]
async fn a_stale_menu_value_is_refused_with_its_sentence(pool: PgPool) {
    let fake = FakeDiscord::start().await;
    let anthropic = FakeAnthropic::start(vec![suggestion()]).await;
    let bot = start(&pool, &fake, &anthropic).await;
    let Card {
        session, gorgar, ..
    } = unknown_machine_card(&pool, &fake).await;

    // The machine was removed from the catalog after the card was drawn.
    sqlx::query("DELETE FROM machines WHERE id = $1")
        .bind(gorgar)
        .execute(&pool)
        .await
        .unwrap();
    let stale = fake.select(&bob(), &format!("ff:{session}:0:p"), &[&gorgar.to_string()]);
    let refusal = fake.followup_of(&stale).await;
    assert_eq!(refusal["flags"], json!(64), "{refusal}");
    assert_eq!(
        refusal["content"],
        json!("❌ That machine is no longer in the catalog; choose another or use Other…."),
    );

    // A choice the workflow does not declare (any more).
    let stale = fake.select(&bob(), &format!("ff:{session}:0:f"), &["urgent"]);
    let refusal = fake.followup_of(&stale).await;
    assert_eq!(refusal["flags"], json!(64), "{refusal}");
    assert_eq!(
        refusal["content"],
        json!("❌ `urgent` is not a choice here any more (the workflow changed); use Edit."),
    );

    let item: (Option<i64>, String) = sqlx::query_as(
        "SELECT (item->>'machine_id')::bigint, item->'fields'->>'priority' FROM review_items",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(item, (None, "major".to_string()), "nothing changed");
    bot.stop().await;
    fake.assert_spec_clean();
}
