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
use flipfix_bot::workflow::{Example, RecordKind, Trigger, Workflow, Workflows};
use serde_json::{json, Value};
use sqlx::PgPool;

use crate::check_command::check;
use crate::command_sync::reload;
use crate::support::anthropic::{FakeAnthropic, Reply};
use crate::support::doc_blocks::{self, Block};
use crate::support::fake_discord::{user_message, FakeDiscord, FakeUser, CHANNEL_ID};
use crate::support::fake_webhook::FakeWebhook;
use crate::support::process::{database_url, BotProcess};
use crate::support::time::pinned;
use crate::support::{add_machine, copy_workflows, repo_root, shipped_workflows};

/// The `PUBLIC_BASE_URL` the page's answers show.
const PUBLIC_BASE_URL: &str = "https://flipfix.example";

fn page() -> Vec<Block> {
    let path = repo_root().join("docs/workflow-walkthrough.md");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|err| panic!("read {}: {err}", path.display()));
    doc_blocks::blocks(&text)
}

/// What the page's files add to the shipped set, as the bot loads them.
struct Added {
    workflow: Workflow,
    kind: RecordKind,
    message_command: String,
    slash_command: String,
}

fn added(loaded: &Workflows) -> Added {
    let shipped = shipped_workflows();
    let workflows: Vec<&Workflow> = loaded
        .workflows
        .iter()
        .filter(|w| shipped.get(&w.name).is_none())
        .collect();
    let kinds: Vec<&str> = loaded
        .kinds
        .names()
        .into_iter()
        .filter(|k| shipped.kinds.get(k).is_none())
        .collect();
    assert_eq!(workflows.len(), 1, "the page adds one workflow");
    assert_eq!(kinds.len(), 1, "the page adds one kind");
    let workflow = workflows[0].clone();
    let command = |pick: &dyn Fn(&Trigger) -> Option<String>| {
        workflow
            .triggers
            .iter()
            .find_map(pick)
            .expect("the walkthrough's workflow has a message and a slash command")
    };
    let message_command = command(&|t| match t {
        Trigger::MessageCommand { name } => Some(name.clone()),
        _ => None,
    });
    let slash_command = command(&|t| match t {
        Trigger::SlashCommand(slash) => Some(slash.name.clone()),
        _ => None,
    });
    Added {
        kind: loaded.kinds.get(kinds[0]).expect("declared").clone(),
        workflow,
        message_command,
        slash_command,
    }
}

/// The worked example's conversation, posted in the fake channel: its
/// people as members, its messages with snowflake ids (in order, a minute
/// apart). Returns the members by example id and the message ids.
struct Conversation {
    people: Vec<(String, FakeUser)>,
    messages: Vec<(String, Value)>,
}

impl Conversation {
    fn post(fake: &FakeDiscord, example: &Example) -> Self {
        let decl = &example.decl;
        let people: Vec<(String, FakeUser)> = decl
            .users
            .iter()
            .enumerate()
            .map(|(index, (id, name))| {
                let username = name.to_lowercase().replace(' ', "_");
                let member = FakeUser::member(1_003_000_000_000_000_001 + index as u64, &username);
                let user = FakeUser {
                    global_name: Some(name.clone()),
                    ..member
                };
                (id.clone(), user)
            })
            .collect();
        let start = pinned("2025-01-18T14:02:00Z");
        let mut conversation = Self {
            people,
            messages: Vec::new(),
        };
        for (index, message) in decl.messages.iter().enumerate() {
            let author = conversation.person(&message.author).user_json();
            let reply_to = message.reply_to.as_ref().map(|id| conversation.id_of(id));
            let posted = user_message(
                1_100_000_000_000_000_101 + index as u64,
                CHANNEL_ID,
                author,
                &message.content,
                &(start + chrono::Duration::minutes(index as i64)).to_rfc3339(),
                reply_to,
            );
            fake.add_message(CHANNEL_ID, posted.clone());
            conversation.messages.push((message.id.clone(), posted));
        }
        conversation
    }

    fn person(&self, example_id: &str) -> &FakeUser {
        &self
            .people
            .iter()
            .find(|(id, _)| id == example_id)
            .unwrap_or_else(|| panic!("user {example_id} is in the example's users"))
            .1
    }

    fn id_of(&self, example_id: &str) -> u64 {
        self.message(example_id)["id"]
            .as_str()
            .and_then(|id| id.parse().ok())
            .expect("a snowflake")
    }

    fn message(&self, example_id: &str) -> &Value {
        &self
            .messages
            .iter()
            .find(|(id, _)| id == example_id)
            .unwrap_or_else(|| panic!("message {example_id} is in the example"))
            .1
    }

    /// The example's answer, with the posted messages' and people's ids.
    fn answer(&self, example: &Example) -> Value {
        let mut answer = example.decl.answer.value.clone();
        for suggestion in answer["suggestions"].as_array_mut().into_iter().flatten() {
            if let Some(ids) = suggestion["source_message_ids"].as_array_mut() {
                for id in ids.iter_mut() {
                    *id = json!(self.id_of(id.as_str().unwrap_or_default()).to_string());
                }
            }
            if let Some(author) = suggestion["author_id"].as_str().map(str::to_string) {
                suggestion["author_id"] = json!(self.person(&author).id.to_string());
            }
        }
        answer
    }
}

/// An embed as the page shows it: title, then description.
fn embed_text(embed: &Value) -> String {
    format!(
        "{}\n{}",
        embed["title"].as_str().unwrap_or_default(),
        embed["description"].as_str().unwrap_or_default()
    )
}

fn system_text(body: &Value) -> String {
    match &body["system"] {
        Value::String(text) => text.clone(),
        blocks => blocks
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|b| b["text"].as_str())
            .collect::<Vec<_>>()
            .join("\n"),
    }
}

/// The model request carries the workflow's model, its prompt (every line
/// of the page's template without template syntax) and only its kinds.
fn assert_asked_with_the_workflow(body: &Value, added: &Added, prompt: &str) {
    let analyze = added.workflow.analyze.as_ref().expect("an analysis");
    assert_eq!(body["model"], json!(analyze.model));
    let system = system_text(body);
    for line in prompt.lines().map(str::trim) {
        if !line.is_empty() && !line.contains('{') && !line.contains('%') {
            assert!(system.contains(line), "the prompt's {line:?} in: {system}");
        }
    }
    let schema = body["tools"][0]["input_schema"].to_string();
    assert!(schema.contains(&added.kind.name), "{schema}");
    for field in &added.kind.fields {
        assert!(schema.contains(&field.name), "{schema}");
    }
    for other in shipped_workflows().kinds.names() {
        assert!(!schema.contains(other), "only its kind: {schema}");
    }
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
    let conversation = Conversation::post(&fake, example);
    anthropic.set_replies(vec![Reply::tool_use(conversation.answer(example))]);
    let target = conversation.message(&example.decl.target);
    let writer = conversation.person(target_author(example)).clone();
    let token = fake.invoke_message_command(&writer, &added.message_command, target);
    let card = fake.review_card(&token).await;
    doc_blocks::shows(
        doc_blocks::output(&blocks, "card"),
        &embed_text(&card["embeds"][0]),
    )
    .unwrap_or_else(|why| panic!("step 5, the card: {why}"));
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

    // Each is posted once, linked to its page, with the kind's template.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while webhook.delivered().len() < records.len() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "posts: {:?}\n{}",
            webhook.delivered(),
            bot.stderr()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
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
    assert_eq!(options, vec![slash_text_option(&added).as_str(), "machine"]);
    let (slug, name) = example.decl.machines.iter().next().expect("a machine");
    let note = "A visitor asked whether the flipper could be looked at";
    anthropic.set_replies(vec![Reply::tool_use(json!({"suggestions": [{
        "kind": added.kind.name, "machine": slug, "description": note,
        "source_message_ids": [(fake.next_id() + 1).to_string()],
        "author_id": writer.id.to_string()}]}))]);
    let token = fake.invoke_slash(
        &writer,
        &added.slash_command,
        json!([{"type": 3, "name": slash_text_option(&added), "value": note},
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

fn target_author(example: &Example) -> &str {
    let decl = &example.decl;
    &decl
        .messages
        .iter()
        .find(|m| m.id == decl.target)
        .expect("the target is one of the example's messages")
        .author
}

fn slash_text_option(added: &Added) -> String {
    added
        .workflow
        .triggers
        .iter()
        .find_map(|t| match t {
            Trigger::SlashCommand(slash) => Some(slash.text_option.clone()),
            _ => None,
        })
        .expect("a slash command")
}
