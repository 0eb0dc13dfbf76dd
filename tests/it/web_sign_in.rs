//! Sign-in with Discord on the record pages, end to end over HTTP against
//! the fake Discord: the code flow, membership checked with the bot's token,
//! the signed session cookie read by the `Viewer` extractor, sign-out with
//! CSRF, and every way a sign-in or a cookie can be wrong.

use flipfix_bot::config::Secret;
use flipfix_bot::web::session::{Purpose, Session, SessionKey, SESSION_COOKIE, STATE_COOKIE};
use flipfix_bot::web::session_store;
use sqlx::PgPool;

use crate::support::fake_discord::FakeUser;
use crate::support::web::{Browser, Site, CLIENT_SECRET};

const RUTH: u64 = 720_000_000_000_000_001;
const STRANGER: u64 = 720_000_000_000_000_002;

fn ruth() -> FakeUser {
    FakeUser::member(RUTH, "ruth")
}

/// Signs `user` in as a member, ending on `next`.
async fn signed_in(site: &Site, next: &str) -> Browser {
    site.fake.add_member(RUTH);
    let mut browser = Browser::new();
    let done = browser.sign_in(site, &ruth(), next).await;
    assert_eq!(done.status, 303, "signed in: {}", done.body);
    browser
}

async fn who(site: &Site, browser: &mut Browser) -> String {
    browser.get(&site.url("/_test/who")).await.body
}

#[sqlx::test(migrations = "./migrations")]
async fn a_visitor_signs_in_with_discord_and_then_sees_the_members_page(pool: PgPool) {
    let logs = crate::support::logs::CapturedLogs::capture();
    let site = Site::start(pool, |_| {}).await;
    site.fake.add_member(RUTH);
    let mut browser = Browser::new();

    let visit = browser.get(&site.url("/account")).await;
    assert_eq!(visit.status, 303);
    assert_eq!(visit.location(), "/login?next=%2Faccount");
    assert_eq!(who(&site, &mut browser).await, "Visitor");

    let done = browser.sign_in(&site, &ruth(), "/account").await;
    assert_eq!(done.status, 303, "{}", done.body);
    assert_eq!(
        done.location(),
        "/account",
        "back where the visitor was going"
    );
    let session = done
        .set_cookies
        .iter()
        .find(|c| c.starts_with(&format!("{SESSION_COOKIE}=")))
        .expect("a session cookie");
    for attribute in [
        "HttpOnly",
        "SameSite=Lax",
        "Path=/;",
        "Max-Age=86400",
        "; Secure",
    ] {
        assert!(session.contains(attribute), "{attribute} in {session}");
    }
    // `__Host-`: Secure, Path=/ and no Domain (a loopback site counts as
    // secure to browsers, so the tests get the production names).
    assert!(session.starts_with("__Host-flipfix_session="), "{session}");
    assert!(!session.contains("Domain"), "{session}");
    assert!(
        !browser.cookies.contains_key(STATE_COOKIE),
        "the sign-in state is cleared"
    );

    let account = browser.get(&site.url("/account")).await;
    assert_eq!(account.status, 200);
    assert!(account
        .body
        .contains("Signed in with Discord as <strong>ruth</strong>"));
    assert_eq!(
        who(&site, &mut browser).await,
        format!("Member {{ user_id: {RUTH}, username: \"ruth\" }}")
    );
    assert_eq!(
        site.fake.member_lookup_schemes(),
        vec!["Bot".to_string()],
        "membership is asked with the bot's token, once"
    );
    site.fake.assert_spec_clean();
    assert!(logs.text().contains("member signed in"));
    let cookie = browser.cookies[SESSION_COOKIE].clone();
    logs.assert_never_logged(&[CLIENT_SECRET, "fake-bot-token", "access-", &cookie]);
}

#[sqlx::test(migrations = "./migrations")]
async fn discord_failing_mid_sign_in_is_told_and_a_retry_works(pool: PgPool) {
    let site = Site::start(pool, |_| {}).await;
    site.fake.add_member(RUTH);
    site.fake.fail_requests("GET", "/members/", 500, 1);
    let mut browser = Browser::new();
    let failed = browser.sign_in(&site, &ruth(), "/account").await;
    assert_eq!(failed.status, 502);
    assert!(
        failed.body.contains("Discord did not confirm the sign-in"),
        "{}",
        failed.body
    );
    assert!(!browser.cookies.contains_key(SESSION_COOKIE));
    assert!(
        !browser.cookies.contains_key(STATE_COOKIE),
        "a retry starts afresh"
    );

    let retried = browser.sign_in(&site, &ruth(), "/account").await;
    assert_eq!(retried.status, 303, "{}", retried.body);
    assert_eq!(
        who(&site, &mut browser).await.split(' ').next(),
        Some("Member")
    );
}

#[sqlx::test(migrations = "./migrations")]
async fn a_callback_whose_state_does_not_match_is_refused(pool: PgPool) {
    let site = Site::start(pool, |_| {}).await;
    site.fake.add_member(RUTH);
    site.fake.approve_as(&ruth());

    let mut browser = Browser::new();
    let login = browser.get(&site.url("/login?next=/account")).await;
    let approved = browser.get(&login.location()).await;
    let callback = approved.location();
    let url = url::Url::parse(&callback).expect("callback url");
    let code = url
        .query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
        .expect("code");

    let forged = browser
        .get(&site.url(&format!("/auth/callback?code={code}&state=forged")))
        .await;
    assert_eq!(forged.status, 400);
    assert!(
        forged.body.contains("started in another browser"),
        "{}",
        forged.body
    );
    assert!(!browser.cookies.contains_key(SESSION_COOKIE));

    // The right state in a browser that did not start the sign-in (a login
    // CSRF: someone else's callback link) is refused too.
    let mut other = Browser::new();
    let foreign = other.get(&callback).await;
    assert_eq!(foreign.status, 400);
    assert!(!other.cookies.contains_key(SESSION_COOKIE));
    assert_eq!(who(&site, &mut other).await, "Visitor");
}

#[sqlx::test(migrations = "./migrations")]
async fn someone_outside_the_server_is_told_and_gets_no_session(pool: PgPool) {
    let site = Site::start(pool, |_| {}).await;
    let mut browser = Browser::new();
    let done = browser
        .sign_in(&site, &FakeUser::member(STRANGER, "stranger"), "/account")
        .await;
    assert_eq!(done.status, 403);
    assert!(
        done.body
            .contains("not a member of this team's Discord server"),
        "{}",
        done.body
    );
    assert!(!browser.cookies.contains_key(SESSION_COOKIE));
    assert_eq!(who(&site, &mut browser).await, "Visitor");
    site.fake.assert_spec_clean();
}

#[sqlx::test(migrations = "./migrations")]
async fn next_pointing_off_the_site_lands_on_the_home_page(pool: PgPool) {
    let site = Site::start(pool, |_| {}).await;
    site.fake.add_member(RUTH);
    for next in [
        "https://evil.example/",
        "//evil.example/path",
        "/\\evil.example",
        "javascript:alert(1)",
    ] {
        let mut browser = Browser::new();
        let done = browser.sign_in(&site, &ruth(), next).await;
        assert_eq!(done.status, 303, "{next}: {}", done.body);
        assert_eq!(done.location(), "/", "{next}");
    }
}

#[sqlx::test(migrations = "./migrations")]
async fn a_tampered_session_cookie_is_a_visitor(pool: PgPool) {
    let site = Site::start(pool, |_| {}).await;
    let mut browser = signed_in(&site, "/").await;
    let genuine = browser.cookies[SESSION_COOKIE].clone();
    let (payload, tag) = genuine.split_once('.').expect("payload.tag");

    use base64::Engine;
    let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let mut session: serde_json::Value =
        serde_json::from_slice(&engine.decode(payload).expect("base64")).expect("json");
    session["user_id"] = serde_json::json!(1);
    let forged = format!(
        "{}.{tag}",
        engine.encode(serde_json::to_vec(&session).expect("json"))
    );
    for bad in [forged.as_str(), payload, "garbage", ""] {
        browser
            .cookies
            .insert(SESSION_COOKIE.to_string(), bad.to_string());
        assert_eq!(who(&site, &mut browser).await, "Visitor", "{bad}");
        let account = browser.get(&site.url("/account")).await;
        assert_eq!(account.status, 303, "sent to sign in");
    }
    browser.cookies.insert(SESSION_COOKIE.to_string(), genuine);
    assert!(who(&site, &mut browser).await.starts_with("Member"));
}

#[sqlx::test(migrations = "./migrations")]
async fn sign_out_needs_the_form_token_and_get_does_nothing(pool: PgPool) {
    let site = Site::start(pool, |_| {}).await;
    let mut browser = signed_in(&site, "/").await;

    let get = browser.get(&site.url("/logout")).await;
    assert_eq!(get.status, 405, "GET does not sign out");
    for form in [vec![], vec![("csrf", "not-the-token")]] {
        let refused = browser.post_form(&site.url("/logout"), &form).await;
        assert_eq!(refused.status, 403, "{form:?}");
        assert!(refused.body.contains("you are still signed in"));
    }
    assert!(who(&site, &mut browser).await.starts_with("Member"));

    let account = browser.get(&site.url("/account")).await.body;
    let token = account
        .split("name=\"csrf\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("the sign-out form carries the token")
        .to_string();
    let out = browser
        .post_form(&site.url("/logout"), &[("csrf", &token)])
        .await;
    assert_eq!(out.status, 303);
    assert_eq!(out.location(), "/");
    assert!(out
        .set_cookies
        .iter()
        .any(|c| c.starts_with(&format!("{SESSION_COOKIE}=;")) && c.contains("Max-Age=0")));
    assert_eq!(who(&site, &mut browser).await, "Visitor");
}

#[sqlx::test(migrations = "./migrations")]
async fn an_expired_or_unknown_session_is_a_visitor(pool: PgPool) {
    const SECRET: &str = "a test session secret of at least 32 bytes";
    let site = Site::start(pool.clone(), |secrets| {
        secrets.session_secret = Some(Secret::new(SECRET));
    })
    .await;
    let key = SessionKey::from_bytes(SECRET.as_bytes());
    let now = crate::support::time::real_now();
    let mut browser = Browser::new();
    // A genuinely signed cookie whose session the server does not know
    // (signed out, or never made) is a visitor; so is an expired one.
    for (id, expires_in, stored, expected) in [
        ("stored-expired", -1, true, "Visitor"),
        ("never-stored", 3600, false, "Visitor"),
        ("stored", 3600, true, "Member"),
    ] {
        let expires_at = now + chrono::Duration::seconds(expires_in);
        if stored {
            session_store::create(&pool, id, RUTH, "ruth", expires_at, now)
                .await
                .expect("store the session");
        }
        let cookie = key.sign(
            Purpose::Session,
            &Session {
                id: id.into(),
                user_id: RUTH,
                username: "ruth".into(),
                expires_at: expires_at.timestamp(),
                csrf: "t".into(),
            },
        );
        browser.cookies.insert(SESSION_COOKIE.to_string(), cookie);
        assert!(
            who(&site, &mut browser).await.starts_with(expected),
            "{id}: {expected}"
        );
    }
}

#[sqlx::test(migrations = "./migrations")]
async fn without_session_secret_one_key_is_generated_and_shared(pool: PgPool) {
    let secrets = flipfix_bot::config::Secrets::default();
    let first = SessionKey::load(&secrets, &pool).await.expect("key");
    let second = SessionKey::load(&secrets, &pool).await.expect("key");
    let probe = "probe".to_string();
    assert_eq!(
        first.sign(Purpose::Session, &probe),
        second.sign(Purpose::Session, &probe),
        "a second process reads the same key"
    );
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM web_session_key")
        .fetch_one(&pool)
        .await
        .expect("count");
    assert_eq!(rows, 1);
}

#[sqlx::test(migrations = "./migrations")]
async fn cookies_are_secure_under_https_and_unset_sign_in_says_so(pool: PgPool) {
    let site = Site::start(pool.clone(), |secrets| {
        secrets.public_base_url = Some(crate::support::public_url("https://flipfix.example"));
    })
    .await;
    let mut browser = Browser::new();
    let login = browser.get(&site.url("/login")).await;
    assert_eq!(login.status, 303);
    assert!(login.set_cookies.iter().all(|c| c.contains("; Secure")));
    assert!(login
        .location()
        .contains("redirect_uri=https%3A%2F%2Fflipfix.example%2Fauth%2Fcallback"));

    let unset = Site::start(pool, |secrets| secrets.discord_client_secret = None).await;
    let page = Browser::new().get(&unset.url("/login")).await;
    assert_eq!(page.status, 503);
    assert!(page.body.contains("not set up"), "{}", page.body);
}
