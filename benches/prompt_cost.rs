//! Prompt size and cost per analysis (a benchmark, not a test).
//!
//! Takes 30-message conversations (plus the clicked message) from the real
//! workshop export, renders the shipped prompt with the real machine catalog
//! and maintainers, and prints the size of the stable (cacheable) prefix and
//! of the conversation, estimated tokens, and the cost per analysis at the
//! workflow's list prices, cold and with a warm cache.
//!
//! `cargo bench --bench prompt_cost` (release), or quicker on the warm debug
//! build: `cargo test --bench prompt_cost` (sizes do not depend on the
//! profile).

use std::collections::HashMap;
use std::path::PathBuf;

use chrono::{NaiveDateTime, TimeZone, Utc};
use flipfix_bot::analysis::catalog::{Catalog, CatalogMachine, CatalogMaintainer};
use flipfix_bot::analysis::gather::gather;
use flipfix_bot::analysis::prompt::build_prompt;
use flipfix_bot::analysis::{Message, MessageAuthor, MessageSource, SourceError, ThreadInfo};
use flipfix_bot::llm::AnthropicClient;
use flipfix_bot::workflow::{load_workflows, Price, TokenUsage};

/// Characters per token for English chat and Markdown (Anthropic's tokenizer
/// averages 3.5–4; the lower figure overestimates cost, which is the safe side).
const CHARS_PER_TOKEN: f64 = 3.5;
/// A typical answer: one to three suggestions (the recorded responses in
/// tests/fixtures/anthropic use 19–254 output tokens).
const OUTPUT_TOKENS: u64 = 300;

/// Anthropic's minimum cacheable prefix per model (prompt-caching docs):
/// shorter prefixes are processed uncached, without error.
fn min_cacheable(model: &str) -> u64 {
    match model {
        m if m.starts_with("claude-haiku-4-5") || m.starts_with("claude-opus-4-5") => 4096,
        m if m.contains("haiku") => 2048,
        _ => 1024,
    }
}

fn main() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let sample = root.join("../shared/fixtures/flipfix-sample");
    let workflows = load_workflows(&root.join("workflows"), &root.join("prompts"))
        .unwrap_or_else(|problems| panic!("workflows:\n{problems}"));
    let menu = workflows.context_menu.as_ref().expect("context_menu");
    let catalog = catalog(&sample);
    let messages = read_csv(&sample.join("discord_workshop_messages.csv"));
    println!(
        "{} messages in the export; catalog: {} machines, {} maintainers",
        messages.len(),
        catalog.machines.len(),
        catalog.maintainers.len()
    );

    // A typical window (median size) and the heaviest one.
    let mut windows: Vec<(usize, usize)> = (30..messages.len())
        .map(|end| {
            (
                messages[end - 30..=end]
                    .iter()
                    .map(|m| m.content.len())
                    .sum(),
                end,
            )
        })
        .collect();
    windows.sort();
    let picks = [
        ("median", windows[windows.len() / 2].1),
        ("heaviest", windows[windows.len() - 1].1),
    ];

    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let source = Export {
        messages: messages.clone(),
    };
    for (label, end) in picks {
        let target = messages[end].id;
        let conversation = runtime
            .block_on(gather(&source, &menu.windows, None, 1, target))
            .expect("gather");
        let prompt = build_prompt(
            menu,
            &workflows.kinds,
            &workflows.templates,
            &catalog,
            &conversation,
        )
        .expect("prompt renders");
        let request = flipfix_bot::analysis::tool_request(menu, &menu.model, &prompt);
        let body = AnthropicClient::body(&request);
        // Tools and system form the cached prefix (tools come first).
        let stable_chars =
            prompt.system.chars().count() + body["tools"].to_string().chars().count();
        let conversation_chars = prompt.conversation.chars().count();
        let stable_tokens = (stable_chars as f64 / CHARS_PER_TOKEN).ceil() as u64;
        let conversation_tokens = (conversation_chars as f64 / CHARS_PER_TOKEN).ceil() as u64;
        println!(
            "\n{label} conversation: {} messages ending at {target}",
            conversation.messages.len()
        );
        println!(
            "  stable prefix (tools + system): {stable_chars:>6} chars ≈ {stable_tokens:>5} tokens"
        );
        println!("  conversation (user message):    {conversation_chars:>6} chars ≈ {conversation_tokens:>5} tokens");
        println!("  output (assumed):                             {OUTPUT_TOKENS:>5} tokens");
        for model in ["claude-haiku-4-5", "claude-sonnet-4-5"] {
            let price = menu.price(model).expect("price listed in the workflow");
            report(
                model,
                &price,
                stable_tokens,
                conversation_tokens,
                model == menu.model,
            );
        }
    }
}

fn report(model: &str, price: &Price, stable: u64, conversation: u64, is_default: bool) {
    let cacheable = stable >= min_cacheable(model);
    let uncached = price.cost(&TokenUsage {
        input_tokens: stable + conversation,
        output_tokens: OUTPUT_TOKENS,
        ..TokenUsage::default()
    });
    let (cold, warm) = if cacheable {
        let cold = price.cost(&TokenUsage {
            input_tokens: conversation,
            output_tokens: OUTPUT_TOKENS,
            cache_creation_input_tokens: stable,
            cache_read_input_tokens: 0,
        });
        let warm = price.cost(&TokenUsage {
            input_tokens: conversation,
            output_tokens: OUTPUT_TOKENS,
            cache_creation_input_tokens: 0,
            cache_read_input_tokens: stable,
        });
        (cold, warm)
    } else {
        (uncached, uncached)
    };
    println!(
        "  {model:<18}{} no cache ${uncached:.5} | cold (cache write) ${cold:.5} | warm (cache read) ${warm:.5}{}",
        if is_default { " (default)" } else { "          " },
        if cacheable {
            String::new()
        } else {
            format!(
                "  [prefix below the {}-token cache minimum: never cached]",
                min_cacheable(model)
            )
        }
    );
    if is_default {
        println!(
            "  goal warm cost ≤ $0.01 at the default model: {}",
            if warm <= 0.01 { "met" } else { "NOT met" }
        );
    }
}

/// The export as a message source (one channel, Discord paging semantics).
struct Export {
    messages: Vec<Message>,
}

impl MessageSource for Export {
    async fn message(&self, _channel: u64, id: u64) -> Result<Option<Message>, SourceError> {
        Ok(self.messages.iter().find(|m| m.id == id).cloned())
    }
    async fn messages_before(
        &self,
        _channel: u64,
        before: u64,
        limit: usize,
    ) -> Result<Vec<Message>, SourceError> {
        Ok(self
            .messages
            .iter()
            .rev()
            .filter(|m| m.id < before)
            .take(limit)
            .cloned()
            .collect())
    }
    async fn thread_info(&self, _channel: u64) -> Result<Option<ThreadInfo>, SourceError> {
        Ok(None)
    }
}

fn catalog(sample: &std::path::Path) -> Catalog {
    let read = |name: &str| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(sample.join(name)).expect(name)).expect(name)
    };
    let mut machines = Vec::new();
    for model in read("machines.json").as_array().expect("list") {
        let model_name = model["name"].as_str().unwrap_or_default();
        for instance in model["instances"].as_array().into_iter().flatten() {
            let name = instance["name"].as_str().unwrap_or(model_name).to_string();
            machines.push(CatalogMachine {
                id: None,
                slug: flipfix_bot::text::slugify(&name),
                short_name: instance["short_name"].as_str().map(str::to_string),
                aliases: Vec::new(),
                name,
            });
        }
    }
    let accounts = read("accounts.json");
    let maintainers = ["admins", "maintainers"]
        .iter()
        .flat_map(|key| accounts[key].as_array().cloned().unwrap_or_default())
        .map(|a| CatalogMaintainer {
            username: a["username"].as_str().unwrap_or_default().to_string(),
            display_name: Some(format!(
                "{} {}",
                a["first_name"].as_str().unwrap_or_default(),
                a["last_name"].as_str().unwrap_or_default()
            )),
        })
        .collect();
    Catalog {
        machines,
        maintainers,
    }
}

/// The CSV export: quoted fields may span lines; repeated header rows at the
/// end are skipped.
fn read_csv(path: &std::path::Path) -> Vec<Message> {
    let text = std::fs::read_to_string(path).expect("csv");
    let mut rows = Vec::new();
    let (mut row, mut field, mut quoted) = (Vec::new(), String::new(), false);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            ('"', _) => quoted = !quoted,
            (',', false) => row.push(std::mem::take(&mut field)),
            ('\n', false) => {
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
            }
            ('\r', false) => {}
            (c, _) => field.push(c),
        }
    }
    let mut authors: HashMap<String, u64> = HashMap::new();
    rows.into_iter()
        .filter(|r| r.len() >= 6 && r[0] != "chatId")
        .filter_map(|r| {
            let id: u64 = r[0].parse().ok()?;
            let next = authors.len() as u64 + 1;
            let author_id = *authors.entry(r[1].clone()).or_insert(next);
            let at = NaiveDateTime::parse_from_str(&r[5], "%Y/%m/%d %H:%M").ok()?;
            Some(Message {
                id,
                channel_id: 1,
                author: MessageAuthor {
                    id: author_id,
                    username: r[1].clone(),
                    display_name: r[1].clone(),
                    is_bot: false,
                    is_webhook: false,
                },
                content: r[3].clone(),
                timestamp: Utc.from_utc_datetime(&at),
                reply_to: None,
                attachments: r[4]
                    .lines()
                    .filter(|l| !l.is_empty())
                    .map(str::to_string)
                    .collect(),
                embeds: Vec::new(),
            })
        })
        .collect()
}
