//! The model sees the photos: `analyze` with `vision:` against the fake
//! CDN (real HTTP, a real PNG), the fake Anthropic API (every content block
//! checked against the official SDK's request types) and real Postgres.

use std::path::Path;
use std::time::Duration;

use base64::Engine;
use flipfix_bot::analysis::scenario::Scenario;
use flipfix_bot::analysis::{analyze, AnalysisDeps, AnalysisRequest};
use flipfix_bot::config::Secret;
use flipfix_bot::llm::{AnthropicClient, LlmClient, RetryPolicy};
use flipfix_bot::template_check::load_workflows;
use flipfix_bot::workflow::Workflows;
use serde_json::{json, Value};
use sqlx::PgPool;

use crate::support::anthropic::{FakeAnthropic, Reply};
use crate::support::copy_workflows;
use crate::support::fake_cdn::{self, FakeCdn, PNG};

const BOB: &str = "1002000000000000001";

/// The shipped workflows with the `vision:` section replaced by `vision`
/// (YAML lines of `analyze:`, written indented by two; they are moved to
/// the section's depth).
pub(crate) fn workflows_with(vision: &str) -> (tempfile::TempDir, std::sync::Arc<Workflows>) {
    let dir = copy_workflows();
    let path = dir.path().join("workflows/add_to_flipfix.yaml");
    let yaml = std::fs::read_to_string(&path).unwrap();
    let shipped =
        "      vision:\n        enabled: true\n        max_images: 4\n        max_image_mb: 5\n";
    assert!(yaml.contains(shipped), "the shipped vision section moved");
    let vision: String = vision.lines().map(|l| format!("    {l}\n")).collect();
    std::fs::write(&path, yaml.replace(shipped, &vision)).unwrap();
    let workflows = load_workflows(&dir.path().join("workflows"), &dir.path().join("prompts"))
        .unwrap_or_else(|problems| panic!("{problems}"));
    (dir, workflows)
}

pub(crate) fn vision_on() -> (tempfile::TempDir, std::sync::Arc<Workflows>) {
    workflows_with("  vision:\n    max_images: 4\n")
}

/// One attachment of a scenario message.
pub(crate) struct Photo<'a> {
    pub url: &'a str,
    pub content_type: &'a str,
    pub size: usize,
}

/// A plain-channel scenario: messages `11`, `12`, … from Bob, each with its
/// photos, the last one clicked.
pub(crate) fn scenario(dir: &Path, messages: &[(&str, Vec<Photo<'_>>)]) -> Scenario {
    let mut yaml = format!(
        "name: vision\nchannel: {{kind: text}}\nusers:\n  - {{id: \"{BOB}\", username: bob_the_fixer, display_name: Bob Wilson}}\nmessages:\n"
    );
    for (i, (content, photos)) in messages.iter().enumerate() {
        yaml.push_str(&format!(
            "  - id: \"{}\"\n    author: \"{BOB}\"\n    content: \"{content}\"\n    timestamp: \"2025-01-15T11:{:02}:00Z\"\n",
            11 + i,
            10 + i
        ));
        if !photos.is_empty() {
            yaml.push_str("    attachments:\n");
            for photo in photos {
                yaml.push_str(&format!(
                    "      - {{url: \"{}\", content_type: {}, size: {}}}\n",
                    photo.url, photo.content_type, photo.size
                ));
            }
        }
    }
    yaml.push_str(&format!("target: \"{}\"\n", 10 + messages.len()));
    let path = dir.join("vision.yaml");
    std::fs::write(&path, yaml).unwrap();
    Scenario::load(&path).unwrap()
}

/// What the fake answers: no records, and usage as the API reports it for
/// a request with one small image (its tokens are in `input_tokens`).
fn answer() -> Reply {
    let mut reply = Reply::tool_use(json!({"suggestions": []}));
    if let Reply::Json { body, .. } = &mut reply {
        body["usage"] = json!({
            "input_tokens": 1650,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 2100,
            "output_tokens": 40,
        });
    }
    reply
}

pub(crate) async fn run(
    pool: &PgPool,
    workflows: &Workflows,
    scenario: &Scenario,
) -> (FakeAnthropic, flipfix_bot::analysis::Analysis) {
    let fake = FakeAnthropic::start(vec![answer()]).await;
    let retry = RetryPolicy {
        max_attempts: 1,
        ..RetryPolicy::default()
    };
    let client = AnthropicClient::new(&fake.base_url, Duration::from_secs(10), retry).unwrap();
    let key = Secret::new("sk-ant-test-key");
    let analysis = analyze_scenario(pool, workflows, &client.into(), &key, scenario)
        .await
        .unwrap_or_else(|err| {
            panic!(
                "analysis failed: {err}; SDK violations: {:?}",
                fake.violations()
            )
        });
    assert_eq!(fake.violations(), Vec::<String>::new());
    (fake, analysis)
}

/// `analyze` on `scenario` (photos may be served by the loopback fake CDN),
/// as Bob, without spend limits.
async fn analyze_scenario(
    pool: &PgPool,
    workflows: &Workflows,
    client: &LlmClient,
    key: &Secret,
    scenario: &Scenario,
) -> Result<flipfix_bot::analysis::Analysis, flipfix_bot::analysis::AnalysisError> {
    let deps = AnalysisDeps {
        pool,
        workflows,
        client,
        api_key: Some(key),
        progress: None,
        limits: None,
        allow_loopback_urls: true,
        clock: &flipfix_bot::clock::SystemClock,
    };
    let request = AnalysisRequest {
        guild_id: None,
        channel_id: scenario.target_channel_id,
        target_id: scenario.target_id,
        requested_by: BOB.into(),
        run_id: None,
    };
    analyze(&deps, scenario, &request).await
}

/// The user message's content as sent.
pub(crate) fn user_content(fake: &FakeAnthropic) -> Value {
    let received = fake.received();
    assert_eq!(received.len(), 1);
    received[0].body["messages"][0]["content"].clone()
}

/// The captions of the image blocks, in order, each checked to be followed
/// by an image block.
pub(crate) fn image_captions(content: &Value) -> Vec<String> {
    let blocks = content.as_array().expect("content blocks");
    let mut captions = Vec::new();
    for (i, block) in blocks.iter().enumerate() {
        if block["type"] == "image" {
            assert_eq!(blocks[i - 1]["type"], "text", "a caption before each image");
            captions.push(blocks[i - 1]["text"].as_str().unwrap().to_string());
        }
    }
    captions
}

pub(crate) fn png_photo(url: &str) -> Photo<'_> {
    Photo {
        url,
        content_type: "image/png",
        size: PNG.len(),
    }
}

#[sqlx::test(migrations = "./migrations")]
async fn vision_on_sends_the_photo_as_an_image_block_after_its_message_marker(pool: PgPool) {
    let cdn = FakeCdn::start().await;
    let url = cdn.add("flipper.png", "image/png", PNG);
    let dir = tempfile::tempdir().unwrap();
    let scenario = scenario(
        dir.path(),
        &[
            (
                "Left flipper on Gorgar is weak, see pic",
                vec![png_photo(&url)],
            ),
            ("I'll take a look tonight", vec![]),
        ],
    );
    let (_workflows_dir, workflows) = vision_on();
    let (fake, analysis) = run(&pool, &workflows, &scenario).await;

    let content = user_content(&fake);
    let blocks = content.as_array().expect("a list of content blocks");
    assert_eq!(blocks.len(), 3, "{content}");
    assert_eq!(blocks[0]["type"], "text");
    let conversation = blocks[0]["text"].as_str().unwrap();
    assert!(
        conversation.contains("1 attachment (1 image shown below):\nLeft flipper"),
        "{conversation}"
    );
    assert_eq!(
        blocks[1],
        json!({"type": "text", "text": "Image from message [11]:"})
    );
    assert_eq!(
        blocks[2],
        json!({"type": "image", "source": {
            "type": "base64",
            "media_type": "image/png",
            "data": base64::engine::general_purpose::STANDARD.encode(PNG),
        }})
    );
    assert_eq!(cdn.requests(), 1);

    // The usage the API reported (image tokens included) is what is stored.
    assert_eq!(analysis.usage.input_tokens, 1650);
    let (input, cost): (i64, Option<i64>) = sqlx::query_as(
        "SELECT input_tokens, cost_micro_usd FROM llm_usage WHERE purpose = 'analysis'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(input, 1650);
    // Haiku 4.5: 1650 × $1 + 2100 × $0.10 + 40 × $5 per million.
    assert_eq!(cost, Some(2060));
}

#[sqlx::test(migrations = "./migrations")]
async fn vision_off_sends_no_image_and_says_an_attachment_was_there(pool: PgPool) {
    let cdn = FakeCdn::start().await;
    let url = cdn.add("flipper.png", "image/png", PNG);
    let dir = tempfile::tempdir().unwrap();
    let scenario = scenario(
        dir.path(),
        &[(
            "Left flipper on Gorgar is weak, see pic",
            vec![png_photo(&url)],
        )],
    );
    let (_workflows_dir, vision_off) = workflows_with("  vision:\n    enabled: false\n");
    let (fake, _) = run(&pool, &vision_off, &scenario).await;

    let content = user_content(&fake);
    let text = content.as_str().expect("the user message is plain text");
    assert!(text.contains(", 1 attachment:\nLeft flipper"), "{text}");
    assert!(!text.contains("shown below"));
    assert_eq!(cdn.requests(), 0, "nothing is downloaded");
}

#[sqlx::test(migrations = "./migrations")]
async fn a_failed_download_falls_back_to_the_text_marker(pool: PgPool) {
    let cdn = FakeCdn::start().await;
    let url = cdn.add("flipper.png", "image/png", PNG);
    let html = cdn.add(
        "fake.png",
        "image/png",
        b"<html><script>alert(1)</script></html>",
    );
    cdn.set_mode(fake_cdn::Mode::Expired);
    let dir = tempfile::tempdir().unwrap();
    let scenario = scenario(
        dir.path(),
        &[
            ("see pic", vec![png_photo(&url)]),
            ("and this one", vec![png_photo(&html)]),
        ],
    );
    let (_workflows_dir, workflows) = vision_on();
    let (fake, analysis) = run(&pool, &workflows, &scenario).await;
    assert!(analysis.suggestions.is_empty());
    let content = user_content(&fake);
    let text = content.as_str().expect("no image: plain text");
    assert!(text.contains(", 1 attachment:\nsee pic"), "{text}");
    assert_eq!(cdn.requests(), 2, "both were tried");

    // Served, but not an image: never sent as one.
    cdn.set_mode(fake_cdn::Mode::Serve);
    let (fake, _) = run(&pool, &workflows, &scenario).await;
    let content = user_content(&fake);
    assert_eq!(
        image_captions(&content),
        vec!["Image from message [11]:"],
        "only the real PNG"
    );
    assert!(content[0]["text"]
        .as_str()
        .unwrap()
        .contains(", 1 attachment:\nand this one"));
}

#[sqlx::test(migrations = "./migrations")]
async fn at_most_max_images_are_sent_newest_first(pool: PgPool) {
    let cdn = FakeCdn::start().await;
    let urls: Vec<String> = (0..3)
        .map(|i| cdn.add(&format!("p{i}.png"), "image/png", PNG))
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let scenario = scenario(
        dir.path(),
        &[
            ("oldest", vec![png_photo(&urls[0])]),
            ("middle", vec![png_photo(&urls[1])]),
            ("newest", vec![png_photo(&urls[2])]),
        ],
    );
    let (_workflows_dir, workflows) = workflows_with("  vision:\n    max_images: 2\n");
    let (fake, _) = run(&pool, &workflows, &scenario).await;
    assert_eq!(
        image_captions(&user_content(&fake)),
        vec!["Image from message [12]:", "Image from message [13]:"]
    );
    assert_eq!(cdn.requests(), 2, "the oldest is not even downloaded");
}

#[sqlx::test(migrations = "./migrations")]
async fn oversized_images_are_skipped_or_refused_on_their_length(pool: PgPool) {
    let cdn = FakeCdn::start().await;
    // A PNG header and 1.5 MB more: over a 1 MB limit.
    let mut big = PNG.to_vec();
    big.resize(1_500_000, 0);
    let declared_big = cdn.add("declared.png", "image/png", &big);
    let lying = cdn.add("lying.png", "image/png", &big);
    let small = cdn.add("small.png", "image/png", PNG);
    let dir = tempfile::tempdir().unwrap();
    let scenario = scenario(
        dir.path(),
        &[
            ("small", vec![png_photo(&small)]),
            (
                "declared big",
                vec![Photo {
                    url: &declared_big,
                    content_type: "image/png",
                    size: big.len(),
                }],
            ),
            (
                "claims small",
                vec![Photo {
                    url: &lying,
                    content_type: "image/png",
                    size: 1000,
                }],
            ),
        ],
    );
    let (_workflows_dir, workflows) =
        workflows_with("  vision:\n    max_images: 2\n    max_image_mb: 1\n");
    let (fake, _) = run(&pool, &workflows, &scenario).await;
    assert_eq!(
        image_captions(&user_content(&fake)),
        vec!["Image from message [11]:"],
        "the declared-big one gave its slot to the small one; the lying one was refused on its length"
    );
    assert_eq!(
        cdn.requests(),
        2,
        "the declared-big one is never downloaded"
    );
}

/// The fake's check can fail: a block the SDK's types forbid is answered
/// 400 and reported.
#[tokio::test]
async fn the_fake_refuses_image_blocks_the_sdk_types_forbid() {
    let fake = FakeAnthropic::start(vec![answer()]).await;
    let body = json!({
        "model": "claude-haiku-4-5",
        "max_tokens": 10,
        "messages": [{"role": "user", "content": [
            {"type": "text", "text": "Image from message [11]:"},
            {"type": "image", "source": {"type": "base64", "media_type": "image/heic", "data": "AAAA"}},
            {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "not base64!"}, "alt": "x"},
            {"type": "image", "source": {"type": "base64", "media_type": "image/png"}},
        ]}],
    });
    let response = reqwest::Client::new()
        .post(format!("{}/v1/messages", fake.base_url))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let violations = fake.violations();
    for expected in [
        "messages[0].content[1].source.media_type",
        "messages[0].content[2].source.data: not valid base64",
        "messages[0].content[2]: unknown key `alt`",
        "messages[0].content[3].source: required key `data` missing",
    ] {
        assert!(
            violations.iter().any(|v| v.starts_with(expected)),
            "{expected} not in {violations:?}"
        );
    }
    assert_eq!(violations.len(), 4, "{violations:?}");
}

/// Through the real bot and the fake Discord: the attachment as Discord
/// describes it in the message history reaches the model as an image.
#[sqlx::test(migrations = "./migrations")]
async fn the_bot_shows_the_model_a_photo_posted_in_discord(pool: PgPool) {
    use crate::support::bot::{test_secrets, TestBot};
    use crate::support::fake_discord::{user_message, FakeDiscord, CHANNEL_ID};
    use flipfix_bot::config::SettingKey;

    let cdn = FakeCdn::start().await;
    let url = cdn.add("coil.png", "image/png", PNG);
    let fake = FakeDiscord::start().await;
    let author = json!({"id": BOB, "username": "bob_the_fixer", "global_name": "Bob Wilson",
                        "discriminator": "0", "avatar": null});
    let mut target = user_message(
        101,
        CHANNEL_ID,
        author,
        "the flipper coil looks burnt, see pic",
        "2025-03-01T10:00:00Z",
        None,
    );
    target["attachments"] = json!([{"id": "901", "filename": "coil.png", "size": PNG.len(),
        "url": url, "proxy_url": url, "content_type": "image/png"}]);
    fake.add_message(CHANNEL_ID, target.clone());
    let anthropic = FakeAnthropic::start(vec![answer()]).await;

    let (dir, _) = vision_on();
    let mut secrets = test_secrets(&fake);
    secrets.anthropic_base_url = anthropic.base_url.clone();
    secrets.workflows_dir = dir.path().join("workflows");
    secrets.prompts_dir = dir.path().join("prompts");
    let bot = TestBot::start_with(pool.clone(), &fake, 1, secrets).await;
    bot.app
        .settings
        .set(SettingKey::AnthropicApiKey, "sk-ant-test-key", "tests")
        .await
        .unwrap();

    let token = fake.invoke_message_command(
        &super::add_to_flipfix::bob(),
        super::add_to_flipfix::COMMAND,
        &target,
    );
    let text = super::add_to_flipfix::final_text(&fake, &token).await;
    assert_eq!(text, flipfix_bot::analysis::NO_RECORDS_MESSAGE);
    assert_eq!(anthropic.violations(), Vec::<String>::new());
    let content = user_content(&anthropic);
    assert_eq!(image_captions(&content), vec!["Image from message [101]:"]);
    assert_eq!(
        content[2]["source"]["data"],
        base64::engine::general_purpose::STANDARD.encode(PNG)
    );
    assert!(content[0]["text"]
        .as_str()
        .unwrap()
        .contains("1 attachment (1 image shown below):\nthe flipper coil"));
    bot.stop().await;
}

#[sqlx::test(migrations = "./migrations")]
async fn an_openai_compatible_model_gets_the_photo_as_an_image_url_part(pool: PgPool) {
    use crate::support::model_api::{Fake, Provider, Say};
    let cdn = FakeCdn::start().await;
    let url = cdn.add("flipper.png", "image/png", PNG);
    let dir = tempfile::tempdir().unwrap();
    let scenario = scenario(
        dir.path(),
        &[(
            "Left flipper on Gorgar is weak, see pic",
            vec![png_photo(&url)],
        )],
    );
    let fake = Fake::start(
        Provider::OpenAiCompatible,
        vec![Say::Tool(json!({"suggestions": []}))],
    )
    .await;
    let workflows = fake.workflows("");
    assert!(
        flipfix_bot::analysis::menu(&workflows)
            .unwrap()
            .vision
            .enabled,
        "the shipped workflow shows photos"
    );
    let client = fake.client(Duration::from_secs(10));
    analyze_scenario(&pool, &workflows, &client, &fake.key(), &scenario)
        .await
        .unwrap_or_else(|err| panic!("analysis failed: {err}"));

    // `bodies` fails the test on any request the vendored OpenAI request
    // schema refuses.
    let bodies = fake.bodies();
    assert_eq!(bodies.len(), 1);
    let parts = bodies[0]["messages"][1]["content"]
        .as_array()
        .expect("a list of content parts")
        .clone();
    assert_eq!(parts.len(), 3, "{parts:?}");
    assert_eq!(parts[0]["type"], "text");
    assert_eq!(
        parts[1],
        json!({"type": "text", "text": "Image from message [11]:"})
    );
    let data_uri = format!(
        "data:image/png;base64,{}",
        base64::engine::general_purpose::STANDARD.encode(PNG)
    );
    assert_eq!(
        parts[2],
        json!({"type": "image_url", "image_url": {"url": data_uri}})
    );
    assert_eq!(cdn.requests(), 1);
}

#[sqlx::test(migrations = "./migrations")]
async fn an_image_that_cannot_be_fetched_is_logged_by_attachment_id_and_host_only(pool: PgPool) {
    let logs = crate::support::logs::CapturedLogs::capture();
    let url = FakeCdn::unreachable_url("flipper.png");
    let dir = tempfile::tempdir().unwrap();
    let scenario = scenario(dir.path(), &[("see pic", vec![png_photo(&url)])]);
    let (_workflows_dir, workflows) = vision_on();
    let (fake, _) = run(&pool, &workflows, &scenario).await;
    assert!(user_content(&fake).is_string(), "no image was sent");
    let text = logs.text();
    let line = text
        .lines()
        .find(|l| l.contains("image not sent to the model"))
        .unwrap_or_else(|| panic!("no skip logged:\n{text}"));
    assert!(
        line.contains("attachment=attachment 222 on 127.0.0.1"),
        "{line}"
    );
    assert!(line.contains("error sending request"), "{line}");
    logs.assert_no_signed_urls();
}
