//! Prompt size and cost per analysis (a benchmark, not a test). Every
//! figure it prints is an ESTIMATE: there is no tokenizer offline, so tokens
//! are estimated from characters, and the output size is assumed.
//!
//! Takes 30-message conversations (plus the clicked message) from the real
//! workshop export, renders the shipped prompt with the real machine catalog
//! and maintainers, and prints the size of the stable (cacheable) prefix and
//! of the conversation, estimated tokens, and the cost per analysis at the
//! workflow's list prices: cold (the prefix is written to the cache) and warm
//! (it is read from the cache). Last, what `vision:` adds: the images in
//! the export's windows and the tokens and cost of 1 and 4 images per
//! analysis by Anthropic's published token rule.
//! (it is read from the cache). It also prints what the open-records
//! context (duplicates and follow-ups) adds to each analysis.
//!
//! `cargo bench --bench prompt_cost` (release), or quicker on the warm debug
//! build: `cargo test --bench prompt_cost` (sizes do not depend on the
//! profile).

use std::collections::HashMap;
use std::path::PathBuf;

use chrono::{NaiveDateTime, TimeZone, Utc};
use flipfix_bot::analysis::catalog::{Catalog, CatalogMachine, CatalogMaintainer};
use flipfix_bot::analysis::conversation::Attachment;
use flipfix_bot::analysis::conversation::ExistingRecord;
use flipfix_bot::analysis::existing;
use flipfix_bot::analysis::gather::gather;
use flipfix_bot::analysis::prompt::build_prompt;
use flipfix_bot::analysis::vision;
use flipfix_bot::analysis::{Message, MessageAuthor, MessageSource, SourceError, ThreadInfo};
use flipfix_bot::llm::AnthropicClient;
use flipfix_bot::records::open::MAX_OPEN_RECORDS_IN_PROMPT;
use flipfix_bot::template_check::load_workflows;
use flipfix_bot::workflow::{Analyze, Price, TokenUsage};

/// Characters per token for English prose and Markdown. Anthropic's
/// tokenizer is not public; English text runs at about 3.5–4 characters per
/// token, and the lower figure (more tokens) keeps the cost on the safe side.
const PROSE_CHARS_PER_TOKEN: f64 = 3.5;
/// JSON, digits and ids tokenize densely: punctuation and quotes are tokens
/// of their own, and long numbers (18-digit snowflakes, timestamps) split
/// into chunks of a few digits.
const DENSE_CHARS_PER_TOKEN: f64 = 2.5;
/// For the cache-minimum question an overestimate would claim caching that
/// does not happen, so the prefix is also counted at the generous end
/// (fewest tokens): 4 characters per token for prose, 3 for dense text.
const PROSE_CHARS_PER_TOKEN_LOW: f64 = 4.0;
const DENSE_CHARS_PER_TOKEN_LOW: f64 = 3.0;
/// The tool_use block around the answer (ids, name, braces), in tokens.
const OUTPUT_OVERHEAD_TOKENS: u64 = 40;

/// Anthropic's minimum cacheable prefix per model (prompt-caching docs):
/// shorter prefixes are processed uncached, without error.
fn min_cacheable(model: &str) -> u64 {
    match model {
        m if m.starts_with("claude-haiku-4-5") || m.starts_with("claude-opus-4-5") => 4096,
        m if m.contains("haiku") => 2048,
        _ => 1024,
    }
}

/// Characters of `text` split into (prose, dense): dense is every JSON line
/// (starting with `{`, `[` or `<answer>{`) and every run of 3+ digits.
fn split_dense(text: &str) -> (usize, usize) {
    let (mut prose, mut dense) = (0, 0);
    for line in text.split_inclusive('\n') {
        let trimmed = line.trim_start();
        if trimmed.starts_with('{') || trimmed.starts_with('[') || trimmed.starts_with("<answer>{")
        {
            dense += line.chars().count();
            continue;
        }
        let mut digits = 0;
        for c in line.chars() {
            if c.is_ascii_digit() {
                digits += 1;
                continue;
            }
            if digits >= 3 {
                dense += digits;
            } else {
                prose += digits;
            }
            digits = 0;
            prose += 1;
        }
        if digits >= 3 {
            dense += digits;
        } else {
            prose += digits;
        }
    }
    (prose, dense)
}

/// Estimated tokens of `text` (all of it dense when `json`): the cost
/// estimate and the low (fewest tokens) bound.
fn tokens(text: &str, json: bool) -> (u64, u64) {
    let (prose, dense) = if json {
        (0, text.chars().count())
    } else {
        split_dense(text)
    };
    let at = |p: f64, d: f64| (prose as f64 / p + dense as f64 / d).ceil() as u64;
    (
        at(PROSE_CHARS_PER_TOKEN, DENSE_CHARS_PER_TOKEN),
        at(PROSE_CHARS_PER_TOKEN_LOW, DENSE_CHARS_PER_TOKEN_LOW),
    )
}

/// Output tokens assumed per analysis: the median reference answer's tool
/// input (tests/fixtures/reference_answers; hand-made, what a correct
/// analysis returns per the scenario README) at the dense ratio, plus the
/// tool_use block; the largest one gives the worst case. Returns (median
/// tokens, largest tokens, the largest's name).
fn assumed_output(root: &std::path::Path) -> (u64, u64, String) {
    let dir = root.join("tests/fixtures/reference_answers");
    let mut sizes: Vec<(u64, String)> = std::fs::read_dir(&dir)
        .expect("reference answers")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .map(|p| {
            let body: serde_json::Value =
                serde_json::from_str(&std::fs::read_to_string(&p).expect("read")).expect("json");
            let input = body["content"][0]["input"].to_string();
            let name = p
                .file_stem()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned();
            (tokens(&input, true).0 + OUTPUT_OVERHEAD_TOKENS, name)
        })
        .collect();
    sizes.sort();
    let median = sizes[sizes.len() / 2].0;
    let (largest, name) = sizes.last().cloned().expect("answers");
    (median, largest, name)
}

fn main() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let sample = root.join("../shared/fixtures/flipfix-sample");
    let workflows = load_workflows(&root.join("workflows"), &root.join("prompts"))
        .unwrap_or_else(|problems| panic!("workflows:\n{problems}"));
    let menu = flipfix_bot::analysis::for_workflow(&workflows, Some("add_to_flipfix"))
        .expect("add_to_flipfix");
    let catalog = catalog(&sample);
    let messages = read_csv(&sample.join("discord_workshop_messages.csv"));
    let (output_tokens, largest_output, largest) = assumed_output(&root);
    println!("ALL TOKEN FIGURES ARE ESTIMATED from characters (no tokenizer offline):");
    println!(
        "  prose {PROSE_CHARS_PER_TOKEN} chars/token (English runs 3.5–4; the lower figure errs towards cost);"
    );
    println!(
        "  JSON, digit runs and ids {DENSE_CHARS_PER_TOKEN} chars/token (punctuation, quotes and long numbers tokenize densely);"
    );
    println!(
        "  cache eligibility is judged on the low count ({PROSE_CHARS_PER_TOKEN_LOW} / {DENSE_CHARS_PER_TOKEN_LOW} chars/token), so caching is never overclaimed."
    );
    println!(
        "  output: {output_tokens} tokens assumed = the median reference answer's tool input at the JSON ratio + {OUTPUT_OVERHEAD_TOKENS} for the tool_use block;"
    );
    println!(
        "    the largest ({largest}, {largest_output} tokens) is the worst case below. Reference answers are hand-made (what a correct analysis returns), not model output."
    );
    println!(
        "\n{} messages in the export; catalog: {} machines, {} maintainers",
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
        let tools = body["tools"].to_string();
        let (system_tokens, system_low) = tokens(&prompt.system, false);
        let (tool_tokens, tool_low) = tokens(&tools, true);
        let stable = Estimate {
            chars: prompt.system.chars().count() + tools.chars().count(),
            tokens: system_tokens + tool_tokens,
            low: system_low + tool_low,
        };
        let (conversation_tokens, _) = tokens(&prompt.conversation, false);
        let conversation_chars = prompt.conversation.chars().count();
        println!(
            "\n{label} conversation: {} messages ending at {target}",
            conversation.messages.len()
        );
        println!(
            "  stable prefix (tools + system): {:>6} chars ≈ {:>5} tokens estimated (at least ≈ {})",
            stable.chars, stable.tokens, stable.low
        );
        println!("  conversation (user message):    {conversation_chars:>6} chars ≈ {conversation_tokens:>5} tokens estimated");
        println!("  output (assumed, see above):                  {output_tokens:>5} tokens");
        for model in ["claude-haiku-4-5", "claude-sonnet-4-5"] {
            let price = menu.price(model).expect("price listed in the workflow");
            report(
                model,
                &price,
                &stable,
                conversation_tokens,
                output_tokens,
                model == menu.model,
            );
        }
        let price = menu.price(&menu.model).expect("price");
        let worst = |cache: TokenUsage| price.cost(&cache);
        println!(
            "  worst case at the default model (largest answer, {largest_output} output tokens), estimated: warm ${:.5} | cold ${:.5}",
            worst(TokenUsage {
                input_tokens: conversation_tokens,
                output_tokens: largest_output,
                cache_creation_input_tokens: 0,
                cache_read_input_tokens: stable.tokens,
            }),
            worst(TokenUsage {
                input_tokens: conversation_tokens,
                output_tokens: largest_output,
                cache_creation_input_tokens: stable.tokens,
                cache_read_input_tokens: 0,
            }),
        );
        open_records_context(
            &workflows,
            &catalog,
            &open_records(&sample),
            &conversation,
            &prompt.conversation,
        );
    }
    images_report(menu, &messages, &windows);
}

/// Anthropic's vision docs: an image costs about width × height / 750
/// tokens, after it is scaled down (aspect kept) so that its long edge is
/// at most 1568 px and it is at most ~1.15 megapixels (~1,600 tokens).
fn image_tokens(width: f64, height: f64) -> u64 {
    let scale = 1f64
        .min(1568.0 / width.max(height))
        .min((1_150_000.0 / (width * height)).sqrt());
    let tokens = ((width * scale).floor() * (height * scale).floor() / 750.0).ceil() as u64;
    tokens.min(vision::MAX_TOKENS_PER_IMAGE)
}

/// What `vision:` adds to an analysis: images are part of the user message
/// (after the cache breakpoint), so they are billed as plain input tokens
/// on every analysis; the caption before each is a few text tokens.
fn images_report(menu: &Analyze, messages: &[Message], windows: &[(usize, usize)]) {
    let is_image = |a: &Attachment| {
        let name = a.filename.to_ascii_lowercase();
        [".jpg", ".jpeg", ".png", ".gif", ".webp"]
            .iter()
            .any(|ext| name.ends_with(ext))
    };
    let with_images = messages
        .iter()
        .filter(|m| m.attachments.iter().any(is_image))
        .count();
    let mut per_window: Vec<usize> = windows
        .iter()
        .map(|(_, end)| {
            messages[end - 30..=*end]
                .iter()
                .flat_map(|m| &m.attachments)
                .filter(|a| is_image(a))
                .count()
        })
        .collect();
    per_window.sort_unstable();
    println!(
        "
Images (vision:, {} in the shipped workflow, max_images = {}):",
        if menu.vision.enabled { "on" } else { "off" },
        menu.vision.max_images
    );
    println!(
        "  the export: {with_images} of {} messages carry an image; a 31-message window holds {} (median) to {} images",
        messages.len(),
        per_window[per_window.len() / 2],
        per_window[per_window.len() - 1]
    );
    println!(
        "  token rule (Anthropic vision docs): width × height / 750 after scaling to ≤ 1568 px long edge and ≤ ~1.15 MP; ceiling {} tokens",
        vision::MAX_TOKENS_PER_IMAGE
    );
    let caption = "Image from message [1329542384576168006]:";
    let (caption_tokens, _) = tokens(caption, false);
    let price = menu.price(&menu.model).expect("price");
    for (label, width, height) in [
        ("12 MP phone photo, 4032×3024", 4032.0, 3024.0),
        ("phone screenshot, 1170×2532", 1170.0, 2532.0),
        ("small photo, 800×600", 800.0, 600.0),
    ] {
        let per_image = image_tokens(width, height) + caption_tokens;
        let cost = |n: u64| {
            price.cost(&TokenUsage {
                input_tokens: n * per_image,
                ..TokenUsage::default()
            })
        };
        println!(
            "  {label:<36} ≈ {per_image:>5} tokens with its caption; {} (default) adds ${:.5} for 1 image, ${:.5} for 4",
            menu.model,
            cost(1),
            cost(4)
        );
    }
    // What a typical analysis pays with the shipped settings: the median
    // window's images, capped at max_images, as 12 MP phone photos.
    let median_sent = per_window[per_window.len() / 2].min(menu.vision.max_images) as u64;
    let phone = image_tokens(4032.0, 3024.0) + caption_tokens;
    let median_cost = price.cost(&TokenUsage {
        input_tokens: median_sent * phone,
        ..TokenUsage::default()
    });
    println!(
        "  shipped settings, median window: {median_sent} phone photo(s) sent, + ≈ {} tokens, +${median_cost:.5} per analysis on top of the text figures above",
        median_sent * phone
    );
    let reserved = price.cost(&TokenUsage {
        cache_creation_input_tokens: vision::MAX_TOKENS_PER_IMAGE,
        ..TokenUsage::default()
    });
    println!(
        "  the budget reserves {} tokens per image at the cache-write price: ${reserved:.5} each (settled to the reported usage after the call)",
        vision::MAX_TOKENS_PER_IMAGE
    );
}

/// The open-records lines (and a thread's origin record) the prompt adds to
/// the conversation part: uncached input, so each character costs the full
/// input price on every analysis. Typical = the real open records of the
/// machines this conversation mentions; bound = the most the prompt lists
/// (the longest open records, each cut to its snippet) plus an origin line.
fn open_records_context(
    workflows: &flipfix_bot::workflow::Workflows,
    catalog: &Catalog,
    open: &[ExistingRecord],
    conversation: &flipfix_bot::analysis::Conversation,
    without: &str,
) {
    let menu = flipfix_bot::analysis::for_workflow(workflows, Some("add_to_flipfix"))
        .expect("add_to_flipfix");
    let mut with_ids = catalog.clone();
    for (i, machine) in with_ids.machines.iter_mut().enumerate() {
        machine.id = Some(i as i64 + 1);
    }
    let mentioned = existing::mentioned_machines(&with_ids, conversation);
    let slugs: Vec<&str> = with_ids
        .machines
        .iter()
        .filter(|m| m.id.is_some_and(|id| mentioned.contains(&id)))
        .map(|m| m.slug.as_str())
        .collect();
    let typical: Vec<ExistingRecord> = open
        .iter()
        .filter(|r| r.machine.as_deref().is_some_and(|m| slugs.contains(&m)))
        .take(MAX_OPEN_RECORDS_IN_PROMPT)
        .cloned()
        .collect();
    let mut longest = open.to_vec();
    longest.sort_by_key(|r| std::cmp::Reverse(r.text.chars().count()));
    let bound: Vec<ExistingRecord> = longest
        .iter()
        .cycle()
        .take(MAX_OPEN_RECORDS_IN_PROMPT)
        .cloned()
        .collect();
    let price = menu.price(&menu.model).expect("price");
    let (base, _) = tokens(without, false);
    println!(
        "  open-records context ({} open records in the sample; at most {MAX_OPEN_RECORDS_IN_PROMPT} listed, uncached input at {}):",
        open.len(),
        menu.model
    );
    for (label, records, origin) in [
        (
            format!("typical ({} machine(s) mentioned)", slugs.len()),
            typical,
            None,
        ),
        (
            "bound (15 longest + thread origin)".to_string(),
            bound,
            longest.first().cloned(),
        ),
    ] {
        let mut with = conversation.clone();
        let count = records.len();
        with.open_records = records;
        with.origin_record = origin;
        let rendered = build_prompt(menu, &workflows.kinds, &workflows.templates, catalog, &with)
            .expect("prompt renders")
            .conversation;
        let chars = rendered
            .chars()
            .count()
            .saturating_sub(without.chars().count());
        let (total, _) = tokens(&rendered, false);
        let added = total.saturating_sub(base);
        let cost = price.cost(&TokenUsage {
            input_tokens: added,
            ..TokenUsage::default()
        });
        println!(
            "    {label:<38} {count:>2} records: +{chars:>5} chars ≈ +{added:>4} tokens estimated, +${cost:.5} per analysis"
        );
    }
}

/// Open problem reports and part requests of the sample (status not closed
/// as record_kinds.yaml declares), as the prompt lists them.
fn open_records(sample: &std::path::Path) -> Vec<ExistingRecord> {
    let read = |name: &str| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(sample.join(name)).expect(name)).expect(name)
    };
    let problems = read("logs_problems.json");
    let parts = read("part_requests.json");
    let mut open = Vec::new();
    let mut id = 100;
    for (kind, list, text_key, closed) in [
        (
            "problem_report",
            &problems["problem_reports"],
            "description",
            &["closed"][..],
        ),
        (
            "part_request",
            &parts["part_requests"],
            "text",
            &["received", "installed", "cancelled"][..],
        ),
    ] {
        for record in list.as_array().into_iter().flatten() {
            let status = record["status"].as_str().unwrap_or_default();
            if closed.contains(&status) {
                continue;
            }
            id += 1;
            let occurred = record["occurred_at"].as_str().unwrap_or_default();
            open.push(ExistingRecord {
                kind: kind.into(),
                record_id: id,
                machine: record["machine"].as_str().map(flipfix_bot::text::slugify),
                status: Some(status.into()),
                occurred_at: NaiveDateTime::parse_from_str(occurred, "%Y-%m-%dT%H:%M:%S")
                    .map(|at| Utc.from_utc_datetime(&at))
                    .unwrap_or_default(),
                text: record[text_key].as_str().unwrap_or_default().into(),
                rule_fields: Default::default(),
            });
        }
    }
    open
}

struct Estimate {
    chars: usize,
    /// For cost (errs towards more tokens).
    tokens: u64,
    /// The fewest tokens it can plausibly be (for the cache minimum).
    low: u64,
}

fn report(
    model: &str,
    price: &Price,
    stable: &Estimate,
    conversation: u64,
    output: u64,
    is_default: bool,
) {
    let cacheable = stable.low >= min_cacheable(model);
    let uncached = price.cost(&TokenUsage {
        input_tokens: stable.tokens + conversation,
        output_tokens: output,
        ..TokenUsage::default()
    });
    let (cold, warm) = if cacheable {
        let cold = price.cost(&TokenUsage {
            input_tokens: conversation,
            output_tokens: output,
            cache_creation_input_tokens: stable.tokens,
            cache_read_input_tokens: 0,
        });
        let warm = price.cost(&TokenUsage {
            input_tokens: conversation,
            output_tokens: output,
            cache_creation_input_tokens: 0,
            cache_read_input_tokens: stable.tokens,
        });
        (cold, warm)
    } else {
        (uncached, uncached)
    };
    println!(
        "  {model:<18}{} estimated: warm (cache read) ${warm:.5} | cold (cache write) ${cold:.5} | no cache ${uncached:.5}{}",
        if is_default { " (default)" } else { "          " },
        if cacheable {
            format!("  [prefix ≥ the {}-token cache minimum]", min_cacheable(model))
        } else {
            format!(
                "  [prefix may be below the {}-token cache minimum: counted uncached]",
                min_cacheable(model)
            )
        }
    );
    if is_default {
        let verdict = |ok: bool| if ok { "met" } else { "NOT met" };
        println!(
            "  targets at the default model (estimated): warm ≤ $0.005 {}, cold ≤ $0.01 {}",
            verdict(warm <= 0.005),
            verdict(cold <= 0.01)
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
            // Snowflake-sized, as real Discord user ids are (they cost tokens).
            let author_id = *authors
                .entry(r[1].clone())
                .or_insert(1_100_000_000_000_000_000 + next);
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
                    .map(Attachment::from_url)
                    .collect(),
                embeds: Vec::new(),
            })
        })
        .collect()
}
