//! `/readyz` and `/metrics` through the real router: readiness says only
//! ready / not ready (the reason is logged), and metrics answer only the
//! holder of `METRICS_TOKEN`.

use std::sync::Arc;

use flipfix_bot::app::App;
use flipfix_bot::web::{router, WebState};
use sqlx::PgPool;

use crate::support::shipped_workflows;
use crate::web_pages::{seed, Site};

#[sqlx::test(migrations = "./migrations")]
async fn readyz_and_metrics_report_from_the_database(pool: PgPool) {
    let seed = seed(&pool).await;
    sqlx::query("INSERT INTO notification_outbox (record_id, created_at, delivered_at) VALUES ($1, now() - interval '3 seconds', now())")
        .bind(seed.problem)
        .execute(&pool)
        .await
        .expect("delivered row");
    sqlx::query("INSERT INTO notification_outbox (record_id) VALUES ($1)")
        .bind(seed.log)
        .execute(&pool)
        .await
        .expect("pending row");
    sqlx::query("INSERT INTO llm_usage (purpose, requested_by, model, input_tokens, output_tokens, cost_micro_usd) VALUES ('analysis', 'ruth', 'claude-haiku-4-5', 1000, 200, 2500)")
        .execute(&pool)
        .await
        .expect("usage");
    let site = Site::start(&pool).await;
    let (status, body, _) = site.get("/readyz").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body, "ready\n");
    // Without METRICS_TOKEN there are no metrics at all.
    let (status, body, _) = site.get("/metrics").await;
    assert_eq!((status, body.as_str()), (404, "not found\n"));

    let token = METRICS_TOKEN;
    let url = metrics_url(&pool).await;
    let http = reqwest::Client::new();
    for wrong in [None, Some("Bearer wrong-token"), Some(token)] {
        let mut request = http.get(&url);
        if let Some(value) = wrong {
            request = request.header("authorization", value);
        }
        let response = request.send().await.expect("metrics");
        assert_eq!(response.status().as_u16(), 401, "{wrong:?}");
        assert_eq!(response.headers()["www-authenticate"], "Bearer");
        let body = response.text().await.expect("body");
        assert!(!body.contains("flipfix_"), "{body}");
    }
    let response = http
        .get(&url)
        .bearer_auth(token)
        .send()
        .await
        .expect("metrics");
    let status = response.status().as_u16();
    let body = response.text().await.expect("body");
    assert_eq!(status, 200, "{body}");
    for line in [
        "flipfix_records_total{kind=\"problem_report\",via=\"cli\"} 1",
        "flipfix_records_total{kind=\"part_request\",via=\"cli\"} 1",
        "flipfix_llm_tokens_total{model=\"claude-haiku-4-5\",type=\"input\"} 1000",
        "flipfix_llm_cost_usd_total{model=\"claude-haiku-4-5\"} 0.0025",
        "flipfix_outbox_pending 1",
        "flipfix_outbox_failed 0",
        "flipfix_delivery_latency_seconds_count 1",
        "# TYPE flipfix_delivery_latency_seconds summary",
    ] {
        assert!(body.contains(line), "missing {line:?} in\n{body}");
    }
}

#[sqlx::test(migrations = "./migrations")]
async fn readyz_on_the_gateway_holder_waits_for_ready_and_names_a_failure(pool: PgPool) {
    let app = App::new(
        pool.clone(),
        crate::support::run_config(Default::default()),
        shipped_workflows(),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("address"));
    let router = router(WebState::new(Arc::clone(&app)));
    tokio::spawn(async move { axum::serve(listener, router).await });
    let get = |path: &'static str| {
        let url = format!("{base}{path}");
        async move {
            let response = reqwest::get(url).await.expect("request");
            (
                response.status().as_u16(),
                response.text().await.expect("body"),
            )
        }
    };
    let logs = crate::support::logs::CapturedLogs::capture();
    // This process takes the gateway: not ready until READY.
    app.lifecycle
        .startup
        .begin(std::time::Duration::from_secs(60));
    let (status, body) = get("/readyz").await;
    assert_eq!((status, body.as_str()), (503, "not ready\n"));
    assert!(logs.text().contains("not READY"), "the reason is logged");
    app.lifecycle.startup.ready();
    let (status, body) = get("/readyz").await;
    assert_eq!((status, body.as_str()), (200, "ready\n"));
    // A start-up error's text (which may name configuration) stays in the log.
    app.lifecycle.startup.failed("the token was refused");
    let (status, body) = get("/readyz").await;
    assert_eq!((status, body.as_str()), (503, "not ready\n"));
    assert!(logs.text().contains("the token was refused"));
    // A database that is gone makes it not ready; the log says why.
    pool.close().await;
    let (status, body) = get("/readyz").await;
    assert_eq!((status, body.as_str()), (503, "not ready\n"));
    assert!(logs.text().contains("database"));
}

/// Every metric docs/operating.md names is served, each with its `# TYPE`
/// line (an empty database still declares them all).
#[sqlx::test(migrations = "./migrations")]
async fn every_metric_the_docs_name_is_served(pool: PgPool) {
    let doc = std::fs::read_to_string(crate::support::repo_root().join("docs/operating.md"))
        .expect("docs/operating.md");
    let section = doc
        .split("\n## Health and metrics\n")
        .nth(1)
        .and_then(|rest| rest.split("\n## ").next())
        .expect("the Health and metrics section");
    let mut named: Vec<&str> = section
        .split('`')
        .skip(1)
        .step_by(2)
        .filter(|code| code.starts_with("flipfix_"))
        .map(|code| code.split('{').next().unwrap_or(code))
        .collect();
    named.sort();
    named.dedup();
    assert!(named.len() >= 9, "{named:?}");
    let (status, body) = metrics_with_a_token(&pool).await;
    assert_eq!(status, 200, "{body}");
    for name in named {
        assert!(
            body.lines()
                .any(|line| line.starts_with(&format!("# TYPE {name} "))),
            "/metrics does not declare {name}:\n{body}"
        );
    }
}

const METRICS_TOKEN: &str = "metrics-token-for-the-test";

/// The `/metrics` address of a deployment with `METRICS_TOKEN` set.
async fn metrics_url(pool: &PgPool) -> String {
    let app = App::new(
        pool.clone(),
        crate::support::run_config(flipfix_bot::config::Secrets {
            metrics_token: Some(flipfix_bot::config::Secret::new(METRICS_TOKEN)),
            ..Default::default()
        }),
        shipped_workflows(),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}/metrics", listener.local_addr().expect("address"));
    let router = router(WebState::new(Arc::clone(&app)));
    tokio::spawn(async move { axum::serve(listener, router).await });
    url
}

/// That deployment's `/metrics`, asked with the token.
async fn metrics_with_a_token(pool: &PgPool) -> (u16, String) {
    let response = reqwest::Client::new()
        .get(metrics_url(pool).await)
        .bearer_auth(METRICS_TOKEN)
        .send()
        .await
        .expect("metrics");
    let status = response.status().as_u16();
    (status, response.text().await.expect("body"))
}
