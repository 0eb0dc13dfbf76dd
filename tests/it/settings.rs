//! Typed settings in Postgres: defaults, validation, history, secrets.

use flipfix_bot::config::settings::SettingsError;
use flipfix_bot::config::{SettingKey, Settings};
use sqlx::PgPool;

#[sqlx::test(migrations = "./migrations")]
async fn defaults_apply_until_set_and_after_reset(pool: PgPool) {
    let settings = Settings::new(pool.clone(), false);
    assert!(!settings
        .get_bool(SettingKey::DiscordWebhooksEnabled)
        .await
        .unwrap());
    // A kind's switch is on until turned off, as the fixed ones were.
    let parts = flipfix_bot::config::SwitchKey::parse("DISCORD_WEBHOOKS_PARTS").unwrap();
    assert!(settings.get_bool(&parts).await.unwrap());
    assert!(settings
        .get_bool(SettingKey::DiscordBotEnabled)
        .await
        .unwrap());
    assert_eq!(settings.get_webhook_url().await.unwrap(), None);

    settings
        .set(SettingKey::DiscordWebhooksEnabled, "yes", "admin#1")
        .await
        .unwrap();
    assert!(settings
        .get_bool(SettingKey::DiscordWebhooksEnabled)
        .await
        .unwrap());
    settings
        .reset(SettingKey::DiscordWebhooksEnabled, "admin#2")
        .await
        .unwrap();
    assert!(!settings
        .get_bool(SettingKey::DiscordWebhooksEnabled)
        .await
        .unwrap());

    let history: Vec<(String, Option<String>, String, String)> = sqlx::query_as(
        "SELECT key, new_value, action, changed_by FROM settings_history ORDER BY id",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert_eq!(
        history,
        vec![
            (
                "DISCORD_WEBHOOKS_ENABLED".into(),
                Some("true".into()),
                "set".into(),
                "admin#1".into()
            ),
            (
                "DISCORD_WEBHOOKS_ENABLED".into(),
                None,
                "reset".into(),
                "admin#2".into()
            ),
        ]
    );
}

#[sqlx::test(migrations = "./migrations")]
async fn invalid_values_are_refused_and_nothing_changes(pool: PgPool) {
    let settings = Settings::new(pool.clone(), false);
    let err = settings
        .set(SettingKey::DiscordBotEnabled, "maybe", "admin")
        .await
        .unwrap_err();
    assert!(
        matches!(
            &err,
            SettingsError::InvalidValue { key, .. } if key == "DISCORD_BOT_ENABLED"
        ),
        "{err}"
    );
    // A kind's switch is a true/false setting too.
    let parts = flipfix_bot::config::SwitchKey::parse("DISCORD_WEBHOOKS_PARTS").unwrap();
    let err = settings.set(&parts, "maybe", "admin").await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "DISCORD_WEBHOOKS_PARTS must be true or false: got \"maybe\""
    );
    assert_eq!(settings.stored(&parts).await.unwrap(), None);

    let token = "S3cr3tT0kenValue_abc";
    let url = format!("https://evil.example/api/webhooks/1/{token}");
    let err = settings
        .set(SettingKey::DiscordWebhookUrl, &url, "admin")
        .await
        .unwrap_err();
    let message = err.to_string();
    assert!(message.contains("discord.com"), "{message}");
    assert!(
        !message.contains(token),
        "the refusal never echoes the URL: {message}"
    );

    let err = settings
        .set(SettingKey::LlmDailyAnalysesPerUser, "lots", "admin")
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "LLM_DAILY_ANALYSES_PER_USER must be a whole number from 1 to 10000: got \"lots\""
    );

    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM settings")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert_eq!(rows, 0);
}

#[sqlx::test(migrations = "./migrations")]
async fn secrets_are_masked_and_never_copied_to_history(pool: PgPool) {
    let settings = Settings::new(pool.clone(), false);
    let key = "sk-ant-api03-very-secret-value";
    settings
        .set(SettingKey::AnthropicApiKey, key, "admin")
        .await
        .unwrap();
    let webhook = "https://discord.com/api/webhooks/123456/TokenPart_xyz";
    settings
        .set(SettingKey::DiscordWebhookUrl, webhook, "admin")
        .await
        .unwrap();

    assert_eq!(
        settings
            .get_secret(SettingKey::AnthropicApiKey)
            .await
            .unwrap()
            .unwrap()
            .expose(),
        key
    );
    assert_eq!(
        settings
            .get_webhook_url()
            .await
            .unwrap()
            .unwrap()
            .webhook_id(),
        123456
    );

    let shown = format!("{:?}", settings.show(&Default::default()).await.unwrap());
    assert!(!shown.contains("very-secret"), "{shown}");
    assert!(!shown.contains("TokenPart_xyz"), "{shown}");
    assert!(shown.contains("123456"), "the webhook id is shown: {shown}");

    let history: Vec<Option<String>> = sqlx::query_scalar("SELECT new_value FROM settings_history")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert_eq!(history, vec![None, None]);
}

#[sqlx::test(migrations = "./migrations")]
async fn loopback_webhooks_need_the_opt_in(pool: PgPool) {
    let url = "http://127.0.0.1:8123/api/webhooks/5/tok";
    let strict = Settings::new(pool.clone(), false);
    assert!(strict
        .set(SettingKey::DiscordWebhookUrl, url, "admin")
        .await
        .is_err());
    let dev = Settings::new(pool.clone(), true);
    dev.set(SettingKey::DiscordWebhookUrl, url, "admin")
        .await
        .unwrap();
    assert_eq!(
        dev.get_webhook_url().await.unwrap().unwrap().webhook_id(),
        5
    );
}
