//! The sign-in rate limit: a token bucket per client address, in memory and
//! bounded, in front of `/login` and `/auth/callback`. A request over the
//! limit gets 429 before any handler runs, so it costs no Discord call and
//! no database write: a loop of anonymous requests cannot spend the bot
//! token's rate limit or get the host banned by Discord.
//!
//! Written by hand rather than with `governor`: that crate (and its
//! `quanta`, `nonzero_ext`, `spinning_top`, … ) is not in the tree, and its
//! keyed store grows with every address until the caller sweeps it; the
//! bounded map below is the whole need in 60 lines.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};

use super::WebState;

/// How many sign-in requests one address may make at once, and how fast
/// that allowance comes back.
#[derive(Debug, Clone, Copy)]
pub struct SignInLimit {
    /// Requests allowed in a burst (a sign-in is two: `/login` and the
    /// callback; a person retrying a few times stays well under it).
    pub burst: u32,
    /// One more request allowed every `refill`.
    pub refill: Duration,
    /// Addresses tracked at most; past it, stale buckets are swept, and a
    /// new address is refused while every tracked one is still limited.
    pub max_addresses: usize,
}

impl Default for SignInLimit {
    fn default() -> Self {
        Self {
            burst: 20,
            refill: Duration::from_secs(3),
            max_addresses: 10_000,
        }
    }
}

struct Bucket {
    tokens: f64,
    at: Instant,
}

/// Token buckets keyed by client address.
pub struct RateLimiter {
    limit: SignInLimit,
    buckets: Mutex<HashMap<IpAddr, Bucket>>,
}

impl RateLimiter {
    pub fn new(limit: SignInLimit) -> Self {
        Self {
            limit,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one request's allowance for `client`, or says how long until
    /// one comes back.
    pub fn check(&self, client: IpAddr, now: Instant) -> Result<(), Duration> {
        let burst = f64::from(self.limit.burst.max(1));
        let per_second = 1.0 / self.limit.refill.as_secs_f64().max(1e-3);
        let key = bucket_key(client);
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        if !buckets.contains_key(&key) && buckets.len() >= self.limit.max_addresses {
            // A full bucket carries no information: forget those.
            let full_after = self.limit.refill.mul_f64(burst);
            buckets.retain(|_, bucket| now.duration_since(bucket.at) < full_after);
            if buckets.len() >= self.limit.max_addresses {
                return Err(self.limit.refill);
            }
        }
        let bucket = buckets.entry(key).or_insert(Bucket {
            tokens: burst,
            at: now,
        });
        let refilled = now.duration_since(bucket.at).as_secs_f64() * per_second;
        bucket.tokens = (bucket.tokens + refilled).min(burst);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - bucket.tokens) / per_second))
        }
    }

    /// Addresses tracked now (for tests).
    pub fn tracked(&self) -> usize {
        self.buckets.lock().map(|b| b.len()).unwrap_or_default()
    }
}

/// IPv6 clients are limited per /64: one host usually holds a whole /64.
fn bucket_key(client: IpAddr) -> IpAddr {
    match client {
        IpAddr::V4(_) => client,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
    }
}

/// The client's address: the connection's peer, or, when the peer is one of
/// `trusted` proxies, the last address in `X-Forwarded-For` that is not a
/// trusted proxy (the leftmost entries are whatever the client wrote).
pub fn client_address(peer: IpAddr, headers: &HeaderMap, trusted: &[IpAddr]) -> IpAddr {
    if !trusted.contains(&peer) {
        return peer;
    }
    headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .filter_map(|part| part.trim().parse::<IpAddr>().ok())
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .find(|address| !trusted.contains(address))
        .unwrap_or(peer)
}

/// The middleware on the sign-in routes.
pub async fn limit_sign_in(
    State(state): State<WebState>,
    request: Request,
    next: Next,
) -> Response {
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(address)| address.ip())
        .unwrap_or(IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED));
    let client = client_address(
        peer,
        request.headers(),
        &state.app.secrets.http_trusted_proxies,
    );
    match state.limiter.check(client, Instant::now()) {
        Ok(()) => next.run(request).await,
        Err(wait) => {
            let seconds = wait.as_secs().max(1);
            tracing::debug!(%client, "sign-in rate limit reached");
            let mut response = (
                StatusCode::TOO_MANY_REQUESTS,
                Html(format!(
                    "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Too many sign-in attempts</title></head>\
                     <body><main><h1>Too many sign-in attempts</h1><p>Too many sign-in attempts came from your address; wait {seconds} seconds and try again.</p></main></body></html>"
                )),
            )
                .into_response();
            if let Ok(value) = HeaderValue::from_str(&seconds.to_string()) {
                response.headers_mut().insert(header::RETRY_AFTER, value);
            }
            response
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limiter(burst: u32, max_addresses: usize) -> RateLimiter {
        RateLimiter::new(SignInLimit {
            burst,
            refill: Duration::from_secs(10),
            max_addresses,
        })
    }

    #[test]
    fn a_burst_then_one_per_refill() {
        let limiter = limiter(3, 10);
        let client: IpAddr = "192.0.2.1".parse().unwrap();
        let start = Instant::now();
        for _ in 0..3 {
            assert!(limiter.check(client, start).is_ok());
        }
        let wait = limiter.check(client, start).unwrap_err();
        assert!(wait <= Duration::from_secs(10) && wait > Duration::from_secs(9));
        assert!(limiter
            .check(client, start + Duration::from_secs(10))
            .is_ok());
        assert!(limiter
            .check(client, start + Duration::from_secs(10))
            .is_err());
        let other: IpAddr = "192.0.2.2".parse().unwrap();
        assert!(limiter.check(other, start).is_ok(), "per address");
    }

    #[test]
    fn the_map_stays_bounded_and_forgets_full_buckets() {
        let limiter = limiter(2, 3);
        let start = Instant::now();
        for n in 1..=3 {
            let client: IpAddr = format!("192.0.2.{n}").parse().unwrap();
            limiter.check(client, start).unwrap();
        }
        let fourth: IpAddr = "192.0.2.4".parse().unwrap();
        assert!(limiter.check(fourth, start).is_err(), "full: refused");
        assert_eq!(limiter.tracked(), 3);
        // Once the others have refilled, they are forgotten.
        assert!(limiter
            .check(fourth, start + Duration::from_secs(20))
            .is_ok());
        assert_eq!(limiter.tracked(), 1);
    }

    #[test]
    fn ipv6_is_limited_per_64() {
        let limiter = limiter(1, 10);
        let now = Instant::now();
        assert!(limiter.check("2001:db8::1".parse().unwrap(), now).is_ok());
        assert!(limiter.check("2001:db8::2".parse().unwrap(), now).is_err());
        assert!(limiter
            .check("2001:db8:0:1::1".parse().unwrap(), now)
            .is_ok());
    }

    #[test]
    fn forwarded_for_is_read_only_from_a_trusted_proxy() {
        let proxy: IpAddr = "10.0.0.2".parse().unwrap();
        let mut headers = HeaderMap::new();
        headers.insert(
            "x-forwarded-for",
            HeaderValue::from_static("6.6.6.6, 198.51.100.7"),
        );
        assert_eq!(
            client_address(proxy, &headers, &[proxy]),
            "198.51.100.7".parse::<IpAddr>().unwrap(),
            "the address the proxy saw, not what the client wrote"
        );
        assert_eq!(client_address(proxy, &headers, &[]), proxy);
        assert_eq!(client_address(proxy, &HeaderMap::new(), &[proxy]), proxy);
    }
}
