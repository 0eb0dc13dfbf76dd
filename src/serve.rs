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

use crate::app::App;
use crate::config::Secrets;
use crate::db::locks::Liveness;
use crate::lifecycle::{
    Lifecycle, StartupReport, StartupState, StartupWatch, DEFAULT_STARTUP_BOUND,
};
use crate::shutdown::{Shutdown, Trigger};
use crate::template_check::load_workflows;

/// How often a standby tries the gateway lock, and the holder checks the
/// connection that holds it.
pub const LOCK_POLL: Duration = Duration::from_secs(2);
/// Closing the gateway connection waits at most this long.
const SHARD_GRACE: Duration = Duration::from_secs(2);
/// Shutdown waits this long for reviews being prepared to close themselves.
const IN_FLIGHT_GRACE: Duration = Duration::from_secs(3);
/// And this long for the dispatcher to finish its POST in flight (Discord
/// answers webhooks well within it; the whole exit stays under 10 s).
const DISPATCHER_GRACE: Duration = Duration::from_secs(4);
/// And this long for page requests in progress (they are short).
const WEB_GRACE: Duration = Duration::from_secs(1);
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
    let workflows = load_workflows(&secrets.workflows_dir, &secrets.prompts_dir)
        .map_err(|problems| anyhow::anyhow!("the workflows have problems:\n{problems}"))?;
    tracing::info!(version = %workflows.version, kinds = ?workflows.kinds.names(), "workflows loaded");
    let token = secrets
        .discord_token
        .clone()
        .ok_or(crate::app::MissingToken)?;
    if secrets.discord_guild_id.is_none() {
        return Err(crate::app::MissingHomeServer.into());
    }
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
    let app = App::with_lifecycle(pool.clone(), secrets, workflows, lifecycle);
    close_orphaned_reviews(&app).await;
    let mut dispatcher = Some(start_dispatcher(&app, signals.trigger.subscribe())?);
    // Every process copies photos (claims are leased; a copy cut by the
    // exit is taken up again when its lease ends).
    let media = crate::media::MediaWorker::new(
        app.pool.clone(),
        app.settings.clone(),
        media_worker_config(&app),
    );
    tokio::spawn(media.run(signals.trigger.subscribe()));
    // Every process schedules the daily summaries (one claim per day in
    // Postgres lets exactly one of them post).
    let summaries = tokio::spawn(summary_scheduler(&app).run(signals.trigger.subscribe()));
    tokio::spawn(async move {
        if let Err(join) = summaries.await {
            tracing::error!(error = %join, "the summary scheduler task panicked; daily summaries stop on this process until it restarts (other processes still post them)");
        }
    });
    // Every process serves the pages, standby included.
    let web = crate::web::start(app.clone(), signals.trigger.subscribe()).await?;

    let outcome = run_roles(
        &app,
        &token,
        &mut liveness,
        startup_watch,
        &mut dispatcher,
        signals.shutdown.clone(),
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
    if let Some(dispatcher) = dispatcher {
        match tokio::time::timeout(DISPATCHER_GRACE, dispatcher).await {
            Ok(Ok(Ok(()))) => {}
            Ok(Ok(Err(err))) => tracing::warn!(error = %err, "the notification dispatcher stopped with an error"),
            Ok(Err(join)) => tracing::error!(error = %join, "the notification dispatcher task panicked"),
            Err(_) => tracing::warn!("the notification dispatcher did not stop in time; a row it held is retried when its lease ends"),
        }
    }
    match tokio::time::timeout(WEB_GRACE, web).await {
        Ok(Ok(Ok(()))) => {}
        Ok(Ok(Err(err))) => tracing::warn!(error = %err, "the web server stopped with an error"),
        Ok(Err(join)) => tracing::error!(error = %join, "the web server task panicked"),
        Err(_) => tracing::warn!("page requests were still open at shutdown; they were cut"),
    }
    liveness.release().await;
    outcome
}

type DispatcherTask = tokio::task::JoinHandle<Result<(), crate::notify::DispatchError>>;

/// Standby until the gateway lock is ours, then the gateway until shutdown
/// or a fault.
async fn run_roles(
    app: &Arc<App>,
    token: &crate::config::Secret,
    liveness: &mut Liveness,
    mut startup_watch: StartupWatch,
    dispatcher: &mut Option<DispatcherTask>,
    mut shutdown: Shutdown,
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
            ended = watch_dispatcher(dispatcher, &app.lifecycle.shutdown) => return ended,
        }
    }
    tracing::info!(instance = liveness.key(), "holding the Discord gateway");
    // The previous holder's analyses, if it died mid-way.
    close_orphaned_reviews(app).await;

    let bound = startup_bound();
    app.lifecycle.startup.begin(bound);
    // A little past the registration deadline, so its own error wins.
    let ready_deadline = tokio::time::Instant::now() + bound + Duration::from_secs(5);
    let mut client = crate::discord::build_client(app.clone(), token).await?;
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
            ended = watch_dispatcher(dispatcher, &app.lifecycle.shutdown) => break ended,
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

/// Resolves (with an error) only if the dispatcher ends on its own.
/// (It stops on its own when shutdown is requested: that is no error.)
async fn watch_dispatcher(
    dispatcher: &mut Option<DispatcherTask>,
    shutdown: &Shutdown,
) -> anyhow::Result<()> {
    let Some(task) = dispatcher.as_mut() else {
        return std::future::pending().await;
    };
    let result = task.await;
    *dispatcher = None;
    Err(match result {
        Ok(Ok(())) if shutdown.is_requested() => return Ok(()),
        Ok(Ok(())) => anyhow::anyhow!("the notification dispatcher stopped unexpectedly"),
        Ok(Err(err)) => anyhow::Error::new(err).context("the notification dispatcher stopped"),
        Err(join) => anyhow::anyhow!("the notification dispatcher task panicked: {join}"),
    })
}

fn bot_ended(result: Result<Result<(), serenity::Error>, tokio::task::JoinError>) -> anyhow::Error {
    match result {
        Ok(Ok(())) => anyhow::anyhow!("the Discord client stopped unexpectedly"),
        Ok(Err(err)) => anyhow::Error::new(err).context("the Discord client stopped"),
        Err(join) => anyhow::anyhow!("the Discord client task panicked: {join}"),
    }
}

/// Frees the messages of reviews whose process is gone (a crash, a kill, a
/// deploy), so nobody is told "already reviewing" about a review without buttons.
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

/// The notification dispatcher, as a background task that finishes when
/// `shutdown` is requested.
fn start_dispatcher(app: &Arc<App>, shutdown: Shutdown) -> anyhow::Result<DispatcherTask> {
    let source_app = app.clone();
    let workflows: crate::notify::WorkflowSource = Arc::new(move || source_app.workflows());
    let config = dispatcher_config(app);
    let dispatcher =
        crate::notify::Dispatcher::new(app.pool.clone(), app.settings.clone(), workflows, config)?;
    Ok(tokio::spawn(dispatcher.run(shutdown)))
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
