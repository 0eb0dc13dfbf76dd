//! Typed settings stored in Postgres. Every key has a type, a default and a
//! description; values are validated before they are stored, and every change
//! is recorded with who made it and when (secret values excepted).

use sqlx::PgPool;

use super::setting_values::{
    parse_bool, parse_channel_list, parse_count, parse_dollars, parse_role,
};
use super::switches::{DeclaredSwitches, Key};
use super::WebhookUrl;

/// What a setting's value must look like.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SettingType {
    Bool,
    /// Comma-separated Discord channel ids; empty = no restriction.
    ChannelList,
    /// A Discord webhook URL, masked when shown.
    WebhookUrl,
    /// A credential, never shown in clear.
    Secret,
    /// Whole hours, 1 to 720.
    Hours,
    /// US dollars, e.g. `2.50`.
    Dollars,
    /// A whole number from 1 to 10,000 (a count or a limit).
    Count,
    /// A Discord role id (or a pasted `<@&id>` mention).
    Role,
}

impl SettingType {
    fn describe(self) -> &'static str {
        match self {
            Self::Bool => "true or false",
            Self::ChannelList => "comma-separated channel ids",
            Self::WebhookUrl => "a Discord webhook URL",
            Self::Secret => "a secret",
            Self::Hours => "a whole number of hours from 1 to 720",
            Self::Dollars => "an amount in US dollars, e.g. 2.50",
            Self::Count => "a whole number from 1 to 10000",
            Self::Role => "a role id or @role mention",
        }
    }
}

/// A setting's declaration.
#[derive(Debug, Clone, Copy)]
pub struct SettingDef {
    pub key: SettingKey,
    pub ty: SettingType,
    pub default: Option<&'static str>,
    pub description: &'static str,
}

macro_rules! setting_keys {
    ($( $variant:ident = $name:literal, $ty:ident, $default:expr, $description:literal; )*) => {
        /// Every fixed setting the bot knows. Names match the original
        /// system's. Record kinds add their webhook switches from YAML
        /// (see `switches`).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum SettingKey { $( $variant, )* }

        impl SettingKey {
            pub const ALL: &'static [SettingKey] = &[ $( SettingKey::$variant, )* ];

            pub fn name(self) -> &'static str {
                match self { $( SettingKey::$variant => $name, )* }
            }

            pub fn def(self) -> SettingDef {
                match self {
                    $( SettingKey::$variant => SettingDef {
                        key: self,
                        ty: SettingType::$ty,
                        default: $default,
                        description: $description,
                    }, )*
                }
            }
        }
    };
}

setting_keys! {
    DiscordWebhookUrl = "DISCORD_WEBHOOK_URL", WebhookUrl, None,
        "Discord webhook that new records are posted to";
    DiscordWebhooksEnabled = "DISCORD_WEBHOOKS_ENABLED", Bool, Some("false"),
        "master switch for webhook notifications";
    DiscordBotEnabled = "DISCORD_BOT_ENABLED", Bool, Some("true"),
        "turn the Add to Flipfix command on or off";
    DiscordLeaveOtherServers = "DISCORD_LEAVE_OTHER_SERVERS", Bool, Some("true"),
        "leave any server other than the home server the bot is added to";
    AnthropicApiKey = "ANTHROPIC_API_KEY", Secret, None,
        "API key for Claude (overrides the secret)";
    DiscordAllowedChannels = "DISCORD_ALLOWED_CHANNELS", ChannelList, None,
        "channels where Add to Flipfix works (empty = all)";
    ReviewExpiryHours = "REVIEW_EXPIRY_HOURS", Hours, Some("24"),
        "how long a review stays open";
    LlmDailyBudgetUsd = "LLM_DAILY_BUDGET_USD", Dollars, None,
        "daily spend limit for analyses (empty = no limit)";
    LlmDailyAnalysesPerUser = "LLM_DAILY_ANALYSES_PER_USER", Count, None,
        "analyses one person may run per UTC day (empty = no limit)";
    DiscordWebhooksFromDiscord = "DISCORD_WEBHOOKS_FROM_DISCORD", Bool, Some("true"),
        "also post records created from Discord messages";
    DiscordWebhooksCoalesce = "DISCORD_WEBHOOKS_COALESCE", Bool, Some("false"),
        "post one person's burst of records as one digest";
    NotifyMaxAttempts = "NOTIFY_MAX_ATTEMPTS", Count, Some("5"),
        "attempts before a notification that cannot be rendered or that Discord refuses is set aside as failed";
    MediaMaxMb = "MEDIA_MAX_MB", Count, Some("25"),
        "largest photo or video copied out of Discord, in MB";
    DiscordMaintainerRole = "DISCORD_MAINTAINER_ROLE", Role, None,
        "only members with this role are linked to a maintainer by matching username (empty = anyone)";
}

impl SettingKey {
    /// Looks a key up by name, case-insensitively.
    pub(crate) fn from_name(name: &str) -> Option<Self> {
        let name = name.trim();
        Self::ALL
            .iter()
            .copied()
            .find(|key| key.name().eq_ignore_ascii_case(name))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("unknown setting {key:?}{}", suggestion.as_ref().map(|s| format!("; did you mean {s}?")).unwrap_or_default())]
    UnknownKey {
        key: String,
        suggestion: Option<String>,
    },
    #[error("{key} is not a setting: {reason}")]
    NotASetting {
        key: &'static str,
        reason: &'static str,
    },
    #[error("{key} must be {expected}: {reason}")]
    InvalidValue {
        key: String,
        expected: &'static str,
        reason: String,
    },
    #[error("database error while reading or writing settings")]
    Database(#[from] sqlx::Error),
}

/// A setting as an admin sees it: value masked where it is a secret.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingView {
    pub key: String,
    pub description: String,
    pub shown_value: String,
    pub is_default: bool,
}

/// The home server's key: bootstrap configuration, deliberately not a
/// setting (an admin command must never move the bot to another server).
pub(crate) const HOME_SERVER_KEY: &str = "DISCORD_GUILD_ID";

/// Access to the settings table. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Settings {
    pool: PgPool,
    allow_loopback_urls: bool,
}

impl Settings {
    pub fn new(pool: PgPool, allow_loopback_urls: bool) -> Self {
        Self {
            pool,
            allow_loopback_urls,
        }
    }

    /// Parses a key name an admin typed: a fixed setting, or a switch the
    /// loaded record kinds declare.
    pub fn lookup(name: &str, switches: &DeclaredSwitches) -> Result<Key, SettingsError> {
        if name.trim().eq_ignore_ascii_case(HOME_SERVER_KEY) {
            return Err(SettingsError::NotASetting {
                key: HOME_SERVER_KEY,
                reason: "the home server is set in the environment or Secrets.toml only, so no one can move the bot or its data from Discord",
            });
        }
        if let Some(key) = SettingKey::from_name(name) {
            return Ok(Key::Fixed(key));
        }
        if let Some(switch) = switches.find(name) {
            return Ok(Key::Switch(switch.key.clone()));
        }
        Err(SettingsError::UnknownKey {
            key: name.to_string(),
            suggestion: closest_key(name, switches),
        })
    }

    /// Checks and normalises a value for `key` without storing it.
    pub fn validate(&self, key: impl Into<Key>, raw: &str) -> Result<String, SettingsError> {
        let key = key.into();
        let ty = key.ty();
        let invalid = |reason: String| SettingsError::InvalidValue {
            key: key.name().to_string(),
            expected: ty.describe(),
            reason,
        };
        let raw = raw.trim();
        match ty {
            SettingType::Bool => parse_bool(raw)
                .map(|b| b.to_string())
                .ok_or_else(|| invalid(format!("got {raw:?}"))),
            SettingType::ChannelList => parse_channel_list(raw)
                .map(|ids| ids.iter().map(u64::to_string).collect::<Vec<_>>().join(","))
                .map_err(invalid),
            SettingType::WebhookUrl => WebhookUrl::parse(raw, self.allow_loopback_urls)
                // The reason never quotes the URL: it may carry a token.
                .map(|url| url.expose().to_string())
                .map_err(|err| invalid(err.to_string())),
            SettingType::Hours => raw
                .parse::<u32>()
                .ok()
                .filter(|h| (1..=720).contains(h))
                .map(|h| h.to_string())
                .ok_or_else(|| invalid(format!("got {raw:?}"))),
            SettingType::Dollars => parse_dollars(raw)
                .map(|d| format!("{d:.2}"))
                .ok_or_else(|| invalid(format!("got {raw:?}"))),
            SettingType::Count => parse_count(raw)
                .map(|n| n.to_string())
                .ok_or_else(|| invalid(format!("got {raw:?}"))),
            SettingType::Role => parse_role(raw)
                .map(|id| id.to_string())
                .ok_or_else(|| invalid(format!("{raw:?} is not a role id"))),
            SettingType::Secret if raw.is_empty() => Err(invalid("it is empty".into())),
            SettingType::Secret => Ok(raw.to_string()),
        }
    }

    /// Validates and stores `value`, recording who changed it.
    pub async fn set(
        &self,
        key: impl Into<Key>,
        value: &str,
        by: &str,
    ) -> Result<(), SettingsError> {
        let key = key.into();
        let value = self.validate(key.clone(), value)?;
        let secret = is_secret(key.ty());
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO settings (key, value, updated_by) VALUES ($1, $2, $3)
             ON CONFLICT (key) DO UPDATE
             SET value = EXCLUDED.value, updated_by = EXCLUDED.updated_by, updated_at = now()",
        )
        .bind(key.name())
        .bind(&value)
        .bind(by)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "INSERT INTO settings_history (key, new_value, was_secret, action, changed_by)
             VALUES ($1, $2, $3, 'set', $4)",
        )
        .bind(key.name())
        .bind((!secret).then_some(&value))
        .bind(secret)
        .bind(by)
        .execute(&mut *tx)
        .await?;
        wake_dispatchers(&mut tx).await?;
        tx.commit().await?;
        tracing::info!(key = key.name(), by, "setting changed");
        Ok(())
    }

    /// Returns `key` to its default.
    pub async fn reset(&self, key: impl Into<Key>, by: &str) -> Result<(), SettingsError> {
        let key = key.into();
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM settings WHERE key = $1")
            .bind(key.name())
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO settings_history (key, new_value, was_secret, action, changed_by)
             VALUES ($1, NULL, $2, 'reset', $3)",
        )
        .bind(key.name())
        .bind(is_secret(key.ty()))
        .bind(by)
        .execute(&mut *tx)
        .await?;
        wake_dispatchers(&mut tx).await?;
        tx.commit().await?;
        tracing::info!(key = key.name(), by, "setting reset to default");
        Ok(())
    }

    /// The stored value, or `None` when the default applies.
    pub async fn stored(&self, key: impl Into<Key>) -> Result<Option<String>, SettingsError> {
        let key = key.into();
        Ok(
            sqlx::query_scalar::<_, String>("SELECT value FROM settings WHERE key = $1")
                .bind(key.name())
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    /// The effective value (stored or default). A stored value that no longer
    /// validates (a type changed between versions) falls back to the default.
    pub async fn raw(&self, key: impl Into<Key>) -> Result<Option<String>, SettingsError> {
        let key = key.into();
        let stored = self.stored(key.clone()).await?;
        Ok(match stored {
            Some(value) => match self.validate(key.clone(), &value) {
                Ok(value) => Some(value),
                Err(err) => {
                    tracing::warn!(key = key.name(), %err, "stored setting is invalid; using the default");
                    key.default_value().map(str::to_string)
                }
            },
            None => key.default_value().map(str::to_string),
        })
    }

    /// A true/false setting: a fixed one or a kind's webhook switch.
    pub async fn get_bool(&self, key: impl Into<Key>) -> Result<bool, SettingsError> {
        let key = key.into();
        debug_assert_eq!(key.ty(), SettingType::Bool);
        Ok(self
            .raw(key)
            .await?
            .as_deref()
            .and_then(parse_bool)
            .unwrap_or(false))
    }

    pub async fn get_channel_list(&self, key: SettingKey) -> Result<Vec<u64>, SettingsError> {
        Ok(self
            .raw(key)
            .await?
            .as_deref()
            .and_then(|raw| parse_channel_list(raw).ok())
            .unwrap_or_default())
    }

    pub async fn get_hours(&self, key: SettingKey) -> Result<u32, SettingsError> {
        Ok(self
            .raw(key)
            .await?
            .and_then(|raw| raw.parse().ok())
            .unwrap_or(24))
    }

    pub async fn get_dollars(&self, key: SettingKey) -> Result<Option<f64>, SettingsError> {
        Ok(self.raw(key).await?.as_deref().and_then(parse_dollars))
    }

    /// A `Count` setting (stored, else its default); `None` when neither
    /// is set (no limit).
    pub async fn get_count(&self, key: SettingKey) -> Result<Option<u32>, SettingsError> {
        debug_assert_eq!(key.def().ty, SettingType::Count);
        Ok(self.raw(key).await?.as_deref().and_then(parse_count))
    }

    /// A `Role` setting; `None` when unset.
    pub async fn get_role(&self, key: SettingKey) -> Result<Option<u64>, SettingsError> {
        debug_assert_eq!(key.def().ty, SettingType::Role);
        Ok(self.raw(key).await?.as_deref().and_then(parse_role))
    }

    pub async fn get_webhook_url(&self) -> Result<Option<WebhookUrl>, SettingsError> {
        Ok(self
            .raw(SettingKey::DiscordWebhookUrl)
            .await?
            .and_then(|raw| WebhookUrl::parse(&raw, self.allow_loopback_urls).ok()))
    }

    pub async fn get_secret(
        &self,
        key: SettingKey,
    ) -> Result<Option<crate::config::Secret>, SettingsError> {
        Ok(self.raw(key).await?.map(crate::config::Secret::new))
    }

    /// Every setting as an admin sees it, secrets and webhook tokens
    /// masked: the fixed settings, then the switches the kinds declare.
    pub async fn show(
        &self,
        switches: &DeclaredSwitches,
    ) -> Result<Vec<SettingView>, SettingsError> {
        let keys = SettingKey::ALL
            .iter()
            .map(|&key| (Key::Fixed(key), key.def().description.to_string()))
            .chain(
                switches
                    .iter()
                    .map(|switch| (Key::Switch(switch.key.clone()), switch.description.clone())),
            );
        let mut views = Vec::with_capacity(SettingKey::ALL.len());
        for (key, description) in keys {
            let stored = self.stored(key.clone()).await?;
            let effective = self.raw(key.clone()).await?;
            let shown_value = match (key.ty(), effective) {
                (_, None) => "(not set)".to_string(),
                (SettingType::Secret, Some(value)) => {
                    crate::config::Secret::new(value).masked().to_string()
                }
                (SettingType::WebhookUrl, Some(value)) => {
                    WebhookUrl::parse(&value, self.allow_loopback_urls)
                        .map(|url| url.to_string())
                        .unwrap_or_else(|_| "(invalid)".into())
                }
                (_, Some(value)) => value,
            };
            views.push(SettingView {
                key: key.name().to_string(),
                description,
                shown_value,
                is_default: stored.is_none(),
            });
        }
        Ok(views)
    }
}

/// Notification dispatchers sleep until a row is due; a settings change
/// (switch turned on, new webhook URL) may make rows postable now, so it
/// wakes them on commit.
async fn wake_dispatchers(conn: &mut sqlx::PgConnection) -> Result<(), sqlx::Error> {
    sqlx::query("SELECT pg_notify($1, '')")
        .bind(super::channels::OUTBOX)
        .execute(conn)
        .await?;
    Ok(())
}

/// Reads a boolean setting on `conn`, so a transaction sees the value it
/// would commit against. Unset or unreadable values take the default.
pub(crate) async fn bool_in(
    conn: &mut sqlx::PgConnection,
    key: impl Into<Key>,
) -> Result<bool, sqlx::Error> {
    let key = key.into();
    let stored: Option<String> = sqlx::query_scalar("SELECT value FROM settings WHERE key = $1")
        .bind(key.name())
        .fetch_optional(&mut *conn)
        .await?;
    Ok(stored
        .as_deref()
        .and_then(parse_bool)
        .or_else(|| key.default_value().and_then(parse_bool))
        .unwrap_or(false))
}

fn is_secret(ty: SettingType) -> bool {
    matches!(ty, SettingType::Secret | SettingType::WebhookUrl)
}

/// The known key closest to a mistyped one, for "did you mean".
fn closest_key(name: &str, switches: &DeclaredSwitches) -> Option<String> {
    let name = name.trim().to_ascii_uppercase();
    SettingKey::ALL
        .iter()
        .map(|key| key.name())
        .chain(switches.iter().map(|switch| switch.key.name()))
        .map(|key| (crate::text::edit_distance(&name, key), key))
        .filter(|(distance, _)| *distance <= 4)
        .min()
        .map(|(_, key)| key.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_upper_case() {
        let mut names: Vec<_> = SettingKey::ALL.iter().map(|k| k.name()).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), SettingKey::ALL.len());
        assert!(names
            .iter()
            .all(|n| n.chars().all(|c| c.is_ascii_uppercase() || c == '_')));
    }

    #[test]
    fn unknown_keys_suggest_the_closest() {
        let none = DeclaredSwitches::default();
        let err = Settings::lookup("DISCORD_WEBHOOK_ENABLED", &none).unwrap_err();
        assert!(
            err.to_string().contains("DISCORD_WEBHOOKS_ENABLED"),
            "{err}"
        );
        assert_eq!(
            Settings::lookup("discord_bot_enabled", &none).unwrap(),
            Key::Fixed(SettingKey::DiscordBotEnabled)
        );
    }

    #[test]
    fn the_home_server_is_not_a_setting() {
        let err = Settings::lookup("discord_guild_id", &DeclaredSwitches::default()).unwrap_err();
        assert!(
            matches!(
                err,
                SettingsError::NotASetting {
                    key: "DISCORD_GUILD_ID",
                    ..
                }
            ),
            "{err}"
        );
        assert!(err.to_string().contains("Secrets.toml"), "{err}");
    }
}
