//! `/metrics` in Prometheus text format (version 0.0.4). Every figure is
//! read from Postgres, so all processes of a deployment report the same
//! totals and a restart loses nothing; scrape one of them.
//!
//! The figures count members-only records and name models and spend, so
//! they are only for whoever holds `METRICS_TOKEN` (sent as a bearer
//! token). Without the token configured, `/metrics` does not exist (404).

use std::fmt::Write as _;

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use super::session::tokens_match;
use super::WebState;

pub async fn metrics(State(state): State<WebState>, headers: HeaderMap) -> Response {
    let Some(token) = &state.app.secrets.metrics_token else {
        return (StatusCode::NOT_FOUND, "not found\n").into_response();
    };
    let offered = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "));
    if !offered.is_some_and(|offered| tokens_match(offered.trim(), token.expose())) {
        return (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer")],
            "metrics need the bearer token set as METRICS_TOKEN\n",
        )
            .into_response();
    }
    match render(&state.app.pool, state.app.clock.now()).await {
        Ok(text) => (
            [(
                header::CONTENT_TYPE,
                "text/plain; version=0.0.4; charset=utf-8",
            )],
            text,
        )
            .into_response(),
        Err(err) => {
            tracing::warn!(error = %err, "metrics: the database did not answer");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                "metrics unavailable: the database did not answer\n",
            )
                .into_response()
        }
    }
}

/// Model, outcome, calls, input, output, cache-write and cache-read
/// tokens, cost in micro-dollars.
type UsageRow = (String, String, i64, i64, i64, i64, i64, Option<i64>);

/// Escapes a label value as the exposition format asks.
fn label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

/// The whole exposition: one section per concern, in a stable order.
pub async fn render(
    pool: &sqlx::PgPool,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<String, sqlx::Error> {
    let mut out = String::new();
    records(&mut out, pool).await?;
    reviews(&mut out, pool).await?;
    workflow_runs(&mut out, pool).await?;
    model_usage(&mut out, pool).await?;
    outbox(&mut out, pool).await?;
    delivery_latency(&mut out, pool, now).await?;
    Ok(out)
}

/// Records created, by kind and path.
async fn records(out: &mut String, pool: &sqlx::PgPool) -> Result<(), sqlx::Error> {
    family(out, "flipfix_records_total", "counter", "Records created, by kind and by the path that created them (message review, slash command, CLI).");
    let rows: Vec<(String, String, i64)> = sqlx::query_as(
        "SELECT kind, created_via, count(*) FROM records GROUP BY 1, 2 ORDER BY 1, 2",
    )
    .fetch_all(pool)
    .await?;
    for (kind, via, n) in rows {
        let _ = writeln!(
            out,
            "flipfix_records_total{{kind=\"{}\",via=\"{}\"}} {n}",
            label(&kind),
            label(&via)
        );
    }
    Ok(())
}

/// Reviews by how they ended.
async fn reviews(out: &mut String, pool: &sqlx::PgPool) -> Result<(), sqlx::Error> {
    family(
        out,
        "flipfix_analyses_total",
        "counter",
        "\"Add to Flipfix\" reviews, by how they ended (or stand).",
    );
    let rows: Vec<(String, i64)> =
        sqlx::query_as("SELECT status, count(*) FROM review_sessions GROUP BY 1 ORDER BY 1")
            .fetch_all(pool)
            .await?;
    for (status, n) in rows {
        let _ = writeln!(
            out,
            "flipfix_analyses_total{{outcome=\"{}\"}} {n}",
            label(&status)
        );
    }
    Ok(())
}

/// Workflow runs, by workflow and outcome (`in_progress` included: a
/// number that keeps growing there is a stuck run).
async fn workflow_runs(out: &mut String, pool: &sqlx::PgPool) -> Result<(), sqlx::Error> {
    family(
        out,
        "flipfix_workflow_runs_total",
        "counter",
        "Workflow runs, by workflow and outcome (created, skipped, refused, failed, posted, in_progress).",
    );
    for count in crate::runs::counts(pool).await? {
        let _ = writeln!(
            out,
            "flipfix_workflow_runs_total{{workflow=\"{}\",outcome=\"{}\"}} {}",
            label(&count.workflow),
            count.outcome.as_str(),
            count.runs
        );
    }
    Ok(())
}

/// Model calls, tokens and cost, by model.
async fn model_usage(out: &mut String, pool: &sqlx::PgPool) -> Result<(), sqlx::Error> {
    let rows: Vec<UsageRow> = sqlx::query_as(
        "SELECT model, outcome, count(*), sum(input_tokens)::BIGINT, sum(output_tokens)::BIGINT, \
         sum(cache_creation_input_tokens)::BIGINT, sum(cache_read_input_tokens)::BIGINT, \
         sum(cost_micro_usd)::BIGINT FROM llm_usage GROUP BY 1, 2 ORDER BY 1, 2",
    )
    .fetch_all(pool)
    .await?;
    family(
        out,
        "flipfix_llm_calls_total",
        "counter",
        "Model API calls, by model and outcome.",
    );
    for (model, outcome, calls, ..) in &rows {
        let _ = writeln!(
            out,
            "flipfix_llm_calls_total{{model=\"{}\",outcome=\"{}\"}} {calls}",
            label(model),
            label(outcome)
        );
    }
    family(
        out,
        "flipfix_llm_tokens_total",
        "counter",
        "Model tokens, by model and type.",
    );
    for (model, _, _, input, output, cache_write, cache_read, _) in &rows {
        for (ty, n) in [
            ("input", input),
            ("output", output),
            ("cache_write", cache_write),
            ("cache_read", cache_read),
        ] {
            let _ = writeln!(
                out,
                "flipfix_llm_tokens_total{{model=\"{}\",type=\"{ty}\"}} {n}",
                label(model)
            );
        }
    }
    family(
        out,
        "flipfix_llm_cost_usd_total",
        "counter",
        "Model cost in US dollars, by model (calls without a price are not counted).",
    );
    for (model, _, _, _, _, _, _, cost) in &rows {
        let dollars = cost.unwrap_or(0) as f64 / 1_000_000.0;
        let _ = writeln!(
            out,
            "flipfix_llm_cost_usd_total{{model=\"{}\"}} {dollars}",
            label(model)
        );
    }
    Ok(())
}

/// The webhook queue.
async fn outbox(out: &mut String, pool: &sqlx::PgPool) -> Result<(), sqlx::Error> {
    let (pending, failed, delivered): (i64, i64, i64) = sqlx::query_as(
        "SELECT count(*) FILTER (WHERE delivered_at IS NULL AND failed_at IS NULL), \
         count(*) FILTER (WHERE failed_at IS NOT NULL), \
         count(*) FILTER (WHERE delivered_at IS NOT NULL) FROM notification_outbox",
    )
    .fetch_one(pool)
    .await?;
    family(
        out,
        "flipfix_outbox_pending",
        "gauge",
        "Webhook posts waiting to be delivered.",
    );
    let _ = writeln!(out, "flipfix_outbox_pending {pending}");
    family(
        out,
        "flipfix_outbox_failed",
        "gauge",
        "Webhook posts set aside as failed (see /flipfix notifications).",
    );
    let _ = writeln!(out, "flipfix_outbox_failed {failed}");
    family(
        out,
        "flipfix_outbox_delivered_total",
        "counter",
        "Webhook posts delivered.",
    );
    let _ = writeln!(out, "flipfix_outbox_delivered_total {delivered}");
    Ok(())
}

/// From record to delivered post, over the last day.
async fn delivery_latency(
    out: &mut String,
    pool: &sqlx::PgPool,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(), sqlx::Error> {
    // Over the last day: a long tail of old rows would hide today's trouble.
    let (p50, p99, sum, count): (Option<f64>, Option<f64>, Option<f64>, i64) = sqlx::query_as(
        "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY s), \
         percentile_cont(0.99) WITHIN GROUP (ORDER BY s), sum(s), count(*) FROM ( \
         SELECT extract(epoch FROM delivered_at - created_at)::FLOAT8 AS s \
         FROM notification_outbox WHERE delivered_at > $1) d",
    )
    .bind(now - chrono::Duration::days(1))
    .fetch_one(pool)
    .await?;
    family(
        out,
        "flipfix_delivery_latency_seconds",
        "summary",
        "From record to delivered webhook post, over the last 24 hours.",
    );
    let _ = writeln!(
        out,
        "flipfix_delivery_latency_seconds{{quantile=\"0.5\"}} {}",
        p50.map_or("NaN".to_string(), |v| v.to_string())
    );
    let _ = writeln!(
        out,
        "flipfix_delivery_latency_seconds{{quantile=\"0.99\"}} {}",
        p99.map_or("NaN".to_string(), |v| v.to_string())
    );
    let _ = writeln!(
        out,
        "flipfix_delivery_latency_seconds_sum {}",
        sum.unwrap_or(0.0)
    );
    let _ = writeln!(out, "flipfix_delivery_latency_seconds_count {count}");
    Ok(())
}
