//! The HTTP server's own protections, over real connections: security
//! headers on every response, nothing cached for a signed-in member, the
//! header-read and idle timeouts, and the connection limit.

use std::time::Duration;

use sqlx::PgPool;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::fake_discord::FakeUser;
use crate::support::web::{Browser, Site, SiteOptions};
use flipfix_bot::web::rate_limit::SignInLimit;
use flipfix_bot::web::server::ServeLimits;

const RUTH: u64 = 760_000_000_000_000_001;
/// Bounds a failure only; a passing run never waits it out.
const LIMIT: Duration = Duration::from_secs(20);

fn assert_security_headers(what: &str, page: &crate::support::web::Page) {
    let csp = page.header("content-security-policy");
    for part in [
        "default-src 'self'",
        "frame-ancestors 'none'",
        "script-src 'none'",
    ] {
        assert!(csp.contains(part), "{what}: {part} in {csp:?}");
    }
    assert_eq!(page.header("x-content-type-options"), "nosniff", "{what}");
    assert_eq!(page.header("referrer-policy"), "same-origin", "{what}");
    assert_eq!(page.header("x-frame-options"), "DENY", "{what}");
    assert!(page.header("vary").contains("Cookie"), "{what}");
}

#[sqlx::test(migrations = "./migrations")]
async fn every_response_carries_the_security_headers_and_members_pages_are_not_cached(
    pool: PgPool,
) {
    let env = crate::notify::Env::new(pool.clone()).await;
    let cdn = crate::support::fake_cdn::FakeCdn::start().await;
    let url = cdn.add("part.png", "image/png", crate::support::fake_cdn::PNG);
    let record = crate::media::create_with(
        &env,
        "part_request",
        vec![crate::media::photo(&url, "part.png", 70)],
    )
    .await;
    let media = crate::media::media_of(&pool, record).await[0].id;
    crate::media::worker(&pool)
        .step(crate::support::time::real_now())
        .await
        .expect("copy the photo");

    let site = Site::start_with(
        pool,
        SiteOptions {
            limit: Some(SignInLimit {
                burst: 3,
                ..Default::default()
            }),
            ..Default::default()
        },
        |_| {},
    )
    .await;
    site.fake.add_member(RUTH);
    let mut visitor = Browser::new();
    for path in [
        "/",
        "/healthz",
        "/readyz",
        "/metrics",
        "/parts/1/",
        "/nope",
        "/account",
    ] {
        let page = visitor.get(&site.url(path)).await;
        assert_security_headers(path, &page);
        assert!(
            !page.header("cache-control").contains("public") || path == "/healthz",
            "{path}: {}",
            page.header("cache-control")
        );
    }
    let mut member = Browser::new();
    let done = member
        .sign_in(&site, &FakeUser::member(RUTH, "ruth"), "/")
        .await;
    assert_security_headers("the callback", &done);
    for path in [
        "/",
        &format!("/parts/{record}/"),
        "/account",
        &format!("/media/{media}"),
    ] {
        let page = member.get(&site.url(path)).await;
        assert_eq!(page.status, 200, "{path}: {}", page.body);
        assert_security_headers(path, &page);
        assert_eq!(
            page.header("cache-control"),
            "private, no-store",
            "{path} rendered for a member"
        );
    }
    // Over the sign-in limit (burst 3 here), the 429 carries them too.
    let mut flood = Browser::new();
    let mut last = flood.get(&site.url("/login")).await;
    for _ in 0..5 {
        last = flood.get(&site.url("/login")).await;
    }
    assert_eq!(last.status, 429);
    assert_security_headers("429", &last);
}

/// Reads until the server closes the connection; what it sent.
async fn read_to_close(stream: &mut TcpStream) -> String {
    let mut received = Vec::new();
    tokio::time::timeout(LIMIT, stream.read_to_end(&mut received))
        .await
        .expect("the server closes the connection")
        .ok();
    String::from_utf8_lossy(&received).into_owned()
}

fn short_limits(max_connections: usize) -> SiteOptions {
    SiteOptions {
        serve: Some(ServeLimits {
            header_read_timeout: Duration::from_millis(300),
            request_timeout: Duration::from_secs(5),
            max_connections,
        }),
        ..Default::default()
    }
}

#[sqlx::test(migrations = "./migrations")]
async fn slow_headers_and_idle_connections_are_closed(pool: PgPool) {
    let site = Site::start_with(pool, short_limits(16), |_| {}).await;
    let address = site.base.trim_start_matches("http://").to_string();

    // Half a request line, then nothing: closed at the header deadline.
    let mut slow = TcpStream::connect(&address).await.expect("connect");
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .await
        .expect("write");
    let started = std::time::Instant::now();
    let answer = read_to_close(&mut slow).await;
    assert!(
        !answer.contains("200 OK"),
        "no request was completed: {answer}"
    );
    println!("slow headers closed after {:?}", started.elapsed());

    // A kept-alive connection is answered, then closed once idle.
    let mut idle = TcpStream::connect(&address).await.expect("connect");
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .expect("write");
    let answer = read_to_close(&mut idle).await;
    assert!(answer.starts_with("HTTP/1.1 200 OK"), "{answer}");
    assert!(answer.ends_with("ok\n"), "{answer}");
}

#[sqlx::test(migrations = "./migrations")]
async fn connections_past_the_limit_wait_for_one_to_close(pool: PgPool) {
    let logs = crate::support::logs::CapturedLogs::capture();
    let mut options = short_limits(2);
    if let Some(limits) = options.serve.as_mut() {
        // Long enough that the held connections stay open for the test.
        limits.header_read_timeout = LIMIT;
    }
    let site = Site::start_with(pool, options, |_| {}).await;
    let address = site.base.trim_start_matches("http://").to_string();
    let mut held = Vec::new();
    for _ in 0..2 {
        held.push(TcpStream::connect(&address).await.expect("connect"));
    }
    let mut third = TcpStream::connect(&address)
        .await
        .expect("the kernel queues it");
    third
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .await
        .expect("write");
    // The server says it is at its limit (a positive signal, not a wait).
    let deadline = tokio::time::Instant::now() + LIMIT;
    while !logs.text().contains("at their connection limit") {
        assert!(tokio::time::Instant::now() < deadline, "{}", logs.text());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // One held connection closes: the third is served.
    drop(held.pop());
    let answer = read_to_close(&mut third).await;
    assert!(answer.starts_with("HTTP/1.1 200 OK"), "{answer}");
}
