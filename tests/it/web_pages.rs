//! Record pages, search, health and metrics through the real router on a
//! bound listener: each page shows the right records, and a visitor never
//! sees a members-only record through any of them.

use std::sync::Arc;

use flipfix_bot::app::App;
use flipfix_bot::web::{router, WebState};
use sqlx::PgPool;

use crate::support::{add_machine, add_maintainer, repo_root, shipped_workflows};

pub struct Site {
    base: String,
    http: reqwest::Client,
}

impl Site {
    pub async fn start(pool: &PgPool) -> Self {
        let secrets = flipfix_bot::config::Secrets {
            pages_dir: repo_root().join("pages"),
            ..Default::default()
        };
        let app = App::new(
            pool.clone(),
            crate::support::run_config(secrets),
            shipped_workflows(),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("address"));
        let router = router(WebState::new(Arc::clone(&app)));
        tokio::spawn(async move { axum::serve(listener, router).await });
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client");
        Self { base, http }
    }

    pub async fn get(&self, path: &str) -> (u16, String, Option<String>) {
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

pub(crate) async fn insert(
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
pub struct Seed {
    pub problem: i64,
    pub log: i64,
    pub part: i64,
}

pub async fn seed(pool: &PgPool) -> Seed {
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
    // Record page: exactly the answer a missing id gets (404, the same
    // page), so ids cannot be probed; it offers a sign-in that comes back.
    let (status, body, location) = site.get(&format!("/parts/{}/", seed.part)).await;
    assert_eq!(status, 404, "{body}");
    assert_eq!(location, None);
    assert!(!body.contains("zanzibar"));
    assert!(
        body.contains(&format!("href=\"/login?next=%2Fparts%2F{}%2F\"", seed.part)),
        "a sign-in link back to the page: {body}"
    );
    let missing = seed.part + 1000;
    let (missing_status, missing_body, _) = site.get(&format!("/parts/{missing}/")).await;
    assert_eq!(missing_status, status);
    assert_eq!(
        missing_body.replace(&format!("%2F{missing}%2F"), "%2FID%2F"),
        body.replace(&format!("%2F{}%2F", seed.part), "%2FID%2F"),
        "a members-only id and a missing one answer the same page"
    );
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
async fn members_see_every_kind_through_the_read_model(pool: PgPool) {
    use flipfix_bot::records::browse::{self, DetailLookup, Filter, PageRequest, Visible};
    use flipfix_bot::workflow::WebAccess;
    let seed = seed(&pool).await;
    let workflows = shipped_workflows();
    let members = Visible::for_viewer(&workflows.kinds, |_| true);
    let visitors = Visible::for_viewer(&workflows.kinds, |access| access == WebAccess::Public);
    let page = PageRequest::new(1, 25);
    let mut conn = pool.acquire().await.expect("a connection");
    let search = Filter {
        text: Some("zanzibar".into()),
        ..Filter::default()
    };
    let found = browse::latest(&mut conn, &members, &search, page)
        .await
        .expect("search");
    assert_eq!(
        found.items.iter().map(|s| s.id).collect::<Vec<_>>(),
        vec![seed.part]
    );
    let none = browse::latest(&mut conn, &visitors, &search, page)
        .await
        .expect("search");
    assert!(none.items.is_empty());
    let timeline = browse::machine_timeline(&mut conn, &members, "eight-ball-deluxe", page)
        .await
        .expect("timeline")
        .expect("machine");
    let roots: Vec<i64> = timeline.entries.iter().map(|e| e.record.id).collect();
    assert_eq!(roots, vec![seed.part, seed.problem], "newest first");
    assert_eq!(timeline.entries[1].children[0].id, seed.log);
    assert!(matches!(
        browse::record_detail(&mut conn, &members, seed.part)
            .await
            .expect("detail"),
        DetailLookup::Found(_)
    ));
    assert_eq!(
        browse::record_detail(&mut conn, &visitors, seed.part)
            .await
            .expect("detail"),
        DetailLookup::Hidden {
            kind: "part_request".into()
        }
    );
    // A page size past the bound is cut to it.
    assert_eq!(
        PageRequest::new(0, 10_000),
        PageRequest::new(1, browse::MAX_PAGE_SIZE)
    );
}

/// A database failure on any page answers the site's error page (503, the
/// sentence, the page's layout), never an empty or partial page: the
/// handlers return `web::Error`, which answers for itself.
#[sqlx::test(migrations = "./migrations")]
async fn a_database_failure_answers_the_error_page_not_an_empty_one(pool: PgPool) {
    let seed = seed(&pool).await;
    let site = Site::start(&pool).await;
    let sentence =
        "The records cannot be read right now (the database did not answer); try again in a moment.";
    let (status, body, _) = site.get("/").await;
    assert_eq!(status, 200, "{body}");
    let (status, body, _) = site.get("/machines/no-such-machine/").await;
    assert_eq!(status, 404, "{body}");
    assert!(body.contains("There is no such machine."), "{body}");
    assert!(body.contains("<h1>404</h1>"), "the error template: {body}");

    // Only the machine list fails (the records still read): the index used
    // to show without its machine filter, as if there were no machines.
    sqlx::query("ALTER TABLE machines RENAME COLUMN location TO moved")
        .execute(&pool)
        .await
        .expect("rename");
    let (status, body, _) = site.get("/").await;
    assert_eq!(status, 503, "{body}");
    assert!(body.contains(sentence), "{body}");
    assert!(body.contains("<h1>503</h1>"), "the error template: {body}");

    sqlx::query("DROP TABLE records CASCADE")
        .execute(&pool)
        .await
        .expect("drop");
    for path in [
        "/?q=flipper".to_string(),
        "/machines/eight-ball-deluxe/".to_string(),
        format!("/problem-reports/{}/", seed.problem),
    ] {
        let (status, body, _) = site.get(&path).await;
        assert_eq!(status, 503, "{path}: {body}");
        assert!(body.contains(sentence), "{path}: {body}");
        assert!(body.contains("<h1>503</h1>"), "{path}: {body}");
    }

    // A bad date is the reader's mistake, told on the same page.
    let (status, body, _) = site.get("/?from=yesterday").await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("must be a date like 2025-01-31."), "{body}");
}
