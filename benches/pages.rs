//! Record pages under a realistic load (not a test: run with
//! `DATABASE_URL=… cargo bench --bench pages`).
//!
//! Seeds a scratch database with 100,000 records (2,000 of them on one
//! machine, half of those logs under problem reports; every tenth record
//! with a photo) in a few `INSERT … SELECT generate_series` statements,
//! serves the real router on a bound listener, and measures through real
//! HTTP: p50/p99 of the machine page (page 1, page 40 reached by following
//! "Older →" links the way a reader does, and page 40 by an old `?page=40`
//! link), a record page and two searches (a common and a rare word), one at
//! a time (c=1) and ten at a time (c=10) after a warm-up; then the page
//! server's RSS while 50 page loads run at once. The server
//! runs in a child process (this bench binary again, with
//! `FLIPFIX_BENCH_PAGES_SERVE` set), so the RSS reported is the server's
//! alone, not the client's too. Targets on this machine: machine page p99
//! < 30 ms, search p99 < 50 ms.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use flipfix_bot::app::App;
use flipfix_bot::config::Secrets;
use flipfix_bot::template_check::load_workflows;
use flipfix_bot::web::{router, WebState};
use sqlx::postgres::PgPoolOptions;
use sqlx::{Connection as _, PgConnection, PgPool};

const RECORDS: i64 = 100_000;
const ROUNDS: usize = 200;
/// Set (to the scratch database's URL) in the child that serves the pages.
const SERVE_ENV: &str = "FLIPFIX_BENCH_PAGES_SERVE";

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .init();
    if let Ok(url) = std::env::var(SERVE_ENV) {
        return serve(&url).await;
    }
    let admin_url = std::env::var("DATABASE_URL").context("DATABASE_URL must be set")?;
    let scratch = format!("flipfix_bench_pages_{}", std::process::id());
    let mut admin = PgConnection::connect(&admin_url).await?;
    sqlx::query(&format!("CREATE DATABASE {scratch}"))
        .execute(&mut admin)
        .await?;
    let outcome = run(&admin_url, &scratch).await;
    sqlx::query(&format!("DROP DATABASE IF EXISTS {scratch} WITH (FORCE)"))
        .execute(&mut admin)
        .await?;
    outcome
}

async fn seed(pool: &PgPool) -> anyhow::Result<()> {
    // Machine 1 is the busy one; 49 others share the rest.
    sqlx::query(
        "INSERT INTO machines (id, slug, name) SELECT m, \
         CASE WHEN m = 1 THEN 'eight-ball-deluxe' ELSE 'machine-' || m END, \
         CASE WHEN m = 1 THEN 'Eight Ball Deluxe' ELSE 'Machine ' || m END \
         FROM generate_series(1, 50) m",
    )
    .execute(pool)
    .await?;
    // Records come in pairs (even g, odd g): a problem report (or every
    // third, a part request) and a log entry under it. Pairs with
    // (g / 2) % 50 = 0 are on machine 1: 1,000 pairs, 2,000 records.
    sqlx::query(
        "INSERT INTO records (id, kind, machine_id, parent_id, status, description, author_name, occurred_at, created_via) \
         SELECT g, \
           CASE WHEN g % 2 = 1 THEN 'log_entry' WHEN g % 6 = 0 THEN 'part_request' ELSE 'problem_report' END, \
           CASE WHEN (g / 2) % 50 = 0 THEN 1 ELSE 2 + (g / 2) % 49 END, \
           CASE WHEN g % 2 = 1 AND g > 1 THEN g - 1 END, \
           CASE WHEN g % 2 = 0 THEN (ARRAY['open', 'closed'])[1 + (g / 2) % 2] END, \
           (ARRAY['Left flipper weak', 'Ball stuck in the saucer', 'Replaced the coil stop', \
                  'Display flickers', 'Cleaned the playfield', 'Rubber rings worn', \
                  'Switch matrix fault in column 3', 'Ordered a new flipper coil', \
                  'Pop bumper stays on', 'Adjusted the tilt bob'])[1 + g % 10] \
             || ' (note ' || g || ')' || CASE WHEN g % 997 = 0 THEN ' zanzibar' ELSE '' END, \
           (ARRAY['Ruth', 'Bob', 'Ana', 'Kenji'])[1 + g % 4], \
           now() - g * interval '7 minutes', 'cli' \
         FROM generate_series(1, $1) g",
    )
    .bind(RECORDS)
    .execute(pool)
    .await?;
    sqlx::query("SELECT setval('records_id_seq', $1)")
        .bind(RECORDS)
        .execute(pool)
        .await?;
    sqlx::query(
        "INSERT INTO record_media (record_id, url, filename, content_type) \
         SELECT g, 'https://cdn.discordapp.com/attachments/1/' || g || '/photo.jpg', 'photo.jpg', 'image/jpeg' \
         FROM generate_series(10, $1, 10) g",
    )
    .bind(RECORDS)
    .execute(pool)
    .await?;
    sqlx::query(
        "INSERT INTO record_sources (record_id, guild_id, channel_id, message_id) \
         SELECT g, 1, 2, 1000000 + g FROM generate_series(1, $1) g",
    )
    .bind(RECORDS)
    .execute(pool)
    .await?;
    sqlx::query("ANALYZE").execute(pool).await?;
    Ok(())
}

async fn run(admin_url: &str, scratch: &str) -> anyhow::Result<()> {
    let mut url = url::Url::parse(admin_url)?;
    url.set_path(&format!("/{scratch}"));
    let pool = PgPoolOptions::new()
        .max_connections(10)
        .connect(url.as_str())
        .await?;
    flipfix_bot::db::migrate(&pool).await?;
    let started = Instant::now();
    seed(&pool).await?;
    println!(
        "seeded {RECORDS} records (2,000 on one machine) in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    pool.close().await;
    let server = PageServer::start(url.as_str()).await?;
    let base = server.base.clone();
    let http = reqwest::Client::new();

    // A problem report on the busy machine (pairs start at even ids).
    let record = "/problem-reports/100/";
    // Page 40 as a reader reaches it: by following "Older →" 39 times.
    let page_40 = follow_older(&http, &base, "/machines/eight-ball-deluxe/", 39).await?;
    println!("page 40 of the busy machine is {page_40}");
    let cases = [
        (
            "machine page (page 1)",
            "/machines/eight-ball-deluxe/".to_string(),
        ),
        ("machine page (page 40)", page_40),
        (
            "machine page (?page=40)",
            "/machines/eight-ball-deluxe/?page=40".to_string(),
        ),
        ("record page", record.to_string()),
        ("search, common word", "/?q=flipper".to_string()),
        ("search, rare word", "/?q=zanzibar".to_string()),
        (
            "index with filters",
            "/?kind=log_entry&machine=eight-ball-deluxe&author=ruth".to_string(),
        ),
    ];
    println!(
        "{ROUNDS} requests each after 20 warm-up requests, one at a time (c=1) and ten at a time (c=10):"
    );
    for (name, path) in &cases {
        let target = format!("{base}{path}");
        for _ in 0..20 {
            fetch(&http, &target).await?;
        }
        let mut times = Vec::with_capacity(ROUNDS);
        for _ in 0..ROUNDS {
            let start = Instant::now();
            fetch(&http, &target).await?;
            times.push(start.elapsed());
        }
        times.sort();
        let c10 = concurrently(&http, &target, 10).await?;
        println!(
            "  {name:<26} c=1 p50 {:>6.2} ms  p99 {:>6.2} ms  max {:>6.2} ms | c=10 p50 {:>6.2} ms  p99 {:>6.2} ms",
            ms(times[ROUNDS / 2]),
            ms(times[ROUNDS * 99 / 100]),
            ms(times[ROUNDS - 1]),
            ms(c10[ROUNDS / 2]),
            ms(c10[ROUNDS * 99 / 100]),
        );
    }

    let pid = server.pid;
    let before = rss_kib(pid);
    let peak = Arc::new(std::sync::atomic::AtomicU64::new(before));
    let watching = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let watcher = {
        let peak = Arc::clone(&peak);
        let watching = Arc::clone(&watching);
        tokio::spawn(async move {
            while watching.load(std::sync::atomic::Ordering::Relaxed) {
                peak.fetch_max(rss_kib(pid), std::sync::atomic::Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        })
    };
    let start = Instant::now();
    let loads = (0..50).map(|i| {
        let http = http.clone();
        let target = format!("{base}{}", cases[i % cases.len()].1);
        tokio::spawn(async move { fetch(&http, &target).await })
    });
    for load in futures_util::future::join_all(loads).await {
        load??;
    }
    let elapsed = start.elapsed();
    watching.store(false, std::sync::atomic::Ordering::Relaxed);
    watcher.await?;
    println!(
        "50 concurrent page loads (a mix of the above): all done in {:.0} ms; the server's RSS {:.1} MiB before, {:.1} MiB peak",
        ms(elapsed),
        before as f64 / 1024.0,
        peak.load(std::sync::atomic::Ordering::Relaxed) as f64 / 1024.0
    );
    server.stop().await;
    Ok(())
}

/// The child process serving the real router on the scratch database.
struct PageServer {
    child: tokio::process::Child,
    pid: u32,
    base: String,
}

impl PageServer {
    async fn start(database_url: &str) -> anyhow::Result<Self> {
        use tokio::io::AsyncBufReadExt as _;
        let mut child = tokio::process::Command::new(std::env::current_exe()?)
            .env(SERVE_ENV, database_url)
            .stdout(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .context("start the page server")?;
        let pid = child.id().context("the page server's pid")?;
        let stdout = child.stdout.take().context("the page server's stdout")?;
        let mut lines = tokio::io::BufReader::new(stdout).lines();
        let line = tokio::time::timeout(Duration::from_secs(60), lines.next_line())
            .await
            .context("the page server did not start within 60 s")??
            .context("the page server exited")?;
        let address = line
            .strip_prefix("listening ")
            .context("the page server's first line names its address")?;
        Ok(Self {
            child,
            pid,
            base: format!("http://{address}"),
        })
    }

    async fn stop(mut self) {
        let _ = self.child.kill().await;
    }
}

/// The child: serves the pages on a free loopback port, says where on its
/// first line, and runs until killed.
async fn serve(database_url: &str) -> anyhow::Result<()> {
    let pool = PgPoolOptions::new()
        .max_connections(10)
        .connect(database_url)
        .await?;
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let workflows = load_workflows(&root.join("workflows"), &root.join("prompts"))
        .map_err(|problems| anyhow::anyhow!("{problems}"))?;
    let secrets = Secrets {
        pages_dir: root.join("pages"),
        ..Secrets::default()
    };
    // The pages never reach Discord: a made-up token and home server.
    let config = flipfix_bot::app::RunConfig {
        secrets,
        discord: flipfix_bot::app::DiscordConfig {
            token: flipfix_bot::config::Secret::new("bench-token-unused"),
            home: 1,
        },
    };
    let app = App::new(pool, config, workflows);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    println!("listening {}", listener.local_addr()?);
    let web = router(WebState::new(Arc::clone(&app)));
    axum::serve(listener, web).await?;
    Ok(())
}

async fn fetch(http: &reqwest::Client, url: &str) -> anyhow::Result<()> {
    let response = http.get(url).send().await?;
    let status = response.status();
    let body = response.bytes().await?;
    anyhow::ensure!(status.is_success(), "{url}: {status}");
    anyhow::ensure!(!body.is_empty(), "{url}: empty page");
    Ok(())
}

/// `ROUNDS` requests to `url` with `workers` in flight (as `ab -c`), each
/// timed on its own; sorted.
async fn concurrently(
    http: &reqwest::Client,
    url: &str,
    workers: usize,
) -> anyhow::Result<Vec<Duration>> {
    let each = ROUNDS / workers;
    let runs = (0..workers).map(|_| {
        let http = http.clone();
        let url = url.to_string();
        tokio::spawn(async move {
            let mut times = Vec::with_capacity(each);
            for _ in 0..each {
                let start = Instant::now();
                fetch(&http, &url).await?;
                times.push(start.elapsed());
            }
            anyhow::Ok(times)
        })
    });
    let mut times = Vec::with_capacity(ROUNDS);
    for run in futures_util::future::join_all(runs).await {
        times.extend(run??);
    }
    times.sort();
    Ok(times)
}

/// The path `steps` "Older →" links after `path`.
async fn follow_older(
    http: &reqwest::Client,
    base: &str,
    path: &str,
    steps: usize,
) -> anyhow::Result<String> {
    let mut path = path.to_string();
    for step in 0..steps {
        let body = http
            .get(format!("{base}{path}"))
            .send()
            .await?
            .text()
            .await?;
        let end = body
            .find("\">Older")
            .with_context(|| format!("no Older link after {step} steps"))?;
        let start = body[..end].rfind("href=\"").context("a link")? + "href=\"".len();
        let href = body[start..end]
            .replace("&amp;", "&")
            .replace("&#x2f;", "/");
        let dir = path.split('?').next().unwrap_or_default().to_string();
        path = match href.strip_prefix("./") {
            Some(rest) => format!("{dir}{rest}"),
            None if href.starts_with('?') => format!("{dir}{href}"),
            None => href,
        };
    }
    Ok(path)
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

/// A process's resident set, from /proc (0 where there is none).
fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kib| kib.parse().ok())
        })
        .unwrap_or(0)
}
