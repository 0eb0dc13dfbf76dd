//! `flipfix-bot screenshots` (run by `scripts/screenshots`): the docs'
//! pictures, made from what the bot really shows. The demo's sample
//! workshop is loaded into a database of its own and its pages served
//! (`super::demo`); headless Chromium (`super::webdriver`) photographs the
//! index, a record with a photo, a machine page and the sign-in a visitor
//! meets. The demo conversation's first review card and a record's webhook
//! post are built by the bot's own code from the real templates
//! (`payloads`), drawn as Discord would (`discord_html`) and photographed
//! the same way. Nothing is drawn by hand, and nothing leaves the machine.

mod discord_html;
mod payloads;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use super::demo::{self, database::DemoDatabase};
use super::webdriver::{self, Browser};
use crate::app::App;
use crate::config::{PublicBaseUrl, Secret, Secrets};
use crate::workflow::Workflows;
use anyhow::Context as _;

/// What `screenshots` is given on the command line.
#[derive(Debug, Clone)]
pub struct ScreenshotOptions {
    /// Where the PNGs go (docs/images in the repository).
    pub out: PathBuf,
    /// Where the Discord-look pages and their payloads go (kept for a
    /// look or a test); a temporary folder when not given.
    pub html_dir: Option<PathBuf>,
    /// The demo's folder, with `workshop.json` and `conversation/`.
    pub demo_dir: PathBuf,
    /// Where the embedded cluster goes (removed before and after).
    pub data_dir: PathBuf,
}

/// The scratch database on a `DATABASE_URL` server (not the demo's, so a
/// running demo is left alone).
const SCRATCH: &str = "flipfix_screenshots";
/// The browser window: the pictures are this wide.
const WIDTH: u32 = 1000;
/// The tallest page picture; a longer page is cut there.
const MAX_HEIGHT: u32 = 900;
/// The sample photo the record picture and the webhook post show.
const PHOTO: &str = "playfield.png";

/// The pictures, by file name, in the order they are taken.
pub const PICTURES: [&str; 6] = [
    "index.png",
    "record.png",
    "machine.png",
    "sign-in.png",
    "review-card.png",
    "notification.png",
];

pub async fn run(options: ScreenshotOptions, mut secrets: Secrets) -> anyhow::Result<ExitCode> {
    let (chromium, chromedriver) = webdriver::find_chromium()?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .context("no free port for the pages")?
        .port();
    demo::offline(&mut secrets, port);
    // Links in the Discord messages read as the team's own site would.
    secrets.public_base_url = Some(PublicBaseUrl::example());
    let workflows = super::replay::load(&secrets.workflows_dir, &secrets.prompts_dir)?;
    std::fs::create_dir_all(&options.out)
        .with_context(|| format!("cannot create {}", options.out.display()))?;
    let scratch_html = tempfile::tempdir().context("no temporary folder")?;
    let html_dir = options
        .html_dir
        .clone()
        .unwrap_or_else(|| scratch_html.path().to_path_buf());
    std::fs::create_dir_all(&html_dir)
        .with_context(|| format!("cannot create {}", html_dir.display()))?;

    let database = DemoDatabase::create(
        secrets.database_url.as_ref().map(Secret::expose),
        options.data_dir.clone(),
        SCRATCH,
    )
    .await?;
    let (trigger, shutdown) = crate::shutdown::channel();
    let taken = async {
        demo::load_sample(&database.pool, &workflows, &options.demo_dir).await?;
        let (app, base) = demo::serve(&database.pool, &secrets, &workflows, shutdown).await?;
        let shots = prepare(&app, &workflows, &options.demo_dir, &base, &html_dir).await?;
        let browser = Browser::start(&chromium, &chromedriver, (WIDTH, MAX_HEIGHT)).await?;
        let taken = take(&browser, &shots, &options.out).await;
        browser.quit().await;
        taken
    }
    .await;
    trigger.request();
    database.remove().await;
    taken?;
    println!("pictures written to {}", options.out.display());
    Ok(ExitCode::SUCCESS)
}

/// One picture: a page of the demo, or a Discord-look page's message.
struct Shot {
    file: &'static str,
    url: String,
    /// The message alone (the Discord pages), not the whole window.
    message_only: bool,
}

/// Builds the Discord-look pages and lists every picture's address.
async fn prepare(
    app: &Arc<App>,
    workflows: &Workflows,
    demo_dir: &Path,
    base: &str,
    html_dir: &Path,
) -> anyhow::Result<Vec<Shot>> {
    let (scenario, analysis, _known) = demo::analyse_conversation(workflows, demo_dir).await?;
    // The card is shown before its records exist, as in Discord.
    let card = payloads::review_card(app, &analysis).await?;
    let created = super::create::create_all(&app.pool, workflows, &scenario, &analysis).await?;
    if let Some(failed) = created.iter().find(|c| c.error.is_some()) {
        anyhow::bail!(
            "the demo's suggestion {} could not be created: {}",
            failed.suggestion,
            failed.error.as_deref().unwrap_or_default()
        );
    }
    let (photo_record, photo_kind): (i64, String) = sqlx::query_as(
        "SELECT r.id, r.kind FROM records r JOIN record_media m ON m.record_id = r.id
         WHERE m.filename = $1",
    )
    .bind(PHOTO)
    .fetch_one(&app.pool)
    .await
    .with_context(|| format!("the demo's sample has no record with {PHOTO}"))?;
    let notification = payloads::notification(app, photo_record).await?;
    let public = app
        .secrets
        .public_base_url
        .as_ref()
        .map(PublicBaseUrl::as_str);
    let pages = [
        (
            "review-card",
            "Review card",
            &card,
            discord_html::Frame {
                author: "Flipfix",
                ephemeral: true,
                images_from: public.map(|p| (p, base)),
            },
        ),
        (
            "notification",
            "Notification",
            &notification,
            discord_html::Frame {
                author: "Flipfix",
                ephemeral: false,
                images_from: public.map(|p| (p, base)),
            },
        ),
    ];
    let mut drawn = Vec::new();
    for (name, title, payload, frame) in pages {
        let html = html_dir.join(format!("{name}.html"));
        write(&html, discord_html::page(title, payload, &frame).as_bytes())?;
        write(
            &html_dir.join(format!("{name}.json")),
            serde_json::to_string_pretty(payload)?.as_bytes(),
        )?;
        let path = std::fs::canonicalize(&html)
            .with_context(|| format!("cannot find {}", html.display()))?;
        drawn.push(
            url::Url::from_file_path(&path).map_err(|()| {
                anyhow::anyhow!("{} cannot be opened as a file URL", path.display())
            })?,
        );
    }
    let kinds = &workflows.kinds;
    let record_path = |kind: &str, id: i64| {
        kinds
            .get(kind)
            .map(|k| crate::config::record_path(&k.link_path, id))
            .with_context(|| format!("the workflows declare no kind {kind}"))
    };
    let machine = analysis
        .suggestions
        .iter()
        .find_map(|s| match &s.machine {
            crate::analysis::MachineMatch::Known { slug, .. } => Some(slug.clone()),
            _ => None,
        })
        .context("the demo conversation names no known machine")?;
    let members_only = members_only_record(app, workflows).await?;
    let page = |path: String| format!("{base}{path}");
    let [index, record, machine_page, sign_in, review_card, notification_post] = PICTURES;
    let [card_url, notification_url] = [&drawn[0], &drawn[1]].map(|u| u.to_string());
    Ok(vec![
        Shot::page(index, page("/".into())),
        Shot::page(record, page(record_path(&photo_kind, photo_record)?)),
        Shot::page(machine_page, page(format!("/machines/{machine}/"))),
        Shot::page(sign_in, page(record_path(&members_only.1, members_only.0)?)),
        Shot::message(review_card, card_url),
        Shot::message(notification_post, notification_url),
    ])
}

impl Shot {
    fn page(file: &'static str, url: String) -> Self {
        Self {
            file,
            url,
            message_only: false,
        }
    }

    fn message(file: &'static str, url: String) -> Self {
        Self {
            file,
            url,
            message_only: true,
        }
    }
}

/// A record only members see: a visitor opening it is offered the sign-in.
async fn members_only_record(app: &App, workflows: &Workflows) -> anyhow::Result<(i64, String)> {
    let hidden: Vec<String> = workflows
        .kinds
        .iter()
        .filter(|k| k.web == crate::workflow::WebAccess::Members)
        .map(|k| k.name.clone())
        .collect();
    sqlx::query_as("SELECT id, kind FROM records WHERE kind = ANY($1) ORDER BY id LIMIT 1")
        .bind(&hidden)
        .fetch_optional(&app.pool)
        .await?
        .context("the demo's sample has no members-only record to show the sign-in with")
}

/// Opens each address and saves its picture.
async fn take(browser: &Browser, shots: &[Shot], out: &Path) -> anyhow::Result<()> {
    for shot in shots {
        browser.open(&shot.url).await?;
        let png = if shot.message_only {
            images_loaded(browser).await?;
            browser.element_screenshot("#message").await?
        } else {
            let height = browser
                .script("return document.documentElement.scrollHeight;")
                .await?
                .as_u64()
                .unwrap_or(u64::from(MAX_HEIGHT));
            let height = u32::try_from(height).unwrap_or(MAX_HEIGHT).min(MAX_HEIGHT);
            browser.resize(WIDTH, height).await?;
            let png = browser.screenshot().await?;
            browser.resize(WIDTH, MAX_HEIGHT).await?;
            png
        };
        let path = out.join(shot.file);
        write(&path, &png)?;
        println!("{} ({} KB)", path.display(), png.len().div_ceil(1024));
    }
    Ok(())
}

/// Waits (up to 10 s) for the page's images: a photo in a message may
/// still be loading when the page says it has loaded.
async fn images_loaded(browser: &Browser) -> anyhow::Result<()> {
    const ALL_COMPLETE: &str =
        "return Array.from(document.images).every(function (i) { return i.complete; });";
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    while browser.script(ALL_COMPLETE).await? != serde_json::json!(true) {
        if tokio::time::Instant::now() >= deadline {
            anyhow::bail!("the page's photos did not load within 10 s");
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    Ok(())
}

fn write(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    std::fs::write(path, bytes).with_context(|| format!("cannot write {}", path.display()))
}
