//! Bootstrap configuration: environment variables and a flat `Secrets.toml`
//! (the format Shuttle uses). The environment wins over the file.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::{PublicBaseUrl, Secret};

pub use super::known_keys::KNOWN_KEYS;

pub(crate) const DEFAULT_ANTHROPIC_BASE_URL: &str = "https://api.anthropic.com";
pub(crate) const DEFAULT_DATA_DIR: &str = ".flipfix/pg";
pub(crate) const DEFAULT_WORKFLOWS_DIR: &str = "workflows";
pub(crate) const DEFAULT_PROMPTS_DIR: &str = "prompts";
pub(crate) const DEFAULT_PAGES_DIR: &str = "pages";
/// Loopback: a newcomer can open the pages at once, nothing is exposed.
pub(crate) const DEFAULT_HTTP_BIND: std::net::SocketAddr =
    std::net::SocketAddr::new(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 8080);

/// The address the record pages are served on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HttpBind(pub std::net::SocketAddr);

impl Default for HttpBind {
    fn default() -> Self {
        Self(DEFAULT_HTTP_BIND)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SecretsError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("{path}: key {key} must be a string, number or boolean")]
    NotAScalar { path: PathBuf, key: String },
    #[error(transparent)]
    BadPublicUrl(#[from] super::public_url::BadPublicUrl),
    #[error("{key} must be {expected}, got {value:?}")]
    BadAddress {
        key: &'static str,
        expected: &'static str,
        value: String,
    },
    #[error("{key} must be a Discord id (digits only), got {len} characters that are not")]
    BadSnowflake { key: &'static str, len: usize },
    #[error("{key} must be {expected}, got {value:?}")]
    BadValue {
        key: &'static str,
        expected: &'static str,
        value: String,
    },
}

/// The shortest `SESSION_SECRET` accepted: 32 bytes, the strength of the
/// HMAC-SHA256 that signs the cookies; a short secret can be guessed
/// offline from a single cookie.
pub(crate) const MIN_SESSION_SECRET_BYTES: usize = 32;

/// `SESSION_SECRET` is shorter than 32 bytes (the value is never quoted).
#[derive(Debug, thiserror::Error)]
#[error("SESSION_SECRET is {len} bytes long; it must be at least 32 bytes (a long random string, e.g. `openssl rand -base64 48`), or unset for a generated key")]
pub struct ShortSessionSecret {
    pub len: usize,
}

/// The default and longest membership re-check interval: an hour.
pub(crate) const DEFAULT_MEMBERSHIP_RECHECK: chrono::Duration = chrono::Duration::minutes(60);

/// The bootstrap configuration. Secret values are wrapped in [`Secret`] so
/// they never reach a log line.
#[derive(Debug, Clone, Default)]
pub struct Secrets {
    pub discord_token: Option<Secret>,
    pub database_url: Option<Secret>,
    pub discord_guild_id: Option<u64>,
    pub anthropic_api_key: Option<Secret>,
    pub anthropic_base_url: String,
    /// The key for a workflow with `provider: openai_compatible`.
    pub openai_api_key: Option<Secret>,
    pub discord_proxy_url: Option<String>,
    pub public_base_url: Option<PublicBaseUrl>,
    /// Where the record pages are served.
    pub http_bind: HttpBind,
    /// Sign-in with Discord: the OAuth2 client id (unset = the application id).
    pub discord_client_id: Option<u64>,
    pub discord_client_secret: Option<Secret>,
    /// Signs session cookies; unset = a key kept in the database.
    pub session_secret: Option<Secret>,
    /// How often a signed-in member's membership is checked again; `None`
    /// = [`DEFAULT_MEMBERSHIP_RECHECK`].
    pub membership_recheck: Option<chrono::Duration>,
    /// `/metrics` asks for this bearer token; unset = `/metrics` is 404.
    pub metrics_token: Option<Secret>,
    /// Reverse proxies whose `X-Forwarded-For` names the client (for the
    /// sign-in rate limit); empty = the connection's address is the client.
    pub http_trusted_proxies: Vec<std::net::IpAddr>,
    pub allow_loopback_urls: bool,
    pub data_dir: PathBuf,
    pub workflows_dir: PathBuf,
    pub prompts_dir: PathBuf,
    /// The record pages' templates (HTML).
    pub pages_dir: PathBuf,
    pub log_filter: Option<String>,
    /// `LOG_FORMAT`: `json` or text (unset).
    pub log_format: Option<String>,
    /// Keys in `Secrets.toml` that the bot does not know (likely typos).
    pub unknown_keys: Vec<String>,
    /// Where photo copies go when not in Postgres.
    pub media_s3: Option<MediaS3>,
}

/// An S3-compatible bucket for photo copies (`MEDIA_S3_*`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaS3 {
    /// `s3://bucket` or `s3://bucket/prefix`.
    pub url: String,
    pub endpoint: Option<String>,
    pub region: Option<String>,
    pub access_key_id: Option<Secret>,
    pub secret_access_key: Option<Secret>,
}

impl Secrets {
    /// Reads `file` (if it exists) and the process environment.
    pub fn load(file: &Path) -> Result<Self, SecretsError> {
        Self::load_with(file, |key| std::env::var(key).ok())
    }

    /// Like [`Secrets::load`] with an injectable environment, for tests.
    pub fn load_with(
        file: &Path,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, SecretsError> {
        let mut values = read_secrets_file(file)?;
        let unknown_keys = values
            .keys()
            .filter(|key| !KNOWN_KEYS.iter().any(|(known, _)| known == key))
            .cloned()
            .collect();
        for (key, _) in KNOWN_KEYS {
            if let Some(value) = env(key) {
                values.insert((*key).to_string(), value);
            }
        }
        // An empty value means "unset", as in most PaaS dashboards.
        values.retain(|_, value| !value.trim().is_empty());
        let take = |key: &str| values.get(key).map(|v| v.trim().to_string());

        let discord_guild_id = match take("DISCORD_GUILD_ID") {
            None => None,
            Some(raw) => Some(raw.parse::<u64>().map_err(|_| SecretsError::BadSnowflake {
                key: "DISCORD_GUILD_ID",
                len: raw.len(),
            })?),
        };
        let discord_client_id = match take("DISCORD_CLIENT_ID") {
            None => None,
            Some(raw) => Some(raw.parse::<u64>().map_err(|_| SecretsError::BadSnowflake {
                key: "DISCORD_CLIENT_ID",
                len: raw.len(),
            })?),
        };
        let membership_recheck = match take("FLIPFIX_MEMBERSHIP_RECHECK_MINUTES") {
            None => None,
            Some(raw) => match raw.parse::<i64>() {
                Ok(minutes @ 1..=60) => Some(chrono::Duration::minutes(minutes)),
                _ => {
                    return Err(SecretsError::BadValue {
                        key: "FLIPFIX_MEMBERSHIP_RECHECK_MINUTES",
                        expected: "a whole number of minutes from 1 to 60",
                        value: raw,
                    })
                }
            },
        };
        let http_trusted_proxies = match take("HTTP_TRUSTED_PROXIES") {
            None => Vec::new(),
            Some(raw) => raw
                .split(',')
                .map(str::trim)
                .filter(|part| !part.is_empty())
                .map(|part| {
                    part.parse().map_err(|_| SecretsError::BadValue {
                        key: "HTTP_TRUSTED_PROXIES",
                        expected: "comma-separated IP addresses such as 127.0.0.1,::1",
                        value: part.to_string(),
                    })
                })
                .collect::<Result<_, _>>()?,
        };
        Ok(Self {
            membership_recheck,
            http_trusted_proxies,
            metrics_token: take("METRICS_TOKEN").map(Secret::new),
            discord_client_id,
            discord_client_secret: take("DISCORD_CLIENT_SECRET").map(Secret::new),
            session_secret: take("SESSION_SECRET").map(Secret::new),
            discord_token: take("DISCORD_TOKEN").map(Secret::new),
            database_url: take("DATABASE_URL").map(Secret::new),
            discord_guild_id,
            anthropic_api_key: take("ANTHROPIC_API_KEY").map(Secret::new),
            anthropic_base_url: take("ANTHROPIC_BASE_URL")
                .unwrap_or_else(|| DEFAULT_ANTHROPIC_BASE_URL.to_string()),
            openai_api_key: take("OPENAI_API_KEY").map(Secret::new),
            discord_proxy_url: take("DISCORD_PROXY_URL"),
            public_base_url: take("PUBLIC_BASE_URL")
                .map(|url| PublicBaseUrl::parse(&url))
                .transpose()?,
            http_bind: HttpBind(http_bind(take("HTTP_BIND"), take("PORT"))?),
            allow_loopback_urls: take("FLIPFIX_ALLOW_LOOPBACK_URLS")
                .is_some_and(|v| matches!(v.to_ascii_lowercase().as_str(), "1" | "true" | "yes")),
            data_dir: take("FLIPFIX_DATA_DIR")
                .unwrap_or(DEFAULT_DATA_DIR.into())
                .into(),
            workflows_dir: take("FLIPFIX_WORKFLOWS_DIR")
                .unwrap_or(DEFAULT_WORKFLOWS_DIR.into())
                .into(),
            prompts_dir: take("FLIPFIX_PROMPTS_DIR")
                .unwrap_or(DEFAULT_PROMPTS_DIR.into())
                .into(),
            pages_dir: take("FLIPFIX_PAGES_DIR")
                .unwrap_or(DEFAULT_PAGES_DIR.into())
                .into(),
            log_filter: take("RUST_LOG"),
            log_format: take("LOG_FORMAT"),
            unknown_keys,
            media_s3: take("MEDIA_S3_URL").map(|url| MediaS3 {
                url,
                endpoint: take("MEDIA_S3_ENDPOINT"),
                region: take("MEDIA_S3_REGION"),
                access_key_id: take("MEDIA_S3_ACCESS_KEY_ID").map(Secret::new),
                secret_access_key: take("MEDIA_S3_SECRET_ACCESS_KEY").map(Secret::new),
            }),
        })
    }
}

impl Secrets {
    /// Refuses a `SESSION_SECRET` shorter than 32 bytes (`run` does not
    /// start; `doctor` names it).
    pub fn check_session_secret(&self) -> Result<(), ShortSessionSecret> {
        match &self.session_secret {
            Some(secret) if secret.expose().len() < MIN_SESSION_SECRET_BYTES => {
                Err(ShortSessionSecret {
                    len: secret.expose().len(),
                })
            }
            _ => Ok(()),
        }
    }

    /// How often membership is checked again.
    pub fn membership_recheck(&self) -> chrono::Duration {
        self.membership_recheck
            .unwrap_or(DEFAULT_MEMBERSHIP_RECHECK)
    }
}

/// The address pages are served on: `HTTP_BIND`; else `0.0.0.0:$PORT` when
/// a platform sets `PORT`; else loopback, so a newcomer can open it at once
/// and nothing is exposed by accident.
fn http_bind(
    bind: Option<String>,
    port: Option<String>,
) -> Result<std::net::SocketAddr, SecretsError> {
    match (bind, port) {
        (Some(bind), _) => bind.parse().map_err(|_| SecretsError::BadAddress {
            key: "HTTP_BIND",
            expected: "an address and port such as 127.0.0.1:8080 or 0.0.0.0:80",
            value: bind,
        }),
        (None, Some(port)) => port
            .parse::<u16>()
            .map(|port| std::net::SocketAddr::from(([0, 0, 0, 0], port)))
            .map_err(|_| SecretsError::BadAddress {
                key: "PORT",
                expected: "a port number",
                value: port,
            }),
        (None, None) => Ok(DEFAULT_HTTP_BIND),
    }
}

fn read_secrets_file(path: &Path) -> Result<BTreeMap<String, String>, SecretsError> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(BTreeMap::new()),
        Err(source) => {
            return Err(SecretsError::Read {
                path: path.into(),
                source,
            })
        }
    };
    let table: toml::Table = text
        .parse()
        .map_err(|err: toml::de::Error| SecretsError::Parse {
            path: path.into(),
            // toml's message quotes the offending line; for a secrets file that
            // line may hold a token, so only the position and the reason go out.
            message: describe_toml_error(&text, &err),
        })?;
    table
        .into_iter()
        .map(|(key, value)| {
            let value = match value {
                toml::Value::String(s) => s,
                toml::Value::Integer(i) => i.to_string(),
                toml::Value::Boolean(b) => b.to_string(),
                toml::Value::Float(f) => f.to_string(),
                _ => {
                    return Err(SecretsError::NotAScalar {
                        path: path.into(),
                        key,
                    })
                }
            };
            Ok((key, value))
        })
        .collect()
}

fn describe_toml_error(text: &str, err: &toml::de::Error) -> String {
    let reason = err.message();
    match err.span() {
        Some(span) => {
            let line = text[..span.start.min(text.len())].matches('\n').count() + 1;
            format!("line {line}: {reason}")
        }
        None => reason.to_string(),
    }
}

#[cfg(test)]
mod public_url_tests {
    use super::*;

    #[test]
    fn pages_bind_to_loopback_unless_told_otherwise() {
        assert_eq!(http_bind(None, None).unwrap(), DEFAULT_HTTP_BIND);
        assert_eq!(
            http_bind(None, Some("3000".into())).unwrap().to_string(),
            "0.0.0.0:3000"
        );
        assert_eq!(
            http_bind(Some("127.0.0.1:9000".into()), Some("3000".into()))
                .unwrap()
                .to_string(),
            "127.0.0.1:9000",
            "HTTP_BIND wins"
        );
        let err = http_bind(Some("localhost".into()), None).unwrap_err();
        assert!(err.to_string().starts_with("HTTP_BIND must be"), "{err}");
    }
}

#[cfg(test)]
#[path = "secrets_tests.rs"]
mod tests;
