//! Signed cookies: the member's session and the short-lived sign-in state.
//! A cookie value is `base64url(json) "." base64url(HMAC-SHA256(purpose ‖ json))`;
//! the purpose keeps a state cookie from passing as a session. The signature
//! turns garbage away without a database read; the session itself lives in
//! Postgres ([`super::session_store`]), so sign-out and a lost membership end
//! it on every replica.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use hmac::{Hmac, Mac};
use serde::{de::DeserializeOwned, Deserialize, Serialize};
use sha2::Sha256;
use sqlx::PgPool;

use crate::config::Secrets;

/// The session cookie's name on a site served over https (or loopback).
/// `__Host-`: the browser takes it only with `Secure`, `Path=/` and no
/// `Domain`, so a sibling subdomain or a plain-http page cannot plant one.
pub const SESSION_COOKIE: &str = "__Host-flipfix_session";
/// The sign-in state cookie's name (lives for one sign-in), same rules.
pub const STATE_COOKIE: &str = "__Host-flipfix_signin";
/// The names on a plain-http site that is not loopback, where browsers
/// refuse `Secure` cookies and so `__Host-` ones (development only).
pub const PLAIN_SESSION_COOKIE: &str = "flipfix_session";
pub const PLAIN_STATE_COOKIE: &str = "flipfix_signin";
/// How long a session lasts at most. Membership is also checked again
/// every `FLIPFIX_MEMBERSHIP_RECHECK_MINUTES` (see `viewer`).
pub const SESSION_TTL: chrono::Duration = chrono::Duration::hours(24);
/// How long the person has to finish the Discord sign-in.
pub const STATE_TTL: chrono::Duration = chrono::Duration::minutes(10);

type HmacSha256 = Hmac<Sha256>;

/// A signed-in member, as the cookie carries it. The row named by `id` in
/// `web_sessions` must exist too (see [`super::session_store`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    /// The random session token; Postgres keeps only its SHA-256.
    pub id: String,
    pub user_id: u64,
    pub username: String,
    /// Unix seconds after which the session is void.
    pub expires_at: i64,
    /// The token a sign-out form must carry (CSRF).
    pub csrf: String,
}

/// A sign-in in progress: the `state` sent to Discord and where to go after.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignInState {
    pub state: String,
    pub next: String,
    pub expires_at: i64,
}

/// What a cookie is for; part of what is signed.
#[derive(Debug, Clone, Copy)]
pub enum Purpose {
    Session,
    SignIn,
}

impl Purpose {
    fn label(self) -> &'static [u8] {
        match self {
            Self::Session => b"flipfix session v1\0",
            Self::SignIn => b"flipfix sign-in v1\0",
        }
    }
}

/// The signing key.
#[derive(Clone)]
pub struct SessionKey(Vec<u8>);

impl std::fmt::Debug for SessionKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionKey(••••••)")
    }
}

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("cannot read or create the session key in the database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("the operating system's random source failed: {0}")]
    Random(#[from] getrandom::Error),
}

impl SessionKey {
    pub fn from_bytes(bytes: &[u8]) -> Self {
        Self(bytes.to_vec())
    }

    /// `SESSION_SECRET` when set; else the key kept in Postgres, created by
    /// whichever process needs it first (every replica then agrees).
    pub async fn load(secrets: &Secrets, pool: &PgPool) -> Result<Self, KeyError> {
        if let Some(secret) = &secrets.session_secret {
            return Ok(Self::from_bytes(secret.expose().as_bytes()));
        }
        if let Some(key) = sqlx::query_scalar::<_, Vec<u8>>("SELECT key FROM web_session_key")
            .fetch_optional(pool)
            .await?
        {
            return Ok(Self(key));
        }
        let fresh = random_bytes::<32>()?;
        sqlx::query("INSERT INTO web_session_key (key) VALUES ($1) ON CONFLICT (id) DO NOTHING")
            .bind(fresh.as_slice())
            .execute(pool)
            .await?;
        // Another process may have won the race: everyone uses the stored row.
        let key = sqlx::query_scalar::<_, Vec<u8>>("SELECT key FROM web_session_key")
            .fetch_one(pool)
            .await?;
        tracing::info!("generated the session key and kept it in the database");
        Ok(Self(key))
    }

    fn mac(&self, purpose: Purpose, payload: &[u8]) -> HmacSha256 {
        // HMAC takes keys of any length.
        let mut mac = HmacSha256::new_from_slice(&self.0).expect("HMAC accepts any key length");
        mac.update(purpose.label());
        mac.update(payload);
        mac
    }

    /// The cookie value for `value`.
    pub fn sign<T: Serialize>(&self, purpose: Purpose, value: &T) -> String {
        let payload = serde_json::to_vec(value).unwrap_or_default();
        let tag = self.mac(purpose, &payload).finalize().into_bytes();
        format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(&payload),
            URL_SAFE_NO_PAD.encode(tag)
        )
    }

    /// The value of a cookie signed with this key for `purpose`, or `None`
    /// for anything altered, foreign or malformed. Checked in constant time.
    pub fn verify<T: DeserializeOwned>(&self, purpose: Purpose, cookie: &str) -> Option<T> {
        let (payload, tag) = cookie.split_once('.')?;
        let payload = URL_SAFE_NO_PAD.decode(payload).ok()?;
        let tag = URL_SAFE_NO_PAD.decode(tag).ok()?;
        self.mac(purpose, &payload).verify_slice(&tag).ok()?;
        serde_json::from_slice(&payload).ok()
    }
}

/// `N` bytes from the operating system's random source.
pub fn random_bytes<const N: usize>() -> Result<[u8; N], getrandom::Error> {
    let mut bytes = [0u8; N];
    getrandom::fill(&mut bytes)?;
    Ok(bytes)
}

/// A random token for `state` and CSRF: 32 bytes, base64url.
pub fn random_token() -> Result<String, getrandom::Error> {
    Ok(URL_SAFE_NO_PAD.encode(random_bytes::<32>()?))
}

/// Whether two tokens are equal, in time independent of where they differ.
pub fn tokens_match(a: &str, b: &str) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// The value of cookie `name` in a request's `Cookie` headers.
pub fn read_cookie<'a>(headers: &'a axum::http::HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
}

/// The cookie names and the `Secure` flag for this site.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CookiePolicy {
    pub secure: bool,
    pub session: &'static str,
    pub state: &'static str,
}

impl CookiePolicy {
    /// `Secure` and `__Host-` names when `PUBLIC_BASE_URL` is https, or
    /// http on a loopback host (browsers count loopback as a secure context
    /// and keep `Secure` cookies there: the tests and a local try-out);
    /// plain names otherwise, since a browser would drop them all.
    pub fn for_site(public_base_url: Option<&str>) -> Self {
        let secure = public_base_url
            .and_then(|url| url::Url::parse(url).ok())
            .is_some_and(|url| match url.scheme() {
                "https" => true,
                "http" => match url.host() {
                    Some(url::Host::Domain(host)) => host.eq_ignore_ascii_case("localhost"),
                    Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
                    Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
                    None => false,
                },
                _ => false,
            });
        if secure {
            Self {
                secure,
                session: SESSION_COOKIE,
                state: STATE_COOKIE,
            }
        } else {
            Self {
                secure,
                session: PLAIN_SESSION_COOKIE,
                state: PLAIN_STATE_COOKIE,
            }
        }
    }

    /// A `Set-Cookie` value for `name` under this policy.
    pub fn set(&self, name: &str, value: &str, max_age: chrono::Duration) -> String {
        set_cookie(name, value, max_age, self.secure)
    }
}

/// A `Set-Cookie` value: HttpOnly, SameSite=Lax, Path=/, no Domain (what
/// `__Host-` asks), Secure when `secure`. `max_age` zero removes the cookie.
pub fn set_cookie(name: &str, value: &str, max_age: chrono::Duration, secure: bool) -> String {
    format!(
        "{name}={value}; Path=/; Max-Age={}; HttpOnly; SameSite=Lax{}",
        max_age.num_seconds().max(0),
        if secure { "; Secure" } else { "" }
    )
}

/// The SHA-256 of a token: what Postgres keeps instead of the token.
pub fn token_hash(token: &str) -> Vec<u8> {
    use sha2::Digest;
    Sha256::digest(token.as_bytes()).to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(expires_at: i64) -> Session {
        Session {
            id: "sid".into(),
            user_id: 42,
            username: "ruth".into(),
            expires_at,
            csrf: "token".into(),
        }
    }

    #[test]
    fn a_signed_cookie_reads_back_and_any_change_voids_it() {
        let key = SessionKey::from_bytes(b"test key");
        let cookie = key.sign(Purpose::Session, &session(1));
        assert_eq!(
            key.verify::<Session>(Purpose::Session, &cookie),
            Some(session(1))
        );
        let (payload, tag) = cookie.split_once('.').unwrap();
        let forged = URL_SAFE_NO_PAD.encode(
            serde_json::to_vec(&Session {
                user_id: 1,
                ..session(1)
            })
            .unwrap(),
        );
        assert_eq!(
            key.verify::<Session>(Purpose::Session, &format!("{forged}.{tag}")),
            None
        );
        assert_eq!(key.verify::<Session>(Purpose::Session, payload), None);
        assert_eq!(
            SessionKey::from_bytes(b"other key").verify::<Session>(Purpose::Session, &cookie),
            None
        );
        assert_eq!(
            key.verify::<Session>(Purpose::SignIn, &cookie),
            None,
            "a cookie signed for one purpose is void for another"
        );
    }

    #[test]
    fn tokens_compare_whole() {
        assert!(tokens_match("abc", "abc"));
        assert!(!tokens_match("abc", "abd"));
        assert!(!tokens_match("abc", "abcd"));
        assert!(!tokens_match("", "a"));
    }

    #[test]
    fn cookies_are_http_only_lax_and_secure_under_https() {
        let cookie = set_cookie("a", "b", chrono::Duration::hours(1), true);
        assert_eq!(
            cookie,
            "a=b; Path=/; Max-Age=3600; HttpOnly; SameSite=Lax; Secure"
        );
        assert!(!set_cookie("a", "b", chrono::Duration::zero(), false).contains("Secure"));
    }

    #[test]
    fn host_prefixed_names_only_where_the_browser_keeps_secure_cookies() {
        for secure in [
            "https://flipfix.example",
            "http://127.0.0.1:8080",
            "http://localhost:8080",
            "http://[::1]:8080",
        ] {
            let policy = CookiePolicy::for_site(Some(secure));
            assert!(policy.secure, "{secure}");
            assert_eq!(policy.session, "__Host-flipfix_session");
            assert!(policy
                .set(policy.session, "v", chrono::Duration::hours(1))
                .contains("; Secure"));
        }
        for plain in [
            Some("http://flipfix.lan:8080"),
            Some("http://192.168.1.5"),
            None,
        ] {
            let policy = CookiePolicy::for_site(plain);
            assert!(!policy.secure, "{plain:?}");
            assert_eq!(policy.session, "flipfix_session");
        }
    }
}
