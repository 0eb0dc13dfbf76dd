//! Reading runs back: the latest ones with their cost and records, and
//! counts per workflow and outcome.

use chrono::{DateTime, Utc};
use sqlx::PgPool;

use super::{Outcome, Trigger};
use crate::domain::Snowflake;

/// One run as people read it.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct RunSummary {
    pub id: i64,
    pub workflow: String,
    pub workflow_version: String,
    pub trigger: Trigger,
    pub user_id: Option<Snowflake>,
    pub username: Option<String>,
    pub guild_id: Option<Snowflake>,
    pub channel_id: Option<Snowflake>,
    pub target_message_id: Option<Snowflake>,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub outcome: Outcome,
    pub reason: Option<String>,
    pub message_ids: Vec<Snowflake>,
    pub images: i32,
    /// The models its calls used (from `llm_usage`), comma-separated.
    pub models: Option<String>,
    pub input_tokens: i64,
    pub output_tokens: i64,
    pub cache_read_tokens: i64,
    pub cache_write_tokens: i64,
    /// `None` when no call had a price.
    pub cost_micro_usd: Option<i64>,
    /// The records it created, in review order, with their kinds.
    pub record_ids: Vec<i64>,
    pub record_kinds: Vec<String>,
}

impl RunSummary {
    pub fn cost_usd(&self) -> Option<f64> {
        self.cost_micro_usd.map(|micro| micro as f64 / 1_000_000.0)
    }

    /// How long it ran; `None` while in progress.
    pub fn duration(&self) -> Option<chrono::Duration> {
        self.finished_at.map(|end| end - self.started_at)
    }

    /// The records it created, as (id, kind).
    pub fn records(&self) -> impl Iterator<Item = (i64, &str)> {
        self.record_ids
            .iter()
            .copied()
            .zip(self.record_kinds.iter().map(String::as_str))
    }
}

/// The latest `limit` runs, newest first; only `workflow`'s when given.
pub async fn latest(
    pool: &PgPool,
    workflow: Option<&str>,
    limit: u32,
) -> Result<Vec<RunSummary>, sqlx::Error> {
    sqlx::query_as(
        "SELECT r.id, r.workflow, r.workflow_version, r.trigger, r.user_id, r.username, r.guild_id,
                r.channel_id, r.target_message_id, r.started_at, r.finished_at, r.outcome, r.reason,
                r.message_ids, r.images, u.models,
                coalesce(u.input_tokens, 0) AS input_tokens, coalesce(u.output_tokens, 0) AS output_tokens,
                coalesce(u.cache_read_tokens, 0) AS cache_read_tokens,
                coalesce(u.cache_write_tokens, 0) AS cache_write_tokens,
                u.cost_micro_usd,
                coalesce(c.ids, '{}') AS record_ids, coalesce(c.kinds, '{}') AS record_kinds
         FROM workflow_runs r
         LEFT JOIN LATERAL (
             SELECT string_agg(DISTINCT model, ', ') AS models,
                    sum(input_tokens)::BIGINT AS input_tokens, sum(output_tokens)::BIGINT AS output_tokens,
                    sum(cache_read_input_tokens)::BIGINT AS cache_read_tokens,
                    sum(cache_creation_input_tokens)::BIGINT AS cache_write_tokens,
                    sum(cost_micro_usd)::BIGINT AS cost_micro_usd
             FROM llm_usage WHERE run_id = r.id) u ON true
         LEFT JOIN LATERAL (
             SELECT array_agg(rec.id ORDER BY i.position) AS ids,
                    array_agg(rec.kind ORDER BY i.position) AS kinds
             FROM review_items i JOIN records rec ON rec.id = i.record_id
             WHERE i.session_id = r.review_session_id AND i.state = 'created') c ON true
         WHERE $1::TEXT IS NULL OR r.workflow = $1
         ORDER BY r.started_at DESC, r.id DESC
         LIMIT $2",
    )
    .bind(workflow)
    .bind(i64::from(limit))
    .fetch_all(pool)
    .await
}

/// How many runs each workflow had, by outcome.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct RunCount {
    pub workflow: String,
    pub outcome: Outcome,
    pub runs: i64,
}

pub async fn counts(pool: &PgPool) -> Result<Vec<RunCount>, sqlx::Error> {
    sqlx::query_as(
        "SELECT workflow, outcome, count(*) AS runs FROM workflow_runs GROUP BY 1, 2 ORDER BY 1, 2",
    )
    .fetch_all(pool)
    .await
}
