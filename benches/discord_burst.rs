//! Deferral latency under load (a benchmark, not a test).
//!
//! Runs the real `flipfix-bot` binary against the fake Discord (REST and
//! gateway on 127.0.0.1) with a fake Claude that takes 2 s per analysis.
//! Sends 100 "Add to Flipfix" invocations over one second (one every 10 ms,
//! as a busy evening's clicks arrive), then one every 0.5 s for 5 s while
//! the burst's analyses are in flight, and prints the time from the
//! INTERACTION_CREATE frame written to the bot's socket to the deferral
//! callback received (p50, p99, max, each late one), the total time, and
//! the bot process's memory: idle RSS, peak RSS,
//! and where it is (executable, libraries, malloc heaps, stacks, database
//! connections) at idle and after the burst, one line each.
//!
//! After the bot, the same burst is answered by two minimal clients (see
//! `floors`): the bot's own share of a deferral is its figure less theirs.
//! The time from the fake's call (building the payload and handing it to
//! the socket's task included, as this bench measured until 2026-12-03) is
//! printed too.
//!
//! `FLIPFIX_BENCH_BOT=<path>` runs another build of the bot (an earlier
//! release, say) under the same load, so two builds compare in one session.
//!
//! The fake Discord runs in this process, on the same two CPUs as the bot.
//! Its spec checks (about a millisecond per request) run after the
//! measurement, on the recorded requests: inline, the 100 queued callbacks
//! were timed behind the fake's own checking (p50 113 ms instead of the
//! bot's < 1 ms).
//!
//! Needs `DATABASE_URL` (a scratch database is created and dropped):
//! `DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres cargo bench --bench discord_burst`

#[path = "discord_burst/deferrals.rs"]
mod deferrals;
#[path = "discord_burst/floors.rs"]
mod floors;
#[path = "common/memory.rs"]
mod memory;
#[allow(unused_imports)]
#[path = "../tests/support/mod.rs"]
mod support;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use deferrals::{burst, ms, ms_list, percentile};
use serde_json::{json, Value};
use sqlx::{Connection, PgConnection};
use support::anthropic::{FakeAnthropic, Reply};
use support::fake_discord::{user_message, FakeDiscord, FakeUser, CHANNEL_ID, GUILD_ID};

const BURST: usize = 100;
/// The burst's invocations are spread over this long.
const BURST_SPREAD: Duration = Duration::from_secs(1);
const LATE: usize = 10;
const LATE_INTERVAL: Duration = Duration::from_millis(500);
const MODEL_DELAY: Duration = Duration::from_secs(2);

struct Bot(Child);

impl Drop for Bot {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A figure of /proc/<pid>/status in MiB (`VmRSS`, `VmHWM`), Linux only.
fn status_mib(pid: u32, field: &str) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

/// The bot's connections to the scratch database (its pool and the
/// connection that holds its locks).
async fn connections(admin: &mut PgConnection, database: &str) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM pg_stat_activity WHERE datname = $1")
        .bind(database)
        .fetch_one(admin)
        .await
        .unwrap_or(-1)
}

/// Passes the bot's log through to this process's stderr, keeping the
/// start-up heap lines (`part="…" kib=N`) it finds.
fn read_startup_heap(
    stderr: std::process::ChildStderr,
) -> std::thread::JoinHandle<Vec<(String, u64)>> {
    use std::io::BufRead as _;
    std::thread::spawn(move || {
        let mut parts = Vec::new();
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            if !line.contains("start-up heap") {
                eprintln!("{line}");
                continue;
            }
            let part = line
                .split_once("part=")
                .map(|(_, rest)| rest.trim_start_matches('"'))
                .and_then(|rest| rest.split('"').next())
                .unwrap_or("?");
            let kib = line
                .split_once("kib=")
                .and_then(|(_, rest)| rest.split_whitespace().next()?.parse().ok())
                .unwrap_or(0);
            parts.push((part.to_string(), kib));
        }
        parts
    })
}

/// The build measured and the machine it ran on, so figures can be judged:
/// the bot's path, this bench's profile, the CPUs and the load before the run.
fn machine_line(binary: &str) -> String {
    let profile = if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    };
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    let load = std::fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().map(str::to_string))
        .unwrap_or_else(|| "unknown".into());
    format!("bot {binary}; bench built {profile}; {cpus} CPUs; load average (1 min) {load}")
}

#[tokio::main]
async fn main() {
    if let Ok(client) = std::env::var(floors::CLIENT_ENV) {
        let base_url = std::env::var(floors::DISCORD_ENV).unwrap_or_default();
        if let Err(err) = floors::run(&client, &base_url).await {
            eprintln!("discord_burst floor client {client}: {err:#}");
            std::process::exit(1);
        }
        return;
    }
    let Ok(base_url) = std::env::var("DATABASE_URL") else {
        eprintln!("discord_burst: set DATABASE_URL to a Postgres server (a scratch database is created there)");
        std::process::exit(2);
    };
    let scratch = format!("flipfix_bench_{}", std::process::id());
    let mut admin = PgConnection::connect(&base_url)
        .await
        .expect("connect to DATABASE_URL");
    sqlx::query(&format!("CREATE DATABASE {scratch}"))
        .execute(&mut admin)
        .await
        .expect("create scratch db");
    let mut url = url::Url::parse(&base_url).expect("DATABASE_URL is a URL");
    url.set_path(&format!("/{scratch}"));

    let fake = FakeDiscord::start().await;
    fake.defer_spec_checks();
    let answer = json!({"suggestions": [{"kind": "part_request", "description": "Need flipper rubbers",
                                          "source_message_ids": []}]});
    let anthropic = FakeAnthropic::start(vec![Reply::Delayed(
        MODEL_DELAY,
        Box::new(Reply::tool_use(answer)),
    )])
    .await;

    // One target message per invocation, so none is "already being reviewed".
    let author = json!({"id": "1002000000000000001", "username": "bob_the_fixer", "global_name": "Bob Wilson",
                        "discriminator": "0", "avatar": null});
    let targets: Vec<Value> = (0..BURST + LATE)
        .map(|i| {
            let message = user_message(
                1_100_000_000_000_000_000 + i as u64,
                CHANNEL_ID,
                author.clone(),
                &format!("Ballyhoo needs part {i}"),
                "2025-01-15T13:59:19+00:00",
                None,
            );
            fake.add_message(CHANNEL_ID, message.clone());
            message
        })
        .collect();

    let binary = std::env::var("FLIPFIX_BENCH_BOT")
        .unwrap_or_else(|_| env!("CARGO_BIN_EXE_flipfix-bot").to_string());
    let binary = binary.as_str();
    let root = env!("CARGO_MANIFEST_DIR");
    let mut child = Command::new(binary)
        .arg("run")
        .current_dir(root)
        .env("DATABASE_URL", url.as_str())
        .env("DISCORD_TOKEN", "fake-token")
        .env("DISCORD_PROXY_URL", &fake.base_url)
        .env("DISCORD_GUILD_ID", GUILD_ID.to_string())
        .env("HTTP_BIND", "127.0.0.1:0")
        .env("ANTHROPIC_BASE_URL", &anthropic.base_url)
        .env("ANTHROPIC_API_KEY", "sk-ant-bench")
        // The start-up heap per part is logged at debug (see `startup_memory`).
        .env("RUST_LOG", "warn,flipfix_bot::startup_memory=debug")
        .env("LOG_FORMAT", "text")
        .arg("--secrets")
        .arg("/nonexistent/Secrets.toml")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start flipfix-bot");
    let pid = child.id();
    let startup_heap = child.stderr.take().map(read_startup_heap);
    let bot = Bot(child);
    fake.wait_for_identify(1).await;
    // Commands are synced by difference: a fresh start creates each one
    // (builds before 0.2 replaced the whole list with one PUT).
    fake.wait_until("command registration", |r| {
        r.iter()
            .any(|r| (r.method == "POST" || r.method == "PUT") && r.path.ends_with("/commands"))
    })
    .await;

    // Idle: started, registered, settled.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let idle_rss = status_mib(pid, "VmRSS:");
    let idle_budget = memory::budget(pid, binary);
    let idle_connections = connections(&mut admin, &scratch).await;

    let machine = machine_line(binary);
    let user = FakeUser::member(1_002_000_000_000_000_001, "bob_the_fixer");
    let started = Instant::now();
    let deferrals = burst(&fake, &user, &targets).await;
    // Let every analysis finish (each ends with its first review card).
    for token in &deferrals.tokens {
        fake.wait_until("the review card", |requests| {
            requests.iter().any(|r| {
                r.method == "PATCH"
                    && r.path.contains(token.as_str())
                    && r.body["embeds"].as_array().is_some_and(|e| !e.is_empty())
            })
        })
        .await;
    }
    let total = started.elapsed();
    let peak_rss = status_mib(pid, "VmHWM:");
    let after_rss = status_mib(pid, "VmRSS:");
    let after_budget = memory::budget(pid, binary);
    let after_connections = connections(&mut admin, &scratch).await;
    drop(bot);
    let startup_heap = startup_heap
        .and_then(|reader| reader.join().ok())
        .unwrap_or_default();

    // The floors, under the same burst of the command the bot registered,
    // each client alone on the gateway (the fake sends to the latest
    // IDENTIFY).
    let mut floor_figures = Vec::new();
    for (n, client) in floors::CLIENTS.iter().enumerate() {
        let floor = floors::Floor::start(client, &fake.base_url);
        fake.wait_for_identify(n as u64 + 2).await;
        tokio::time::sleep(Duration::from_millis(500)).await;
        floor_figures.push((*client, burst(&fake, &user, &targets).await));
        drop(floor);
    }

    println!(
        "discord_burst: {BURST} invocations over {} ms, then {LATE} every {} ms; model takes {} s",
        BURST_SPREAD.as_millis(),
        LATE_INTERVAL.as_millis(),
        MODEL_DELAY.as_secs()
    );
    println!("  {machine}");
    println!(
        "  INTERACTION_CREATE frame written -> deferral callback received: {}",
        deferrals.line()
    );
    println!("  late invocations: {}", ms_list(&deferrals.late));
    println!("  the burst's first five: {}", ms_list(&deferrals.first));
    println!(
        "  from the fake's call, building the payload included: p50 {}  p99 {}",
        ms(percentile(&deferrals.from_call, 0.5)),
        ms(percentile(&deferrals.from_call, 0.99))
    );
    println!("  floors, the same burst answered at once by a minimal client (see benches/discord_burst/floors.rs):");
    for (client, floor) in &floor_figures {
        println!("    {client:<9} {}", floor.line());
    }
    if let Some((_, serenity_floor)) = floor_figures.iter().find(|(c, _)| *c == "serenity") {
        let share = |p: f64| {
            percentile(&deferrals.from_frame, p).as_secs_f64()
                - percentile(&serenity_floor.from_frame, p).as_secs_f64()
        };
        println!(
            "  the bot's own share (its figure less the serenity floor): p50 {:+.2} ms  p99 {:+.2} ms",
            share(0.5) * 1000.0,
            share(0.99) * 1000.0
        );
    }
    println!(
        "  total time until every review card was shown: {:.2} s",
        total.as_secs_f64()
    );
    println!("  model calls: {}", anthropic.received().len());
    let figure =
        |mib: Option<f64>| mib.map_or("unavailable (no /proc)".into(), |m| format!("{m:.1} MiB"));
    println!(
        "  bot RSS: idle {}  peak (VmHWM) {}  after the burst {}",
        figure(idle_rss),
        figure(peak_rss),
        figure(after_rss)
    );
    println!("  the heap each part of start-up left in use (malloc's count):");
    if startup_heap.is_empty() {
        println!("    unavailable (the bot logged no start-up heap)");
    }
    for (part, kib) in &startup_heap {
        println!("    {part:<46} {:>7.1} MiB", *kib as f64 / 1024.0);
    }
    let in_flight = (BURST + LATE) as f64;
    if let (Some(idle), Some(after)) = (&idle_budget, &after_budget) {
        println!(
            "  malloc per analysis in flight (after the burst - idle, / {in_flight}): {:.0} KiB",
            after.heap().saturating_sub(idle.heap()) as f64 / in_flight
        );
    }
    for (when, budget, db) in [
        ("idle", idle_budget, idle_connections),
        ("after the burst", after_budget, after_connections),
    ] {
        println!("  where the bot's RSS is, {when}:");
        match budget {
            Some(budget) => println!("{budget}"),
            None => println!("    unavailable (no /proc/<pid>/smaps)"),
        }
        println!("    database connections          {db:>5}");
    }
    println!("  goal: deferral p50 <= 0.5 ms, p99 <= 3 ms, every late one <= 3 ms; idle RSS <= 20 MiB, peak <= 40 MiB");
    println!("  fake Discord: in this process; its OpenAPI checks of the bot's requests ran after the measurement");
    fake.check_spec_afterwards();
    fake.assert_spec_clean();

    admin.close().await.ok();
    let mut admin = PgConnection::connect(&base_url).await.expect("reconnect");
    let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS {scratch} WITH (FORCE)"))
        .execute(&mut admin)
        .await;
}
