//! The running application: shared state and the `run` command that starts
//! the database, the workflows, the Discord client and background tasks.

use std::sync::{Arc, RwLock};

use anyhow::Context as _;
use sqlx::PgPool;

use crate::config::{Secrets, Settings};
use crate::db::{self, embedded::EmbeddedPostgres};
use crate::workflow::{load_workflows, Problems, Workflows};

/// State shared by every part of the bot. Cheap to clone through `Arc`.
#[derive(Debug)]
pub struct App {
    pub pool: PgPool,
    pub settings: Settings,
    pub secrets: Secrets,
    workflows: RwLock<Arc<Workflows>>,
    /// The Anthropic client, built on first use (one connection pool).
    llm: tokio::sync::OnceCell<crate::llm::AnthropicClient>,
}

impl App {
    pub fn new(pool: PgPool, secrets: Secrets, workflows: Arc<Workflows>) -> Arc<Self> {
        Arc::new(Self {
            settings: Settings::new(pool.clone(), secrets.allow_loopback_urls),
            pool,
            secrets,
            workflows: RwLock::new(workflows),
            llm: tokio::sync::OnceCell::new(),
        })
    }

    /// The Anthropic client; its timeout comes from the context-menu
    /// workflow in force when it is first used.
    pub async fn llm(&self) -> Result<&crate::llm::AnthropicClient, crate::llm::LlmError> {
        self.llm
            .get_or_try_init(|| async {
                let timeout = self
                    .workflows()
                    .context_menu
                    .as_ref()
                    .map(|menu| menu.timeout)
                    .unwrap_or(std::time::Duration::from_secs(60));
                crate::llm::AnthropicClient::new(
                    &self.secrets.anthropic_base_url,
                    timeout,
                    crate::llm::RetryPolicy::default(),
                )
            })
            .await
    }

    /// The workflows in force. Callers keep the `Arc` for the duration of
    /// one piece of work, so a reload never changes rules mid-way.
    pub fn workflows(&self) -> Arc<Workflows> {
        match self.workflows.read() {
            Ok(guard) => guard.clone(),
            // A panic while swapping cannot leave a half-written Arc.
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Replaces the workflows atomically.
    pub fn replace_workflows(&self, workflows: Arc<Workflows>) {
        match self.workflows.write() {
            Ok(mut guard) => *guard = workflows,
            Err(poisoned) => *poisoned.into_inner() = workflows,
        }
    }

    /// Reloads workflows and templates from disk; on any problem the running
    /// version stays in force and the problems are returned.
    pub fn reload_workflows(&self) -> Result<Arc<Workflows>, Problems> {
        let workflows = load_workflows(&self.secrets.workflows_dir, &self.secrets.prompts_dir)?;
        self.replace_workflows(workflows.clone());
        Ok(workflows)
    }
}

/// The database the bot runs on: a URL it was given, or the embedded cluster.
pub struct Database {
    pub pool: PgPool,
    embedded: Option<EmbeddedPostgres>,
}

impl Database {
    /// Connects (starting the embedded cluster when no `DATABASE_URL` is
    /// set) and applies migrations.
    pub async fn open(secrets: &Secrets) -> anyhow::Result<Self> {
        let (url, embedded) = match &secrets.database_url {
            Some(url) => (url.clone(), None),
            None => {
                let cluster = EmbeddedPostgres::start(&secrets.data_dir).await.context(
                    "DATABASE_URL is not set and the embedded PostgreSQL could not start",
                )?;
                (cluster.url(), Some(cluster))
            }
        };
        let database = async {
            let pool = db::connect(&url).await?;
            db::migrate(&pool).await?;
            Ok::<_, db::DbError>(pool)
        }
        .await;
        match database {
            Ok(pool) => Ok(Self { pool, embedded }),
            Err(err) => {
                if let Some(cluster) = embedded {
                    let _ = cluster.stop().await;
                }
                Err(err.into())
            }
        }
    }

    /// Closes the pool and stops the embedded cluster, if any.
    pub async fn close(self) {
        self.pool.close().await;
        if let Some(cluster) = self.embedded {
            if let Err(err) = cluster.stop().await {
                tracing::warn!(error = %err, "could not stop the embedded PostgreSQL cleanly");
            }
        }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("DISCORD_TOKEN is not set: put it in the environment or Secrets.toml (see README, \"Setting up the Discord bot\")")]
pub struct MissingToken;

#[derive(Debug, thiserror::Error)]
#[error("DISCORD_GUILD_ID is not set: put the home server's id in the environment or Secrets.toml (the bot serves that one server only; see README, \"Security\")")]
pub struct MissingHomeServer;

/// `flipfix-bot run`.
pub async fn run(secrets: Secrets) -> anyhow::Result<()> {
    for key in &secrets.unknown_keys {
        tracing::warn!(key = %key, "Secrets.toml has a key the bot does not know; is it a typo?");
    }
    let database = Database::open(&secrets).await?;
    let result = run_with_database(&database, secrets).await;
    database.close().await;
    result
}

async fn run_with_database(database: &Database, secrets: Secrets) -> anyhow::Result<()> {
    let workflows = load_workflows(&secrets.workflows_dir, &secrets.prompts_dir)
        .map_err(|problems| anyhow::anyhow!("the workflows have problems:\n{problems}"))?;
    tracing::info!(version = %workflows.version, kinds = ?workflows.kinds.names(), "workflows loaded");
    let token = secrets.discord_token.clone().ok_or(MissingToken)?;
    if secrets.discord_guild_id.is_none() {
        return Err(MissingHomeServer.into());
    }
    let app = App::new(database.pool.clone(), secrets, workflows);

    let dispatcher = start_dispatcher(&app)?;

    let mut client = crate::discord::build_client(app.clone(), &token).await?;
    let shard_manager = client.shard_manager.clone();
    let bot = tokio::spawn(async move { client.start_autosharded().await });
    // Aborted on every exit path; rows it had claimed return to the queue
    // when their lease expires.
    let abort_dispatcher = dispatcher.abort_handle();

    let outcome = tokio::select! {
        result = dispatcher => {
            match result {
                Ok(Ok(())) => Err(anyhow::anyhow!("the notification dispatcher stopped unexpectedly")),
                Ok(Err(err)) => Err(anyhow::Error::new(err).context("the notification dispatcher stopped")),
                Err(join) => Err(anyhow::anyhow!("the notification dispatcher task panicked: {join}")),
            }
        }
        outcome = run_bot(bot) => outcome,
    };
    abort_dispatcher.abort();
    shard_manager.shutdown_all().await;
    outcome
}

/// The notification dispatcher, as a background task.
fn start_dispatcher(
    app: &Arc<App>,
) -> anyhow::Result<tokio::task::JoinHandle<Result<(), crate::notify::DispatchError>>> {
    let source_app = app.clone();
    let workflows: crate::notify::WorkflowSource = Arc::new(move || source_app.workflows());
    let config = crate::notify::DispatcherConfig {
        public_base_url: app.secrets.public_base_url.clone(),
        ..Default::default()
    };
    let dispatcher =
        crate::notify::Dispatcher::new(app.pool.clone(), app.settings.clone(), workflows, config)?;
    Ok(tokio::spawn(
        dispatcher.run(crate::shutdown::Shutdown::never()),
    ))
}

/// Waits for the Discord client to stop or a shutdown signal.
async fn run_bot(bot: tokio::task::JoinHandle<Result<(), serenity::Error>>) -> anyhow::Result<()> {
    tokio::select! {
        result = bot => {
            // The bot stopping on its own is an error worth its cause.
            match result {
                Ok(Ok(())) => anyhow::bail!("the Discord client stopped unexpectedly"),
                Ok(Err(err)) => return Err(anyhow::Error::new(err).context("the Discord client stopped")),
                Err(join) => anyhow::bail!("the Discord client task panicked: {join}"),
            }
        }
        signal = shutdown_signal() => {
            tracing::info!(signal, "shutting down");
        }
    }
    Ok(())
}

/// Resolves on Ctrl-C or SIGTERM (what PaaS platforms send).
async fn shutdown_signal() -> &'static str {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => "ctrl-c",
        () = terminate => "SIGTERM",
    }
}
