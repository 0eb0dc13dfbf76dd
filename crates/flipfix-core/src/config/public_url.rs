//! `PUBLIC_BASE_URL`, validated once at start, and the one place a record's
//! link is built: notifications, summaries, review cards, replies and the
//! pages' own links all go through [`record_path`], the path the web route
//! `/{section}/{id}/` serves.

use std::fmt;

/// An absolute http(s) URL without credentials, query or fragment, kept
/// without its trailing slash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicBaseUrl(String);

/// Why `PUBLIC_BASE_URL` was refused. Never quotes the value, which may
/// carry a password.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("PUBLIC_BASE_URL must be an absolute http(s) URL without credentials, query or fragment (e.g. https://flipfix.example.org): {reason}")]
pub struct BadPublicUrl {
    pub reason: &'static str,
}

impl PublicBaseUrl {
    pub fn parse(raw: &str) -> Result<Self, BadPublicUrl> {
        let bad = |reason| BadPublicUrl { reason };
        let url = url::Url::parse(raw).map_err(|_| bad("it is not an absolute URL"))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(bad("the scheme is not http or https"));
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err(bad("it has no host"));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(bad("it contains credentials"));
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(bad("it has a query or fragment"));
        }
        Ok(Self(raw.trim_end_matches('/').to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The page of record `id`, of a kind whose pages live under `section`
    /// (its `link_path`).
    pub fn record(&self, section: &str, id: i64) -> String {
        format!("{}{}", self.0, record_path(section, id))
    }

    /// The site `check` renders samples against.
    pub fn example() -> Self {
        Self("https://flipfix.example".into())
    }

    /// A page of this site, from a path starting with `/`.
    pub fn page(&self, path: &str) -> String {
        format!("{}{path}", self.0)
    }
}

/// The path the record pages serve record `id` of a kind at.
pub fn record_path(section: &str, id: impl fmt::Display) -> String {
    format!("/{section}/{id}/")
}

impl fmt::Display for PublicBaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::ops::Deref for PublicBaseUrl {
    type Target = str;

    fn deref(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_absolute_http_url_without_credentials_is_kept_without_its_slash() {
        assert_eq!(
            PublicBaseUrl::parse("https://flipfix.example.org/")
                .unwrap()
                .as_str(),
            "https://flipfix.example.org"
        );
        let museum = PublicBaseUrl::parse("http://127.0.0.1:8080/museum").unwrap();
        assert_eq!(
            museum.record("problems", 12),
            "http://127.0.0.1:8080/museum/problems/12/"
        );
        for (raw, reason) in [
            ("flipfix.example.org", "it is not an absolute URL"),
            (
                "ftp://flipfix.example.org",
                "the scheme is not http or https",
            ),
            (
                "https://admin:hunter2@flipfix.example.org",
                "it contains credentials",
            ),
            (
                "https://flipfix.example.org/?a=1",
                "it has a query or fragment",
            ),
        ] {
            let message = PublicBaseUrl::parse(raw).unwrap_err().to_string();
            assert!(message.starts_with("PUBLIC_BASE_URL must be"), "{message}");
            assert!(message.ends_with(reason), "{raw}: {message}");
            assert!(!message.contains("hunter2"), "never echoes the value");
        }
    }
}
