//! Throughput of the notification dispatcher against Discord's webhook rate
//! limit (not a test: run with `cargo bench --bench webhook_throughput`).
//!
//! Needs `DATABASE_URL` (a server where it may create and drop a scratch
//! database). Queues `FLIPFIX_BENCH_RECORDS` records (default 1,000; the
//! first argument also works) and lets the real dispatcher post them to a
//! local fake that enforces 5 requests per 2 seconds with Discord's headers.
//! Prints the achieved rate against the allowed one, 429s, lost and
//! duplicated deliveries. Goal: ≥95 % of the allowed rate, ≤1 429, none
//! lost or duplicated. 1,000 records take ≥400 s by construction.
//!
//! The achieved rate counts distinct records delivered: a duplicate post
//! uses the bucket but delivers nothing new, so it is reported on its own
//! line and never raises the rate.

#[path = "../tests/support/fake_webhook.rs"]
mod fake_webhook;
#[path = "../tests/support/multipart.rs"]
mod multipart;
// The fake checks every body against Discord's spec, as in the tests.
#[path = "../tests/support/openapi.rs"]
mod openapi;

/// `../shared` beside the project (Discord's API spec), for `openapi`.
fn shared_dir() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared")
}

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use fake_webhook::{FakeWebhook, Limit};
use flipfix_bot::config::{SettingKey, Settings};
use flipfix_bot::notify::{Dispatcher, DispatcherConfig};
use flipfix_bot::records::{create_record, Author, CreatedVia, NewRecord};
use flipfix_bot::template_check::load_workflows;
use sqlx::postgres::PgPoolOptions;
use sqlx::{Connection, PgConnection};

const LIMIT: u32 = 5;
const WINDOW: Duration = Duration::from_secs(2);

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .init();
    let records: usize = std::env::args()
        .skip(1)
        .find(|a| !a.starts_with('-'))
        .or_else(|| std::env::var("FLIPFIX_BENCH_RECORDS").ok())
        .map(|n| n.parse())
        .transpose()
        .context("the record count must be a number")?
        .unwrap_or(1000);
    let admin_url = std::env::var("DATABASE_URL").context("DATABASE_URL must be set")?;
    let scratch = format!("flipfix_bench_{}", std::process::id());
    let mut admin = PgConnection::connect(&admin_url).await?;
    sqlx::query(&format!("CREATE DATABASE {scratch}"))
        .execute(&mut admin)
        .await?;
    let outcome = run(&admin_url, &scratch, records).await;
    sqlx::query(&format!("DROP DATABASE IF EXISTS {scratch} WITH (FORCE)"))
        .execute(&mut admin)
        .await?;
    outcome
}

async fn run(admin_url: &str, scratch: &str, records: usize) -> anyhow::Result<()> {
    let mut url = url::Url::parse(admin_url)?;
    url.set_path(&format!("/{scratch}"));
    let pool = PgPoolOptions::new()
        .max_connections(8)
        .connect(url.as_str())
        .await?;
    flipfix_bot::db::migrate(&pool).await?;

    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let workflows = load_workflows(&root.join("workflows"), &root.join("prompts"))
        .map_err(|problems| anyhow::anyhow!("{problems}"))?;
    let fake = FakeWebhook::start(Some(Limit {
        limit: LIMIT,
        window: WINDOW,
    }))
    .await;
    let settings = Settings::new(pool.clone(), true);
    settings
        .set(SettingKey::DiscordWebhooksEnabled, "true", "bench")
        .await?;
    settings
        .set(
            SettingKey::DiscordWebhookUrl,
            &fake.url("benchtoken"),
            "bench",
        )
        .await?;
    let machine: i64 = sqlx::query_scalar(
        "INSERT INTO machines (slug, name) VALUES ('gorgar', 'Gorgar') RETURNING id",
    )
    .fetch_one(&pool)
    .await?;
    for i in 0..records {
        let record = NewRecord {
            kind: "problem_report".into(),
            machine_id: Some(machine),
            parent_id: None,
            description: format!("bench record {i}"),
            fields: Default::default(),
            author: Author::Name("Bench".into()),
            occurred_at: flipfix_bot::clock::system_now(),
            created_at: flipfix_bot::clock::system_now(),
            created_via: CreatedVia::Cli,
            created_by: Some("bench".into()),
            sources: Vec::new(),
            media: Vec::new(),
        };
        create_record(&pool, &workflows.kinds, &record).await?;
    }
    println!("queued {records} records; posting at most {LIMIT} per {WINDOW:?}…");

    let source = workflows.clone();
    let dispatcher = Dispatcher::new(
        pool.clone(),
        settings,
        Arc::new(move || source.clone()),
        DispatcherConfig::default(),
    )?;
    let started = Instant::now();
    let task = tokio::spawn(dispatcher.run(flipfix_bot::shutdown::Shutdown::never()));
    // Generous: twice the ideal time plus a minute.
    let ideal = WINDOW.as_secs_f64() * records as f64 / f64::from(LIMIT);
    let deadline = started + Duration::from_secs_f64(ideal * 2.0 + 60.0);
    loop {
        let undelivered: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM notification_outbox WHERE delivered_at IS NULL",
        )
        .fetch_one(&pool)
        .await?;
        if undelivered == 0 || Instant::now() > deadline {
            break;
        }
        // A benchmark's progress check, not test synchronisation.
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    task.abort();

    let received = fake.received();
    let ok: Vec<_> = received.iter().filter(|r| r.status < 300).collect();
    let too_many = received.iter().filter(|r| r.status == 429).count();
    let mut per_record: HashMap<String, usize> = HashMap::new();
    for request in &ok {
        let text = request.body["embeds"][0]["description"]
            .as_str()
            .unwrap_or_default();
        let first_line = text.lines().next().unwrap_or_default().to_string();
        *per_record.entry(first_line).or_default() += 1;
    }
    let lost = (0..records)
        .filter(|i| !per_record.contains_key(&format!("bench record {i}")))
        .count();
    let duplicated: usize = per_record.values().map(|n| n.saturating_sub(1)).sum();
    let distinct = per_record.len();
    // Time to the first delivery of the last distinct record: duplicates
    // posted after it do not stretch (or shrink) the measured run.
    let mut seen = std::collections::HashSet::new();
    let elapsed = ok
        .iter()
        .filter(|request| {
            let text = request.body["embeds"][0]["description"]
                .as_str()
                .unwrap_or_default();
            seen.insert(text.lines().next().unwrap_or_default().to_string())
        })
        .last()
        .map(|last| last.at.duration_since(started))
        .unwrap_or_default();
    let allowed = f64::from(LIMIT) / WINDOW.as_secs_f64();
    // Ideal: the last window opens (records/LIMIT - 1) windows after the first.
    let ideal_elapsed = WINDOW.as_secs_f64() * ((records as f64 / f64::from(LIMIT)).ceil() - 1.0);
    // The run occupies the bucket until the window of its last request
    // closes; counting that window makes a perfect run exactly the allowed
    // rate (n requests in ceil(n / LIMIT) windows) instead of flattering
    // short runs.
    let occupied = elapsed.as_secs_f64() + WINDOW.as_secs_f64();
    let achieved = distinct as f64 / occupied;
    println!("how measured:       {records} records queued before the dispatcher starts; the");
    println!(
        "                    fake webhook (127.0.0.1) allows {LIMIT} requests per {WINDOW:?} with"
    );
    println!(
        "                    Discord's headers and logs each request's arrival time; a record"
    );
    println!("                    is identified by its description's first line; rate = distinct");
    println!(
        "                    records delivered / (time to the last one's first 2xx + one window)"
    );
    println!("records:            {records}");
    println!(
        "delivered:          {distinct} distinct records in {} 2xx posts",
        ok.len()
    );
    println!(
        "elapsed:            {:.1} s to the last post (ideal ≥ {ideal_elapsed:.1} s)",
        elapsed.as_secs_f64()
    );
    println!(
        "achieved rate:      {achieved:.3} records/s of {allowed:.3} requests/s allowed ({:.1} %)",
        100.0 * achieved / allowed
    );
    println!(
        "vs ideal schedule:  {:.1} %",
        100.0 * ideal_elapsed / elapsed.as_secs_f64().max(f64::EPSILON)
    );
    println!("429s received:      {too_many}");
    println!("lost:               {lost}");
    println!(
        "duplicated:         {duplicated} (extra posts of a delivered record; not in the rate)"
    );
    pool.close().await;
    Ok(())
}
