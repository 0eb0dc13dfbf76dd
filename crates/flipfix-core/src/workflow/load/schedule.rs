//! A `schedule:` workflow: the daily summary, template only. Nobody starts
//! it and no model reads anything, so its schedule is its only trigger,
//! `summary:` is its body, and the sections of an analysis or of who may
//! start a run are refused where they are written.

use std::path::Path;

use serde_saphyr::Location;

use crate::templates::Templates;
use crate::workflow::kinds::RecordKinds;
use crate::workflow::schema::{TriggerDecl, WorkflowDecl};
use crate::workflow::summaries::{build_summary, Summary, SummaryParts};
use crate::workflow::trigger::Trigger;
use crate::workflow::{Problem, Problems};

/// Whether `decl` is a schedule workflow (even one whose time is refused).
pub(super) fn is_schedule(decl: &WorkflowDecl) -> bool {
    decl.triggers
        .iter()
        .any(|t| matches!(t.value, TriggerDecl::Schedule(_)))
}

/// Refuses, each where it is written, what a schedule workflow cannot
/// have: a second trigger, and every section only a started run reads.
pub(super) fn refuse_other_sections(
    problem: &dyn Fn(Location, String) -> Problem,
    decl: &WorkflowDecl,
    problems: &mut Problems,
) {
    let mut schedules = 0;
    for trigger in &decl.triggers {
        let other = match &trigger.value {
            TriggerDecl::Schedule(_) => {
                schedules += 1;
                if schedules > 1 {
                    problems.push(problem(
                        trigger.referenced,
                        "a schedule workflow has one `schedule:` (its summary is posted once a day); declare another workflow for a second time".into(),
                    ));
                }
                continue;
            }
            TriggerDecl::MessageCommand(_) => "message_command",
            TriggerDecl::Reaction(_) => "reaction",
            TriggerDecl::SlashCommand(_) => "slash_command",
            TriggerDecl::ThreadCreated(_) => "thread_created",
        };
        problems.push(problem(
            trigger.referenced,
            format!(
                "a schedule workflow posts its summary by itself and cannot also be started by `{other}`; declare that trigger in another workflow"
            ),
        ));
    }
    let sections = [
        ("gather", decl.gather.as_ref().map(|s| s.referenced)),
        ("analyze", decl.analyze.as_ref().map(|s| s.referenced)),
        ("review", decl.review.as_ref().map(|s| s.referenced)),
        ("on_created", decl.on_created.as_ref().map(|s| s.referenced)),
        ("daily_cap", decl.daily_cap.as_ref().map(|s| s.referenced)),
        ("channels", decl.channels.first().map(|s| s.referenced)),
        ("roles", decl.roles.first().map(|s| s.referenced)),
        (
            "exempt_roles",
            decl.exempt_roles.first().map(|s| s.referenced),
        ),
    ];
    for (key, at) in sections {
        if let Some(at) = at {
            problems.push(problem(
                at,
                format!(
                    "a schedule workflow posts a template only (its `summary:`) and cannot also declare `{key}`; remove it, or move it to a workflow a member starts"
                ),
            ));
        }
    }
}

/// The summary a schedule workflow posts, checked; `None` when anything in
/// it (or its time) was refused.
#[allow(clippy::too_many_arguments)]
pub(super) fn build(
    path: &Path,
    name: &str,
    at: Location,
    triggers: &[Trigger],
    decl: Option<serde_saphyr::Spanned<crate::workflow::summaries::SummaryBodyDecl>>,
    kinds: &RecordKinds,
    templates: &Templates,
    problem: &dyn Fn(Location, String) -> Problem,
    problems: &mut Problems,
) -> Option<Summary> {
    let Some(decl) = decl else {
        problems.push(problem(
            at,
            "a schedule workflow needs `summary:` with the template it posts, e.g. `summary: {template: summaries/daily.md.j2}`".into(),
        ));
        return None;
    };
    let schedule = triggers.iter().find_map(|t| match t {
        Trigger::Schedule { at, timezone } => Some((*at, *timezone)),
        _ => None,
    });
    let parts = SummaryParts {
        name: name.to_string(),
        schedule,
        template: decl.value.template,
        listings: decl.value.listings,
        old_slots: [None, None],
        at: decl.referenced,
    };
    build_summary(path, parts, kinds, templates, problem, problems)
}
