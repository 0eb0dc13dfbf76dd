//! `flipfix-bot demo`: the bot without Discord and without a model key. A
//! database of its own (see `database`) gets the bundled sample workshop
//! (`demo/workshop.json`, a `flipfix-bot export` read by the real import,
//! and two photos drawn in `photos`, kept through the real media store);
//! the record pages are served; one bundled conversation goes through the
//! real analysis with its reference answer, its review cards are printed
//! from the real templates, and each suggestion is created through the
//! record store, as `replay --create` does. Nothing is posted: no webhook,
//! no Discord, no model. Ctrl-C stops it and removes the database.

pub(super) mod database;
mod photos;

use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context as _;
use sqlx::PgPool;

use crate::analysis::scenario::Scenario;
use crate::analysis::{self};
use crate::app::{App, RunConfig};
use crate::config::{Secret, Secrets};
use crate::records::import::{import_records, ImportOptions};
use crate::workflow::Workflows;
use database::DemoDatabase;

/// What `demo` is given on the command line.
#[derive(Debug, Clone)]
pub struct DemoOptions {
    /// Port of the record pages on 127.0.0.1.
    pub port: u16,
    /// The folder with `workshop.json` and `conversation/`.
    pub demo_dir: PathBuf,
    /// Where the embedded cluster goes (removed before and after).
    pub data_dir: PathBuf,
}

/// Draws one photo as PNG bytes.
type Drawing = fn() -> Vec<u8>;

/// The sample's photos: which file of `workshop.json` gets which picture.
const PHOTOS: [(&str, Drawing); 2] = [
    ("playfield.png", photos::playfield),
    ("coil.png", photos::coil),
];

pub async fn run(options: DemoOptions, mut secrets: Secrets) -> anyhow::Result<ExitCode> {
    offline(&mut secrets, options.port);
    let workflows = super::replay::load(&secrets.workflows_dir, &secrets.prompts_dir)?;

    let (trigger, mut shutdown) = crate::shutdown::channel();
    let stop = tokio::spawn(async move {
        wait_for_signal().await;
        trigger.request();
    });
    let database = DemoDatabase::create(
        secrets.database_url.as_ref().map(Secret::expose),
        options.data_dir.clone(),
        database::SCRATCH,
    )
    .await?;
    let pages_shutdown = shutdown.clone();
    let result = async {
        load_sample(&database.pool, &workflows, &options.demo_dir).await?;
        let (_app, base) = serve(&database.pool, &secrets, &workflows, pages_shutdown).await?;
        println!("record pages: {base}/");
        walk_conversation(&database.pool, &workflows, &options.demo_dir, &base).await?;
        println!("\nthe demo is running: open {base}/ — Ctrl-C stops it and removes its database");
        // Until Ctrl-C: the `select!` below ends it.
        std::future::pending::<()>().await;
        Ok::<_, anyhow::Error>(())
    };
    let outcome = tokio::select! {
        outcome = result => outcome,
        () = shutdown.requested() => Ok(()),
    };
    stop.abort();
    database.remove().await;
    outcome?;
    println!("demo stopped");
    Ok(ExitCode::SUCCESS)
}

/// Nothing may leave the machine: no model key, no Discord sign-in, no
/// bucket (the webhook is a setting, and a fresh database has none); the
/// pages are served on 127.0.0.1:`port`.
pub(super) fn offline(secrets: &mut Secrets, port: u16) {
    secrets.anthropic_api_key = None;
    secrets.discord_client_id = None;
    secrets.discord_client_secret = None;
    secrets.openai_api_key = None;
    secrets.media_s3 = None;
    secrets.http_bind.0 = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        let terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate());
        match terminate {
            Ok(mut terminate) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = terminate.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    let _ = tokio::signal::ctrl_c().await;
}

/// The sample workshop, through `import records`, and its photos through
/// the media store.
pub(super) async fn load_sample(
    pool: &PgPool,
    workflows: &Workflows,
    dir: &Path,
) -> anyhow::Result<()> {
    let file = dir.join("workshop.json");
    let json = std::fs::read_to_string(&file)
        .with_context(|| format!("cannot read the demo's sample {}", file.display()))?;
    let report = import_records(
        pool,
        &workflows.kinds,
        &[(file.display().to_string(), json)],
        ImportOptions::default(),
        crate::clock::system_now(),
    )
    .await?;
    if !report.not_imported.is_empty() {
        anyhow::bail!("the demo's sample did not load:\n{report}");
    }
    let store = crate::media::BlobStore::new(None);
    for (filename, draw) in PHOTOS {
        let id: i64 = sqlx::query_scalar("SELECT id FROM record_media WHERE filename = $1")
            .bind(filename)
            .fetch_one(pool)
            .await
            .with_context(|| format!("the demo's sample has no photo {filename}"))?;
        store.put(pool, id, "image/png", &draw()).await?;
    }
    println!(
        "sample workshop loaded: {} records, {} machines, 2 photos",
        report.imported(),
        report.machines_added.len()
    );
    Ok(())
}

/// Serves the record pages on 127.0.0.1; returns the app behind them and
/// their address.
pub(super) async fn serve(
    pool: &PgPool,
    secrets: &Secrets,
    workflows: &std::sync::Arc<Workflows>,
    shutdown: crate::shutdown::Shutdown,
) -> anyhow::Result<(std::sync::Arc<App>, String)> {
    let mut secrets = secrets.clone();
    // The pages need a configured bot; the demo never connects to Discord.
    secrets.discord_token = Some(Secret::new("demo-never-connects"));
    secrets.discord_guild_id.get_or_insert(1);
    let config = RunConfig::from_secrets(secrets)?;
    let app = App::new(pool.clone(), config, workflows.clone());
    let address = app.secrets.http_bind.0;
    crate::web::start(app.clone(), shutdown).await?;
    Ok((app, format!("http://{address}")))
}

/// The bundled conversation through the real analysis, with its reference
/// answer in place of the model's.
pub(super) async fn analyse_conversation(
    workflows: &Workflows,
    dir: &Path,
) -> anyhow::Result<(
    Scenario,
    analysis::Analysis,
    analysis::validate::KnownRecords,
)> {
    let scenario_file = dir.join("conversation/flipper.yaml");
    let scenario = Scenario::load(&scenario_file)?;
    // The shipped Add to Flipfix: the one workflow with a message command.
    let menu = analysis::for_workflow(workflows, None)?;
    let (conversation, _prompt) = scenario.prepare(workflows, menu).await?;
    let answer = super::replay::recorded_answer(&dir.join("conversation/flipper.answer.json"))?;
    let known = analysis::known_from_conversation(&conversation);
    let analysis = analysis::interpret(
        workflows,
        menu,
        &scenario.catalog,
        conversation,
        answer,
        &known,
        None,
    )?;
    Ok((scenario, analysis, known))
}

/// The bundled conversation, its review cards, and each suggestion
/// accepted.
async fn walk_conversation(
    pool: &PgPool,
    workflows: &Workflows,
    dir: &Path,
    base: &str,
) -> anyhow::Result<()> {
    let (scenario, analysis, known) = analyse_conversation(workflows, dir).await?;
    println!(
        "\nA conversation in #workshop, as the bot reads it when someone picks Add to Flipfix:"
    );
    for message in scenario.messages() {
        println!("  {}: {}", message.author.display_name, message.content);
    }
    println!("\nThe review cards, as Discord shows them (each is accepted):");
    let created = super::create::create_all(pool, workflows, &scenario, &analysis).await?;
    print!(
        "{}",
        super::cards::render_text(workflows, &scenario, &analysis, &known, &created)
    );
    if let Some(failed) = created.iter().find(|c| c.error.is_some()) {
        anyhow::bail!(
            "suggestion {} could not be created: {}",
            failed.suggestion,
            failed.error.as_deref().unwrap_or_default()
        );
    }
    let machine = analysis.suggestions.iter().find_map(|s| match &s.machine {
        analysis::MachineMatch::Known { slug, .. } => Some(slug.clone()),
        _ => None,
    });
    if let Some(slug) = machine {
        println!("\nthe new records are on {base}/machines/{slug}/");
    }
    Ok(())
}
