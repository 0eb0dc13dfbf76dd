//! The page server: the real router on the scratch database, in a child
//! process (this bench binary again, with [`SERVE_ENV`] set), so the RSS
//! measured is the server's alone.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use flipfix_bot::app::App;
use flipfix_bot::config::{Secret, Secrets};
use flipfix_bot::template_check::load_workflows;
use flipfix_bot::web::{router, WebState};

/// Set (to the scratch database's URL) in the child that serves the pages.
pub const SERVE_ENV: &str = "FLIPFIX_BENCH_PAGES_SERVE";

pub struct PageServer {
    child: tokio::process::Child,
    pub pid: u32,
    /// `127.0.0.1:port`.
    pub address: String,
}

impl PageServer {
    pub async fn start(database_url: &str) -> anyhow::Result<Self> {
        use tokio::io::AsyncBufReadExt as _;
        let mut child = tokio::process::Command::new(std::env::current_exe()?)
            .env(SERVE_ENV, database_url)
            .stdout(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .context("start the page server")?;
        let pid = child.id().context("the page server's pid")?;
        let stdout = child.stdout.take().context("the page server's stdout")?;
        let mut lines = tokio::io::BufReader::new(stdout).lines();
        let line = tokio::time::timeout(Duration::from_secs(60), lines.next_line())
            .await
            .context("the page server did not start within 60 s")??
            .context("the page server exited")?;
        let address = line
            .strip_prefix("listening ")
            .context("the page server's first line names its address")?
            .to_string();
        Ok(Self {
            child,
            pid,
            address,
        })
    }

    pub async fn stop(mut self) {
        let _ = self.child.kill().await;
    }
}

/// The child: serves the pages on a free loopback port, says where on its
/// first line, and runs until killed. The pool is the bot's own
/// (`db::connect`, with its connection settings) and so is the server loop.
pub async fn serve(database_url: &str) -> anyhow::Result<()> {
    let pool = flipfix_bot::db::connect(&Secret::new(database_url)).await?;
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let workflows = load_workflows(&root.join("workflows"), &root.join("prompts"))
        .map_err(|problems| anyhow::anyhow!("{problems}"))?;
    let secrets = Secrets {
        pages_dir: root.join("pages"),
        ..Secrets::default()
    };
    // The pages never reach Discord: a made-up token and home server.
    let config = flipfix_bot::app::RunConfig {
        secrets,
        discord: flipfix_bot::app::DiscordConfig {
            token: Secret::new("bench-token-unused"),
            home: 1,
        },
    };
    let app = App::new(pool, config, workflows);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    println!("listening {}", listener.local_addr()?);
    let web = router(WebState::new(Arc::clone(&app)));
    // The production server loop (its limits included); runs until killed.
    flipfix_bot::web::server::serve(
        listener,
        web,
        flipfix_bot::web::server::ServeLimits::default(),
        std::future::pending(),
    )
    .await?;
    Ok(())
}

/// A process's resident set in KiB, from /proc (0 where there is none).
pub fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kib| kib.parse().ok())
        })
        .unwrap_or(0)
}
