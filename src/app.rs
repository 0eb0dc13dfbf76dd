//! The running application: shared state and the `run` command that starts
//! the database, the workflows, the Discord client and background tasks.

use std::sync::{Arc, RwLock};

use anyhow::Context as _;
use sqlx::PgPool;

use crate::clock::Clock;
use crate::config::{Secret, Secrets, Settings};
use crate::db::{self, embedded::EmbeddedPostgres};
use crate::lifecycle::Lifecycle;
use crate::template_check::load_workflows;
use crate::workflow::{Problems, Workflows};

/// State shared by every part of the bot. Cheap to clone through `Arc`.
#[derive(Debug)]
pub struct App {
    pub pool: PgPool,
    pub settings: Settings,
    pub secrets: Secrets,
    /// The bot's token and home server, present by construction (see
    /// [`RunConfig`]): nothing downstream checks for them again.
    pub discord: DiscordConfig,
    workflows: RwLock<Arc<Workflows>>,
    /// One model client per provider (and base URL) and timeout the
    /// workflows ask for, built on first use (one connection pool each).
    llm: std::sync::Mutex<Vec<(LlmSetup, Arc<crate::llm::LlmClient>)>>,
    /// Models that refused a forced tool choice, kept across rebuilds.
    tool_choice_memory: crate::llm::ToolChoiceMemory,
    /// The process: instance key, shutdown, work in flight, start-up.
    pub lifecycle: Lifecycle,
    /// Where photo copies are kept (Postgres, or the `MEDIA_S3_URL` bucket).
    pub media: crate::media::BlobStore,
    /// The one clock every "now" comes from (see `clock`).
    pub clock: Arc<dyn Clock>,
    /// The workflow sets open reviews started with (`review::versions`).
    pub review_pins: crate::review::ReviewPins,
}

impl App {
    pub fn new(pool: PgPool, config: RunConfig, workflows: Arc<Workflows>) -> Arc<Self> {
        Self::with_lifecycle(pool, config, workflows, Lifecycle::default())
    }

    /// The state of a `run` process.
    pub fn with_lifecycle(
        pool: PgPool,
        config: RunConfig,
        workflows: Arc<Workflows>,
        lifecycle: Lifecycle,
    ) -> Arc<Self> {
        Self::on_clock(pool, config, workflows, lifecycle, crate::clock::system())
    }

    /// The state of a process whose time comes from `clock` (tests pin it
    /// with a `ManualClock`).
    pub fn on_clock(
        pool: PgPool,
        config: RunConfig,
        workflows: Arc<Workflows>,
        lifecycle: Lifecycle,
        clock: Arc<dyn Clock>,
    ) -> Arc<Self> {
        let RunConfig { secrets, discord } = config;
        let app = Arc::new(Self {
            settings: Settings::new(pool.clone(), secrets.allow_loopback_urls),
            media: crate::media::BlobStore::new(secrets.media_s3.clone()),
            pool,
            secrets,
            discord,
            workflows: RwLock::new(workflows),
            llm: std::sync::Mutex::new(Vec::new()),
            tool_choice_memory: crate::llm::ToolChoiceMemory::default(),
            lifecycle,
            clock,
            review_pins: crate::review::ReviewPins::default(),
        });
        app.prepare_model_clients();
        app
    }

    /// Builds the model clients the workflows in force use, so the first
    /// analysis after start or a reload does not: a client's TLS set-up
    /// takes milliseconds, under the cache's lock, on a runtime thread that
    /// other interactions' deferrals wait for. A client that cannot be built
    /// is left to the first analysis, which tells the person why.
    fn prepare_model_clients(&self) {
        for workflow in &self.workflows().workflows {
            if let Some(menu) = &workflow.analyze {
                if let Err(err) = self.llm_for(Some(menu)) {
                    tracing::debug!(workflow = %workflow.name, error = %err, "model client not prepared; the first analysis reports why");
                }
            }
        }
    }

    /// The model client for `analyze` (a workflow's analysis): its
    /// provider, base URL and timeout; `None` = the default (Anthropic).
    /// Clients are cached per setup, so workflows on one provider share one.
    pub fn llm_for(
        &self,
        analyze: Option<&crate::workflow::Analyze>,
    ) -> Result<Arc<crate::llm::LlmClient>, crate::llm::LlmError> {
        let setup = analyze
            .map(|menu| LlmSetup {
                provider: menu.provider.clone(),
                timeout: menu.timeout,
            })
            .unwrap_or_default();
        let mut cached = match self.llm.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        if let Some((_, client)) = cached.iter().find(|(built_for, _)| *built_for == setup) {
            return Ok(client.clone());
        }
        let client = Arc::new(
            crate::llm::LlmClient::new(
                &setup.provider,
                &self.secrets.anthropic_base_url,
                setup.timeout,
                crate::llm::RetryPolicy::default(),
            )?
            .with_memory(self.tool_choice_memory.clone()),
        );
        cached.push((setup, client.clone()));
        Ok(client)
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
        self.prepare_model_clients();
    }

    /// Remembers that review `session_id` runs on `workflows`, the set its
    /// run started with. A failure is logged: the review then continues
    /// only while the set in force has the same version of its workflow.
    pub async fn pin_review(&self, session_id: i64, workflows: Arc<Workflows>) {
        let pinned = self
            .review_pins
            .pin(&self.pool, session_id, workflows, self.clock.now())
            .await;
        if let Err(err) = pinned {
            tracing::warn!(session_id, error = %err, "could not remember the review's workflow version");
        }
    }

    /// The workflows `user_id`'s click on review `session_id` runs on: the
    /// version the review started with (see `review::versions`).
    pub async fn review_workflows(
        &self,
        session_id: i64,
        user_id: u64,
    ) -> Result<Arc<Workflows>, crate::review::ReviewError> {
        let now = self.clock.now();
        self.review_pins
            .for_action(&self.pool, self.workflows(), session_id, user_id, now)
            .await
    }

    /// The workflows review `session_id` is shown with.
    pub async fn review_display_workflows(&self, session_id: i64) -> Arc<Workflows> {
        self.review_pins
            .for_display(&self.pool, self.workflows(), session_id)
            .await
    }

    /// Reloads workflows and templates from disk; on any problem the running
    /// version stays in force and the problems are returned.
    pub fn reload_workflows(&self) -> Result<Arc<Workflows>, Problems> {
        let workflows = load_workflows(&self.secrets.workflows_dir, &self.secrets.prompts_dir)?;
        log_workflow_warnings(&workflows);
        self.replace_workflows(workflows.clone());
        Ok(workflows)
    }
}

/// What loaded but should be rewritten (0.x's `summaries:`), logged where
/// an operator reads the bot's output.
pub fn log_workflow_warnings(workflows: &Workflows) {
    for warning in &workflows.warnings {
        tracing::warn!(%warning, "a workflow file uses a deprecated form; `flipfix-bot check` shows its rewrite");
    }
}

/// What the model client was built for.
#[derive(Debug, Clone, PartialEq)]
struct LlmSetup {
    provider: crate::workflow::ModelProvider,
    timeout: std::time::Duration,
}

impl Default for LlmSetup {
    fn default() -> Self {
        Self {
            provider: crate::workflow::ModelProvider::Anthropic,
            timeout: std::time::Duration::from_secs(60),
        }
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
        // Bounded: a task still holding a connection must not hold the exit.
        if tokio::time::timeout(std::time::Duration::from_secs(2), self.pool.close())
            .await
            .is_err()
        {
            tracing::warn!("database connections were still in use at exit");
        }
        if let Some(cluster) = self.embedded {
            if let Err(err) = cluster.stop().await {
                tracing::warn!(error = %err, "could not stop the embedded PostgreSQL cleanly");
            }
        }
    }
}

/// What a `run` process needs, checked once at start: the secrets, with
/// the bot's token and home server required. Built by
/// [`RunConfig::from_secrets`]; everything past it reads
/// [`App::discord`] and never an `Option` again.
#[derive(Debug, Clone)]
pub struct RunConfig {
    /// Every key, as loaded (`doctor` still reports on them all).
    pub secrets: Secrets,
    pub discord: DiscordConfig,
}

/// The bot's Discord credentials and the one server it serves.
#[derive(Debug, Clone)]
pub struct DiscordConfig {
    /// `DISCORD_TOKEN`.
    pub token: Secret,
    /// `DISCORD_GUILD_ID`: the home server; every other is refused.
    pub home: u64,
}

impl RunConfig {
    /// The run configuration, or the one missing key (the token first),
    /// each with its sentence.
    pub fn from_secrets(secrets: Secrets) -> Result<Self, MissingKey> {
        let token = secrets.discord_token.clone().ok_or(MissingToken)?;
        let home = secrets.discord_guild_id.ok_or(MissingHomeServer)?;
        Ok(Self {
            secrets,
            discord: DiscordConfig { token, home },
        })
    }
}

/// A key `run` cannot start without.
#[derive(Debug, thiserror::Error)]
pub enum MissingKey {
    #[error(transparent)]
    Token(#[from] MissingToken),
    #[error(transparent)]
    HomeServer(#[from] MissingHomeServer),
}

#[derive(Debug, thiserror::Error)]
#[error("DISCORD_TOKEN is not set: put it in the environment or Secrets.toml (see docs/setting-up-discord.md)")]
pub struct MissingToken;

#[derive(Debug, thiserror::Error)]
#[error("DISCORD_GUILD_ID is not set: put the home server's id in the environment or Secrets.toml (the bot serves that one server only; see docs/security.md)")]
pub struct MissingHomeServer;

/// `flipfix-bot run`: see `crate::serve` for the process's life (standby,
/// gateway, shutdown).
pub async fn run(secrets: Secrets) -> anyhow::Result<()> {
    // First of all, so a SIGTERM during migrations or standby still ends the
    // process cleanly instead of killing it mid-write.
    let signals = crate::serve::Signals::install()?;
    for key in &secrets.unknown_keys {
        tracing::warn!(key = %key, "Secrets.toml has a key the bot does not know; is it a typo?");
    }
    let database = Database::open(&secrets).await?;
    let result = crate::serve::serve(&database.pool, secrets, signals).await;
    database.close().await;
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_config_requires_the_token_then_the_home_server_with_their_sentences() {
        let err = RunConfig::from_secrets(Secrets::default()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "DISCORD_TOKEN is not set: put it in the environment or Secrets.toml (see docs/setting-up-discord.md)"
        );
        let secrets = Secrets {
            discord_token: Some(Secret::new("token")),
            ..Secrets::default()
        };
        let err = RunConfig::from_secrets(secrets.clone()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "DISCORD_GUILD_ID is not set: put the home server's id in the environment or Secrets.toml (the bot serves that one server only; see docs/security.md)"
        );
        let config = RunConfig::from_secrets(Secrets {
            discord_guild_id: Some(42),
            ..secrets
        })
        .expect("both present");
        assert_eq!(config.discord.token.expose(), "token");
        assert_eq!(config.discord.home, 42);
    }
}
