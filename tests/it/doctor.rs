//! `flipfix-bot doctor`, the real binary, against the fake Discord, the fake
//! webhook and the fake Anthropic: each configuration mistake is produced by
//! a fake and reported with ❌ and what to do; a healthy setup exits 0.

use std::process::Output;

use flipfix_bot::config::settings::{SettingKey, Settings};
use sqlx::PgPool;

use crate::support::anthropic::{FakeAnthropic, Reply};
use crate::support::fake_discord::{FakeDiscord, CHANNEL_ID, GUILD_ID};
use crate::support::fake_webhook::FakeWebhook;
use crate::support::process::database_url;
use crate::support::{repo_root, shipped_workflows};

/// Looks like a bot token (three dot-separated parts); the fake accepts any.
const TOKEN: &str = "MTAwMDAw.fake.token-for-tests";

/// Everything a working deployment has, each piece a fake the test can break.
pub(crate) struct Setup {
    pub(crate) discord: FakeDiscord,
    webhook: FakeWebhook,
    pages: String,
    _pages: tokio::task::JoinHandle<()>,
}

impl Setup {
    pub(crate) async fn healthy(pool: &PgPool) -> Self {
        let discord = FakeDiscord::start().await;
        let names = command_names();
        discord.set_guild_commands(&names.iter().map(String::as_str).collect::<Vec<_>>());
        let webhook = FakeWebhook::start(None).await;
        let settings = Settings::new(pool.clone(), true);
        settings
            .set(
                SettingKey::DiscordWebhookUrl,
                &webhook.url("hook-token"),
                "test",
            )
            .await
            .expect("set the webhook");
        settings
            .set(SettingKey::DiscordWebhooksEnabled, "true", "test")
            .await
            .expect("enable webhooks");
        // The bot's own pages, as a running `flipfix-bot run` serves them.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind pages");
        let pages = format!("http://{}", listener.local_addr().expect("address"));
        let app = axum::Router::new().route("/healthz", axum::routing::get(|| async { "ok\n" }));
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self {
            discord,
            webhook,
            pages,
            _pages: server,
        }
    }

    /// Runs `flipfix-bot doctor ARGS` (async: the fakes share this runtime).
    pub(crate) async fn doctor(
        &self,
        pool: &PgPool,
        anthropic: &FakeAnthropic,
        args: &[&str],
    ) -> (bool, String) {
        self.doctor_with(pool, anthropic, args, &[]).await
    }

    /// [`Setup::doctor`] with some environment variables changed.
    pub(crate) async fn doctor_with(
        &self,
        pool: &PgPool,
        anthropic: &FakeAnthropic,
        args: &[&str],
        env: &[(&str, &str)],
    ) -> (bool, String) {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_flipfix-bot"));
        command
            .arg("doctor")
            .args(args)
            .arg("--secrets")
            .arg(dir.path().join("no-secrets.toml"))
            .current_dir(repo_root())
            .env("DATABASE_URL", database_url(pool))
            .env("DISCORD_TOKEN", TOKEN)
            .env("DISCORD_PROXY_URL", &self.discord.base_url)
            .env("DISCORD_GUILD_ID", GUILD_ID.to_string())
            .env("ANTHROPIC_BASE_URL", &anthropic.base_url)
            .env("ANTHROPIC_API_KEY", "sk-ant-test")
            .env("PUBLIC_BASE_URL", &self.pages)
            .env("FLIPFIX_ALLOW_LOOPBACK_URLS", "true")
            .env("RUST_LOG", "warn")
            .env_remove("DISCORD_ALLOWED_CHANNELS")
            .env_remove("SESSION_SECRET");
        for (key, value) in env {
            command.env(key, value);
        }
        let output: Output = command.output().await.expect("run flipfix-bot doctor");
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&output.stderr);
        (output.status.success(), format!("{stdout}{stderr}"))
    }
}

/// The names `run` registers in the home server for the shipped workflows.
fn command_names() -> Vec<String> {
    flipfix_bot::discord::commands(&shipped_workflows())
        .iter()
        .map(|c| {
            c.context_menu_name
                .as_deref()
                .unwrap_or(&c.name)
                .to_string()
        })
        .collect()
}

pub(crate) fn line<'a>(output: &'a str, start: &str) -> &'a str {
    output
        .lines()
        .find(|l| l.starts_with(start))
        .unwrap_or_else(|| panic!("no line starting with {start:?}:\n{output}"))
}

pub(crate) async fn good_model() -> FakeAnthropic {
    FakeAnthropic::start(vec![Reply::body(serde_json::json!({}))]).await
}

#[sqlx::test(migrations = "./migrations")]
async fn doctor_exits_0_on_a_healthy_setup(pool: PgPool) {
    let setup = Setup::healthy(&pool).await;
    let anthropic = good_model().await;
    let (success, output) = setup.doctor(&pool, &anthropic, &[]).await;
    assert!(success, "{output}");
    assert!(!output.contains("❌"), "{output}");
    for check in [
        "✅ DISCORD_TOKEN:",
        "✅ DISCORD_GUILD_ID:",
        "✅ database:",
        "✅ migrations:",
        "✅ workflows:",
        "✅ Discord token:",
        "✅ Message Content intent:",
        "✅ home server:",
        "✅ #workshop:",
        "✅ commands:",
        "✅ webhook:",
        "✅ ANTHROPIC_API_KEY:",
        "✅ PUBLIC_BASE_URL:",
        "✅ media storage: photos are copied into Postgres (media_blobs)",
    ] {
        line(&output, check);
    }
    // The model key was checked with a token count, the key in its header.
    let received = anthropic.received();
    assert_eq!(received.len(), 1, "one call to the model API");
    assert_eq!(received[0].headers["x-api-key"], "sk-ant-test");
    assert!(received[0].body["messages"].is_array());
    // The webhook was looked at, never posted to.
    assert!(
        setup.webhook.received().is_empty(),
        "doctor posted to the webhook"
    );
    setup.discord.assert_spec_clean();
}

#[sqlx::test(migrations = "./migrations")]
async fn doctor_reports_the_message_content_intent_off(pool: PgPool) {
    let setup = Setup::healthy(&pool).await;
    setup.discord.set_application_flags(0);
    let (success, output) = setup.doctor(&pool, &good_model().await, &[]).await;
    assert!(!success, "{output}");
    let found = line(&output, "❌ Message Content intent:");
    assert!(found.contains("Privileged Gateway Intents"), "{found}");
    setup.discord.assert_spec_clean();
}

#[sqlx::test(migrations = "./migrations")]
async fn doctor_reports_a_missing_channel_permission(pool: PgPool) {
    let setup = Setup::healthy(&pool).await;
    const READ_MESSAGE_HISTORY: u64 = 1 << 16;
    setup
        .discord
        .deny_bot_permissions(CHANNEL_ID, READ_MESSAGE_HISTORY);
    let (success, output) = setup.doctor(&pool, &good_model().await, &[]).await;
    assert!(!success, "{output}");
    let found = line(&output, "❌ #workshop:");
    assert!(found.contains("missing Read Message History:"), "{found}");
    assert!(
        !found.contains("Send Messages"),
        "only what is missing: {found}"
    );
    setup.discord.assert_spec_clean();
}

#[sqlx::test(migrations = "./migrations")]
async fn doctor_reports_a_token_discord_answers_401(pool: PgPool) {
    let setup = Setup::healthy(&pool).await;
    setup
        .discord
        .fail_requests("GET", "/users/@me", 401, u64::MAX);
    let (success, output) = setup.doctor(&pool, &good_model().await, &[]).await;
    assert!(!success, "{output}");
    let found = line(&output, "❌ Discord token:");
    assert!(
        found.contains("refused (401)") && found.contains("Reset Token"),
        "{found}"
    );
    assert!(!output.contains(TOKEN), "the token is never printed");
    // The checks that need a valid token are skipped, not reported as more failures.
    assert!(!output.contains("home server:"), "{output}");
    setup.discord.assert_spec_clean();
}

#[sqlx::test(migrations = "./migrations")]
async fn doctor_reports_a_deleted_webhook(pool: PgPool) {
    let setup = Setup::healthy(&pool).await;
    setup.webhook.delete();
    let (success, output) = setup.doctor(&pool, &good_model().await, &[]).await;
    assert!(!success, "{output}");
    let found = line(&output, "❌ webhook:");
    assert!(
        found.contains("answered 404") && found.contains("deleted"),
        "{found}"
    );
    assert!(
        !output.contains("hook-token"),
        "the webhook token is never printed"
    );
    setup.discord.assert_spec_clean();
}

#[sqlx::test(migrations = "./migrations")]
async fn doctor_reports_a_model_key_answered_401(pool: PgPool) {
    let setup = Setup::healthy(&pool).await;
    let anthropic =
        FakeAnthropic::start(vec![Reply::error(401, "authentication_error", None)]).await;
    let (success, output) = setup.doctor(&pool, &anthropic, &[]).await;
    assert!(!success, "{output}");
    let found = line(&output, "❌ ANTHROPIC_API_KEY:");
    assert!(found.contains("refused (401)"), "{found}");
    assert!(!output.contains("sk-ant-test"), "the key is never printed");
    setup.discord.assert_spec_clean();
}

#[sqlx::test(migrations = "./migrations")]
async fn doctor_reports_commands_not_registered(pool: PgPool) {
    let setup = Setup::healthy(&pool).await;
    setup.discord.set_guild_commands(&[]);
    let (success, output) = setup.doctor(&pool, &good_model().await, &[]).await;
    assert!(!success, "{output}");
    let found = line(&output, "❌ commands:");
    assert!(
        found.contains("not registered: ") && found.contains("flipfix"),
        "{found}"
    );
    assert!(found.contains("flipfix-bot run"), "{found}");
    setup.discord.assert_spec_clean();
}

#[sqlx::test(migrations = "./migrations")]
async fn doctor_quick_makes_no_network_request(pool: PgPool) {
    let setup = Setup::healthy(&pool).await;
    let anthropic = good_model().await;
    let (success, output) = setup.doctor(&pool, &anthropic, &["--quick"]).await;
    assert!(success, "{output}");
    line(&output, "✅ migrations:");
    line(&output, "⚠️ network checks:");
    assert!(setup.discord.requests().is_empty(), "no Discord request");
    assert!(anthropic.received().is_empty(), "no model request");
}

#[sqlx::test(migrations = "./migrations")]
async fn doctor_sends_no_key_over_plain_http_and_follows_no_redirect(pool: PgPool) {
    let setup = Setup::healthy(&pool).await;
    // A documentation address (RFC 5737): not loopback, nothing listens.
    let mut remote = good_model().await;
    remote.base_url = "http://192.0.2.1:9".into();
    let (success, output) = setup.doctor(&pool, &remote, &[]).await;
    assert!(!success, "{output}");
    line(
        &output,
        "❌ ANTHROPIC_API_KEY: ANTHROPIC_API_KEY is not sent over plain http:// to 192.0.2.1:9: use an https:// base URL (http:// is for loopback addresses only)",
    );

    let elsewhere = good_model().await;
    let moved = FakeAnthropic::start(vec![Reply::Json {
        status: 307,
        headers: vec![(
            "location".into(),
            format!("{}/v1/messages/count_tokens", elsewhere.base_url),
        )],
        body: serde_json::json!({}),
    }])
    .await;
    let (success, output) = setup.doctor(&pool, &moved, &[]).await;
    assert!(!success, "{output}");
    line(
        &output,
        "❌ ANTHROPIC_API_KEY: the API answered with a redirect (307); redirects are not followed",
    );
    assert!(
        elsewhere.received().is_empty(),
        "the redirect was not followed"
    );
}

#[sqlx::test(migrations = "./migrations")]
async fn doctor_recommends_a_maintainer_role_until_one_is_set(pool: PgPool) {
    let setup = Setup::healthy(&pool).await;
    let anthropic = good_model().await;
    let (success, output) = setup.doctor(&pool, &anthropic, &["--quick"]).await;
    assert!(success, "a recommendation, not a failure: {output}");
    let warning = line(&output, "⚠️ DISCORD_MAINTAINER_ROLE: not set");
    assert!(
        warning.contains("/flipfix config set DISCORD_MAINTAINER_ROLE"),
        "{warning}"
    );
    flipfix_bot::config::Settings::new(pool.clone(), false)
        .set(
            flipfix_bot::config::SettingKey::DiscordMaintainerRole,
            "720000000000000001",
            "tests",
        )
        .await
        .unwrap();
    let (_, output) = setup.doctor(&pool, &anthropic, &["--quick"]).await;
    line(
        &output,
        "✅ DISCORD_MAINTAINER_ROLE: set (role 720000000000000001)",
    );
}

#[sqlx::test(migrations = "./migrations")]
async fn doctor_names_a_session_secret_shorter_than_32_bytes(pool: PgPool) {
    let setup = Setup::healthy(&pool).await;
    let anthropic = good_model().await;
    let short = "short-secret-21-bytes";
    let (success, output) = setup
        .doctor_with(
            &pool,
            &anthropic,
            &["--quick"],
            &[("SESSION_SECRET", short)],
        )
        .await;
    assert!(!success, "{output}");
    assert_eq!(
        line(&output, "❌ SESSION_SECRET:"),
        "❌ SESSION_SECRET: SESSION_SECRET is 21 bytes long; it must be at least 32 bytes (a long random string, e.g. `openssl rand -base64 48`), or unset for a generated key"
    );
    assert!(!output.contains(short), "the value is never printed");
    let long = "a-session-secret-that-is-long-enough-0123456789";
    let (success, output) = setup
        .doctor_with(&pool, &anthropic, &["--quick"], &[("SESSION_SECRET", long)])
        .await;
    assert!(success, "{output}");
    line(&output, "✅ SESSION_SECRET:");
}

#[sqlx::test(migrations = "./migrations")]
async fn flipfix_doctor_answers_the_admin_alone_with_the_same_checks(pool: PgPool) {
    use crate::support::bot::TestBot;
    use crate::support::fake_discord::FakeUser;

    let fake = FakeDiscord::start().await;
    let bot = TestBot::start(pool.clone(), &fake, 1).await;
    let admin = FakeUser::admin(600_000_000_000_000_001, "museum_admin");
    let token = fake.invoke_slash(
        &admin,
        "flipfix",
        serde_json::json!([{"type": 1, "name": "doctor", "options": []}]),
    );
    let reply = fake.reply(&token).await;
    let embed = &reply["embeds"][0];
    let text = embed["description"].as_str().unwrap_or_default();
    assert_eq!(
        embed["title"], "Doctor: something needs fixing",
        "the test bot has no model key: {text}"
    );
    // The bot registered its commands, so they are found; the key is not set.
    line(text, "✅ Discord token:");
    line(text, "✅ commands:");
    line(text, "✅ #workshop:");
    line(text, "❌ ANTHROPIC_API_KEY: not set");
    line(text, "⚠️ PUBLIC_BASE_URL: not set");
    let callback = fake
        .requests()
        .into_iter()
        .find(|r| r.path.contains(&format!("/{token}/callback")))
        .expect("the deferral");
    assert_eq!(
        callback.body["data"]["flags"].as_u64().unwrap_or(0) & 64,
        64,
        "ephemeral"
    );
    fake.assert_spec_clean();
    bot.stop().await;
}

#[test]
fn help_lists_the_environment_keys_and_points_to_the_example_and_the_docs() {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_flipfix-bot"))
        .arg("--help")
        .output()
        .expect("run flipfix-bot --help");
    assert!(output.status.success());
    let help = String::from_utf8_lossy(&output.stdout);
    for (key, _) in flipfix_bot::config::secrets::KNOWN_KEYS {
        assert!(
            help.contains(&format!("  {key} ")),
            "--help lacks {key}:\n{help}"
        );
    }
    assert!(
        help.contains("Secrets.example.toml") && help.contains("docs/configuration.md"),
        "{help}"
    );
    assert!(help.contains("doctor"), "{help}");
}
