//! The Discord side of sign-in: the authorize URL, the code exchange, the
//! user behind a token, and the membership check with the bot's own token.
//! Plain REST over reqwest; the base URL follows `DISCORD_PROXY_URL`, so the
//! tests' fake Discord answers.

use std::sync::OnceLock;
use std::time::Duration;

use serde::Deserialize;

use crate::app::DiscordConfig;
use crate::config::{Secret, Secrets};

const DISCORD: &str = "https://discord.com";

#[derive(Debug, thiserror::Error)]
pub enum DiscordAuthError {
    #[error("sign-in is not set up: {0}")]
    NotConfigured(&'static str),
    #[error("Discord could not be reached: {0}")]
    Unreachable(String),
    #[error("Discord answered {status} to {what}")]
    Refused { what: &'static str, status: u16 },
    #[error("Discord's answer to {0} was not understood")]
    Garbled(&'static str),
}

/// Where a sign-in goes, built from the bootstrap configuration.
#[derive(Debug, Clone)]
pub struct DiscordAuth {
    /// The REST API base (`…/api/v10`).
    api: String,
    /// The page people approve the sign-in on.
    authorize: String,
    client_secret: Secret,
    explicit_client_id: Option<u64>,
    bot_token: Secret,
    guild_id: u64,
    /// `PUBLIC_BASE_URL/auth/callback`, registered in the developer portal.
    pub redirect_uri: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiscordUser {
    pub id: u64,
    pub username: String,
}

fn client() -> &'static reqwest::Client {
    static CLIENT: OnceLock<reqwest::Client> = OnceLock::new();
    CLIENT.get_or_init(|| {
        reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap_or_default()
    })
}

impl DiscordAuth {
    /// The sign-in setup, or which key is missing (the bot's token and home
    /// server are always there: `RunConfig` required them at start).
    pub fn from_secrets(
        secrets: &Secrets,
        discord: &DiscordConfig,
    ) -> Result<Self, DiscordAuthError> {
        let missing = DiscordAuthError::NotConfigured;
        let public = secrets
            .public_base_url
            .as_deref()
            .ok_or(missing("PUBLIC_BASE_URL is unset"))?;
        let client_secret = secrets
            .discord_client_secret
            .clone()
            .ok_or(missing("DISCORD_CLIENT_SECRET is unset"))?;
        let base = secrets
            .discord_proxy_url
            .as_deref()
            .unwrap_or(DISCORD)
            .trim_end_matches('/');
        // A REST proxy (twilight-http-proxy) forwards the API only; the page
        // a person approves on stays Discord's, except in dev/test setups
        // where the "proxy" is a local fake Discord.
        let authorize_base = if secrets.allow_loopback_urls {
            base
        } else {
            DISCORD
        };
        Ok(Self {
            api: format!("{base}/api/v10"),
            authorize: format!("{authorize_base}/oauth2/authorize"),
            client_secret,
            explicit_client_id: secrets.discord_client_id,
            bot_token: discord.token.clone(),
            guild_id: discord.home,
            redirect_uri: format!("{public}/auth/callback"),
        })
    }

    /// `DISCORD_CLIENT_ID`, or the bot's application id, asked once and
    /// kept in `cache` (callers pass one cache per process; concurrent
    /// first callers wait for the one request).
    pub async fn client_id(
        &self,
        cache: &tokio::sync::OnceCell<u64>,
    ) -> Result<u64, DiscordAuthError> {
        if let Some(id) = self.explicit_client_id {
            return Ok(id);
        }
        cache
            .get_or_try_init(|| self.application_id())
            .await
            .copied()
    }

    /// The bot's application id (one request).
    async fn application_id(&self) -> Result<u64, DiscordAuthError> {
        #[derive(Deserialize)]
        struct Application {
            id: String,
        }
        let app: Application = self
            .get_json(
                "the application lookup",
                "oauth2/applications/@me",
                &format!("Bot {}", self.bot_token.expose()),
            )
            .await?
            .ok_or(DiscordAuthError::Garbled("the application lookup"))?;
        app.id
            .parse()
            .map_err(|_| DiscordAuthError::Garbled("the application lookup"))
    }

    /// The URL that asks Discord to sign the person in (scope `identify`).
    pub fn authorize_url(&self, client_id: u64, state: &str) -> String {
        let query = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("response_type", "code")
            .append_pair("client_id", &client_id.to_string())
            .append_pair("scope", "identify")
            .append_pair("state", state)
            .append_pair("redirect_uri", &self.redirect_uri)
            .append_pair("prompt", "none")
            .finish();
        format!("{}?{query}", self.authorize)
    }

    /// Exchanges the callback's `code` for the person's access token.
    pub async fn exchange_code(
        &self,
        client_id: u64,
        code: &str,
    ) -> Result<Secret, DiscordAuthError> {
        #[derive(Deserialize)]
        struct Token {
            access_token: String,
        }
        let response = client()
            .post(format!("{}/oauth2/token", self.api))
            .basic_auth(client_id, Some(self.client_secret.expose()))
            .form(&[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", &self.redirect_uri),
            ])
            .send()
            .await
            .map_err(|err| DiscordAuthError::Unreachable(err.without_url().to_string()))?;
        let status = response.status();
        if !status.is_success() {
            return Err(DiscordAuthError::Refused {
                what: "the code exchange",
                status: status.as_u16(),
            });
        }
        let token: Token = response
            .json()
            .await
            .map_err(|_| DiscordAuthError::Garbled("the code exchange"))?;
        Ok(Secret::new(token.access_token))
    }

    /// The user who owns `access_token`.
    pub async fn user(&self, access_token: &Secret) -> Result<DiscordUser, DiscordAuthError> {
        #[derive(Deserialize)]
        struct User {
            id: String,
            username: String,
            global_name: Option<String>,
        }
        let user: User = self
            .get_json(
                "the user lookup",
                "users/@me",
                &format!("Bearer {}", access_token.expose()),
            )
            .await?
            .ok_or(DiscordAuthError::Garbled("the user lookup"))?;
        Ok(DiscordUser {
            id: user
                .id
                .parse()
                .map_err(|_| DiscordAuthError::Garbled("the user lookup"))?,
            username: user.global_name.unwrap_or(user.username),
        })
    }

    /// Whether `user_id` is a member of the home server, asked with the
    /// bot's own token (the person granted only `identify`).
    pub async fn is_member(&self, user_id: u64) -> Result<bool, DiscordAuthError> {
        let found: Option<serde_json::Value> = self
            .get_json(
                "the membership check",
                &format!("guilds/{}/members/{user_id}", self.guild_id),
                &format!("Bot {}", self.bot_token.expose()),
            )
            .await?;
        Ok(found.is_some())
    }

    /// GET `path` under the API; `None` for 404.
    async fn get_json<T: serde::de::DeserializeOwned>(
        &self,
        what: &'static str,
        path: &str,
        authorization: &str,
    ) -> Result<Option<T>, DiscordAuthError> {
        let response = client()
            .get(format!("{}/{path}", self.api))
            .header(reqwest::header::AUTHORIZATION, authorization)
            .send()
            .await
            .map_err(|err| DiscordAuthError::Unreachable(err.without_url().to_string()))?;
        let status = response.status();
        if status == reqwest::StatusCode::NOT_FOUND {
            return Ok(None);
        }
        if !status.is_success() {
            return Err(DiscordAuthError::Refused {
                what,
                status: status.as_u16(),
            });
        }
        response
            .json()
            .await
            .map(Some)
            .map_err(|_| DiscordAuthError::Garbled(what))
    }
}
