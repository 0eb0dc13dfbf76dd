//! The real `flipfix-bot run` binary as a child process, against the fakes
//! and a per-test database, with its stderr kept in a file to read at any time.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::Duration;

use sqlx::PgPool;

use super::fake_discord::{FakeDiscord, GUILD_ID};
use super::repo_root;

/// The URL of the database behind `pool` (a `#[sqlx::test]` database),
/// on the server `DATABASE_URL` names.
pub fn database_url(pool: &PgPool) -> String {
    let base = std::env::var("DATABASE_URL").expect("DATABASE_URL is set for tests");
    let mut url = url::Url::parse(&base).expect("DATABASE_URL is a URL");
    let name = pool
        .connect_options()
        .get_database()
        .expect("the test database has a name")
        .to_string();
    url.set_path(&format!("/{name}"));
    url.to_string()
}

pub struct BotProcess {
    child: Child,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl BotProcess {
    /// Starts `flipfix-bot run` with the fakes' URLs and `extra` variables.
    pub fn start(
        database_url: &str,
        fake: &FakeDiscord,
        anthropic_url: &str,
        extra: &[(&str, &str)],
    ) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let log = dir.path().join("stderr.log");
        let stderr = std::fs::File::create(&log).expect("log file");
        let mut command = Command::new(env!("CARGO_BIN_EXE_flipfix-bot"));
        command
            .arg("run")
            .arg("--secrets")
            .arg(dir.path().join("no-secrets.toml"))
            .current_dir(repo_root())
            .env("DATABASE_URL", database_url)
            .env("DISCORD_TOKEN", "fake-token")
            .env("DISCORD_PROXY_URL", &fake.base_url)
            .env("DISCORD_GUILD_ID", GUILD_ID.to_string())
            .env("HTTP_BIND", "127.0.0.1:0")
            .env("ANTHROPIC_BASE_URL", anthropic_url)
            .env("ANTHROPIC_API_KEY", "sk-ant-test")
            .env("FLIPFIX_ALLOW_LOOPBACK_URLS", "true")
            .env("RUST_LOG", "warn,flipfix_bot=info,flipfix_core=info")
            .env_remove("FLIPFIX_STARTUP_TIMEOUT_SECS")
            .stdout(Stdio::null())
            .stderr(stderr);
        for (key, value) in extra {
            command.env(key, value);
        }
        let child = command.spawn().expect("start flipfix-bot");
        Self {
            child,
            log,
            _dir: dir,
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Everything the process wrote to stderr so far.
    pub fn stderr(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// kill -9.
    pub fn kill9(&mut self) {
        self.child.kill().expect("kill -9");
        let _ = self.child.wait();
    }

    /// Sends SIGTERM.
    pub fn sigterm(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -TERM failed");
    }

    /// Waits for the process to exit, at most `bound`.
    pub async fn wait_exit(&mut self, bound: Duration) -> Option<ExitStatus> {
        let deadline = tokio::time::Instant::now() + bound;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return Some(status);
            }
            if tokio::time::Instant::now() >= deadline {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Waits until stderr contains `text`, at most `bound`.
    pub async fn wait_for_log(&self, text: &str, bound: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + bound;
        loop {
            if self.stderr().contains(text) {
                return true;
            }
            if tokio::time::Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl BotProcess {
    /// `http://ADDRESS` of the record pages it serves, from its log (it
    /// binds `HTTP_BIND`, port 0 unless `extra` set one).
    pub async fn pages_url(&self) -> String {
        let logged = "serving record pages";
        assert!(
            self.wait_for_log(logged, Duration::from_secs(60)).await,
            "{}",
            self.stderr()
        );
        let stderr = self.stderr();
        let address = stderr
            .lines()
            .find(|line| line.contains(logged))
            .and_then(|line| line.split_once("address="))
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .unwrap_or_else(|| panic!("no address in the log: {stderr}"));
        format!("http://{address}")
    }
}

impl Drop for BotProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The person whose message the process tests analyse.
pub const BOB: u64 = 1_002_000_000_000_000_001;

pub fn bob() -> super::fake_discord::FakeUser {
    super::fake_discord::FakeUser::member(BOB, "bob_the_fixer")
}

/// Bob's message asking for flipper rubbers, with `id`, in the channel's
/// history.
pub fn flipper_message(fake: &super::fake_discord::FakeDiscord, id: u64) -> serde_json::Value {
    use super::fake_discord::{user_message, CHANNEL_ID};
    let author = serde_json::json!({"id": BOB.to_string(), "username": "bob_the_fixer",
        "global_name": "Bob Wilson", "discriminator": "0", "avatar": null});
    let message = user_message(
        id,
        CHANNEL_ID,
        author,
        "Ballyhoo needs new flipper rubbers",
        "2025-01-15T13:59:19+00:00",
        None,
    );
    fake.add_message(CHANNEL_ID, message.clone());
    message
}

/// The model's answer to it: one part request.
pub fn flipper_suggestion() -> super::anthropic::Reply {
    super::anthropic::Reply::tool_use(serde_json::json!({"suggestions": [{"kind": "part_request",
        "description": "Need flipper rubbers", "source_message_ids": []}]}))
}
