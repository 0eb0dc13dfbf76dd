//! Record pages, search, health and metrics through the real router on a
//! bound listener: each page shows the right records, and a visitor never
//! sees a members-only record through any of them.

use std::sync::Arc;

use flipfix_bot::app::App;
use flipfix_bot::web::{router, WebState};
use sqlx::PgPool;

use crate::support::{add_machine, add_maintainer, repo_root, shipped_workflows};

struct Site {
    base: String,
    http: reqwest::Client,
}

impl Site {
    async fn start(pool: &PgPool) -> Self {
        let secrets = flipfix_bot::config::Secrets {
            pages_dir: repo_root().join("pages"),
            ..Default::default()
        };
        let app = App::new(pool.clone(), secrets, shipped_workflows());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("address"));
        let router = router(WebState {
            app: Arc::clone(&app),
        });
        tokio::spawn(async move { axum::serve(listener, router).await });
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client");
        Self { base, http }
    }

    async fn get(&self, path: &str) -> (u16, String, Option<String>) {
        let response = self
            .http
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .expect("request");
        let status = response.status().as_u16();
        let location = response
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        // minijinja's HTML escaping writes `/` as `&#x2f;`; browsers read
        // both the same, and so do these checks.
        let body = response.text().await.expect("body").replace("&#x2f;", "/");
        (status, body, location)
    }
}

async fn insert(
    pool: &PgPool,
    kind: &str,
    machine: Option<i64>,
    parent: Option<i64>,
    description: &str,
    day: u32,
) -> i64 {
    sqlx::query_scalar(
        "INSERT INTO records (kind, machine_id, parent_id, status, description, author_name, \
         occurred_at, created_via) VALUES ($1, $2, $3, \
         CASE WHEN $1 = 'problem_report' THEN 'open' END, $4, 'Ruth', \
         make_timestamptz(2025, 1, $5, 12, 0, 0, 'UTC'), 'cli') RETURNING id",
    )
    .bind(kind)
    .bind(machine)
    .bind(parent)
    .bind(description)
    .bind(day as i32)
    .fetch_one(pool)
    .await
    .expect("insert record")
}

/// A machine with a problem report, a log under it, and a members-only part
/// request with a secret word in it.
struct Seed {
    problem: i64,
    log: i64,
    part: i64,
}

async fn seed(pool: &PgPool) -> Seed {
    let ebd = add_machine(pool, "eight-ball-deluxe", "Eight Ball Deluxe").await;
    let problem = insert(
        pool,
        "problem_report",
        Some(ebd),
        None,
        "Left flipper weak",
        10,
    )
    .await;
    let log = insert(
        pool,
        "log_entry",
        Some(ebd),
        Some(problem),
        "Replaced the coil stop",
        11,
    )
    .await;
    let part = insert(
        pool,
        "part_request",
        Some(ebd),
        None,
        "Order a zanzibar coil",
        12,
    )
    .await;
    sqlx::query(
        "INSERT INTO record_sources (record_id, guild_id, channel_id, message_id) VALUES ($1, 11, 22, 33)",
    )
    .bind(problem)
    .execute(pool)
    .await
    .expect("source");
    sqlx::query(
        "INSERT INTO record_media (record_id, url, filename, content_type) VALUES ($1, 'https://cdn.discordapp.com/attachments/1/2/flipper.jpg', 'flipper.jpg', 'image/jpeg')",
    )
    .bind(problem)
    .execute(pool)
    .await
    .expect("media");
    Seed { problem, log, part }
}

#[sqlx::test(migrations = "./migrations")]
async fn the_record_page_shows_the_record_its_family_photos_and_sources(pool: PgPool) {
    let seed = seed(&pool).await;
    let site = Site::start(&pool).await;
    let (status, body, _) = site
        .get(&format!("/problem-reports/{}/", seed.problem))
        .await;
    assert_eq!(status, 200, "{body}");
    for expected in [
        "Problem report",
        "Eight Ball Deluxe",
        "open",
        "Left flipper weak",
        "Ruth",
        "2025-01-10 12:00 UTC",
        "https://cdn.discordapp.com/attachments/1/2/flipper.jpg",
        "Replaced the coil stop",
        &format!("/logs/{}/", seed.log),
        "https://discord.com/channels/11/22/33",
    ] {
        assert!(body.contains(expected), "missing {expected:?} in {body}");
    }
    let (status, body, _) = site.get(&format!("/logs/{}/", seed.log)).await;
    assert_eq!(status, 200);
    assert!(
        body.contains(&format!("/problem-reports/{}/", seed.problem)),
        "parent link: {body}"
    );
    // Another kind's path redirects to the record's own page.
    let (status, _, location) = site.get(&format!("/logs/{}/", seed.problem)).await;
    assert_eq!(status, 308);
    assert_eq!(
        location.as_deref(),
        Some(&*format!("/problem-reports/{}/", seed.problem))
    );
    let (status, _, _) = site.get("/logs/999999/").await;
    assert_eq!(status, 404);
}

#[sqlx::test(migrations = "./migrations")]
async fn descriptions_are_escaped_as_html(pool: PgPool) {
    let machine = add_machine(&pool, "gorgar", "Gorgar").await;
    let id = insert(
        &pool,
        "problem_report",
        Some(machine),
        None,
        "<script>alert(1)</script>",
        3,
    )
    .await;
    let site = Site::start(&pool).await;
    let (_, body, _) = site.get(&format!("/problem-reports/{id}/")).await;
    assert!(!body.contains("<script>alert"), "{body}");
    assert!(body.contains("&lt;script&gt;"), "{body}");
}

#[sqlx::test(migrations = "./migrations")]
async fn a_visitor_never_sees_a_members_only_record(pool: PgPool) {
    let seed = seed(&pool).await;
    let site = Site::start(&pool).await;
    // Record page: a sign-in redirect that comes back here.
    let (status, body, location) = site.get(&format!("/parts/{}/", seed.part)).await;
    assert_eq!(status, 303, "{body}");
    assert_eq!(
        location.as_deref(),
        Some(&*format!("/login?next=%2Fparts%2F{}%2F", seed.part))
    );
    assert!(!body.contains("zanzibar"));
    // Index, search, kind filter, machine page: nothing of it.
    for path in [
        "/".to_string(),
        "/?q=zanzibar".to_string(),
        "/?q=coil".to_string(),
        "/?kind=part_request".to_string(),
        "/machines/eight-ball-deluxe/".to_string(),
    ] {
        let (status, body, _) = site.get(&path).await;
        assert_eq!(status, 200, "{path}: {body}");
        assert!(
            !body.contains("Order a zanzibar coil"),
            "{path} leaks the members-only record"
        );
        assert!(
            !body.contains(&format!("/parts/{}/", seed.part)),
            "{path} links it"
        );
        assert!(
            !body.contains("Part request"),
            "{path} offers the members-only kind"
        );
    }
    // Search with only a members-only match says so plainly.
    let (_, body, _) = site.get("/?q=zanzibar").await;
    assert!(body.contains("No records match."), "{body}");
}

#[sqlx::test(migrations = "./migrations")]
async fn the_index_filters_and_searches(pool: PgPool) {
    let seed = seed(&pool).await;
    let other = add_machine(&pool, "gorgar", "Gorgar").await;
    let gorgar = insert(
        &pool,
        "problem_report",
        Some(other),
        None,
        "Speech board silent",
        20,
    )
    .await;
    add_maintainer(&pool, "ruth").await;
    let site = Site::start(&pool).await;
    let has = |body: &str, id: i64, path: &str| body.contains(&format!("/{path}/{id}/\""));

    let (_, body, _) = site.get("/").await;
    assert!(
        has(&body, gorgar, "problem-reports")
            && has(&body, seed.problem, "problem-reports")
            && has(&body, seed.log, "logs")
    );
    // Newest first.
    let gorgar_at = body.find(&format!("/problem-reports/{gorgar}/")).unwrap();
    let problem_at = body
        .find(&format!("/problem-reports/{}/", seed.problem))
        .unwrap();
    assert!(gorgar_at < problem_at);

    let (_, body, _) = site.get("/?machine=gorgar").await;
    assert!(has(&body, gorgar, "problem-reports") && !has(&body, seed.problem, "problem-reports"));
    let (_, body, _) = site.get("/?kind=log_entry").await;
    assert!(has(&body, seed.log, "logs") && !has(&body, gorgar, "problem-reports"));
    let (_, body, _) = site.get("/?status=open&author=RUTH").await;
    assert!(has(&body, gorgar, "problem-reports") && !has(&body, seed.log, "logs"));
    let (_, body, _) = site.get("/?from=2025-01-11&to=2025-01-11").await;
    assert!(
        has(&body, seed.log, "logs")
            && !has(&body, gorgar, "problem-reports")
            && !has(&body, seed.problem, "problem-reports")
    );
    // Full text, with stemming: "flippers" finds "flipper".
    let (_, body, _) = site.get("/?q=flippers").await;
    assert!(has(&body, seed.problem, "problem-reports") && !has(&body, gorgar, "problem-reports"));
    let (status, body, _) = site.get("/?from=yesterday").await;
    assert_eq!(status, 400);
    assert!(body.contains("must be a date"), "{body}");
}

#[sqlx::test(migrations = "./migrations")]
async fn lists_are_paged(pool: PgPool) {
    let machine = add_machine(&pool, "gorgar", "Gorgar").await;
    let mut ids = Vec::new();
    for day in 1..=30 {
        ids.push(
            insert(
                &pool,
                "problem_report",
                Some(machine),
                None,
                &format!("Problem number {day}"),
                day,
            )
            .await,
        );
    }
    let site = Site::start(&pool).await;
    for base in ["/", "/machines/gorgar/"] {
        let (_, first, _) = site.get(base).await;
        assert!(first.contains("Problem number 30") && first.contains("Problem number 6<"));
        assert!(!first.contains("Problem number 5<"), "{base}: 25 a page");
        assert!(first.contains("page=2"), "{base}: a next link");
        let path = if base == "/" {
            "/?page=2".to_string()
        } else {
            format!("{base}?page=2")
        };
        let (_, second, _) = site.get(&path).await;
        assert!(second.contains("Problem number 5<") && second.contains("Problem number 1<"));
        assert!(!second.contains("Problem number 6<"));
        assert!(
            !second.contains("page=3"),
            "{base}: no next link on the last page"
        );
    }
}

#[sqlx::test(migrations = "./migrations")]
async fn the_machine_page_is_a_timeline_with_children_under_parents(pool: PgPool) {
    let seed = seed(&pool).await;
    let site = Site::start(&pool).await;
    let (status, body, _) = site.get("/machines/eight-ball-deluxe/").await;
    assert_eq!(status, 200);
    let problem = body
        .find(&format!("/problem-reports/{}/", seed.problem))
        .expect("parent");
    let children = body.find("class=\"children\"").expect("children block");
    let log = body.find(&format!("/logs/{}/", seed.log)).expect("child");
    assert!(problem < children && children < log, "{body}");
    assert!(body.contains("class=\"thumb\""), "photo thumbnail: {body}");
    let (status, _, _) = site.get("/machines/no-such-machine/").await;
    assert_eq!(status, 404);
}

#[sqlx::test(migrations = "./migrations")]
async fn readyz_and_metrics_report_from_the_database(pool: PgPool) {
    let seed = seed(&pool).await;
    sqlx::query("INSERT INTO notification_outbox (record_id, created_at, delivered_at) VALUES ($1, now() - interval '3 seconds', now())")
        .bind(seed.problem)
        .execute(&pool)
        .await
        .expect("delivered row");
    sqlx::query("INSERT INTO notification_outbox (record_id) VALUES ($1)")
        .bind(seed.log)
        .execute(&pool)
        .await
        .expect("pending row");
    sqlx::query("INSERT INTO llm_usage (purpose, requested_by, model, input_tokens, output_tokens, cost_micro_usd) VALUES ('analysis', 'ruth', 'claude-haiku-4-5', 1000, 200, 2500)")
        .execute(&pool)
        .await
        .expect("usage");
    let site = Site::start(&pool).await;
    let (status, body, _) = site.get("/readyz").await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("standby"), "{body}");
    let (status, body, _) = site.get("/metrics").await;
    assert_eq!(status, 200);
    for line in [
        "flipfix_records_total{kind=\"problem_report\",via=\"cli\"} 1",
        "flipfix_records_total{kind=\"part_request\",via=\"cli\"} 1",
        "flipfix_llm_tokens_total{model=\"claude-haiku-4-5\",type=\"input\"} 1000",
        "flipfix_llm_cost_usd_total{model=\"claude-haiku-4-5\"} 0.0025",
        "flipfix_outbox_pending 1",
        "flipfix_outbox_failed 0",
        "flipfix_delivery_latency_seconds_count 1",
        "# TYPE flipfix_delivery_latency_seconds summary",
    ] {
        assert!(body.contains(line), "missing {line:?} in\n{body}");
    }
}
