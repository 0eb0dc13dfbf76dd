//! Sessions live on the server: sign-out ends them (a copied cookie is
//! worth nothing afterwards), a member removed from the home server on the
//! fake Discord loses access once the re-check interval has passed, and a
//! `SESSION_SECRET` shorter than 32 bytes is refused at start.

use std::sync::Arc;

use flipfix_bot::clock::ManualClock;
use flipfix_bot::web::session::SESSION_COOKIE;
use sqlx::PgPool;

use crate::support::fake_discord::FakeUser;
use crate::support::web::{Browser, Site, SiteOptions};

const RUTH: u64 = 750_000_000_000_000_001;

async fn who(site: &Site, browser: &mut Browser) -> String {
    browser.get(&site.url("/_test/who")).await.body
}

async fn sessions(site: &Site) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM web_sessions")
        .fetch_one(&site.state.app.pool)
        .await
        .expect("count sessions")
}

#[sqlx::test(migrations = "./migrations")]
async fn sign_out_ends_the_session_on_the_server(pool: PgPool) {
    let site = Site::start(pool, |_| {}).await;
    site.fake.add_member(RUTH);
    let mut browser = Browser::new();
    let done = browser
        .sign_in(&site, &FakeUser::member(RUTH, "ruth"), "/account")
        .await;
    assert_eq!(done.status, 303, "{}", done.body);
    assert_eq!(sessions(&site).await, 1);
    let copied = browser.cookies[SESSION_COOKIE].clone();

    let account = browser.get(&site.url("/account")).await.body;
    let token = account
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("the sign-out form")
        .to_string();
    let out = browser
        .post_form(&site.url("/logout"), &[("csrf", &token)])
        .await;
    assert_eq!(out.status, 303);
    assert_eq!(sessions(&site).await, 0, "the session row is gone");

    // Someone who kept a copy of the cookie gets nothing from it.
    let mut thief = Browser::new();
    thief.cookies.insert(SESSION_COOKIE.to_string(), copied);
    assert_eq!(who(&site, &mut thief).await, "Visitor");
    let account = thief.get(&site.url("/account")).await;
    assert_eq!(account.status, 303, "sent to sign in again");
}

#[sqlx::test(migrations = "./migrations")]
async fn a_member_removed_from_the_server_loses_access_within_the_recheck_interval(pool: PgPool) {
    let clock = ManualClock::at(crate::support::time::pinned("2026-03-02T10:00:00Z"));
    let logs = crate::support::logs::CapturedLogs::capture();
    let site = Site::start_with(
        pool,
        SiteOptions {
            clock: Some(Arc::new(clock.clone())),
            ..Default::default()
        },
        |secrets| secrets.membership_recheck = Some(chrono::Duration::minutes(5)),
    )
    .await;
    site.fake.add_member(RUTH);
    let mut browser = Browser::new();
    let done = browser
        .sign_in(&site, &FakeUser::member(RUTH, "ruth"), "/")
        .await;
    assert_eq!(done.status, 303, "{}", done.body);
    assert_eq!(site.fake.member_lookup_schemes().len(), 1, "at sign-in");

    // Removed on Discord. Within the interval the last check stands, and
    // no request asks Discord again.
    site.fake.remove_member(RUTH);
    clock.advance(chrono::Duration::minutes(4));
    assert!(who(&site, &mut browser).await.starts_with("Member"));
    assert_eq!(site.fake.member_lookup_schemes().len(), 1);

    // Past it: one re-check, with the bot's token, and the session ends.
    clock.advance(chrono::Duration::minutes(2));
    assert_eq!(who(&site, &mut browser).await, "Visitor");
    assert_eq!(
        site.fake.member_lookup_schemes(),
        vec!["Bot".to_string(), "Bot".to_string()]
    );
    assert_eq!(sessions(&site).await, 0, "the session row is deleted");
    assert!(
        logs.text()
            .contains("no longer a member of the home server"),
        "{}",
        logs.text()
    );
    // Asked again later, it stays a visitor and Discord is not asked again.
    assert_eq!(who(&site, &mut browser).await, "Visitor");
    assert_eq!(site.fake.member_lookup_schemes().len(), 2);
    site.fake.assert_spec_clean();
}

#[sqlx::test(migrations = "./migrations")]
async fn a_member_still_in_the_server_keeps_access_after_the_recheck(pool: PgPool) {
    let clock = ManualClock::at(crate::support::time::pinned("2026-03-02T10:00:00Z"));
    let site = Site::start_with(
        pool,
        SiteOptions {
            clock: Some(Arc::new(clock.clone())),
            ..Default::default()
        },
        |secrets| secrets.membership_recheck = Some(chrono::Duration::minutes(5)),
    )
    .await;
    site.fake.add_member(RUTH);
    let mut browser = Browser::new();
    browser
        .sign_in(&site, &FakeUser::member(RUTH, "ruth"), "/")
        .await;
    clock.advance(chrono::Duration::minutes(6));
    assert!(who(&site, &mut browser).await.starts_with("Member"));
    assert!(who(&site, &mut browser).await.starts_with("Member"));
    assert_eq!(
        site.fake.member_lookup_schemes().len(),
        2,
        "sign-in, then one re-check for the two requests past the interval"
    );
    // Discord failing the next re-check does not sign the member out; it
    // is tried again a minute later, not at the next interval.
    site.fake.fail_requests("GET", "/members/", 500, 1);
    clock.advance(chrono::Duration::minutes(6));
    let before = site.fake.requests().len();
    assert!(who(&site, &mut browser).await.starts_with("Member"));
    assert!(
        site.fake.requests()[before..]
            .iter()
            .any(|r| r.path.contains("/members/")),
        "the re-check was asked (and failed)"
    );
    assert_eq!(site.fake.member_lookup_schemes().len(), 2);
    clock.advance(chrono::Duration::seconds(61));
    assert!(who(&site, &mut browser).await.starts_with("Member"));
    assert_eq!(
        site.fake.member_lookup_schemes().len(),
        3,
        "retried a minute after the failure"
    );
}

#[sqlx::test(migrations = "./migrations")]
async fn a_short_session_secret_is_refused_at_start(pool: PgPool) {
    let secrets = flipfix_bot::config::Secrets {
        session_secret: Some(flipfix_bot::config::Secret::new("only-twenty-one-bytes")),
        http_bind: flipfix_bot::config::secrets::HttpBind("127.0.0.1:0".parse().unwrap()),
        ..Default::default()
    };
    let app = flipfix_bot::app::App::new(
        pool,
        crate::support::run_config(secrets),
        crate::support::shipped_workflows(),
    );
    let err = flipfix_bot::web::start(app, flipfix_bot::shutdown::Shutdown::never())
        .await
        .expect_err("refused");
    assert_eq!(
        err.to_string(),
        "SESSION_SECRET is 21 bytes long; it must be at least 32 bytes (a long random string, e.g. `openssl rand -base64 48`), or unset for a generated key"
    );
    assert!(!err.to_string().contains("only-twenty"), "never quoted");
}
