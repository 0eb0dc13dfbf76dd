//! Reading attachments from Discord's CDN, and only from there: the URL
//! comes from an interaction payload, and the bot must never be made to
//! fetch another host (no redirects either). Reading stops at a size cap.
//!
//! A signed CDN URL (`?ex=…&is=…&hm=…`) is a capability: whoever has it can
//! read the file until it expires. It is never logged or stored in an error:
//! errors name the attachment id and host only ([`AttachmentRef`]).

use std::time::Duration;

/// Why an attachment could not be read; Display is for the person.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CdnError {
    #[error("the attachment URL is not valid")]
    BadUrl,
    #[error("attachments are only read from Discord's CDN")]
    NotCdn,
    #[error("the file is larger than {limit_mb} MB")]
    TooLarge { limit_mb: usize },
    #[error("Discord answered {0}")]
    Status(u16),
    #[error("download failed ({0})")]
    Transport(String),
}

/// What may be said about an attachment URL: its host and the attachment
/// id from its path (`/attachments/<channel>/<attachment>/<name>`), never
/// the signed query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct AttachmentRef {
    pub host: String,
    pub id: Option<String>,
}

impl AttachmentRef {
    pub fn of(url: &str) -> Self {
        let parsed = url::Url::parse(url).ok();
        let host = parsed
            .as_ref()
            .and_then(|u| u.host_str())
            .unwrap_or("an unknown host")
            .to_string();
        let id = parsed.as_ref().and_then(|u| {
            let mut segments = u.path_segments()?;
            (segments.next()? == "attachments").then_some(())?;
            segments.next()?;
            let id = segments.next()?;
            id.bytes()
                .all(|b| b.is_ascii_digit())
                .then(|| id.to_string())
        });
        Self { host, id }
    }
}

impl std::fmt::Display for AttachmentRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.id {
            Some(id) => write!(f, "attachment {id} on {}", self.host),
            None => write!(f, "an attachment on {}", self.host),
        }
    }
}

/// A transport error without its URL (reqwest's Display carries the whole
/// signed URL), with the causes that say what went wrong.
fn transport(err: reqwest::Error) -> CdnError {
    let err = err.without_url();
    let mut message = err.to_string();
    let mut source = std::error::Error::source(&err);
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    CdnError::Transport(message)
}

/// Whether `url` is on Discord's CDN (or, in tests, on the loopback).
pub(crate) fn check_url(url: &str, allow_loopback: bool) -> Result<url::Url, CdnError> {
    let parsed = url::Url::parse(url).map_err(|_| CdnError::BadUrl)?;
    let host = parsed.host_str().unwrap_or_default();
    let on_cdn =
        parsed.scheme() == "https" && matches!(host, "cdn.discordapp.com" | "media.discordapp.net");
    let loopback = allow_loopback && matches!(host, "127.0.0.1" | "localhost");
    if on_cdn || loopback {
        Ok(parsed)
    } else {
        Err(CdnError::NotCdn)
    }
}

/// Downloads `url` from the CDN, refusing before the download when the
/// `declared` size (from the payload) is over `max_bytes`, and stopping as
/// soon as more than `max_bytes` arrive (the declaration may lie).
pub async fn download(
    url: &str,
    declared: Option<u64>,
    max_bytes: usize,
    allow_loopback: bool,
) -> Result<Vec<u8>, CdnError> {
    download_within(
        url,
        declared,
        max_bytes,
        allow_loopback,
        Duration::from_secs(15),
    )
    .await
}

/// [`download`] giving up after `timeout` in all (for downloads someone
/// is waiting on).
pub(crate) async fn download_within(
    url: &str,
    declared: Option<u64>,
    max_bytes: usize,
    allow_loopback: bool,
    timeout: Duration,
) -> Result<Vec<u8>, CdnError> {
    let parsed = check_url(url, allow_loopback)?;
    let too_large = CdnError::TooLarge {
        limit_mb: max_bytes.div_ceil(1024 * 1024),
    };
    if declared.is_some_and(|size| size > max_bytes as u64) {
        return Err(too_large);
    }
    let client = reqwest::Client::builder()
        .timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(transport)?;
    let mut response = client.get(parsed).send().await.map_err(transport)?;
    if !response.status().is_success() {
        return Err(CdnError::Status(response.status().as_u16()));
    }
    if response
        .content_length()
        .is_some_and(|length| length > max_bytes as u64)
    {
        return Err(too_large);
    }
    let mut bytes = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(transport)? {
        if bytes.len() + chunk.len() > max_bytes {
            return Err(too_large);
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_cdn_is_read() {
        assert!(check_url("https://cdn.discordapp.com/attachments/1/2/a.json", false).is_ok());
        assert!(check_url("https://media.discordapp.net/attachments/1/2/a.png", false).is_ok());
        assert_eq!(
            check_url("http://cdn.discordapp.com/attachments/1/2/a.json", false),
            Err(CdnError::NotCdn),
            "plain http"
        );
        assert_eq!(
            check_url("https://evil.example/a.json", false),
            Err(CdnError::NotCdn)
        );
        assert_eq!(
            check_url("http://127.0.0.1:9/a.json", false),
            Err(CdnError::NotCdn),
            "loopback only when allowed"
        );
        assert!(check_url("http://127.0.0.1:9/a.json", true).is_ok());
    }

    #[test]
    fn an_attachment_is_named_by_id_and_host_only() {
        let url = "https://media.discordapp.net/attachments/111/222/a.png?ex=1&is=2&hm=secret";
        assert_eq!(
            AttachmentRef::of(url).to_string(),
            "attachment 222 on media.discordapp.net"
        );
        assert_eq!(
            AttachmentRef::of("https://cdn.discordapp.com/other?hm=secret").to_string(),
            "an attachment on cdn.discordapp.com"
        );
        assert_eq!(
            AttachmentRef::of("not a url").to_string(),
            "an attachment on an unknown host"
        );
    }
}
