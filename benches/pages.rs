//! Record pages under load, measured the way `ab` does (not a test: run
//! with `DATABASE_URL=… cargo bench --bench pages`).
//!
//! Seeds a scratch database with 100,000 records (2,000 on one machine; see
//! `pages/seed.rs`), serves the real router and server loop in a child
//! process (so the RSS reported is the server's alone), and requests every
//! page a visitor can list or open, each request on a new TCP connection
//! (HTTP/1.0, no keep-alive, read to the end; `pages/client.rs`): 20
//! warm-up requests, then 200 one at a time (c=1); 20 warm-up requests ten
//! at a time, then 200 ten at a time (c=10); p50/p99 of each. Then the page-40 / page-1 ratio of each paged
//! list (keyset paging should make them equal), and the server's RSS before
//! and at its peak under a mixed c=10 load. The first line says the build
//! profile, the CPUs and the load average, so figures can be judged.
//! `FLIPFIX_BENCH_PAGES_KEEP=1` keeps the scratch database (for `EXPLAIN`).

#[path = "pages/client.rs"]
mod client;
#[path = "pages/seed.rs"]
mod seed;
#[path = "pages/server.rs"]
mod server;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use client::{follow_older, measure, percentile};
use server::{rss_kib, PageServer, SERVE_ENV};
use sqlx::postgres::PgPoolOptions;
use sqlx::{Connection as _, PgConnection};

const WARM_UP: usize = 20;
const ROUNDS: usize = 200;
const MACHINE: &str = "/machines/eight-ball-deluxe/";

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .init();
    if let Ok(url) = std::env::var(SERVE_ENV) {
        return server::serve(&url).await;
    }
    let admin_url = std::env::var("DATABASE_URL").context("DATABASE_URL must be set")?;
    println!("{}", machine_line());
    let scratch = format!("flipfix_bench_pages_{}", std::process::id());
    let mut admin = PgConnection::connect(&admin_url).await?;
    sqlx::query(&format!("CREATE DATABASE {scratch}"))
        .execute(&mut admin)
        .await?;
    let outcome = run(&admin_url, &scratch).await;
    if std::env::var_os("FLIPFIX_BENCH_PAGES_KEEP").is_some() {
        println!("kept the database {scratch}");
    } else {
        sqlx::query(&format!("DROP DATABASE IF EXISTS {scratch} WITH (FORCE)"))
            .execute(&mut admin)
            .await?;
    }
    outcome
}

/// Build profile, CPUs and the 1-minute load average.
fn machine_line() -> String {
    let profile = if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    };
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    format!(
        "pages bench: {profile} build, {cpus} CPUs, load average {}",
        load_average()
    )
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().map(str::to_string))
        .unwrap_or_else(|| "unknown".into())
}

struct Case {
    name: &'static str,
    path: String,
}

async fn run(admin_url: &str, scratch: &str) -> anyhow::Result<()> {
    let mut url = url::Url::parse(admin_url)?;
    url.set_path(&format!("/{scratch}"));
    let pool = PgPoolOptions::new()
        .max_connections(2)
        .connect(url.as_str())
        .await?;
    flipfix_bot::db::migrate(&pool).await?;
    let started = Instant::now();
    seed::seed(&pool).await?;
    println!(
        "seeded {} records (2,000 on one machine) and vacuumed in {:.1} s",
        seed::RECORDS,
        started.elapsed().as_secs_f64()
    );
    pool.close().await;

    let server = PageServer::start(url.as_str()).await?;
    let address = server.address.clone();
    // Page 40 as a reader reaches it: by following "Older →" 39 times.
    let older_40 = |path: &'static str| follow_older(&address, path, 39);
    let cases = [
        case("machine page 1", MACHINE),
        Case {
            name: "machine page 40 (Older links)",
            path: older_40(MACHINE).await?,
        },
        case("machine ?page=40 (old link)", &format!("{MACHINE}?page=40")),
        case("problem report", "/problem-reports/100/"),
        case("log entry", "/logs/101/"),
        case("search \"flipper\"", "/?q=flipper"),
        Case {
            name: "search \"flipper\" page 40",
            path: older_40("/?q=flipper").await?,
        },
        case("search rare word", "/?q=zanzibar"),
        case("log list", "/?kind=log_entry"),
        case("index", "/"),
        Case {
            name: "index page 40",
            path: older_40("/").await?,
        },
        case(
            "index with filters",
            "/?kind=log_entry&machine=eight-ball-deluxe&author=ruth",
        ),
        case("machines list", "/machines/"),
    ];
    println!(
        "{ROUNDS} requests per page after {WARM_UP} warm-up, each on a new connection (as ab), p50 / p99 ms:"
    );
    println!("  {:<30} {:>17} {:>17}", "page", "c=1", "c=10");
    let mut p50s = Vec::new();
    for case in &cases {
        let c1 = measure(&address, &case.path, 1, WARM_UP, ROUNDS).await?;
        // Warmed at c=10 too: the server's pool grows to ten connections on
        // the first concurrent requests, and new backends plan cold; without
        // this, the first page measured at c=10 took that cost in its p99
        // (about 100 ms more at c=10, whichever page went first).
        let c10 = measure(&address, &case.path, 10, WARM_UP, ROUNDS).await?;
        let figures = |t: &[Duration]| {
            format!(
                "{:>7.2} / {:>7.2}",
                ms(percentile(t, 0.5)),
                ms(percentile(t, 0.99))
            )
        };
        println!("  {:<30} {} {}", case.name, figures(&c1), figures(&c10));
        p50s.push((case.name, percentile(&c1, 0.5), percentile(&c1, 0.99)));
    }
    let ratio = |page_40: &str, page_1: &str| -> Option<(f64, f64)> {
        let find = |name: &str| p50s.iter().find(|(n, ..)| *n == name);
        let (a, b) = (find(page_40)?, find(page_1)?);
        Some((ms(a.1) / ms(b.1), ms(a.2) / ms(b.2)))
    };
    println!("page 40 / page 1 at c=1 (p50, p99):");
    for (name, page_40, page_1) in [
        ("machine", "machine page 40 (Older links)", "machine page 1"),
        ("search", "search \"flipper\" page 40", "search \"flipper\""),
        ("index", "index page 40", "index"),
    ] {
        if let Some((p50, p99)) = ratio(page_40, page_1) {
            println!("  {name:<8} {p50:.2}, {p99:.2}");
        }
    }
    rss_under_load(&server, &cases).await?;
    println!("load average at the end {}", load_average());
    server.stop().await;
    Ok(())
}

fn case(name: &'static str, path: &str) -> Case {
    Case {
        name,
        path: path.to_string(),
    }
}

/// The server's RSS before, and its peak while ten clients request every
/// page in turn (400 requests), sampled every 2 ms.
async fn rss_under_load(server: &PageServer, cases: &[Case]) -> anyhow::Result<()> {
    let pid = server.pid;
    let before = rss_kib(pid);
    let peak = Arc::new(AtomicU64::new(before));
    let watching = Arc::new(AtomicBool::new(true));
    let watcher = {
        let (peak, watching) = (Arc::clone(&peak), Arc::clone(&watching));
        tokio::spawn(async move {
            while watching.load(Ordering::Relaxed) {
                peak.fetch_max(rss_kib(pid), Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        })
    };
    let start = Instant::now();
    let paths: Arc<Vec<String>> = Arc::new(cases.iter().map(|c| c.path.clone()).collect());
    let workers = (0..10).map(|worker| {
        let (address, paths) = (server.address.clone(), Arc::clone(&paths));
        tokio::spawn(async move {
            for i in 0..40 {
                client::get(&address, &paths[(worker + i) % paths.len()]).await?;
            }
            anyhow::Ok(())
        })
    });
    for worker in futures_util::future::join_all(workers).await {
        worker??;
    }
    let elapsed = start.elapsed();
    watching.store(false, Ordering::Relaxed);
    watcher.await?;
    println!(
        "the server's RSS: {:.1} MiB before, {:.1} MiB peak under 400 mixed requests at c=10 ({:.0} ms)",
        before as f64 / 1024.0,
        peak.load(Ordering::Relaxed) as f64 / 1024.0,
        ms(elapsed)
    );
    Ok(())
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}
