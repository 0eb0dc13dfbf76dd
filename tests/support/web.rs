//! The web adapter served in-process on 127.0.0.1 against a fake Discord,
//! with sign-in set up, and a cookie-carrying client that plays the browser
//! (redirects followed by hand, so each hop can be checked).

use std::sync::Arc;

use axum::routing::get;
use axum::Router;
use flipfix_bot::app::App;
use flipfix_bot::config::{Secret, Secrets};
use flipfix_bot::web::rate_limit::SignInLimit;
use flipfix_bot::web::server::{serve, ServeLimits};
use flipfix_bot::web::viewer::Viewer;
use flipfix_bot::web::{router, WebState};
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
use sqlx::PgPool;

use super::fake_discord::{FakeDiscord, FakeUser, GUILD_ID};
use super::shipped_workflows;

pub const CLIENT_ID: u64 = 710_000_000_000_000_001;
pub const CLIENT_SECRET: &str = "fake-client-secret";

/// The site, its fake Discord, and the state behind it.
pub struct Site {
    pub base: String,
    pub fake: FakeDiscord,
    pub state: WebState,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for Site {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// Who the request is from, as the `Viewer` extractor sees it (a test-only
/// route, so the extractor itself is what the tests check).
async fn who(viewer: Viewer) -> String {
    format!("{viewer:?}")
}

/// What a test may change about the served site besides its secrets.
#[derive(Default)]
pub struct SiteOptions {
    /// The app's clock (default: the system's).
    pub clock: Option<Arc<dyn flipfix_bot::clock::Clock>>,
    /// The sign-in rate limit (default: production's).
    pub limit: Option<SignInLimit>,
    /// The server's bounds (default: production's).
    pub serve: Option<ServeLimits>,
}

impl Site {
    /// Serves the web router with sign-in set up; `tweak` adjusts secrets.
    pub async fn start(pool: PgPool, tweak: impl FnOnce(&mut Secrets)) -> Self {
        Self::start_with(pool, SiteOptions::default(), tweak).await
    }

    /// Like [`Site::start`], with a clock, a rate limit or server bounds.
    pub async fn start_with(
        pool: PgPool,
        options: SiteOptions,
        tweak: impl FnOnce(&mut Secrets),
    ) -> Self {
        let fake = FakeDiscord::start().await;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind site");
        let base = format!("http://{}", listener.local_addr().expect("local addr"));
        let mut secrets = Secrets {
            discord_token: Some(Secret::new("fake-bot-token")),
            discord_guild_id: Some(GUILD_ID),
            discord_proxy_url: Some(fake.base_url.clone()),
            public_base_url: Some(super::public_url(&base)),
            discord_client_id: Some(CLIENT_ID),
            discord_client_secret: Some(Secret::new(CLIENT_SECRET)),
            allow_loopback_urls: true,
            pages_dir: super::repo_root().join("pages"),
            ..Secrets::default()
        };
        tweak(&mut secrets);
        if let Some(public) = &secrets.public_base_url {
            fake.register_oauth_app(CLIENT_ID, CLIENT_SECRET, &format!("{public}/auth/callback"));
        }
        let app = match options.clock {
            Some(clock) => App::on_clock(
                pool,
                super::run_config(secrets),
                shipped_workflows(),
                Default::default(),
                clock,
            ),
            None => App::new(pool, super::run_config(secrets), shipped_workflows()),
        };
        let state = WebState::with_limit(Arc::clone(&app), options.limit.unwrap_or_default());
        let routes = router(state.clone()).merge(
            Router::new()
                .route("/_test/who", get(who))
                .with_state(state.clone()),
        );
        // Served by the production server loop (timeouts, connection limit,
        // the peer address the rate limit reads).
        let limits = options.serve.unwrap_or_default();
        let server = tokio::spawn(async move {
            let _ = serve(listener, routes, limits, std::future::pending()).await;
        });
        Self {
            base,
            fake,
            state,
            server,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

/// A browser without JavaScript: keeps cookies by name, follows nothing.
#[derive(Default)]
pub struct Browser {
    pub cookies: std::collections::BTreeMap<String, String>,
    client: reqwest::Client,
}

impl Browser {
    pub fn new() -> Self {
        Self {
            cookies: Default::default(),
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("client"),
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// Stores every `Set-Cookie` (Max-Age=0 removes) and returns the raw
    /// header values for attribute checks.
    fn absorb(&mut self, response: &reqwest::Response) -> Vec<String> {
        let raw: Vec<String> = response
            .headers()
            .get_all(SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok().map(str::to_string))
            .collect();
        for line in &raw {
            let Some((name, rest)) = line.split_once('=') else {
                continue;
            };
            let value = rest.split(';').next().unwrap_or_default().to_string();
            if line.contains("Max-Age=0") {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_string(), value);
            }
        }
        raw
    }

    pub async fn get(&mut self, url: &str) -> Page {
        let response = self
            .client
            .get(url)
            .header(COOKIE, self.cookie_header())
            .send()
            .await
            .unwrap_or_else(|err| panic!("GET {url}: {err}"));
        Page::read(self, response).await
    }

    pub async fn post_form(&mut self, url: &str, form: &[(&str, &str)]) -> Page {
        let response = self
            .client
            .post(url)
            .header(COOKIE, self.cookie_header())
            .form(form)
            .send()
            .await
            .unwrap_or_else(|err| panic!("POST {url}: {err}"));
        Page::read(self, response).await
    }

    /// Runs the whole sign-in from `/login?next=`: to Discord, approved
    /// there as `user`, back to the callback. Returns the callback's answer.
    pub async fn sign_in(&mut self, site: &Site, user: &FakeUser, next: &str) -> Page {
        site.fake.approve_as(user);
        let next: String = url::form_urlencoded::byte_serialize(next.as_bytes()).collect();
        let login = self.get(&site.url(&format!("/login?next={next}"))).await;
        assert_eq!(
            login.status, 303,
            "login redirects to Discord: {}",
            login.body
        );
        let authorize = login.location();
        assert!(
            authorize.starts_with(&site.fake.authorize_url()),
            "to the fake's authorize page: {authorize}"
        );
        let approved = self.get(&authorize).await;
        assert_eq!(approved.status, 303, "Discord approves: {}", approved.body);
        self.get(&approved.location()).await
    }
}

/// One response, read whole.
#[derive(Debug)]
pub struct Page {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub location: Option<String>,
    pub set_cookies: Vec<String>,
    pub body: String,
}

impl Page {
    async fn read(browser: &mut Browser, response: reqwest::Response) -> Self {
        let set_cookies = browser.absorb(&response);
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let location = response
            .headers()
            .get(LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let body = response.text().await.unwrap_or_default();
        Self {
            status,
            headers,
            location,
            set_cookies,
            body,
        }
    }

    /// A response header's value, or "" when absent.
    pub fn header(&self, name: &str) -> String {
        self.headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect::<Vec<_>>()
            .join(", ")
    }

    pub fn location(&self) -> String {
        self.location
            .clone()
            .unwrap_or_else(|| panic!("a redirect, got {} {}", self.status, self.body))
    }
}
