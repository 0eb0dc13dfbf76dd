//! The real bot, running against the fake Discord and a real database.
#![allow(dead_code)]

use std::sync::Arc;

use flipfix_bot::app::App;
use flipfix_bot::config::{Secret, Secrets};
use poise::serenity_prelude as serenity;
use sqlx::PgPool;

use super::fake_discord::{FakeDiscord, GUILD_ID, WAIT_LIMIT};
use super::repo_root;

pub struct TestBot {
    pub app: Arc<App>,
    shard_manager: Arc<serenity::ShardManager>,
    task: tokio::task::JoinHandle<()>,
}

/// Bootstrap configuration pointing at the fake Discord.
pub fn test_secrets(fake: &FakeDiscord) -> Secrets {
    Secrets {
        discord_token: Some(Secret::new("fake-token")),
        discord_guild_id: Some(GUILD_ID),
        discord_proxy_url: Some(fake.base_url.clone()),
        allow_loopback_urls: true,
        workflows_dir: repo_root().join("workflows"),
        prompts_dir: repo_root().join("prompts"),
        pages_dir: repo_root().join("pages"),
        ..Secrets::default()
    }
}

impl TestBot {
    /// Starts the bot and waits until it has identified and registered its
    /// commands (the `identify_count`-th identify on this fake).
    pub async fn start(pool: PgPool, fake: &FakeDiscord, identify_count: u64) -> Self {
        Self::start_with(pool, fake, identify_count, test_secrets(fake)).await
    }

    /// Starts the bot on workflows and prompts copied to `dir`.
    pub async fn start_with_dirs(pool: PgPool, fake: &FakeDiscord, dir: &std::path::Path) -> Self {
        let mut secrets = test_secrets(fake);
        secrets.workflows_dir = dir.join("workflows");
        secrets.prompts_dir = dir.join("prompts");
        Self::start_with(pool, fake, 1, secrets).await
    }

    pub async fn start_with(
        pool: PgPool,
        fake: &FakeDiscord,
        identify_count: u64,
        secrets: Secrets,
    ) -> Self {
        // Logs show in a failing test's output (nextest captures them).
        flipfix_bot::telemetry::init(std::env::var("TEST_LOG").ok().as_deref());
        let workflows = flipfix_bot::template_check::load_workflows(
            &secrets.workflows_dir,
            &secrets.prompts_dir,
        )
        .unwrap_or_else(|problems| panic!("{problems}"));
        let config = flipfix_bot::app::RunConfig::from_secrets(secrets).expect("token and home");
        // Start-up reports "ready" once the gateway is READY and the
        // commands are synced: the test waits for exactly that.
        let (startup, mut startup_watch) = flipfix_bot::lifecycle::StartupReport::new();
        let lifecycle = flipfix_bot::lifecycle::Lifecycle {
            startup,
            ..Default::default()
        };
        let app = App::with_lifecycle(pool, config, workflows, lifecycle);
        let mut client = flipfix_bot::discord::build_client(app.clone())
            .await
            .expect("client");
        let shard_manager = client.shard_manager.clone();
        let task = tokio::spawn(async move {
            if let Err(err) = client.start().await {
                eprintln!("bot stopped: {err}");
            }
        });
        fake.wait_for_identify(identify_count).await;
        let outcome = startup_watch
            .outcome(tokio::time::Instant::now() + WAIT_LIMIT)
            .await;
        assert_eq!(
            outcome,
            flipfix_bot::lifecycle::StartupState::Ready,
            "the bot did not become ready (commands synced)"
        );
        Self {
            app,
            shard_manager,
            task,
        }
    }

    /// Turns the workflow's `vision:` off, for tests whose attachments point
    /// at Discord's real CDN, which no test may reach.
    pub fn without_vision(&self) {
        let secrets = &self.app.secrets;
        let workflows = flipfix_bot::template_check::load_workflows(
            &secrets.workflows_dir,
            &secrets.prompts_dir,
        )
        .unwrap_or_else(|problems| panic!("{problems}"));
        let mut workflows = Arc::try_unwrap(workflows).expect("a freshly loaded workflow set");
        for analyze in workflows
            .workflows
            .iter_mut()
            .filter_map(|w| w.analyze.as_mut())
        {
            analyze.vision.enabled = false;
        }
        self.app.replace_workflows(Arc::new(workflows));
    }

    pub async fn stop(self) {
        self.shard_manager.shutdown_all().await;
        self.task.abort();
        let _ = self.task.await;
    }
}
