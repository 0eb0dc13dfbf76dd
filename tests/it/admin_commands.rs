//! `/flipfix …` admin commands through the fake Discord, with real Postgres.
//! Every request the bot makes is checked against Discord's OpenAPI spec.

use serde_json::{json, Value};
use sqlx::PgPool;

use crate::support::bot::TestBot;
use crate::support::fake_discord::{FakeDiscord, FakeUser};

const ADMIN: u64 = 600_000_000_000_000_001;
const MEMBER: u64 = 600_000_000_000_000_002;

/// What a non-admin is told, whole.
const REFUSAL: &str = "Only members with the **Manage Server** permission can use this command.";

fn admin() -> FakeUser {
    FakeUser::admin(ADMIN, "museum_admin")
}

fn member() -> FakeUser {
    FakeUser::member(MEMBER, "bob_the_fixer")
}

/// `/flipfix <group> <sub> options…` as nested options.
fn sub(group: &str, name: &str, options: Value) -> Value {
    json!([{"type": 2, "name": group, "options": [{"type": 1, "name": name, "options": options}]}])
}

/// `/flipfix config set key:<key> value:<value>`.
fn config_set(key: &str, value: &str) -> Value {
    sub(
        "config",
        "set",
        json!([
            {"type": 3, "name": "key", "value": key},
            {"type": 3, "name": "value", "value": value}]),
    )
}

fn direct(name: &str, options: Value) -> Value {
    json!([{"type": 1, "name": name, "options": options}])
}

fn text_of(reply: &Value) -> String {
    let mut text = reply["content"].as_str().unwrap_or_default().to_string();
    for embed in reply["embeds"].as_array().into_iter().flatten() {
        text.push('\n');
        text.push_str(embed["title"].as_str().unwrap_or_default());
        text.push('\n');
        text.push_str(embed["description"].as_str().unwrap_or_default());
    }
    text
}

fn is_ephemeral(reply: &Value) -> bool {
    reply["flags"].as_u64().unwrap_or_default() & 64 == 64
}

async fn run(fake: &FakeDiscord, user: &FakeUser, options: Value) -> (String, Value) {
    let token = fake.invoke_slash(user, "flipfix", options);
    let reply = fake.reply(&token).await;
    (text_of(&reply), reply)
}

#[sqlx::test(migrations = "./migrations")]
async fn registration_declares_admin_permissions(pool: PgPool) {
    let fake = FakeDiscord::start().await;
    let bot = TestBot::start(pool, &fake, 1).await;
    let commands = fake.registered_commands();
    let flipfix = commands
        .iter()
        .find(|c| c["name"] == "flipfix")
        .expect("flipfix registered");
    assert_eq!(
        flipfix["default_member_permissions"],
        json!("32"),
        "Manage Server"
    );
    bot.stop().await;
    fake.assert_spec_clean();
}

#[sqlx::test(migrations = "./migrations")]
async fn config_set_show_reset_and_refusals(pool: PgPool) {
    let fake = FakeDiscord::start().await;
    let bot = TestBot::start(pool.clone(), &fake, 1).await;

    let (text, reply) = run(
        &fake,
        &admin(),
        config_set("DISCORD_WEBHOOKS_ENABLED", "true"),
    )
    .await;
    assert!(
        text.contains("✅") && text.contains("DISCORD_WEBHOOKS_ENABLED"),
        "{text}"
    );
    assert!(is_ephemeral(&reply));
    assert_eq!(reply["allowed_mentions"]["parse"], json!([]), "never pings");
    let stored: (String, String) = sqlx::query_as(
        "SELECT value, updated_by FROM settings WHERE key = 'DISCORD_WEBHOOKS_ENABLED'",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(stored.0, "true");
    assert!(
        stored.1.contains(&ADMIN.to_string()),
        "who changed it: {}",
        stored.1
    );

    // A bad value and an unknown key change nothing.
    let (text, _) = run(
        &fake,
        &admin(),
        config_set("DISCORD_BOT_ENABLED", "perhaps"),
    )
    .await;
    assert!(
        text.contains("❌") && text.contains("true or false"),
        "{text}"
    );
    let (text, _) = run(
        &fake,
        &admin(),
        config_set("DISCORD_WEBHOOK_ENABLED", "true"),
    )
    .await;
    assert!(
        text.contains("unknown setting") && text.contains("did you mean DISCORD_WEBHOOKS_ENABLED"),
        "{text}"
    );

    // A bad webhook URL is refused with the reason.
    let (text, _) = run(
        &fake,
        &admin(),
        config_set(
            "DISCORD_WEBHOOK_URL",
            "https://hooks.example.com/api/webhooks/1/abc",
        ),
    )
    .await;
    assert!(
        text.contains("❌") && text.contains("discord.com"),
        "{text}"
    );

    let (text, _) = run(&fake, &admin(), sub("config", "show", json!([]))).await;
    assert!(text.contains("DISCORD_WEBHOOKS_ENABLED` = true"), "{text}");
    assert!(
        text.contains("DISCORD_BOT_ENABLED` = true (default)"),
        "{text}"
    );

    let (text, _) = run(
        &fake,
        &admin(),
        sub(
            "config",
            "reset",
            json!([
        {"type": 3, "name": "key", "value": "DISCORD_WEBHOOKS_ENABLED"}]),
        ),
    )
    .await;
    assert!(text.contains("default"), "{text}");
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM settings")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(rows, 0);

    bot.stop().await;
    fake.assert_spec_clean();
}

#[sqlx::test(migrations = "./migrations")]
async fn non_admins_are_refused_and_nothing_changes(pool: PgPool) {
    let fake = FakeDiscord::start().await;
    let bot = TestBot::start(pool.clone(), &fake, 1).await;
    let (text, reply) = run(&fake, &member(), config_set("DISCORD_BOT_ENABLED", "false")).await;
    assert_eq!(text, REFUSAL);
    assert!(is_ephemeral(&reply));
    let (text, _) = run(
        &fake,
        &member(),
        sub(
            "machines",
            "add",
            json!([
        {"type": 3, "name": "name", "value": "Gorgar"}]),
        ),
    )
    .await;
    assert_eq!(text, REFUSAL);
    let settings: i64 = sqlx::query_scalar("SELECT count(*) FROM settings")
        .fetch_one(&pool)
        .await
        .unwrap();
    let machines: i64 = sqlx::query_scalar("SELECT count(*) FROM machines")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!((settings, machines), (0, 0));
    bot.stop().await;
    fake.assert_spec_clean();
}

#[sqlx::test(migrations = "./migrations")]
async fn secrets_set_by_config_never_appear_in_replies_or_logs(pool: PgPool) {
    let logs = crate::support::logs::CapturedLogs::capture();
    let fake = FakeDiscord::start().await;
    let bot = TestBot::start(pool.clone(), &fake, 1).await;
    let secret = "sk-ant-api03-NEVER-SHOW-THIS-0123456789";
    let webhook_token = "WebhookTokenNeverShown_987";
    let (text, _) = run(
        &fake,
        &admin(),
        sub(
            "config",
            "set",
            json!([
        {"type": 3, "name": "key", "value": "ANTHROPIC_API_KEY"},
        {"type": 3, "name": "value", "value": secret}]),
        ),
    )
    .await;
    assert!(text.contains("✅"), "{text}");
    let (text, _) = run(&fake, &admin(), sub("config", "set", json!([
        {"type": 3, "name": "key", "value": "DISCORD_WEBHOOK_URL"},
        {"type": 3, "name": "value", "value": format!("https://discord.com/api/webhooks/42/{webhook_token}")}]))).await;
    assert!(text.contains("✅"), "{text}");
    run(&fake, &admin(), sub("config", "show", json!([]))).await;
    run(&fake, &admin(), direct("status", json!([]))).await;
    let token = fake.invoke_autocomplete(&admin(), "flipfix", json!([{"type": 2, "name": "config", "options": [
        {"type": 1, "name": "set", "options": [{"type": 3, "name": "key", "value": "ANTH", "focused": true}]}]}]));
    let autocomplete = fake
        .wait_for_request("autocomplete answer", |r| {
            r.path.contains(&format!("/{token}/callback"))
        })
        .await;
    assert!(
        autocomplete.body.to_string().contains("ANTHROPIC_API_KEY"),
        "{}",
        autocomplete.body
    );

    for request in fake.requests() {
        let body = request.body.to_string();
        assert!(
            !body.contains("NEVER-SHOW-THIS"),
            "secret echoed in {} {}: {body}",
            request.method,
            request.path
        );
        assert!(
            !body.contains(webhook_token),
            "webhook token echoed in {}: {body}",
            request.path
        );
    }
    let text = logs.text();
    assert!(
        text.contains("setting changed") && text.contains("ANTHROPIC_API_KEY"),
        "the bot's own logs were captured: {text}"
    );
    logs.assert_never_logged(&["NEVER-SHOW-THIS", webhook_token]);
    let history: Vec<Option<String>> = sqlx::query_scalar("SELECT new_value FROM settings_history")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert!(history.iter().all(Option::is_none), "{history:?}");
    bot.stop().await;
    fake.assert_spec_clean();
}

#[sqlx::test(migrations = "./migrations")]
async fn machines_maintainers_and_links(pool: PgPool) {
    let fake = FakeDiscord::start().await;
    let bot = TestBot::start(pool.clone(), &fake, 1).await;

    let (text, _) = run(
        &fake,
        &admin(),
        sub(
            "machines",
            "add",
            json!([
        {"type": 3, "name": "name", "value": "Eight Ball Deluxe (Limited Edition)"},
        {"type": 3, "name": "short_name", "value": "EBD LE"}]),
        ),
    )
    .await;
    assert!(text.contains("eight-ball-deluxe-limited-edition"), "{text}");
    let (text, _) = run(
        &fake,
        &admin(),
        sub(
            "machines",
            "alias",
            json!([
        {"type": 3, "name": "machine", "value": "eight-ball-deluxe-limited-edition"},
        {"type": 3, "name": "alias", "value": "Pool Hall"}]),
        ),
    )
    .await;
    assert!(text.contains("also called Pool Hall"), "{text}");
    let aliases: Vec<String> = sqlx::query_scalar("SELECT unnest(aliases) FROM machines")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert_eq!(aliases, vec!["Pool Hall"]);
    let (text, _) = run(
        &fake,
        &admin(),
        sub(
            "machines",
            "rename",
            json!([
        {"type": 3, "name": "machine", "value": "no-such-machine"},
        {"type": 3, "name": "name", "value": "X"}]),
        ),
    )
    .await;
    assert!(
        text.contains("❌ no machine with slug `no-such-machine`"),
        "{text}"
    );
    let (text, _) = run(&fake, &admin(), sub("machines", "list", json!([]))).await;
    // The short name and the alias are listed (neither contains the other).
    assert!(
        text.contains("Machines (1)") && text.contains("EBD LE") && text.contains("Pool Hall"),
        "{text}"
    );

    let (text, _) = run(
        &fake,
        &admin(),
        sub(
            "maintainers",
            "add",
            json!([
        {"type": 3, "name": "username", "value": "bob"},
        {"type": 3, "name": "display_name", "value": "Bob Wilson"}]),
        ),
    )
    .await;
    assert!(text.contains("✅"), "{text}");

    let user_option = |id: u64| json!({"type": 6, "name": "user", "value": id.to_string()});
    // Linking needs the user resolved in the interaction data.
    let link = |maintainer: &str| {
        json!([{"type": 1, "name": "link", "options": [user_option(MEMBER),
            {"type": 3, "name": "maintainer", "value": maintainer}]}])
    };
    let resolved = json!({"users": {MEMBER.to_string(): member().user_json()}});
    let token = fake.interaction(
        &admin(),
        2,
        json!({
        "id": fake.command_id("flipfix"), "name": "flipfix", "type": 1,
        "options": link("nobody"), "resolved": resolved}),
    );
    let text = text_of(&fake.reply(&token).await);
    assert!(
        text.contains("no maintainer with username `nobody`"),
        "{text}"
    );

    let token = fake.interaction(
        &admin(),
        2,
        json!({
        "id": fake.command_id("flipfix"), "name": "flipfix", "type": 1,
        "options": link("BOB"), "resolved": resolved}),
    );
    let text = text_of(&fake.reply(&token).await);
    assert!(text.contains("is now maintainer `bob`"), "{text}");
    let (text, _) = run(&fake, &admin(), direct("links", json!([]))).await;
    assert!(text.contains(&format!("<@{MEMBER}> → `bob`")), "{text}");

    let token = fake.interaction(&admin(), 2, json!({
        "id": fake.command_id("flipfix"), "name": "flipfix", "type": 1,
        "options": [{"type": 1, "name": "unlink", "options": [user_option(MEMBER)]}], "resolved": resolved}));
    let text = text_of(&fake.reply(&token).await);
    assert!(text.contains("no longer linked"), "{text}");
    let links: i64 = sqlx::query_scalar("SELECT count(*) FROM discord_user_links")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(links, 0);

    bot.stop().await;
    fake.assert_spec_clean();
}

#[sqlx::test(migrations = "./migrations")]
async fn import_reads_an_attached_export(pool: PgPool) {
    let fake = FakeDiscord::start().await;
    let bot = TestBot::start(pool.clone(), &fake, 1).await;
    let json_text = std::fs::read_to_string(
        crate::support::shared_dir().join("fixtures/flipfix-sample/machines.json"),
    )
    .unwrap();
    let url = fake.add_attachment("machines.json", &json_text);
    let attachment_id = fake.next_id().to_string();
    let token = fake.interaction(
        &admin(),
        2,
        json!({
        "id": fake.command_id("flipfix"), "name": "flipfix", "type": 1,
        "options": [{"type": 1, "name": "import", "options": [
            {"type": 4, "name": "kind", "value": 0},
            {"type": 11, "name": "file", "value": attachment_id}]}],
        "resolved": {"attachments": {attachment_id.clone(): {
            "id": attachment_id, "filename": "machines.json", "size": json_text.len(),
            "url": url, "proxy_url": url, "content_type": "application/json"}}}}),
    );
    let text = text_of(&fake.reply(&token).await);
    assert!(text.contains("39 added"), "{text}");
    let machines: i64 = sqlx::query_scalar("SELECT count(*) FROM machines")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(machines, 39);
    bot.stop().await;
    fake.assert_spec_clean();
}

/// The attachment URL comes from the interaction payload; only Discord's
/// CDN is read. The file is reachable (the fake serves it on loopback), so
/// the refusal is the URL check, not a failed download.
#[sqlx::test(migrations = "./migrations")]
async fn import_refuses_a_file_not_on_discords_cdn(pool: PgPool) {
    let fake = FakeDiscord::start().await;
    let mut secrets = crate::support::bot::test_secrets(&fake);
    secrets.allow_loopback_urls = false;
    let bot = TestBot::start_with(pool.clone(), &fake, 1, secrets).await;
    let served = fake.add_attachment("machines.json", "[]");
    for url in [
        served.as_str(),
        "https://cdn.example.com/attachments/1/2/machines.json",
    ] {
        let attachment_id = fake.next_id().to_string();
        let token = fake.interaction(
            &admin(),
            2,
            json!({
            "id": fake.command_id("flipfix"), "name": "flipfix", "type": 1,
            "options": [{"type": 1, "name": "import", "options": [
                {"type": 4, "name": "kind", "value": 0},
                {"type": 11, "name": "file", "value": attachment_id}]}],
            "resolved": {"attachments": {attachment_id.clone(): {
                "id": attachment_id, "filename": "machines.json", "size": 2,
                "url": url, "proxy_url": url, "content_type": "application/json"}}}}),
        );
        let reply = fake.reply(&token).await;
        assert_eq!(
            text_of(&reply),
            "❌ Could not read `machines.json`: attachments are only read from Discord's CDN",
            "{url}"
        );
        assert!(is_ephemeral(&reply));
    }
    assert!(
        !fake
            .requests()
            .iter()
            .any(|r| r.path.starts_with("/attachments/")),
        "the file was not fetched"
    );
    let machines: i64 = sqlx::query_scalar("SELECT count(*) FROM machines")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(machines, 0);
    bot.stop().await;
    fake.assert_spec_clean();
}

#[sqlx::test(migrations = "./migrations")]
async fn workflows_reload_keeps_the_old_version_on_errors(pool: PgPool) {
    let fake = FakeDiscord::start().await;
    let dir = crate::support::copy_workflows();
    let bot = TestBot::start_with_dirs(pool.clone(), &fake, dir.path()).await;
    let before = bot.app.workflows().version.clone();
    let template = dir.path().join("prompts/notifications/record.md.j2");
    let text = std::fs::read_to_string(&template).unwrap();
    std::fs::write(
        &template,
        text.replacen("{{ description }}", "{{ description }\n", 1),
    )
    .unwrap();
    let (reply, _) = run(&fake, &admin(), sub("workflows", "reload", json!([]))).await;
    assert!(
        reply.contains("Not reloaded") && reply.contains(&before),
        "{reply}"
    );
    assert!(
        reply.contains("notifications/record.md.j2:"),
        "names the template file and line: {reply}"
    );
    assert_eq!(
        bot.app.workflows().version,
        before,
        "old version keeps serving"
    );

    // A valid change is picked up.
    std::fs::write(
        &template,
        text.replacen("{{ description }}", "{{ description }} (edited)", 1),
    )
    .unwrap();
    let (reply, _) = run(&fake, &admin(), sub("workflows", "reload", json!([]))).await;
    assert!(reply.contains("✅ Workflows reloaded"), "{reply}");
    assert_ne!(bot.app.workflows().version, before);
    bot.stop().await;
    fake.assert_spec_clean();
}

#[sqlx::test(migrations = "./migrations")]
async fn usage_and_status_report_spend(pool: PgPool) {
    for (who, cost) in [
        ("discord:600000000000000002", 1_500_i64),
        ("discord:600000000000000002", 2_500),
        ("cli", 1_000),
    ] {
        sqlx::query(
            "INSERT INTO llm_usage (purpose, requested_by, model, input_tokens, output_tokens, cache_read_input_tokens, cost_micro_usd)
             VALUES ('analysis', $1, 'claude-haiku-4-5', 400, 150, 2000, $2)",
        )
        .bind(who)
        .bind(cost)
        .execute(&pool)
        .await
        .unwrap();
    }
    let fake = FakeDiscord::start().await;
    let bot = TestBot::start(pool.clone(), &fake, 1).await;
    bot.app
        .settings
        .set(
            flipfix_bot::config::SettingKey::LlmDailyBudgetUsd,
            "2",
            "tests",
        )
        .await
        .unwrap();

    let (text, reply) = run(
        &fake,
        &admin(),
        direct("usage", json!([{"type": 4, "name": "days", "value": 3}])),
    )
    .await;
    assert!(is_ephemeral(&reply));
    assert!(text.contains("$0.0050 of the $2.00 daily budget"), "{text}");
    assert!(
        text.contains("3 call(s), 1200 in / 450 out tokens (6000 cached), $0.0050"),
        "per day: {text}"
    );
    assert!(
        text.contains(&format!("<@{MEMBER}>: 2 call(s)")) && text.contains("$0.0040"),
        "per person: {text}"
    );

    let (text, _) = run(&fake, &admin(), direct("status", json!([]))).await;
    assert!(
        text.contains("`add_to_flipfix` → claude-haiku-4-5") && text.contains("API key not set"),
        "{text}"
    );
    assert!(
        text.contains("spent today $0.0050") && text.contains("reachable"),
        "{text}"
    );

    let (text, _) = run(&fake, &member(), direct("usage", json!([]))).await;
    assert_eq!(text, REFUSAL);
    bot.stop().await;
    fake.assert_spec_clean();
}

#[sqlx::test(migrations = "./migrations")]
async fn webhook_test_reports_discords_answer(pool: PgPool) {
    use crate::support::fake_webhook::{FakeWebhook, Reply};
    let fake = FakeDiscord::start().await;
    let bot = TestBot::start(pool.clone(), &fake, 1).await;

    let (text, _) = run(&fake, &admin(), sub("webhook", "test", json!([]))).await;
    assert!(text.contains("No webhook is configured"), "{text}");

    let hook = FakeWebhook::start(None).await;
    let settings = &bot.app.settings;
    settings
        .set(
            flipfix_bot::config::SettingKey::DiscordWebhookUrl,
            &hook.url("secret-token"),
            "tests",
        )
        .await
        .unwrap();
    let (text, _) = run(&fake, &admin(), sub("webhook", "test", json!([]))).await;
    assert!(
        text.contains("✅ Discord accepted the test message"),
        "{text}"
    );
    assert!(
        !text.contains("secret-token"),
        "the token is masked: {text}"
    );
    let received = hook.received();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].body["allowed_mentions"], json!({"parse": []}));
    crate::support::openapi::validate_request("POST", &received[0].path, &received[0].body)
        .unwrap();

    hook.script([Reply::Status(404)]);
    let (text, _) = run(&fake, &admin(), sub("webhook", "test", json!([]))).await;
    assert!(
        text.contains("❌") && text.contains("404") && text.contains("DISCORD_WEBHOOK_URL"),
        "{text}"
    );

    let (text, _) = run(&fake, &member(), sub("webhook", "test", json!([]))).await;
    assert_eq!(text, REFUSAL);
    assert_eq!(hook.received().len(), 2, "a refused invoker posts nothing");
    bot.stop().await;
    fake.assert_spec_clean();
}

#[sqlx::test(migrations = "./migrations")]
async fn status_shows_the_webhook_queue(pool: PgPool) {
    let fake = FakeDiscord::start().await;
    let bot = TestBot::start(pool.clone(), &fake, 1).await;
    let record = sqlx::query_scalar::<_, i64>(
        "INSERT INTO records (kind, description, author_name, occurred_at, created_via)
         VALUES ('part_request', 'x', 'Bob', now(), 'cli') RETURNING id",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    sqlx::query("INSERT INTO notification_outbox (record_id, attempts, last_error) VALUES ($1, 3, 'Discord answered HTTP 503: busy')")
        .bind(record)
        .execute(&pool)
        .await
        .unwrap();
    let (text, _) = run(&fake, &admin(), direct("status", json!([]))).await;
    assert!(text.contains("**Webhook queue:** 1 waiting"), "{text}");
    assert!(
        text.contains("Last delivery error:** Discord answered HTTP 503: busy"),
        "{text}"
    );
    bot.stop().await;
    fake.assert_spec_clean();
}

#[sqlx::test(migrations = "./migrations")]
async fn status_names_each_daily_summary_and_its_last_day(pool: PgPool) {
    let dir = crate::support::copy_workflows();
    std::fs::write(
        dir.path().join("workflows/summaries.yaml"),
        "summaries:\n  - {name: daily, at: \"18:00\", timezone: Europe/London, template: summaries/daily.md.j2}\n",
    )
    .unwrap();
    let fake = FakeDiscord::start().await;
    let bot = TestBot::start_with_dirs(pool.clone(), &fake, dir.path()).await;
    let (text, _) = run(&fake, &admin(), direct("status", json!([]))).await;
    assert!(
        text.contains("**Daily summaries:** `daily` at 18:00 Europe/London, not decided yet"),
        "{text}"
    );
    sqlx::query(
        "INSERT INTO summary_posts (summary, local_date, due_at, window_start, outcome, record_count)
         VALUES ('daily', '2026-11-23', now(), now() - interval '1 day', 'nothing_to_say', 0)",
    )
    .execute(&pool)
    .await
    .unwrap();
    let (text, _) = run(&fake, &admin(), direct("status", json!([]))).await;
    assert!(
        text.contains(
            "`daily` at 18:00 Europe/London, last 2026-11-23: nothing to say (0 record(s))"
        ),
        "{text}"
    );
    bot.stop().await;
    fake.assert_spec_clean();
}

/// A kind's webhook switch (declared in YAML, not in Rust) goes through the
/// same `/flipfix config` paths as a fixed setting: set, validated as
/// true/false, shown, autocompleted, reset.
#[sqlx::test(migrations = "./migrations")]
async fn a_kinds_webhook_switch_is_a_setting_like_the_others(pool: PgPool) {
    let fake = FakeDiscord::start().await;
    let bot = TestBot::start(pool.clone(), &fake, 1).await;
    let set = |value: &str| {
        sub(
            "config",
            "set",
            json!([
                {"type": 3, "name": "key", "value": "discord_webhooks_parts"},
                {"type": 3, "name": "value", "value": value}]),
        )
    };

    let (text, _) = run(&fake, &admin(), set("perhaps")).await;
    assert_eq!(
        text,
        "❌ DISCORD_WEBHOOKS_PARTS must be true or false: got \"perhaps\". Nothing was changed."
    );
    let (text, _) = run(&fake, &admin(), set("off")).await;
    assert_eq!(text, "✅ `DISCORD_WEBHOOKS_PARTS` is now `false`.");
    let stored: String =
        sqlx::query_scalar("SELECT value FROM settings WHERE key = 'DISCORD_WEBHOOKS_PARTS'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(stored, "false");

    let (text, _) = run(&fake, &admin(), sub("config", "show", json!([]))).await;
    assert!(
        text.contains(
            "`DISCORD_WEBHOOKS_PARTS` = false\n-# post new part request and part request update records"
        ) && text.contains("`DISCORD_WEBHOOKS_LOG_ENTRIES` = true (default)"),
        "{text}"
    );
    let token = fake.invoke_autocomplete(&admin(), "flipfix", json!([{"type": 2, "name": "config", "options": [
        {"type": 1, "name": "reset", "options": [{"type": 3, "name": "key", "value": "problem_rep", "focused": true}]}]}]));
    let autocomplete = fake
        .wait_for_request("autocomplete answer", |r| {
            r.path.contains(&format!("/{token}/callback"))
        })
        .await;
    assert!(
        autocomplete
            .body
            .to_string()
            .contains("\"value\":\"DISCORD_WEBHOOKS_PROBLEM_REPORTS\""),
        "{}",
        autocomplete.body
    );

    let (text, _) = run(
        &fake,
        &admin(),
        sub(
            "config",
            "reset",
            json!([{"type": 3, "name": "key", "value": "DISCORD_WEBHOOKS_PARTS"}]),
        ),
    )
    .await;
    assert_eq!(
        text,
        "✅ `DISCORD_WEBHOOKS_PARTS` is back to its default: `true`."
    );
    bot.stop().await;
    fake.assert_spec_clean();
}
