//! docs/workflow-walkthrough.md, run as written: the "visitor feedback"
//! walkthrough's files are taken from the page's `file=PATH` blocks (see
//! `support::doc_blocks` for the convention) and dropped into a copy of the
//! shipped workflows and prompts beside a running `flipfix-bot run` process
//! (fake Discord, fake Anthropic, a fake webhook, real Postgres). Then its
//! steps: `flipfix-bot check`, `/flipfix workflows reload`, the new message
//! command on the worked example's conversation, the review, the webhook
//! post and the record's page, and the `/feedback` command. Every answer
//! the page shows in an `output=NAME` block is compared with the bot's.
//! Names (commands, model, kind, paths) are read from the files the page
//! gives, as the bot loads them, so the page is the only source.

use std::path::Path;
use std::time::Duration;

use flipfix_bot::config::{SettingKey, Settings};
use flipfix_bot::template_check::load_workflows;
use serde_json::{json, Value};
use sqlx::PgPool;

use crate::check_command::check;
use crate::command_sync::reload;
use crate::support::anthropic::{FakeAnthropic, Reply};
use crate::support::doc_blocks::{self, Block};
use crate::support::fake_discord::{FakeDiscord, CHANNEL_ID};
use crate::support::fake_webhook::FakeWebhook;
use crate::support::process::{database_url, BotProcess};
use crate::support::worked_example::PostedExample;
use crate::support::{add_machine, copy_workflows, repo_root};

mod added;

use added::{added, assert_asked_with_the_workflow, assert_card_controls};

/// The `PUBLIC_BASE_URL` the page's answers show.
const PUBLIC_BASE_URL: &str = "https://flipfix.example";

fn page() -> Vec<Block> {
    let path = repo_root().join("docs/workflow-walkthrough.md");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|err| panic!("read {}: {err}", path.display()));
    doc_blocks::blocks(&text)
}

/// An embed as the page shows it: title, then description.
fn embed_text(embed: &Value) -> String {
    format!(
        "{}\n{}",
        embed["title"].as_str().unwrap_or_default(),
        embed["description"].as_str().unwrap_or_default()
    )
}

fn decode_html(page: &str) -> String {
    page.replace("&#x27;", "'")
        .replace("&#39;", "'")
        .replace("&quot;", "\"")
        .replace("&#x2f;", "/")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

fn write_files(dir: &Path, files: &std::collections::BTreeMap<String, String>) {
    assert!(
        files.keys().any(|p| p.starts_with("workflows/"))
            && files.keys().any(|p| p.starts_with("prompts/")),
        "the page gives a workflow file and templates: {:?}",
        files.keys()
    );
    for (path, text) in files {
        let target = dir.join(path);
        assert!(
            !target.exists(),
            "{path}: the walkthrough adds files, it never edits a shipped one"
        );
        std::fs::create_dir_all(target.parent().expect("a directory")).expect("mkdir");
        std::fs::write(&target, text).expect("write");
    }
}

#[test]
fn an_ellipsis_in_a_shown_answer_stands_for_any_text_and_the_rest_must_match() {
    use doc_blocks::shows;
    assert!(shows(
        "ok: … kinds, … version …",
        "ok: 5  kinds, 3 templates,\nversion a1"
    )
    .is_ok());
    assert!(shows("a … c", "a c").is_ok());
    assert!(shows("a … c", "a b c d").is_err(), "more after the end");
    assert!(shows("a … c", "x a b c").is_err(), "more before the start");
    assert!(shows("c … a", "a b c").is_err(), "out of order");
    assert!(shows("exactly this", "exactly that").is_err());
}

#[sqlx::test(migrations = "./migrations")]
async fn the_visitor_feedback_walkthrough_runs_as_written(pool: PgPool) {
    let blocks = page();
    let files = doc_blocks::files(&blocks);

    // A running bot on a copy of the shipped files, posting to a webhook.
    let dir = copy_workflows();
    let fake = FakeDiscord::start().await;
    let anthropic = FakeAnthropic::start(Vec::new()).await;
    let webhook = FakeWebhook::start(None).await;
    let settings = Settings::new(pool.clone(), true);
    settings
        .set(SettingKey::DiscordWebhooksEnabled, "true", "test")
        .await
        .unwrap();
    settings
        .set(SettingKey::DiscordWebhookUrl, &webhook.url("tok"), "test")
        .await
        .unwrap();
    let workflows_dir = dir.path().join("workflows");
    let prompts_dir = dir.path().join("prompts");
    let bot = BotProcess::start(
        &database_url(&pool),
        &fake,
        &anthropic.base_url,
        &[
            ("FLIPFIX_WORKFLOWS_DIR", workflows_dir.to_str().unwrap()),
            ("FLIPFIX_PROMPTS_DIR", prompts_dir.to_str().unwrap()),
            ("PUBLIC_BASE_URL", PUBLIC_BASE_URL),
        ],
    );
    assert!(
        bot.wait_for_log("serving Discord interactions", Duration::from_secs(60))
            .await,
        "{}",
        bot.stderr()
    );
    let pages = bot.pages_url().await;
    let kept: Vec<(String, Value)> = fake
        .registered_commands()
        .iter()
        .map(|c| (c["name"].as_str().unwrap().to_string(), c["id"].clone()))
        .collect();
    let writes_before = fake.command_changes().len();

    // Steps 1 and 2: the page's files.
    write_files(dir.path(), &files);

    // Step 3: `flipfix-bot check`.
    let checked = check(dir.path());
    assert_eq!(checked.code, 0, "step 3: {}", checked.stdout);
    doc_blocks::shows(doc_blocks::output(&blocks, "check"), &checked.stdout)
        .unwrap_or_else(|why| panic!("step 3: {why}"));
    let loaded = load_workflows(&workflows_dir, &prompts_dir)
        .unwrap_or_else(|problems| panic!("the page's files load:\n{problems}"));
    let added = added(&loaded);
    let analyze = added.workflow.analyze.as_ref().expect("an analysis");
    let prompt = &files[&format!("prompts/{}", analyze.system_template)];

    // Step 4: `/flipfix workflows reload`: the new commands, one create
    // each; the others kept as they were.
    let reply = reload(&fake).await;
    doc_blocks::shows(doc_blocks::output(&blocks, "reload"), &reply)
        .unwrap_or_else(|why| panic!("step 4: {why}"));
    let mut created = fake.command_changes()[writes_before..].to_vec();
    created.sort();
    let mut expected = vec![
        ("POST".to_string(), added.message_command.clone()),
        ("POST".to_string(), added.slash_command.clone()),
    ];
    expected.sort();
    assert_eq!(
        created, expected,
        "one create per new command, nothing else"
    );
    for (name, id) in &kept {
        assert_eq!(&json!(fake.command_id(name)), id, "{name} kept its id");
    }

    // Step 5: the worked example's conversation; the model answers as the
    // example says a correct analysis does.
    let example = analyze.examples.first().expect("a worked example");
    for (slug, name) in &example.decl.machines {
        add_machine(&pool, slug, name).await;
    }
    let conversation = PostedExample::post(&fake, example);
    anthropic.set_replies(vec![Reply::tool_use(conversation.answer(example))]);
    let (target, writer) = conversation.target(example);
    let writer = writer.clone();
    let token = fake.invoke_message_command(&writer, &added.message_command, target);
    let card = fake.review_card(&token).await;
    doc_blocks::shows(
        doc_blocks::output(&blocks, "card"),
        &embed_text(&card["embeds"][0]),
    )
    .unwrap_or_else(|why| panic!("step 5, the card: {why}"));
    assert_card_controls(
        &card,
        &added,
        &conversation.answer(example)["suggestions"][0],
    );
    let received = anthropic.received();
    assert_eq!(received.len(), 1);
    assert_asked_with_the_workflow(&received[0].body, &added, prompt);

    // Create each suggestion; the review ends with the records' links.
    let suggested = example.decl.answer.value["suggestions"]
        .as_array()
        .expect("suggestions")
        .clone();
    let session: i64 = sqlx::query_scalar("SELECT id FROM review_sessions")
        .fetch_one(&pool)
        .await
        .unwrap();
    let mut last = Value::Null;
    for position in 0..suggested.len() {
        let click = fake.click(&writer, &format!("ff:{session}:{position}:c"));
        last = fake.edit_of(&click).await;
    }
    doc_blocks::shows(
        doc_blocks::output(&blocks, "summary"),
        &embed_text(&last["embeds"][0]),
    )
    .unwrap_or_else(|why| panic!("step 5, the summary: {why}"));

    // The records are the example's, of the new kind.
    let records: Vec<(i64, String, Option<String>, String, Value)> = sqlx::query_as(
        "SELECT r.id, r.kind, m.slug, r.description, r.fields
         FROM records r LEFT JOIN machines m ON m.id = r.machine_id ORDER BY r.id",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(records.len(), suggested.len(), "{records:?}");
    for ((_, kind, machine, description, fields), suggestion) in records.iter().zip(&suggested) {
        assert_eq!(kind, &added.kind.name);
        assert_eq!(machine.as_deref(), suggestion["machine"].as_str());
        assert_eq!(description, suggestion["description"].as_str().unwrap());
        for field in &added.kind.fields {
            assert_eq!(fields[&field.name], suggestion["fields"][&field.name]);
        }
    }

    // The message gets the workflow's reaction.
    let react = analyze.on_created.react.as_deref().expect("a reaction");
    // As it goes in the request path.
    let react: String = url::form_urlencoded::byte_serialize(react.as_bytes()).collect();
    fake.wait_until("the reaction", |requests| {
        requests
            .iter()
            .any(|r| r.method == "PUT" && r.path.contains("/reactions/"))
    })
    .await;
    let target_id = target["id"].as_str().unwrap().to_string();
    assert_eq!(
        fake.reactions(),
        vec![(CHANNEL_ID.to_string(), target_id, react)]
    );

    // Each is posted once, linked to its page, with the kind's template.
    tokio::time::timeout(
        Duration::from_secs(30),
        webhook.wait_for_requests(records.len()),
    )
    .await
    .unwrap_or_else(|_| panic!("no webhook posts: {}", bot.stderr()));
    let posts = webhook.delivered();
    assert_eq!(posts.len(), records.len(), "one post per record");
    for post in &posts {
        crate::notify::check_body(post);
    }
    for (id, ..) in &records {
        let url = format!("{PUBLIC_BASE_URL}/{}/{id}/", added.kind.link_path);
        assert_eq!(
            posts
                .iter()
                .filter(|p| p["embeds"][0]["url"] == json!(url))
                .count(),
            1,
            "{url}: {posts:?}"
        );
    }
    let shown = doc_blocks::output(&blocks, "notification");
    assert!(
        posts
            .iter()
            .any(|p| doc_blocks::shows(shown, &embed_text(&p["embeds"][0])).is_ok()),
        "step 5, the post: the page shows {shown:?}; posted: {posts:?}"
    );

    // And each record's page shows it.
    let client = reqwest::Client::new();
    for (id, _, machine, description, fields) in &records {
        let url = format!("{pages}/{}/{id}/", added.kind.link_path);
        let response = client.get(&url).send().await.unwrap();
        assert_eq!(response.status(), 200, "{url}");
        let html = decode_html(&response.text().await.unwrap());
        assert!(html.contains(&added.kind.label), "{url}: {html}");
        assert!(html.contains(description.as_str()), "{url}: {html}");
        for field in &added.kind.fields {
            let value = fields[&field.name].as_str().unwrap_or_default();
            assert!(
                html.contains(value),
                "{url}: {}={value}: {html}",
                field.name
            );
        }
        if let Some(slug) = machine {
            let name = &example.decl.machines[slug];
            assert!(html.contains(name.as_str()), "{url}: {html}");
            // The machine's timeline lists it.
            let url = format!("{pages}/machines/{slug}/");
            let timeline =
                decode_html(&client.get(&url).send().await.unwrap().text().await.unwrap());
            assert!(timeline.contains(description.as_str()), "{url}: {timeline}");
        }
    }
    // The index filters by the new kind.
    let url = format!("{pages}/?kind={}", added.kind.name);
    let index = decode_html(&client.get(&url).send().await.unwrap().text().await.unwrap());
    for (_, _, _, description, _) in &records {
        assert!(index.contains(description.as_str()), "{url}: {index}");
    }

    // The slash command: a typed note (and a machine) through the same
    // workflow, registered with the options its trigger declares.
    let registered = fake
        .registered_commands()
        .into_iter()
        .find(|c| c["name"] == json!(added.slash_command))
        .expect("the slash command is registered");
    let options: Vec<&str> = registered["options"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|o| o["name"].as_str())
        .collect();
    assert_eq!(options, vec![added.slash_text_option.as_str(), "machine"]);
    let (slug, name) = example.decl.machines.iter().next().expect("a machine");
    let note = "A visitor asked whether the flipper could be looked at";
    anthropic.set_replies(vec![Reply::tool_use(json!({"suggestions": [{
        "kind": added.kind.name, "machine": slug, "description": note,
        "source_message_ids": [(fake.next_id() + 1).to_string()],
        "author_id": writer.id.to_string()}]}))]);
    let token = fake.invoke_slash(
        &writer,
        &added.slash_command,
        json!([{"type": 3, "name": added.slash_text_option, "value": note},
               {"type": 3, "name": "machine", "value": slug}]),
    );
    let card = fake.review_card(&token).await;
    assert!(embed_text(&card["embeds"][0]).contains(note), "{card}");
    let received = anthropic.received();
    assert_eq!(received.len(), 2);
    assert_asked_with_the_workflow(&received[1].body, &added, prompt);
    let conversation_text = received[1].body["messages"][0]["content"].to_string();
    assert!(conversation_text.contains(note), "{conversation_text}");
    assert!(
        conversation_text.contains(&format!(
            "(Machine picked with /{}: {name})",
            added.slash_command
        )),
        "{conversation_text}"
    );
    let session: i64 = sqlx::query_scalar("SELECT max(id) FROM review_sessions")
        .fetch_one(&pool)
        .await
        .unwrap();
    let click = fake.click(&writer, &format!("ff:{session}:0:c"));
    fake.edit_of(&click).await;
    let (kind, machine): (String, Option<String>) = sqlx::query_as(
        "SELECT r.kind, m.slug FROM records r LEFT JOIN machines m ON m.id = r.machine_id
         WHERE r.description = $1",
    )
    .bind(note)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(
        (kind.as_str(), machine.as_deref()),
        (added.kind.name.as_str(), Some(slug.as_str()))
    );
    fake.assert_spec_clean();
}
