//! Every workflow run, recorded like an automation trace (`workflow_runs`):
//! a row is written when a run starts (`in_progress`) and settled when it
//! ends with its outcome and one sentence of reason. Tokens and cost are
//! read from `llm_usage` (rows carry the run's id) and the records a run
//! created from its review's items, never copied.
//!
//! ```text
//! let run = runs::start(&pool, &NewRun { .. }, clock.now()).await?;   // after the defer
//! // ... analysis: AnalysisRequest { run_id: Some(run), .. } records gathered and usage
//! runs::settle(&pool, run, Outcome::Refused, "Add to Flipfix is turned off.", clock.now()).await?;
//! ```
//!
//! A run left `in_progress` by a process that stopped is settled by
//! [`settle_leftovers`] (at start-up and before runs are listed).

mod cap;
mod list;
mod names;
mod settle;

use chrono::{DateTime, Utc};
use sqlx::PgPool;

use crate::domain::Snowflake;

pub use cap::{check_daily_cap, workflow_of_review, CapReached};
pub use list::{counts, latest, RunCount, RunSummary};
pub use names::message_command_workflow;
pub use settle::{
    settle_for_review, settle_leftovers, settle_review_run, LEFTOVER_REASON, UNOWNED_HOLD,
};

/// What started a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::Type, serde::Serialize)]
#[sqlx(type_name = "text", rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum Trigger {
    MessageCommand,
    Reaction,
    SlashCommand,
    ThreadCreated,
    Schedule,
}

impl Trigger {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::MessageCommand => "message_command",
            Self::Reaction => "reaction",
            Self::SlashCommand => "slash_command",
            Self::ThreadCreated => "thread_created",
            Self::Schedule => "schedule",
        }
    }
}

/// How a run ended (or stands).
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::Type, serde::Serialize)]
#[sqlx(type_name = "text", rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    InProgress,
    /// Records were created.
    Created,
    /// It ended without records: nothing found, every suggestion skipped,
    /// the review cancelled or expired, a summary with nothing to say.
    Skipped,
    /// Refused before any work, with the sentence the person saw.
    Refused,
    Failed,
    /// A scheduled post was queued.
    Posted,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InProgress => "in_progress",
            Self::Created => "created",
            Self::Skipped => "skipped",
            Self::Refused => "refused",
            Self::Failed => "failed",
            Self::Posted => "posted",
        }
    }
}

/// A run as it starts.
#[derive(Debug, Clone)]
pub struct NewRun<'a> {
    pub workflow: &'a str,
    /// The fingerprint of the workflow files it runs with.
    pub version: &'a str,
    pub trigger: Trigger,
    /// Who started it: the Discord user id and unique username.
    pub user: Option<(u64, &'a str)>,
    pub guild_id: Option<u64>,
    /// The channel or thread it runs in.
    pub channel_id: Option<u64>,
    pub target_message_id: Option<u64>,
    /// The running process's liveness-lock key (`Lifecycle::instance`).
    pub instance: Option<i32>,
}

/// Records a run as started (`in_progress`) at `now`; returns its id.
pub async fn start(
    pool: &PgPool,
    run: &NewRun<'_>,
    now: DateTime<Utc>,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO workflow_runs (workflow, workflow_version, trigger, user_id, username, guild_id,
             channel_id, target_message_id, instance_key, started_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
    )
    .bind(run.workflow)
    .bind(run.version)
    .bind(run.trigger)
    .bind(run.user.map(|(id, _)| Snowflake(id)))
    .bind(run.user.map(|(_, name)| name))
    .bind(run.guild_id.map(Snowflake))
    .bind(run.channel_id.map(Snowflake))
    .bind(run.target_message_id.map(Snowflake))
    .bind(run.instance)
    .bind(now)
    .fetch_one(pool)
    .await
}

/// Records a run that started and ended at once (a scheduled post).
pub async fn record_finished(
    pool: &PgPool,
    run: &NewRun<'_>,
    outcome: Outcome,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<i64, sqlx::Error> {
    let id = start(pool, run, now).await?;
    settle(pool, id, outcome, reason, now).await?;
    Ok(id)
}

/// Whether a run started by `trigger` in `channel_id` was ever recorded: a
/// new thread's intake runs once, whatever became of it, so a repeated
/// THREAD_CREATE (a gateway replay, a second replica) starts nothing.
pub async fn started_in_channel(
    pool: &PgPool,
    trigger: Trigger,
    channel_id: u64,
) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM workflow_runs WHERE trigger = $1 AND channel_id = $2)",
    )
    .bind(trigger)
    .bind(Snowflake(channel_id))
    .fetch_one(pool)
    .await
}

/// Remembers what the run's analysis read: the messages and the images.
pub async fn record_gathered(
    pool: &PgPool,
    run_id: i64,
    message_ids: &[u64],
    images: usize,
) -> Result<(), sqlx::Error> {
    let ids: Vec<Snowflake> = message_ids.iter().copied().map(Snowflake).collect();
    sqlx::query("UPDATE workflow_runs SET message_ids = $2, images = $3 WHERE id = $1")
        .bind(run_id)
        .bind(ids)
        .bind(i32::try_from(images).unwrap_or(i32::MAX))
        .execute(pool)
        .await?;
    Ok(())
}

/// Links the run to the review it opened: its outcome follows the review's.
pub async fn attach_review(pool: &PgPool, run_id: i64, session_id: i64) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE workflow_runs SET review_session_id = $2 WHERE id = $1")
        .bind(run_id)
        .bind(session_id)
        .execute(pool)
        .await?;
    Ok(())
}

/// Ends a run still in progress with `outcome` and one sentence of reason.
/// False when it was settled already (the first ending stands).
pub async fn settle<'c>(
    conn: impl sqlx::PgExecutor<'c>,
    run_id: i64,
    outcome: Outcome,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    let settled = sqlx::query(
        "UPDATE workflow_runs SET outcome = $2, reason = $3, finished_at = $4
         WHERE id = $1 AND outcome = 'in_progress'",
    )
    .bind(run_id)
    .bind(outcome)
    .bind(crate::text::truncate_chars(reason, 500))
    .bind(now)
    .execute(conn)
    .await?;
    Ok(settled.rows_affected() > 0)
}
