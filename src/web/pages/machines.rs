//! `/machines/`: the workshop's first question, "what is broken?". Every
//! machine with its status, its open records by priority (the kind's
//! `card_select` choice) and its last activity; out-of-service machines
//! first. A visitor's counts and dates come from the kinds a visitor may
//! see only.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::Extension;
use serde::Serialize;

use super::views::ViewerView;
use super::{visible, Pages, Viewer, WebState};
use crate::records::browse::{MachineOverview, OpenCount};
use crate::web::Error;
use crate::workflow::RecordKinds;

/// One machine on the overview.
#[derive(Debug, Serialize)]
pub struct MachineLine {
    pub slug: String,
    pub name: String,
    pub url: String,
    pub status: String,
    /// "❌ Broken"; the stored value itself when no status declares it.
    pub status_label: String,
    pub out_of_service: bool,
    /// One group per kind, in declaration order.
    pub open: Vec<OpenGroup>,
    /// "2025-01-15 15:23 UTC"; none for a machine without records.
    pub last_activity: Option<String>,
    pub last_activity_iso: Option<String>,
}

/// A kind's open records on one machine: "⚠️ Problem report: 1 unplayable, 2 minor".
#[derive(Debug, Serialize)]
pub struct OpenGroup {
    pub kind: String,
    pub label: String,
    pub emoji: String,
    pub total: i64,
    /// "1 unplayable", "2 minor", or "3 open" for records without a choice.
    pub counts: Vec<String>,
}

pub fn machine_line(kinds: &RecordKinds, machine: &MachineOverview) -> MachineLine {
    let statuses = kinds.machine_statuses();
    MachineLine {
        slug: machine.slug.clone(),
        name: machine.name.clone(),
        url: format!("/machines/{}/", machine.slug),
        status: machine.status.clone(),
        status_label: statuses.display(&machine.status),
        out_of_service: statuses.is_out_of_service(&machine.status),
        open: open_groups(kinds, &machine.open),
        last_activity: machine
            .last_activity
            .map(|at| at.format("%Y-%m-%d %H:%M UTC").to_string()),
        last_activity_iso: machine.last_activity.map(|at| at.to_rfc3339()),
    }
}

/// Groups counts (already in declaration order) by kind.
fn open_groups(kinds: &RecordKinds, counts: &[OpenCount]) -> Vec<OpenGroup> {
    let mut groups: Vec<OpenGroup> = Vec::new();
    for count in counts {
        let text = format!(
            "{} {}",
            count.count,
            count.choice.as_deref().unwrap_or("open")
        );
        match groups.last_mut() {
            Some(group) if group.kind == count.kind => {
                group.total += count.count;
                group.counts.push(text);
            }
            _ => {
                let kind = kinds.get(&count.kind);
                groups.push(OpenGroup {
                    kind: count.kind.clone(),
                    label: kind.map_or_else(|| count.kind.clone(), |k| k.label.clone()),
                    emoji: kind.map_or_else(String::new, |k| k.emoji.clone()),
                    total: count.count,
                    counts: vec![text],
                });
            }
        }
    }
    groups
}

/// The overview's context.
#[derive(Serialize)]
pub struct MachinesContext {
    pub viewer: ViewerView,
    pub machines: Vec<MachineLine>,
    pub out_of_service: usize,
}

pub fn machines_context(viewer: &Viewer, machines: Vec<MachineLine>) -> MachinesContext {
    MachinesContext {
        viewer: ViewerView::from(viewer),
        out_of_service: machines.iter().filter(|m| m.out_of_service).count(),
        machines,
    }
}

pub async fn machines(
    State(state): State<WebState>,
    Extension(pages): Extension<Arc<Pages>>,
    viewer: Viewer,
) -> Result<Response, Error> {
    let visible = visible(&state, &viewer);
    let workflows = state.app.workflows();
    let machines = state
        .overview
        .overview(
            &mut *state.app.pool.acquire().await?,
            &workflows.kinds,
            &visible,
        )
        .await?;
    let lines = machines
        .iter()
        .map(|m| machine_line(&workflows.kinds, m))
        .collect();
    Ok(pages.render(
        StatusCode::OK,
        "machines.html.j2",
        machines_context(&viewer, lines),
    ))
}
