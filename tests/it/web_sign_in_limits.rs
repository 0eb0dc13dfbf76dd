//! A web visitor cannot spend the bot's Discord budget: sign-in floods from
//! one address are answered 429 by the per-address limit, the application
//! id is asked once per process, and a sign-in state works once. Every
//! Discord call is counted on the fake Discord.

use std::time::Instant;

use flipfix_bot::web::rate_limit::SignInLimit;
use flipfix_bot::web::session::STATE_COOKIE;
use sqlx::PgPool;

use crate::support::fake_discord::FakeUser;
use crate::support::web::{Browser, Site, SiteOptions};

const RUTH: u64 = 740_000_000_000_000_001;

#[sqlx::test(migrations = "./migrations")]
async fn a_sign_in_flood_gets_429_and_costs_discord_almost_nothing(pool: PgPool) {
    // DISCORD_CLIENT_ID unset: the client id is the application's, looked up.
    let site = Site::start(pool, |secrets| secrets.discord_client_id = None).await;
    let mut browser = Browser::new();
    let started = Instant::now();
    let mut statuses = std::collections::BTreeMap::<u16, u32>::new();
    let mut slowest_429 = std::time::Duration::ZERO;
    for n in 0..200 {
        let at = Instant::now();
        let page = browser.get(&site.url(&format!("/login?next=/{n}"))).await;
        if page.status == 429 {
            slowest_429 = slowest_429.max(at.elapsed());
            assert!(
                page.body
                    .contains("Too many sign-in attempts came from your address"),
                "{}",
                page.body
            );
            assert!(!page.header("retry-after").is_empty(), "429 says when");
        }
        *statuses.entry(page.status).or_default() += 1;
    }
    for n in 0..200 {
        let at = Instant::now();
        let page = browser
            .get(&site.url(&format!("/auth/callback?code=guess-{n}&state=guess-{n}")))
            .await;
        if page.status == 429 {
            slowest_429 = slowest_429.max(at.elapsed());
        }
        *statuses.entry(page.status).or_default() += 1;
    }
    let elapsed = started.elapsed();
    let limited = statuses.get(&429).copied().unwrap_or_default();
    let calls = site.fake.sign_in_calls();
    println!(
        "400 sign-in requests from one address in {elapsed:?}: {statuses:?}; \
         slowest 429 {slowest_429:?}; Discord calls: {calls:?}"
    );
    // The default burst is 20 requests; the refill (one per 3 s) adds at
    // most a few over a slow run.
    assert!(limited >= 370, "the flood is refused: {statuses:?}");
    assert!(
        calls.len() <= 1,
        "at most the one application lookup reaches Discord: {calls:?}"
    );
    assert_eq!(
        calls,
        vec!["GET /api/v10/oauth2/applications/@me".to_string()],
        "the application id is asked once, then kept"
    );
}

#[sqlx::test(migrations = "./migrations")]
async fn a_sign_in_state_works_once(pool: PgPool) {
    let site = Site::start(pool, |_| {}).await;
    site.fake.add_member(RUTH);
    site.fake.approve_as(&FakeUser::member(RUTH, "ruth"));
    let mut browser = Browser::new();
    let login = browser.get(&site.url("/login?next=/account")).await;
    let state_cookie = browser.cookies[STATE_COOKIE].clone();
    let approved = browser.get(&login.location()).await;
    let callback = approved.location();
    let done = browser.get(&callback).await;
    assert_eq!(done.status, 303, "signed in: {}", done.body);
    let after_sign_in = site.fake.sign_in_calls().len();
    assert_eq!(after_sign_in, 3, "code exchange, user, membership");

    // The same callback again, with the state cookie put back (a replayed
    // URL, or a second tab): refused in one sentence, nothing asked of Discord.
    let mut replay = Browser::new();
    replay
        .cookies
        .insert(STATE_COOKIE.to_string(), state_cookie);
    let again = replay.get(&callback).await;
    assert_eq!(again.status, 400, "{}", again.body);
    assert!(
        again
            .body
            .contains("This sign-in link was already used once and cannot be used again"),
        "{}",
        again.body
    );
    assert_eq!(
        replay
            .cookies
            .get(flipfix_bot::web::session::SESSION_COOKIE),
        None
    );
    assert_eq!(
        site.fake.sign_in_calls().len(),
        after_sign_in,
        "a reused state costs no Discord call"
    );
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM web_sign_in_states")
        .fetch_one(&site.state.app.pool)
        .await
        .expect("count states");
    assert_eq!(rows, 0, "the used state is gone");
    site.fake.assert_spec_clean();
}

/// `/login` status codes for requests that say they are from `client`.
async fn logins_from(site: &Site, client: &str, n: usize) -> Vec<u16> {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("client");
    let mut statuses = Vec::new();
    for _ in 0..n {
        let response = http
            .get(site.url("/login"))
            .header("x-forwarded-for", client)
            .send()
            .await
            .expect("login");
        statuses.push(response.status().as_u16());
    }
    statuses
}

#[sqlx::test(migrations = "./migrations")]
async fn behind_a_trusted_proxy_each_forwarded_client_has_its_own_allowance(pool: PgPool) {
    let limit = SiteOptions {
        limit: Some(SignInLimit {
            burst: 2,
            ..Default::default()
        }),
        ..Default::default()
    };
    let site = Site::start_with(pool.clone(), limit, |secrets| {
        secrets.http_trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
    })
    .await;
    assert_eq!(logins_from(&site, "198.51.100.1", 3).await, [303, 303, 429]);
    assert_eq!(
        logins_from(&site, "198.51.100.2", 2).await,
        [303, 303],
        "another visitor behind the same proxy"
    );
    // A client cannot pick its own address: the proxy appends the real
    // one, and that is the one counted.
    assert_eq!(
        logins_from(&site, "203.0.113.9, 198.51.100.1", 1).await,
        [429]
    );

    // Without trusting the proxy, the header is ignored: one allowance.
    let untrusting = SiteOptions {
        limit: Some(SignInLimit {
            burst: 2,
            ..Default::default()
        }),
        ..Default::default()
    };
    let site = Site::start_with(pool, untrusting, |_| {}).await;
    assert_eq!(logins_from(&site, "198.51.100.1", 2).await, [303, 303]);
    assert_eq!(logins_from(&site, "198.51.100.2", 1).await, [429]);
}
