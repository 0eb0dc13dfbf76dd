//! `flipfix-bot check` for the page templates: each one is rendered with the
//! contexts the handlers build, from made-up records with every optional
//! part present and with all of them absent, for a visitor and a member, so
//! an unguarded `record.machine.name` is found before a reader finds it.

use chrono::TimeZone;

use super::machines::{machine_line, machines_context};
use super::runs::{run_view, runs_context};
use super::views::{
    error_context, machine_context, record_context, record_link, record_page, IndexContext,
    IndexQuery, KindOption, MachineOption, Paging,
};
use super::{Pages, Viewer};
use crate::records::browse::{Detail, MachineOverview, MediaRow, OpenCount, SourceRow, Summary};
use crate::workflow::{Problems, RecordKinds};

/// Loads the page templates in `dir` and renders each against samples.
pub fn check(dir: &std::path::Path, kinds: &RecordKinds) -> Problems {
    let (pages, mut problems) = Pages::load(dir);
    let Some(kind) = kinds.iter().next() else {
        return problems;
    };
    let viewers = [
        Viewer::Visitor,
        Viewer::Member {
            user_id: 1,
            username: "sample".into(),
        },
    ];
    let mut reported = std::collections::HashSet::new();
    for full in [true, false] {
        let summary = sample_summary(&kind.name, full);
        let detail = Detail {
            record: summary.clone(),
            fields: serde_json::json!({}),
            parent: full.then(|| summary.clone()),
            children: if full {
                vec![summary.clone()]
            } else {
                Vec::new()
            },
            sources: if full {
                vec![SourceRow {
                    guild_id: Some(1),
                    channel_id: 2,
                    message_id: 3,
                }]
            } else {
                Vec::new()
            },
            media: summary.thumbnail.iter().cloned().collect(),
            history: if full {
                vec![crate::records::status::StatusChange {
                    record_id: summary.id,
                    from_status: Some("open".into()),
                    to_status: "closed".into(),
                    changed_at: summary.occurred_at,
                    changed_by_discord_id: Some(1),
                    changed_by: Some("discord:1 (sample)".into()),
                    via_record_id: Some(summary.id),
                }]
            } else {
                Vec::new()
            },
        };
        let paging = || Paging {
            number: if full { 2 } else { 1 },
            previous: full.then(|| "?page=1".into()),
            next: full.then(|| "?page=3".into()),
        };
        let machine = crate::catalog::Machine {
            id: 1,
            slug: "sample-machine".into(),
            name: "Sample Machine".into(),
            short_name: None,
            aliases: Vec::new(),
            status: "good".into(),
            location: full.then(|| "Floor".into()),
        };
        for viewer in &viewers {
            let query = IndexQuery {
                q: if full {
                    "flipper".into()
                } else {
                    String::new()
                },
                ..IndexQuery::default()
            };
            let records = if full {
                vec![record_link(kinds, &summary)]
            } else {
                Vec::new()
            };
            let kinds_list = vec![KindOption {
                name: &kind.name,
                label: &kind.label,
            }];
            let machines = vec![MachineOption {
                slug: machine.slug.clone(),
                name: machine.name.clone(),
            }];
            let entries = if full {
                vec![(
                    record_link(kinds, &summary),
                    vec![record_link(kinds, &summary)],
                )]
            } else {
                Vec::new()
            };
            let renders = [
                try_render(
                    &pages,
                    "index.html.j2",
                    IndexContext {
                        viewer: viewer.into(),
                        records,
                        query: &query,
                        kinds: kinds_list,
                        machines,
                        paging: paging(),
                        out_of_service: 3,
                    },
                ),
                try_render(
                    &pages,
                    "machine.html.j2",
                    machine_context(viewer, &machine, entries, paging(), "✅ Good".into()),
                ),
                try_render(
                    &pages,
                    "record.html.j2",
                    record_context(viewer, record_page(kinds, &detail)),
                ),
                try_render(
                    &pages,
                    "error.html.j2",
                    error_context(
                        viewer,
                        404,
                        "There is no such record.",
                        full.then_some("/login?next=%2Fparts%2F1%2F"),
                    ),
                ),
            ];
            let overview = sample_overview(&kind.name, &summary, full);
            let machine_lines = overview.iter().map(|m| machine_line(kinds, m)).collect();
            let run_views = vec![run_view(kinds, &sample_run(&kind.name, full))];
            let runs_filter = if full { "add_to_flipfix" } else { "" };
            let renders = renders.into_iter().chain([
                try_render(
                    &pages,
                    "runs.html.j2",
                    runs_context(viewer, run_views, runs_filter),
                ),
                try_render(
                    &pages,
                    "machines.html.j2",
                    machines_context(viewer, machine_lines),
                ),
            ]);
            for rendered in renders {
                // `None`: the template is missing, which load reported.
                if let Some(Err(err)) = rendered {
                    let mut problem = err.0;
                    if reported.insert((problem.file.clone(), problem.line)) {
                        problem.message = format!(
                            "{} (rendering a sample page {})",
                            problem.message,
                            if full {
                                "with every optional part"
                            } else {
                                "without optional parts"
                            }
                        );
                        problems.push(problem);
                    }
                }
            }
        }
    }
    problems
}

fn sample_summary(kind: &str, full: bool) -> Summary {
    Summary {
        id: 42,
        kind: kind.to_string(),
        parent_id: None,
        machine_slug: full.then(|| "sample-machine".into()),
        machine_name: full.then(|| "Sample Machine".into()),
        status: full.then(|| "open".into()),
        description: "The left flipper is weak.".into(),
        author: "Sample Maintainer".into(),
        occurred_at: chrono::Utc
            .with_ymd_and_hms(2025, 1, 15, 15, 23, 8)
            .single()
            .unwrap_or_default(),
        thumbnail: full.then(|| MediaRow {
            id: 1,
            url: "https://cdn.discordapp.com/attachments/1/2/flipper.jpg".into(),
            filename: "flipper.jpg".into(),
            content_type: Some("image/jpeg".into()),
            copy_state: crate::media::store::CopyState::Pending,
        }),
    }
}

/// Two machines, one out of service with open records of every choice and
/// one without records (`full`), or none at all.
fn sample_overview(kind: &str, summary: &Summary, full: bool) -> Vec<MachineOverview> {
    if !full {
        return Vec::new();
    }
    vec![
        MachineOverview {
            slug: "sample-machine".into(),
            name: "Sample Machine".into(),
            status: "broken".into(),
            last_activity: Some(summary.occurred_at),
            open: vec![
                OpenCount {
                    kind: kind.to_string(),
                    choice: Some("unplayable".into()),
                    count: 1,
                },
                OpenCount {
                    kind: kind.to_string(),
                    choice: None,
                    count: 2,
                },
            ],
        },
        MachineOverview {
            slug: "quiet-machine".into(),
            name: "Quiet Machine".into(),
            status: "undeclared".into(),
            last_activity: None,
            open: Vec::new(),
        },
    ]
}

/// A created run with records and cost (`full`), or a scheduled run still
/// in progress with no optional part.
fn sample_run(kind: &str, full: bool) -> crate::runs::RunSummary {
    use crate::domain::Snowflake;
    let started = chrono::Utc
        .with_ymd_and_hms(2025, 1, 15, 15, 23, 8)
        .single()
        .unwrap_or_default();
    crate::runs::RunSummary {
        id: 7,
        workflow: "add_to_flipfix".into(),
        workflow_version: "abc123".into(),
        trigger: crate::runs::Trigger::MessageCommand,
        user_id: full.then_some(Snowflake(1)),
        username: full.then(|| "sample".into()),
        guild_id: full.then_some(Snowflake(1)),
        channel_id: full.then_some(Snowflake(2)),
        target_message_id: full.then_some(Snowflake(3)),
        started_at: started,
        finished_at: full.then(|| started + chrono::Duration::seconds(4)),
        outcome: if full {
            crate::runs::Outcome::Created
        } else {
            crate::runs::Outcome::InProgress
        },
        reason: full.then(|| "1 record(s) created".into()),
        message_ids: if full { vec![Snowflake(3)] } else { Vec::new() },
        images: i32::from(full),
        models: full.then(|| "claude-sample".into()),
        input_tokens: 1200,
        output_tokens: 300,
        cache_read_tokens: 0,
        cache_write_tokens: 0,
        cost_micro_usd: full.then_some(12_300),
        record_ids: if full { vec![42] } else { Vec::new() },
        record_kinds: if full {
            vec![kind.to_string()]
        } else {
            Vec::new()
        },
    }
}

/// Renders `name` with a handler's context; `None` when the template is
/// missing (reported by load).
fn try_render(
    pages: &Pages,
    name: &str,
    context: impl serde::Serialize,
) -> Option<Result<String, crate::templates::TemplateError>> {
    pages
        .templates
        .exists(name)
        .then(|| pages.templates.render(name, context))
}
