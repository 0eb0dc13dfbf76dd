//! Headless Chromium drives the real web adapter (served in-process, with
//! the fake Discord behind sign-in) through Debian's `chromium` and
//! `chromium-driver` over the W3C WebDriver protocol (the library's client,
//! `flipfix_bot::tools::webdriver`). `scripts/test` installs both when
//! missing; without them this test fails naming the browser, and outside CI
//! `scripts/test` leaves it out of the run, reported as skipped
//! (tests/support/tools.rs says why).
//!
//! Each page visited is saved as a screenshot under
//! `target/browser-artifacts/`. To cover another page, add it to
//! `PUBLIC_PAGES` (a visitor sees it) or `MEMBER_PAGES` (members only: a
//! visitor is sent to sign in, or for a record gets the same "no such
//! record" page as for a missing one, with a sign-in link; a member sees it).

use std::path::{Path, PathBuf};
use std::time::Duration;

use flipfix_bot::tools::webdriver::Browser;
use serde_json::Value;
use sqlx::PgPool;

use crate::support::fake_discord::FakeUser;
use crate::support::repo_root;
use crate::support::tools::{require, Tool};
use crate::support::web::Site;

/// (artifact name, path, text the page must show).
/// The seeded records (a fresh database numbers them from 1): problem
/// report #1 (public) and part request #2 (members only), on Gorgar.
const PUBLIC_PAGES: &[(&str, &str, &str)] = &[
    ("healthz", "/healthz", "ok"),
    ("index", "/", "Left flipper is weak"),
    ("record", "/problem-reports/1/", "Left flipper is weak"),
    // The status a member set by hand (issue #23), in the screenshot.
    ("machine", "/machines/gorgar/", "❌ Broken"),
    ("machines", "/machines/", "❌ Broken"),
    ("search", "/?q=flipper", "Left flipper is weak"),
];
const MEMBER_PAGES: &[(&str, &str, &str)] = &[
    ("account", "/account", "Signed in with Discord as ruth"),
    ("part-request", "/parts/2/", "Need new flipper rubbers"),
];
/// Members-only pages a visitor sees as "not found" (records: their ids
/// must not be probed), with a link to sign in.
const HIDDEN_FROM_VISITORS: &[&str] = &["/parts/2/"];

/// Problem report #1 and part request #2 on Gorgar, then Gorgar set from
/// Good to Broken by hand (its "Status changed" log entry is #3).
async fn seed(pool: &PgPool) {
    let workflows = crate::support::shipped_workflows();
    let gorgar = crate::support::add_machine(pool, "gorgar", "Gorgar").await;
    for (kind, description) in [
        ("problem_report", "Left flipper is weak"),
        ("part_request", "Need new flipper rubbers"),
    ] {
        let record = flipfix_bot::records::NewRecord {
            machine_id: Some(gorgar),
            description: description.into(),
            ..crate::support::new_record(kind)
        };
        flipfix_bot::records::create_record(pool, &workflows.kinds, &record)
            .await
            .unwrap_or_else(|err| panic!("seed {kind}: {err}"));
    }
    sqlx::query("UPDATE machines SET status = 'good' WHERE id = $1")
        .bind(gorgar)
        .execute(pool)
        .await
        .expect("Gorgar is good");
    let cause = flipfix_bot::records::machine_status::StatusCause {
        author: flipfix_bot::domain::Author::Name("Ruth".into()),
        created_by: Some(format!("discord:{RUTH} (ruth)")),
        created_via: flipfix_bot::domain::CreatedVia::SlashCommand,
        at: crate::support::time::real_now(),
        via_record_id: None,
        note: None,
    };
    let mut tx = pool.begin().await.expect("begin");
    flipfix_bot::records::machine_status::set_status_in(
        &mut tx,
        &workflows.kinds,
        gorgar,
        "broken",
        &cause,
    )
    .await
    .expect("Gorgar breaks");
    tx.commit().await.expect("commit");
}

const RUTH: u64 = 730_000_000_000_000_001;

fn artifacts_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("target"));
    let dir = target.join("browser-artifacts");
    std::fs::create_dir_all(&dir).expect("create target/browser-artifacts");
    dir
}

/// The library's WebDriver client (the one `flipfix-bot screenshots` uses),
/// with every failure a panic naming the step, and each screenshot saved.
struct Chromium(Browser);

impl Chromium {
    async fn start(chromium: &Path, chromedriver: &Path) -> Self {
        let browser = Browser::start(chromium, chromedriver, (1024, 900))
            .await
            .unwrap_or_else(|err| panic!("start the browser: {err:#}"));
        Self(browser)
    }

    async fn open(&self, url: &str) {
        self.0
            .open(url)
            .await
            .unwrap_or_else(|err| panic!("open {url}: {err:#}"));
    }

    async fn url(&self) -> String {
        self.0.url().await.unwrap_or_else(|err| panic!("{err:#}"))
    }

    async fn wait_for_url(&self, url: &str) {
        self.0
            .wait_for_url(url)
            .await
            .unwrap_or_else(|err| panic!("{err:#}"));
    }

    async fn text(&self) -> String {
        self.0.text().await.unwrap_or_else(|err| panic!("{err:#}"))
    }

    async fn script(&self, script: &str) -> Value {
        self.0
            .script(script)
            .await
            .unwrap_or_else(|err| panic!("{err:#}"))
    }

    async fn click(&self, css: &str) {
        self.0
            .click(css)
            .await
            .unwrap_or_else(|err| panic!("click {css}: {err:#}"));
    }

    /// Saves the page as `target/browser-artifacts/<name>.png`.
    async fn screenshot(&self, name: &str) {
        let png = self
            .0
            .screenshot()
            .await
            .unwrap_or_else(|err| panic!("screenshot {name}: {err:#}"));
        std::fs::write(artifacts_dir().join(format!("{name}.png")), png).expect("save screenshot");
    }

    async fn quit(self) {
        self.0.quit().await;
    }
}

#[sqlx::test(migrations = "./migrations")]
async fn a_visitor_is_sent_to_sign_in_and_a_member_then_sees_the_pages(pool: PgPool) {
    let chromium = require(Tool::Chromium, &["chromium", "chromium-browser"]);
    let chromedriver = require(Tool::Chromium, &["chromedriver"]);
    seed(&pool).await;
    let site = Site::start(pool, |_| {}).await;
    site.fake.add_member(RUTH);
    let browser = Chromium::start(&chromium, &chromedriver).await;

    for (name, path, shows) in PUBLIC_PAGES {
        browser.open(&site.url(path)).await;
        assert!(browser.text().await.contains(shows), "{path} shows {shows}");
        browser.screenshot(&format!("visitor-{name}")).await;
    }
    // The Content-Security-Policy lets the templates' inline stylesheet
    // apply (the page is styled, not bare HTML).
    browser.open(&site.url("/")).await;
    let font = browser
        .script("return getComputedStyle(document.body).fontFamily;")
        .await;
    assert!(
        font.as_str().unwrap_or_default().contains("system-ui"),
        "the page's own style applies under the CSP: {font}"
    );

    // A visitor opening a members-only page lands on Discord's sign-in, with
    // the way back to the page kept (nobody is signed in to Discord yet); a
    // members-only record says "no such record" and offers the sign-in.
    for (name, path, _) in MEMBER_PAGES {
        browser.open(&site.url(path)).await;
        if HIDDEN_FROM_VISITORS.contains(path) {
            let text = browser.text().await;
            assert!(
                text.contains("There is no such record.") && text.contains("sign in with Discord"),
                "{path}: {text}"
            );
            browser
                .screenshot(&format!("visitor-{name}-not-found"))
                .await;
            browser.click("main a[href^='/login']").await;
            let deadline = std::time::Instant::now() + Duration::from_secs(10);
            while !browser.url().await.starts_with(&site.fake.authorize_url()) {
                assert!(
                    std::time::Instant::now() < deadline,
                    "{path}: the sign-in link leads to Discord"
                );
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
        let at = browser.url().await;
        assert!(
            at.starts_with(&site.fake.authorize_url()),
            "{path}: a visitor is sent to sign in, got {at}"
        );
        assert!(
            at.contains("scope=identify") && at.contains("state="),
            "{at}"
        );
        browser.screenshot(&format!("visitor-{name}-sign-in")).await;
    }

    // The person signs in to Discord and approves: the whole code flow runs
    // in the browser (redirects and cookies), back to the page asked for.
    site.fake.approve_as(&FakeUser::member(RUTH, "ruth"));
    for (index, (name, path, shows)) in MEMBER_PAGES.iter().enumerate() {
        browser.open(&site.url(path)).await;
        assert_eq!(browser.url().await, site.url(path), "back on {path}");
        assert!(browser.text().await.contains(shows), "{path} shows {shows}");
        browser.screenshot(&format!("member-{name}")).await;
        if index == 0 {
            assert_eq!(
                site.fake.member_lookup_schemes(),
                vec!["Bot".to_string()],
                "one sign-in, membership checked with the bot's token"
            );
        }
    }

    // Sign out with the page's own button (a POST with the CSRF token).
    browser.open(&site.url("/account")).await;
    browser.click("form[action='/logout'] button").await;
    // WebDriver's click does not wait for the navigation a form submit
    // starts; opening the next page at once could cancel the POST.
    browser.wait_for_url(&site.url("/")).await;
    browser.open(&site.url("/_test/who")).await;
    assert_eq!(browser.text().await.trim(), "Visitor", "signed out");
    browser.screenshot("signed-out").await;

    browser.quit().await;
    site.fake.assert_spec_clean();
}
