//! Every API call's tokens and cost, in Postgres.

use sqlx::PgPool;

use crate::workflow::TokenUsage;

/// One call to record.
#[derive(Debug, Clone)]
pub struct UsageRecord<'a> {
    /// What the call was for (`analysis`, `replay`, `eval`).
    pub purpose: &'a str,
    /// Who asked (a Discord user id, `cli`).
    pub requested_by: &'a str,
    pub model: &'a str,
    pub request_id: Option<&'a str>,
    pub usage: TokenUsage,
    /// `ok`, or what went wrong with this attempt (`HTTP 500`, `timeout`).
    pub outcome: &'a str,
    /// US dollars, from the workflow's price table; `None` when the model
    /// has no price there.
    pub cost_usd: Option<f64>,
    /// When the attempt was recorded (the app's clock: budgets compare it).
    pub at: chrono::DateTime<chrono::Utc>,
    /// The workflow run it was part of (`runs`); `None` for tools.
    pub run_id: Option<i64>,
}

/// Micro-dollars: integer storage, no rounding surprises in sums.
pub(crate) fn micro(usd: f64) -> i64 {
    (usd * 1_000_000.0).round() as i64
}

pub async fn record<'c>(
    conn: impl sqlx::PgExecutor<'c>,
    row: &UsageRecord<'_>,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO llm_usage (purpose, requested_by, model, request_id, input_tokens,
             output_tokens, cache_creation_input_tokens, cache_read_input_tokens, cost_micro_usd, outcome,
             created_at, run_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id",
    )
    .bind(row.purpose)
    .bind(row.requested_by)
    .bind(row.model)
    .bind(row.request_id)
    .bind(row.usage.input_tokens as i64)
    .bind(row.usage.output_tokens as i64)
    .bind(row.usage.cache_creation_input_tokens as i64)
    .bind(row.usage.cache_read_input_tokens as i64)
    .bind(row.cost_usd.map(micro))
    .bind(row.outcome)
    .bind(row.at)
    .bind(row.run_id)
    .fetch_one(conn)
    .await
}

/// Total cost recorded since `since`, in US dollars.
pub async fn total_cost_since(
    pool: &PgPool,
    since: chrono::DateTime<chrono::Utc>,
) -> Result<f64, sqlx::Error> {
    let micro: Option<i64> = sqlx::query_scalar(
        "SELECT sum(cost_micro_usd)::BIGINT FROM llm_usage WHERE created_at >= $1",
    )
    .bind(since)
    .fetch_one(pool)
    .await?;
    Ok(micro.unwrap_or(0) as f64 / 1_000_000.0)
}

/// Usage summed over a group (a day, a person).
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct UsageTotal {
    /// The day (`YYYY-MM-DD`, UTC) or who asked.
    pub label: String,
    pub calls: i64,
    pub input_tokens: i64,
    pub output_tokens: i64,
    pub cache_read_tokens: i64,
    pub cache_write_tokens: i64,
    pub cost_usd: f64,
}

/// Totals per workflow since `since`, biggest spender first. Calls outside
/// any run (the `replay` and `eval` tools, calls recorded before runs were)
/// are grouped by their purpose, in parentheses.
pub async fn totals_by_workflow(
    pool: &PgPool,
    since: chrono::DateTime<chrono::Utc>,
) -> Result<Vec<UsageTotal>, sqlx::Error> {
    sqlx::query_as(
        "SELECT coalesce(r.workflow, '(' || u.purpose || ')') AS label, count(*) AS calls,
                sum(u.input_tokens)::BIGINT AS input_tokens, sum(u.output_tokens)::BIGINT AS output_tokens,
                sum(u.cache_read_input_tokens)::BIGINT AS cache_read_tokens,
                sum(u.cache_creation_input_tokens)::BIGINT AS cache_write_tokens,
                coalesce(sum(u.cost_micro_usd), 0)::FLOAT8 / 1000000.0 AS cost_usd
         FROM llm_usage u LEFT JOIN workflow_runs r ON r.id = u.run_id
         WHERE u.created_at >= $1 GROUP BY 1 ORDER BY 7 DESC, 1",
    )
    .bind(since)
    .fetch_all(pool)
    .await
}

/// Totals per UTC day and per person since `since`, newest day first and
/// biggest spender first.
pub async fn totals_since(
    pool: &PgPool,
    since: chrono::DateTime<chrono::Utc>,
) -> Result<(Vec<UsageTotal>, Vec<UsageTotal>), sqlx::Error> {
    let query = |group: &str, order: &str| {
        format!(
            "SELECT {group} AS label, count(*) AS calls,
                    sum(input_tokens)::BIGINT AS input_tokens, sum(output_tokens)::BIGINT AS output_tokens,
                    sum(cache_read_input_tokens)::BIGINT AS cache_read_tokens,
                    sum(cache_creation_input_tokens)::BIGINT AS cache_write_tokens,
                    coalesce(sum(cost_micro_usd), 0)::FLOAT8 / 1000000.0 AS cost_usd
             FROM llm_usage WHERE created_at >= $1 GROUP BY 1 ORDER BY {order}"
        )
    };
    let days = sqlx::query_as(&query(
        "to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD')",
        "1 DESC",
    ))
    .bind(since)
    .fetch_all(pool)
    .await?;
    let people = sqlx::query_as(&query("requested_by", "7 DESC, 1"))
        .bind(since)
        .fetch_all(pool)
        .await?;
    Ok((days, people))
}
