//! Discord's rate-limit headers, parsed defensively, and per-webhook pacing.
//!
//! Discord tells clients how many requests are left in the current bucket
//! (`X-RateLimit-Remaining`) and when it refills (`X-RateLimit-Reset-After`,
//! float seconds). Waiting for the refill when nothing is left avoids 429s
//! instead of recovering from them.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use reqwest::header::HeaderMap;

/// A small margin added to Discord's reset time: clocks and rounding differ,
/// and a request a few milliseconds early costs a 429.
const RESET_MARGIN: Duration = Duration::milliseconds(25);
/// No wait Discord asks for is trusted beyond this (garbage protection).
const MAX_WAIT: Duration = Duration::minutes(15);

/// What a response's headers said about the bucket.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct RateInfo {
    pub remaining: Option<u32>,
    pub reset_after: Option<Duration>,
}

impl RateInfo {
    pub(crate) fn from_headers(headers: &HeaderMap) -> Self {
        Self {
            remaining: header_str(headers, "x-ratelimit-remaining")
                .and_then(|v| v.trim().parse::<u32>().ok()),
            reset_after: header_str(headers, "x-ratelimit-reset-after").and_then(parse_seconds),
        }
    }
}

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// Seconds as Discord writes them ("1", "0.25", "1.337"). Negative, NaN,
/// infinite or unparsable values are `None`; huge ones are capped.
pub(crate) fn parse_seconds(raw: &str) -> Option<Duration> {
    let seconds: f64 = raw.trim().parse().ok()?;
    if !seconds.is_finite() || seconds < 0.0 {
        return None;
    }
    let millis = (seconds * 1000.0).ceil();
    let capped = millis.min(MAX_WAIT.num_milliseconds() as f64);
    Some(Duration::milliseconds(capped as i64))
}

/// How long a 429 says to wait: `Retry-After` header, then
/// `X-RateLimit-Reset-After`, then the body's `retry_after`; one second when
/// none of them is usable.
pub(crate) fn retry_after_429(headers: &HeaderMap, body: &str) -> Duration {
    let from_body = || {
        serde_json::from_str::<serde_json::Value>(body)
            .ok()
            .and_then(|v| match v.get("retry_after") {
                Some(serde_json::Value::Number(n)) => n.as_f64().map(|f| f.to_string()),
                Some(serde_json::Value::String(s)) => Some(s.clone()),
                _ => None,
            })
            .and_then(|s| parse_seconds(&s))
    };
    header_str(headers, "retry-after")
        .and_then(parse_seconds)
        .or_else(|| header_str(headers, "x-ratelimit-reset-after").and_then(parse_seconds))
        .or_else(from_body)
        .unwrap_or(Duration::seconds(1))
        + RESET_MARGIN
}

/// Per-webhook buckets: when each may be used again.
#[derive(Debug, Default)]
pub(crate) struct Pacer {
    blocked_until: HashMap<u64, DateTime<Utc>>,
}

impl Pacer {
    /// When `webhook` may next be called, if not now.
    pub fn wait_until(&self, webhook: u64, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.blocked_until
            .get(&webhook)
            .copied()
            .filter(|until| *until > now)
    }

    /// Learns from a successful response's headers.
    pub(crate) fn observe(&mut self, webhook: u64, info: RateInfo, now: DateTime<Utc>) {
        match (info.remaining, info.reset_after) {
            (Some(0), Some(reset)) => {
                self.blocked_until
                    .insert(webhook, now + reset + RESET_MARGIN);
            }
            _ => {
                self.blocked_until.remove(&webhook);
            }
        }
    }

    /// A 429 blocks the bucket for the wait it asked for.
    pub fn block(&mut self, webhook: u64, until: DateTime<Utc>) {
        self.blocked_until.insert(webhook, until);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::{HeaderName, HeaderValue};

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.insert(
                HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        map
    }

    #[test]
    fn seconds_parse_defensively() {
        assert_eq!(parse_seconds("1.5"), Some(Duration::milliseconds(1500)));
        assert_eq!(parse_seconds(" 2 "), Some(Duration::seconds(2)));
        assert_eq!(parse_seconds("0.0011"), Some(Duration::milliseconds(2)));
        assert_eq!(parse_seconds("-1"), None);
        assert_eq!(parse_seconds("NaN"), None);
        assert_eq!(parse_seconds("soon"), None);
        assert_eq!(parse_seconds(""), None);
        assert_eq!(parse_seconds("1e12"), Some(MAX_WAIT));
    }

    #[test]
    fn retry_after_prefers_header_then_reset_after_then_body() {
        let m = RESET_MARGIN;
        assert_eq!(
            retry_after_429(&headers(&[("retry-after", "3")]), r#"{"retry_after": 9}"#),
            Duration::seconds(3) + m
        );
        assert_eq!(
            retry_after_429(
                &headers(&[("retry-after", "junk"), ("x-ratelimit-reset-after", "0.5")]),
                ""
            ),
            Duration::milliseconds(500) + m
        );
        assert_eq!(
            retry_after_429(
                &headers(&[]),
                r#"{"message":"x","retry_after":0.75,"global":false}"#
            ),
            Duration::milliseconds(750) + m
        );
        assert_eq!(
            retry_after_429(&headers(&[]), "<html>"),
            Duration::seconds(1) + m
        );
    }

    #[test]
    fn pacer_waits_only_when_the_bucket_is_empty() {
        let now = DateTime::<Utc>::UNIX_EPOCH;
        let mut pacer = Pacer::default();
        pacer.observe(
            1,
            RateInfo {
                remaining: Some(2),
                reset_after: Some(Duration::seconds(2)),
            },
            now,
        );
        assert_eq!(pacer.wait_until(1, now), None);
        pacer.observe(
            1,
            RateInfo {
                remaining: Some(0),
                reset_after: Some(Duration::seconds(2)),
            },
            now,
        );
        assert_eq!(
            pacer.wait_until(1, now),
            Some(now + Duration::seconds(2) + RESET_MARGIN)
        );
        assert_eq!(pacer.wait_until(2, now), None, "buckets are per webhook");
        assert_eq!(pacer.wait_until(1, now + Duration::seconds(3)), None);
    }
}
