//! A Discord webhook URL that has been checked. Only Discord's own webhook
//! endpoints are accepted, so an admin cannot point the bot at an internal
//! host; loopback URLs are allowed only when the operator opts in (tests,
//! local development).

use std::fmt;

use url::{Host, Url};

const DISCORD_HOSTS: &[&str] = &[
    "discord.com",
    "ptb.discord.com",
    "canary.discord.com",
    "discordapp.com",
    "ptb.discordapp.com",
    "canary.discordapp.com",
];

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookUrlError {
    #[error("not a URL ({0})")]
    NotAUrl(String),
    #[error("must use https")]
    NotHttps,
    #[error("host must be discord.com or discordapp.com (or their ptb./canary. variants)")]
    NotDiscord,
    #[error("must not carry a user name, password or port")]
    ExtraParts,
    #[error("path must be /api/webhooks/<id>/<token> (optionally /api/v10/webhooks/...)")]
    BadPath,
}

/// A validated webhook URL. `Display` masks the token: the URL is a
/// credential (anyone holding it can post), so it is never shown in full.
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookUrl {
    url: Url,
    webhook_id: u64,
}

impl WebhookUrl {
    /// Parses and checks `raw`. `allow_loopback` additionally accepts
    /// `http://127.0.0.1:<port>/api/webhooks/<id>/<token>` (and `localhost`).
    pub fn parse(raw: &str, allow_loopback: bool) -> Result<Self, WebhookUrlError> {
        let url =
            Url::parse(raw.trim()).map_err(|err| WebhookUrlError::NotAUrl(err.to_string()))?;
        let loopback = allow_loopback && is_loopback(&url);
        if !loopback {
            if url.scheme() != "https" {
                return Err(WebhookUrlError::NotHttps);
            }
            let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
            if !DISCORD_HOSTS.contains(&host.as_str()) {
                return Err(WebhookUrlError::NotDiscord);
            }
            if url.port().is_some() {
                return Err(WebhookUrlError::ExtraParts);
            }
        } else if url.scheme() != "http" && url.scheme() != "https" {
            return Err(WebhookUrlError::NotHttps);
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(WebhookUrlError::ExtraParts);
        }
        let webhook_id = parse_path(url.path()).ok_or(WebhookUrlError::BadPath)?;
        let mut url = url;
        url.set_query(None);
        url.set_fragment(None);
        Ok(Self { url, webhook_id })
    }

    /// The full URL, for the HTTP client only.
    pub fn expose(&self) -> &Url {
        &self.url
    }

    pub fn webhook_id(&self) -> u64 {
        self.webhook_id
    }
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        Some(Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

/// `/api/webhooks/<id>/<token>` or `/api/v<N>/webhooks/<id>/<token>`.
fn parse_path(path: &str) -> Option<u64> {
    let mut parts = path.trim_end_matches('/').split('/');
    if parts.next() != Some("") || parts.next() != Some("api") {
        return None;
    }
    let mut next = parts.next()?;
    if let Some(version) = next.strip_prefix('v') {
        if version.is_empty() || !version.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        next = parts.next()?;
    }
    if next != "webhooks" {
        return None;
    }
    let id = parts.next()?.parse::<u64>().ok()?;
    let token = parts.next()?;
    let token_ok = !token.is_empty()
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    (token_ok && parts.next().is_none()).then_some(id)
}

impl fmt::Display for WebhookUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let host = self.url.host_str().unwrap_or_default();
        write!(
            f,
            "{}://{host}/api/webhooks/{}/••••••",
            self.url.scheme(),
            self.webhook_id
        )
    }
}

impl fmt::Debug for WebhookUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "WebhookUrl({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN: &str = "AbC-123_xyz";

    #[test]
    fn accepts_discord_webhook_urls() {
        for url in [
            format!("https://discord.com/api/webhooks/123/{TOKEN}"),
            format!("https://discordapp.com/api/webhooks/123/{TOKEN}"),
            format!("https://ptb.discord.com/api/webhooks/123/{TOKEN}"),
            format!("https://canary.discord.com/api/v10/webhooks/123/{TOKEN}/"),
        ] {
            let parsed = WebhookUrl::parse(&url, false).unwrap_or_else(|e| panic!("{url}: {e}"));
            assert_eq!(parsed.webhook_id(), 123);
        }
    }

    #[test]
    fn refuses_everything_else_with_the_reason() {
        let cases = [
            (
                "http://discord.com/api/webhooks/1/t",
                WebhookUrlError::NotHttps,
            ),
            (
                "https://evil.example/api/webhooks/1/t",
                WebhookUrlError::NotDiscord,
            ),
            (
                "https://discord.com.evil.example/api/webhooks/1/t",
                WebhookUrlError::NotDiscord,
            ),
            (
                "https://169.254.169.254/api/webhooks/1/t",
                WebhookUrlError::NotDiscord,
            ),
            (
                "https://discord.com:8443/api/webhooks/1/t",
                WebhookUrlError::ExtraParts,
            ),
            (
                "https://u:p@discord.com/api/webhooks/1/t",
                WebhookUrlError::ExtraParts,
            ),
            (
                "https://discord.com/api/webhooks/abc/t",
                WebhookUrlError::BadPath,
            ),
            (
                "https://discord.com/api/webhooks/1",
                WebhookUrlError::BadPath,
            ),
            (
                "https://discord.com/api/webhooks/1/t/extra",
                WebhookUrlError::BadPath,
            ),
            ("https://discord.com/channels/1/2", WebhookUrlError::BadPath),
            (
                "http://127.0.0.1:9999/api/webhooks/1/t",
                WebhookUrlError::NotHttps,
            ),
        ];
        for (url, expected) in cases {
            assert_eq!(
                WebhookUrl::parse(url, false).unwrap_err(),
                expected,
                "{url}"
            );
        }
        assert!(matches!(
            WebhookUrl::parse("not a url", false),
            Err(WebhookUrlError::NotAUrl(_))
        ));
    }

    #[test]
    fn loopback_only_when_allowed() {
        let url = "http://127.0.0.1:9999/api/webhooks/7/tok";
        assert_eq!(WebhookUrl::parse(url, true).unwrap().webhook_id(), 7);
        assert!(WebhookUrl::parse("http://10.0.0.1/api/webhooks/7/tok", true).is_err());
    }

    #[test]
    fn display_masks_the_token() {
        let url = WebhookUrl::parse(
            &format!("https://discord.com/api/webhooks/9/{TOKEN}"),
            false,
        )
        .unwrap();
        assert!(!url.to_string().contains(TOKEN));
        assert!(!format!("{url:?}").contains(TOKEN));
        assert!(url.expose().as_str().contains(TOKEN));
    }
}
