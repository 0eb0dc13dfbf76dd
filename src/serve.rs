//! The life of a `run` process: stand by until it holds the Discord gateway
//! (a Postgres session advisory lock, see `db::locks`), serve, and end in
//! order on SIGTERM or a fault — never online-but-silent, never hung.
//!
//! Every process runs the notification dispatcher (the outbox is safe for
//! several); exactly one holds the gateway. A standby polls the lock every
//! two seconds, so it takes over within seconds of the holder's death: a
//! dead process's connection closes (the kernel closes its sockets even on
//! kill -9) and Postgres releases its locks.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use sqlx::PgPool;

use crate::app::{App, RunConfig};
use crate::config::Secrets;
use crate::db::locks::Liveness;
use crate::jobs::{Stopped, Workers};
use crate::lifecycle::{
    Lifecycle, StartupReport, StartupState, StartupWatch, DEFAULT_STARTUP_BOUND,
};
use crate::shutdown::{Shutdown, Trigger};
use crate::startup_memory::StartupBudget;
use crate::template_check::load_valid_workflows;

/// How often a standby tries the gateway lock, and the holder checks the
/// connection that holds it.
pub const LOCK_POLL: Duration = Duration::from_secs(2);
/// Closing the gateway connection waits at most this long.
const SHARD_GRACE: Duration = Duration::from_secs(2);
/// Shutdown waits this long for reviews being prepared to close themselves.
const IN_FLIGHT_GRACE: Duration = Duration::from_secs(3);
/// And this long for the workers to finish what they do: the dispatcher
/// its POST in flight (Discord answers webhooks well within it), a photo
/// copy, page requests in progress. The whole exit stays under 10 s.
const WORKER_GRACE: Duration = Duration::from_secs(4);
/// Environment variable bounding start-up (READY and command registration), in seconds.
pub const STARTUP_TIMEOUT_ENV: &str = "FLIPFIX_STARTUP_TIMEOUT_SECS";

/// SIGTERM and Ctrl-C, listened to from the first line of `run`.
pub struct Signals {
    trigger: Arc<Trigger>,
    shutdown: Shutdown,
    task: tokio::task::JoinHandle<()>,
}

impl Signals {
    /// Registers the handlers now (not on first poll), so no signal is missed.
    pub fn install() -> anyhow::Result<Self> {
        let (trigger, shutdown) = crate::shutdown::channel();
        let trigger = Arc::new(trigger);
        #[cfg(unix)]
        let mut terminate =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                .context("cannot install the SIGTERM handler")?;
        let requester = trigger.clone();
        let task = tokio::spawn(async move {
            #[cfg(unix)]
            let terminate = async {
                terminate.recv().await;
            };
            #[cfg(not(unix))]
            let terminate = std::future::pending::<()>();
            let signal = tokio::select! {
                _ = tokio::signal::ctrl_c() => "ctrl-c",
                () = terminate => "SIGTERM",
            };
            tracing::info!(
                signal,
                "shutting down: no new interactions; finishing the work in flight"
            );
            requester.request();
        });
        Ok(Self {
            trigger,
            shutdown,
            task,
        })
    }
}

impl Drop for Signals {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The start-up bound: `FLIPFIX_STARTUP_TIMEOUT_SECS`, else 60 s.
fn startup_bound() -> Duration {
    std::env::var(STARTUP_TIMEOUT_ENV)
        .ok()
        .and_then(|raw| raw.trim().parse::<u64>().ok())
        .map(Duration::from_secs)
        .unwrap_or(DEFAULT_STARTUP_BOUND)
}

/// Runs the bot on `pool` until shutdown or a fault.
pub async fn serve(pool: &PgPool, secrets: Secrets, signals: Signals) -> anyhow::Result<()> {
    let mut budget = StartupBudget::begin("runtime, configuration, database pool");
    let workflows = load_valid_workflows(&secrets.workflows_dir, &secrets.prompts_dir)?;
    budget.part_done("workflows and templates");
    tracing::info!(version = %workflows.version, kinds = ?workflows.kinds.names(), "workflows loaded");
    crate::app::log_workflow_warnings(&workflows);
    // After the database and the workflows, so those report first.
    let config = RunConfig::from_secrets(secrets)?;
    let mut liveness = Liveness::acquire(pool)
        .await
        .context("cannot open the database connection that holds this process's locks")?;
    crate::review::recovery::close_of_reused_key(pool, liveness.key())
        .await
        .context("cannot prepare the review sessions for this process")?;
    let (startup, startup_watch) = StartupReport::new();
    let lifecycle = Lifecycle {
        instance: Some(liveness.key()),
        shutdown: signals.shutdown.clone(),
        in_flight: Arc::default(),
        startup,
    };
    let app = App::with_lifecycle(pool.clone(), config, workflows, lifecycle);
    budget.part_done("state, settings and model clients");
    close_orphaned_reviews(&app).await;
    let mut workers = start_workers(&app, &signals).await?;
    budget.part_done("background workers and the web server");

    let outcome = run_roles(
        &app,
        &mut liveness,
        startup_watch,
        &mut workers,
        signals.shutdown.clone(),
        budget,
    )
    .await;

    // An orderly end whatever happened: reviews being prepared close and
    // tell their people, the dispatcher finishes its POST, then the locks go.
    signals.trigger.request();
    let in_flight = app.lifecycle.in_flight.count();
    if !app.lifecycle.in_flight.wait_idle(IN_FLIGHT_GRACE).await {
        tracing::warn!(
            in_flight,
            "reviews were still closing at shutdown; their messages are freed by the next process"
        );
    }
    workers.finish(WORKER_GRACE).await;
    liveness.release().await;
    outcome
}

/// Every process's background workers, standby included, as one supervised
/// set (`jobs::Workers`: the first to stop ends the process): the
/// notification dispatcher (the outbox is safe for several), the photo
/// copier (claims are leased; a copy cut by the exit is taken up again when
/// its lease ends), the daily-summary scheduler (one claim per day in
/// Postgres lets exactly one process post), the review-prompt expiry (one
/// claim per prompt lets exactly one process edit it) and the record pages.
async fn start_workers(app: &Arc<App>, signals: &Signals) -> anyhow::Result<Workers> {
    let mut workers = Workers::new();
    let dispatcher = dispatcher(app)?;
    workers.spawn(
        "the notification dispatcher",
        dispatcher.run(signals.trigger.subscribe()),
    );
    let media = crate::media::MediaWorker::new(
        app.pool.clone(),
        app.settings.clone(),
        media_worker_config(app),
    );
    workers.spawn("the media worker", media.run(signals.trigger.subscribe()));
    let summaries = summary_scheduler(app);
    let shutdown = signals.trigger.subscribe();
    workers.spawn("the daily-summary scheduler", async move {
        summaries.run(shutdown).await;
        Ok::<(), std::convert::Infallible>(())
    });
    let prompt_expiry = crate::discord::PromptExpiry::new(app.clone());
    let shutdown = signals.trigger.subscribe();
    workers.spawn("the review-prompt expiry", async move {
        prompt_expiry.run(shutdown).await;
        Ok::<(), std::convert::Infallible>(())
    });
    let web = crate::web::start(app.clone(), signals.trigger.subscribe()).await?;
    workers.spawn("the web server", async move {
        match web.await {
            Ok(served) => served.map_err(|err| err.to_string()),
            Err(join) => Err(format!("its task ended: {join}")),
        }
    });
    Ok(workers)
}

/// Standby until the gateway lock is ours, then the gateway until shutdown
/// or a fault.
async fn run_roles(
    app: &Arc<App>,
    liveness: &mut Liveness,
    mut startup_watch: StartupWatch,
    workers: &mut Workers,
    mut shutdown: Shutdown,
    mut budget: StartupBudget,
) -> anyhow::Result<()> {
    let mut said_standby = false;
    loop {
        let leading = liveness.try_lead().await.context(
            "lost the database connection that holds this process's locks; restart the process",
        )?;
        if leading {
            break;
        }
        if !said_standby {
            tracing::info!("standing by: another process holds the Discord gateway; this one takes over when it stops");
            said_standby = true;
        }
        tokio::select! {
            () = tokio::time::sleep(LOCK_POLL) => {}
            () = shutdown.requested() => return Ok(()),
            stopped = workers.stopped() => return worker_stopped(stopped, &app.lifecycle.shutdown),
        }
    }
    tracing::info!(instance = liveness.key(), "holding the Discord gateway");
    // The previous holder's analyses, if it died mid-way.
    close_orphaned_reviews(app).await;

    let bound = startup_bound();
    app.lifecycle.startup.begin(bound);
    // A little past the registration deadline, so its own error wins.
    let ready_deadline = tokio::time::Instant::now() + bound + Duration::from_secs(5);
    let mut client = crate::discord::build_client(app.clone()).await?;
    let shard_manager = client.shard_manager.clone();
    let mut bot = tokio::spawn(async move { client.start_autosharded().await });
    let mut ready = false;
    let outcome = loop {
        tokio::select! {
            result = &mut bot => break Err(bot_ended(result)),
            state = startup_watch.outcome(ready_deadline), if !ready => match state {
                StartupState::Ready => {
                    ready = true;
                    tracing::info!("serving Discord interactions");
                    budget.part_done("Discord client, gateway, cache and commands");
                    budget.log();
                    // Off the runtime's threads: it reads /proc and walks malloc's heaps.
                    tokio::task::spawn_blocking(crate::startup_memory::release);
                }
                StartupState::Failed(reason) => break Err(anyhow::anyhow!(
                    "start-up failed: {reason}; check Discord's status and the bot token, then restart"
                )),
                StartupState::Pending => break Err(anyhow::anyhow!(
                    "the Discord gateway was not READY with commands registered within {} s; check DISCORD_TOKEN, the network to Discord and Discord's status, then restart",
                    bound.as_secs()
                )),
            },
            () = tokio::time::sleep(LOCK_POLL) => {
                if let Err(err) = liveness.ping().await {
                    break Err(anyhow::Error::new(err).context(
                        "lost the database connection that holds the gateway lock; stopped the gateway so a standby can take over; restart this process",
                    ));
                }
            }
            stopped = workers.stopped() => break worker_stopped(stopped, &app.lifecycle.shutdown),
            () = shutdown.requested() => break Ok(()),
        }
    };
    // A fault is reported once, by `main`, with its cause chain.
    // Stop taking interactions before anything else finishes.
    // Bounded: a shard stuck mid-handshake must not hold the exit.
    if tokio::time::timeout(SHARD_GRACE, shard_manager.shutdown_all())
        .await
        .is_err()
    {
        tracing::warn!("the Discord gateway did not close in time; exiting anyway");
    }
    if !bot.is_finished() {
        bot.abort();
    }
    outcome
}

/// A worker stopped: the process ends (the rule in `jobs::Workers`),
/// unless it stopped because shutdown was requested.
fn worker_stopped(stopped: Stopped, shutdown: &Shutdown) -> anyhow::Result<()> {
    if shutdown.is_requested() {
        return Ok(());
    }
    Err(anyhow::Error::new(stopped)
        .context("a background worker stopped, so the process ends; restart it (a standby takes the gateway meanwhile)"))
}

fn bot_ended(result: Result<Result<(), serenity::Error>, tokio::task::JoinError>) -> anyhow::Error {
    match result {
        Ok(Ok(())) => anyhow::anyhow!("the Discord client stopped unexpectedly"),
        Ok(Err(err)) => anyhow::Error::new(err).context("the Discord client stopped"),
        Err(join) => anyhow::anyhow!("the Discord client task panicked: {join}"),
    }
}

/// Frees the messages of reviews whose process is gone (a crash, a kill, a
/// deploy), so nobody is told "already reviewing" about a review without
/// buttons, and settles the runs such processes left in progress.
async fn close_orphaned_reviews(app: &App) {
    match crate::review::recovery::close_orphans(&app.pool).await {
        Ok(closed) if closed.is_empty() => {}
        Ok(closed) => tracing::warn!(
            count = closed.len(),
            sessions = ?closed,
            "closed reviews left analysing by a process that stopped; their messages are free again (their people can run Add to Flipfix again)"
        ),
        Err(err) => tracing::error!(
            error = %err,
            "could not close reviews left by a stopped process; an admin can free them with /flipfix reviews cancel"
        ),
    }
    // The runs of those reviews, and any other run a stopped process left
    // in progress, are settled now (they are again before runs are listed).
    if let Err(err) = crate::runs::settle_leftovers(&app.pool, app.clock.now()).await {
        tracing::warn!(error = %err, "could not settle runs left in progress; they are settled when runs are next listed");
    }
}

/// The media worker's configuration in a running bot: the shipped lease,
/// backoff and attempts (tests/it/shipped_defaults.rs reads them here).
pub fn media_worker_config(app: &App) -> crate::media::WorkerConfig {
    crate::media::WorkerConfig {
        allow_loopback: app.secrets.allow_loopback_urls,
        blobs: app.media.clone(),
        clock: app.clock.clone(),
        ..Default::default()
    }
}

/// The dispatcher's configuration in a running bot: the shipped lease,
/// timeout and backoff (tests/it/shipped_defaults.rs reads them here).
pub fn dispatcher_config(app: &App) -> crate::notify::DispatcherConfig {
    crate::notify::DispatcherConfig {
        public_base_url: app.secrets.public_base_url.clone(),
        media: app.media.clone(),
        clock: app.clock.clone(),
        ..Default::default()
    }
}

/// The notification dispatcher on the app's settings, clock and media.
fn dispatcher(app: &Arc<App>) -> anyhow::Result<crate::notify::Dispatcher> {
    let source_app = app.clone();
    let workflows: crate::notify::WorkflowSource = Arc::new(move || source_app.workflows());
    Ok(crate::notify::Dispatcher::new(
        app.pool.clone(),
        app.settings.clone(),
        workflows,
        dispatcher_config(app),
    )?)
}

/// The daily summary scheduler on the app's clock.
pub fn summary_scheduler(app: &Arc<App>) -> crate::summary::Scheduler {
    let source_app = app.clone();
    let workflows: crate::notify::WorkflowSource = Arc::new(move || source_app.workflows());
    crate::summary::Scheduler::new(
        app.pool.clone(),
        workflows,
        app.clock.clone(),
        app.secrets.public_base_url.clone(),
    )
}
