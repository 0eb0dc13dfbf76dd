//! `/runs/`: the latest workflow runs, for members only (a visitor is sent
//! to sign in, like `/account`): who ran what, how it ended, what it cost,
//! and links to the records it created.

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::Extension;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::views::{record_path, ViewerView};
use super::{Pages, Viewer, WebState};
use crate::runs::{self, Outcome, RunSummary};
use crate::web::Error;
use crate::workflow::RecordKinds;

/// Runs per page.
const SHOWN: u32 = 50;

#[derive(Debug, Default, Deserialize)]
pub struct RunsQuery {
    #[serde(default)]
    pub workflow: String,
}

/// One run as the page shows it.
#[derive(Debug, Serialize)]
pub struct RunView {
    pub id: i64,
    pub workflow: String,
    pub version: String,
    pub trigger: &'static str,
    /// The username, or "schedule".
    pub who: String,
    pub started: String,
    pub started_iso: String,
    pub duration_seconds: Option<i64>,
    pub outcome: &'static str,
    pub reason: Option<String>,
    pub messages: usize,
    pub images: i32,
    pub models: Option<String>,
    pub input_tokens: i64,
    pub output_tokens: i64,
    /// `$0.0123`, or `None` without a priced call.
    pub cost: Option<String>,
    pub records: Vec<RunRecord>,
}

#[derive(Debug, Serialize)]
pub struct RunRecord {
    pub id: i64,
    pub url: String,
    pub label: String,
}

pub fn run_view(kinds: &RecordKinds, run: &RunSummary) -> RunView {
    RunView {
        id: run.id,
        workflow: run.workflow.clone(),
        version: run.workflow_version.clone(),
        trigger: run.trigger.as_str(),
        who: run.username.clone().unwrap_or_else(|| "schedule".into()),
        started: run.started_at.format("%Y-%m-%d %H:%M UTC").to_string(),
        started_iso: run.started_at.to_rfc3339(),
        duration_seconds: run.duration().map(|d| d.num_seconds().max(0)),
        outcome: match run.outcome {
            Outcome::InProgress => "in progress",
            other => other.as_str(),
        },
        reason: run.reason.clone(),
        messages: run.message_ids.len(),
        images: run.images,
        models: run.models.clone(),
        input_tokens: run.input_tokens,
        output_tokens: run.output_tokens,
        cost: run.cost_usd().map(|usd| format!("${usd:.4}")),
        records: run
            .records()
            .map(|(id, kind)| RunRecord {
                id,
                url: record_path(kinds, kind, id),
                label: kinds
                    .get(kind)
                    .map_or_else(|| kind.to_string(), |k| format!("{} {}", k.emoji, k.label)),
            })
            .collect(),
    }
}

/// The runs page's context.
pub fn runs_context(viewer: &Viewer, runs: Vec<RunView>, workflow: &str) -> Value {
    serde_json::json!({
        "viewer": ViewerView::from(viewer),
        "runs": runs,
        "workflow": workflow,
    })
}

pub async fn runs(
    State(state): State<WebState>,
    Extension(pages): Extension<Arc<Pages>>,
    viewer: Viewer,
    Query(query): Query<RunsQuery>,
) -> Result<Response, Error> {
    if viewer == Viewer::Visitor {
        return Ok(crate::web::auth::sign_in_redirect("/runs/"));
    }
    let app = &state.app;
    // Runs a stopped process left open are settled before they are shown.
    runs::settle_leftovers(&app.pool, app.clock.now()).await?;
    let workflow = query.workflow.trim();
    let filter = (!workflow.is_empty()).then_some(workflow);
    let listed = runs::latest(&app.pool, filter, SHOWN).await?;
    let workflows = app.workflows();
    let views = listed
        .iter()
        .map(|run| run_view(&workflows.kinds, run))
        .collect();
    Ok(pages.render(
        StatusCode::OK,
        "runs.html.j2",
        runs_context(&viewer, views, workflow),
    ))
}
